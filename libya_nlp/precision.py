"""One home for devices and precision: which device, which dtype, and how a model is prepared.

"auto" is bf16 on CUDA GPUs that support it and on CPUs with native bf16 (AVX512-BF16, AMX), else fp32; "int8"
quantises the linear layers dynamically on CPU. Training asks :func:`cuda_bf16` for its mixed
precision, so inference and training read one rule.

>>> resolve_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

import warnings

import torch

from libya_nlp.labels import PRECISIONS


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
    """Weights' dtype for inference: "auto" is bf16 on GPUs that support it (:func:`cuda_bf16`, the
    rule training uses too) and on CPUs with native bf16, else fp32.

    ("int8" keeps fp32 weights here; :func:`prepare_model` then quantises the linear layers.)

    >>> resolve_dtype(torch.device("cpu"), "fp32")
    torch.float32
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision in ("fp32", "int8"):
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if cuda_bf16() else torch.float32
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


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


def cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def cuda_bf16() -> bool:
    """bf16 on CUDA, for inference ("auto") and training's mixed precision: where the GPU supports it."""
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
