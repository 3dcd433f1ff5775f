"""Compact weight storage: matrices as int8 with one fp16 scale per 128 weights of a row, the rest in fp16.

The embedded default models ship this way (``model.int8*.safetensors``, shards of at most
15 MB) to fit the package's size budget: a 32M-weight encoder takes 32 MB instead of 64 MB in fp16. Loading dequantises
to float32 once; from there the model is an ordinary ``transformers`` model (callers cast it
for their device). Symmetric rounding costs about half a step of ``max|group| / 127`` (a little more for
the fp16 scale). One scale per row (files written before stop 18, scales of shape ``(rows, 1)``) cost the
default tagger 0.005 of ANERcorp F1, nearly all in the FFN matrices; groups of ``GROUP`` columns
cost 1.6% more bytes. The scales' shape says which layout a file has, so both load.

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
FORMAT = "libya_nlp-int8-grouped-v2"  # v1 (row-wise) files load too
GROUP = 128  # columns per scale; rows whose width it does not divide keep one scale
_SCALE = ".__scale__"
MIN_QUANTIZED = 4096  # smaller tensors (biases, LayerNorm) stay fp16


def quantize(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """int8 + an fp16 scale per ``GROUP`` columns for every floating matrix of at least ``MIN_QUANTIZED`` weights."""
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu()
        if not tensor.is_floating_point():
            out[name] = tensor.contiguous()
        elif tensor.dim() == 2 and tensor.numel() >= MIN_QUANTIZED:
            rows, columns = tensor.shape
            groups = columns // GROUP if columns % GROUP == 0 else 1
            values = tensor.float().reshape(rows, groups, columns // groups)
            scale = values.abs().amax(dim=2, keepdim=True).clamp(min=1e-12) / 127.0
            quantized = torch.round(values / scale).clamp(-127, 127).to(torch.int8)
            out[name] = quantized.reshape(rows, columns).contiguous()
            out[name + _SCALE] = scale.reshape(rows, groups).to(torch.float16).contiguous()
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
            rows, columns = tensor.shape
            groups = scale.shape[1]  # 1: a v1 row-wise file
            out[name] = (tensor.float().reshape(rows, groups, columns // groups)
                         * scale.float().unsqueeze(-1)).reshape(rows, columns)
        else:
            out[name] = tensor.float() if tensor.is_floating_point() else tensor
    return out


def save_int8(model: torch.nn.Module, directory: str | Path, *, max_shard_bytes: int = 15_000_000) -> list[Path]:
    """Write ``model``'s weights as ``model.int8.safetensors``, or as numbered shards
    (``model.int8-00001-of-00003.safetensors`` ...) when they exceed ``max_shard_bytes``."""
    directory = Path(directory)
    for old in files_in(directory):
        old.unlink()
    state = {name: tensor for name, tensor in model.state_dict().items()}
    seen: dict[int, str] = {}
    for name in list(state):  # tied weights (shared storage) are stored once
        pointer = state[name].data_ptr()
        if pointer in seen:
            del state[name]
        seen[pointer] = name
    stored = quantize(state)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in stored.items():
        if name.endswith(_SCALE):
            continue  # goes with its matrix
        group = {name: tensor, **({name + _SCALE: stored[name + _SCALE]} if name + _SCALE in stored else {})}
        group_bytes = sum(t.numel() * t.element_size() for t in group.values())
        if shards[-1] and size + group_bytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1].update(group)
        size += group_bytes
    if len(shards) == 1:
        paths = [directory / FILENAME]
    else:
        paths = [directory / f"model.int8-{i:05d}-of-{len(shards):05d}.safetensors" for i in range(1, len(shards) + 1)]
    for shard, path in zip(shards, paths):
        save_file(shard, str(path), metadata={"format": FORMAT})
    return paths


def files_in(directory: str | Path) -> list[Path]:
    """The int8 weight files of a checkpoint directory (one file, or its shards), in order."""
    directory = Path(directory)
    single = directory / FILENAME
    return [single] if single.is_file() else sorted(directory.glob("model.int8-*-of-*.safetensors"))


def load_int8(directory_or_file: str | Path) -> dict[str, torch.Tensor]:
    """The float32 state dict stored in a checkpoint's int8 weight file(s)."""
    path = Path(directory_or_file)
    stored: dict[str, torch.Tensor] = {}
    for file in files_in(path) if path.is_dir() else [path]:
        stored.update(load_file(str(file)))
    return dequantize(stored)
