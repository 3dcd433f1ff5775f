"""Running a model over many encoded windows: devices, length-sorted batches, padding.

Windows from all sentences of all documents are sorted by length so that each batch pads
to its own longest member, run under ``torch.inference_mode`` in the model's own dtype (bf16
on CUDA and on CPUs with native bf16, see :func:`resolve_dtype`), and returned in input
order. There is no Python loop per sentence around a model call.

>>> resolve_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import warnings
from typing import Any

import numpy as np
import torch

from libya_nlp.labels import PRECISIONS

# A window: input_ids, attention_mask and (optionally) token_type_ids, as int lists.
Features = dict[str, list[int]]
# What a head function returns for a batch: tensors with the batch as first dimension.
HeadOutputs = tuple[torch.Tensor, ...]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` means CUDA when available, else CPU; "cpu", "cuda" and "cuda:1" are accepted.

    >>> resolve_device(None).type in ("cpu", "cuda")
    True
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N' or None") from error
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but CUDA is not available here; use 'cpu' or None")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s) visible")
    elif resolved.type != "cpu":
        raise ValueError(f"unsupported device {device!r}: use 'cpu', 'cuda', 'cuda:N' or None")
    return resolved




def resolve_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Weights' dtype for inference: "auto" is bf16 on CUDA and on CPUs with native bf16, else fp32.

    ("int8" keeps fp32 weights here; :func:`prepare_model` then quantises the linear layers.)

    >>> resolve_dtype(torch.device("cpu"), "fp32")
    torch.float32
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision in ("fp32", "int8"):
        return torch.float32
    if precision == "bf16" or device.type == "cuda":
        return torch.bfloat16
    return torch.bfloat16 if _cpu_has_native_bf16() else torch.float32


def prepare_model(model: torch.nn.Module, device: torch.device, precision: str = "auto") -> torch.nn.Module:
    """Move a model to ``device`` in the dtype ``precision`` asks for; "int8" (CPU only) quantises
    the linear layers dynamically (weights int8, activations quantised on the fly).

    >>> prepare_model(torch.nn.Linear(2, 2), torch.device("cpu"), "bf16").weight.dtype
    torch.bfloat16
    """
    model = model.to(device, resolve_dtype(device, precision)).eval()
    if precision == "int8":
        if device.type != "cpu":
            raise ValueError("precision 'int8' is for CPU; use 'bf16' on CUDA")
        with warnings.catch_warnings():  # torch.ao marks this API for migration to torchao
            warnings.simplefilter("ignore")
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def _cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def max_input_length(tokenizer: Any, max_position_embeddings: int | None, model_type: str = "") -> int:
    """The longest input a model takes: the tokenizer's limit capped by the position table.

    >>> class Tok: model_max_length = 10**30
    >>> max_input_length(Tok(), 514, "roberta")
    512
    """
    limits = [max_position_embeddings, tokenizer.model_max_length]
    if model_type in ("roberta", "xlm-roberta", "camembert") and limits[0]:
        limits[0] -= 2  # these count positions from padding_idx + 1
    usable = [int(v) for v in limits if isinstance(v, int) and 0 < v < 100_000]
    return min(usable) if usable else 512


def windows_of(encoding: Any) -> list[Features]:
    """Split a tokenizer's batch encoding (with overflowing windows) into one dict per window."""
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoding]
    return [{key: encoding[key][w] for key in keys} for w in range(len(encoding["input_ids"]))]


def run_batched(
    model: torch.nn.Module,
    windows: Sequence[Features],
    heads: Callable[[object], HeadOutputs],
    *,
    batch_size: int,
    pad_token_id: int,
    token_level: bool,
) -> list[tuple[np.ndarray, ...]]:
    """Run ``model`` over ``windows`` in length-sorted batches; return ``heads``' outputs per window.

    With ``token_level`` the outputs are per token (batch x sequence x ...) and are cut back
    to each window's own length; otherwise they are per window (batch x ...).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    device = next(model.parameters()).device
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]["input_ids"]), reverse=True)
    results: list[tuple[np.ndarray, ...] | None] = [None] * len(windows)
    with torch.inference_mode():
        for first in range(0, len(order), batch_size):
            batch = [windows[i] for i in order[first : first + batch_size]]
            inputs = _pad(batch, pad_token_id, device)
            outputs = heads(model(**inputs))
            arrays = [t.float().cpu().numpy() for t in outputs]
            for row, index in enumerate(order[first : first + batch_size]):
                if token_level:
                    length = len(windows[index]["input_ids"])
                    results[index] = tuple(a[row, :length] for a in arrays)
                else:
                    results[index] = tuple(a[row] for a in arrays)
    return results  # type: ignore[return-value]


def _pad(batch: Sequence[Features], pad_token_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    width = max(len(w["input_ids"]) for w in batch)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch[0]]
    arrays = {k: np.zeros((len(batch), width), dtype=np.int64) for k in keys}
    arrays["input_ids"].fill(pad_token_id)
    for row, window in enumerate(batch):
        n = len(window["input_ids"])
        for key in keys:
            arrays[key][row, :n] = window[key]
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in tensors.items()}
    return tensors
