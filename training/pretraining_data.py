"""Raw news text for masked-language-model pretraining: find it, normalise it, tokenise and pack it.

Every folder under the data root whose README.md calls it raw text is read (SaudiNewsNet's
zips of JSON arrays, and ``.jsonl.gz`` files with a ``text`` field), normalised exactly as at
inference, de-duplicated, and tokenised with a WordPiece vocabulary trained on it. Token ids
are packed into fixed-length sequences and stored as lzma-compressed uint16 (a few dozen MB,
small enough to travel to a GPU machine).

>>> sorted(raw_text_folders(Path("/nonexistent")))
[]
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from libya_nlp.normalization import normalize_text
from training.arrow_data import rows_dataset, tokenized
from training.errors import DataError
from training.wordpiece import train_wordpiece

CORPUS_FILE = "tokens.npy.xz"
META_FILE = "corpus.json"


def raw_text_folders(root: Path) -> list[Path]:
    """Folders directly under ``root`` whose README.md says in its title that they hold raw text."""
    if not root.is_dir():
        return []
    folders = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        readme = folder / "README.md"
        if readme.is_file():
            title = readme.read_text(encoding="utf-8").splitlines()[0].lower() if readme.stat().st_size else ""
            if "raw" in title:
                folders.append(folder)
    return folders


def iter_articles(folder: Path, exclude: list[str] | None = None) -> Iterator[str]:
    """Article texts of one folder (zip of JSON arrays or .jsonl.gz); files matching ``exclude`` are skipped."""
    exclude = exclude or []
    for path in sorted(folder.iterdir()):
        if any(pattern in path.name for pattern in exclude):
            continue
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    if name.endswith(".json"):
                        for article in json.loads(archive.read(name).decode("utf-8")):
                            yield from _article_text(article)
        elif path.name.endswith(".jsonl.gz"):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    yield from _article_text(json.loads(line))


def _article_text(article: dict[str, Any]) -> Iterator[str]:
    title = (article.get("title") or "").strip()
    body = (article.get("content") or article.get("text") or "").strip()
    text = f"{title}\n{body}" if title and not body.startswith(title) else body
    if text:
        yield text


def collect_texts(root: Path, exclude: list[str], max_articles: int | None = None) -> tuple[list[str], dict]:
    """Normalised, de-duplicated article texts from every raw-text folder, with counts per folder."""
    folders = raw_text_folders(root)
    if not folders:
        raise DataError(f"no raw-text folders under {root} (a folder qualifies when its README.md title says 'raw')")
    texts: list[str] = []
    seen: set[bytes] = set()
    counts: dict[str, int] = {}
    for folder in folders:
        kept = 0
        for article in iter_articles(folder, exclude):
            text = normalize_text(article)
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
            if digest in seen or len(text) < 50:
                continue
            seen.add(digest)
            texts.append(text)
            kept += 1
            if max_articles and len(texts) >= max_articles:
                break
        counts[folder.name] = kept
        if max_articles and len(texts) >= max_articles:
            break
    return texts, counts


def pack_corpus(root: Path, output: Path, *, vocab_size: int, sequence_length: int, exclude: list[str],
                max_articles: int | None = None) -> dict[str, Any]:
    """Build ``output``: a tokenizer trained on the text, and the text as packed token sequences."""
    texts, counts = collect_texts(root, exclude, max_articles)
    tokenizer = train_wordpiece(texts, vocab_size=vocab_size, model_max_length=512)
    if len(tokenizer) > np.iinfo(np.uint16).max:
        raise ValueError("vocabulary too large for uint16 storage")
    output.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(output)
    body = sequence_length - 2
    encoded = tokenized(rows_dataset({"text": texts}),
                        lambda batch: {"input_ids": tokenizer(batch["text"], add_special_tokens=False)["input_ids"]},
                        "tokenising raw text")
    stream = [np.asarray(ids + [tokenizer.sep_token_id], dtype=np.uint16) for ids in encoded["input_ids"]]
    flat = np.concatenate(stream) if stream else np.zeros(0, dtype=np.uint16)
    rows = len(flat) // body
    sequences = np.empty((rows, sequence_length), dtype=np.uint16)
    sequences[:, 0] = tokenizer.cls_token_id
    sequences[:, 1:-1] = flat[: rows * body].reshape(rows, body)
    sequences[:, -1] = tokenizer.sep_token_id
    buffer = io.BytesIO()
    np.save(buffer, sequences)
    with lzma.open(output / CORPUS_FILE, "wb", preset=6) as handle:
        handle.write(buffer.getvalue())
    meta = {"articles": len(texts), "per_folder": counts, "tokens": int(len(flat)), "sequences": rows,
            "sequence_length": sequence_length, "vocab_size": len(tokenizer), "words": sum(len(t.split()) for t in texts),
            "excluded": exclude, "root": str(root)}
    (output / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def load_packed(folder: Path) -> np.ndarray:
    """The packed token sequences (rows x sequence_length, uint16)."""
    path = folder / CORPUS_FILE
    if not path.is_file():
        raise DataError(f"no packed corpus at {path}: run `python -m training.train configs/pretrain_mini.yaml` "
                        "once on a machine that has ../shared/data (task: pretrain packs it before training)")
    with lzma.open(path, "rb") as handle:
        return np.load(io.BytesIO(handle.read()))
