"""Running a model over many encoded windows: length-sorted batches, padding, input order back.

Windows from all sentences of all documents are sorted by length so that each batch pads
to its own longest member, run under ``torch.inference_mode`` in the model's own dtype (see
:mod:`libya_nlp.precision`), and returned in input order. There is no Python loop per sentence
around a model call.

>>> [len(w["input_ids"]) for w in windows_of({"input_ids": [[1, 2, 3]], "attention_mask": [[1, 1, 1]]})]
[3]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

# A window: input_ids, attention_mask and (optionally) token_type_ids, as int lists.
Features = dict[str, list[int]]
# What a head function returns for a batch: tensors with the batch as first dimension.
HeadOutputs = tuple[torch.Tensor, ...]


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
