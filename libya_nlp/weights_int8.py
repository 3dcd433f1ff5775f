"""Compact weight storage: matrices as int8 with one fp16 scale per row, the rest in fp16.

The embedded default models ship this way (``model.int8.safetensors``) to fit the package's
size budget: a 32M-weight encoder takes 32 MB instead of 64 MB in fp16. Loading dequantises
to float32 once; from there the model is an ordinary ``transformers`` model (callers cast it
for their device). Symmetric rounding per row costs about half a step of ``max|row| / 127`` (a little more for the fp16 scale).

>>> import torch
>>> model = torch.nn.Linear(64, 64)
>>> restored = dequantize(quantize(model.state_dict()))
>>> bool((restored["weight"] - model.weight.detach()).abs().max() <= model.weight.detach().abs().max() / 127)
True
>>> restored["bias"].dtype
torch.float32
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

FILENAME = "model.int8.safetensors"
FORMAT = "libya_nlp-int8-rowwise-v1"
_SCALE = ".__scale__"
MIN_QUANTIZED = 4096  # smaller tensors (biases, LayerNorm) stay fp16


def quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """int8 rows + fp16 scales for every floating matrix of at least ``MIN_QUANTIZED`` weights."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu()
        if not tensor.is_floating_point():
            out[name] = tensor.contiguous()
        elif tensor.dim() == 2 and tensor.numel() >= MIN_QUANTIZED:
            values = tensor.float()
            scale = values.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
            out[name] = torch.round(values / scale).clamp(-127, 127).to(torch.int8).contiguous()
            out[name + _SCALE] = scale.to(torch.float16).contiguous()
        else:
            out[name] = tensor.to(torch.float16).contiguous()
    return out


def dequantize(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict back from :func:`quantize`'s output."""
    out = {}
    for name, tensor in stored.items():
        if name.endswith(_SCALE):
            continue
        scale = stored.get(name + _SCALE)
        if scale is not None:
            out[name] = tensor.float() * scale.float()
        else:
            out[name] = tensor.float() if tensor.is_floating_point() else tensor
    return out


def save_int8(model: torch.nn.Module, directory: str | Path) -> Path:
    """Write ``model``'s weights as ``directory/model.int8.safetensors``."""
    path = Path(directory) / FILENAME
    state = {name: tensor for name, tensor in model.state_dict().items()}
    seen: dict[int, str] = {}
    for name in list(state):  # tied weights (shared storage) are stored once by safetensors' rules
        pointer = state[name].data_ptr()
        if pointer in seen:
            del state[name]
        seen[pointer] = name
    save_file(quantize(state), str(path), metadata={"format": FORMAT})
    return path


def load_int8(path: str | Path) -> dict[str, torch.Tensor]:
    """The float32 state dict stored in an int8 weights file."""
    return dequantize(load_file(str(path)))
