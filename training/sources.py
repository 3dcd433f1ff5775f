"""Loading the configured data sources: reading, mixing by weight, and holding out a dev set.

Dev sets are split by document, never by sentence, and the random choices are seeded.

>>> len(mix_by_weight(list(range(10)), 2.5, seed=0))
25
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from training.config import DataSource
from training.conll import DataError, TaggedSentence, read_conll
from training.corpus import CorpusRecord, read_corpus, to_tagged

T = TypeVar("T")


@dataclass
class LoadedSource:
    source: DataSource
    items: list  # TaggedSentence for conll, CorpusRecord for corpus


def load_source(source: DataSource, base: Path | None = None) -> LoadedSource:
    """Read one source (relative paths resolve from ``base``, the repository root)."""
    path = Path(source.path)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise DataError(f"data source {source.path!r} not found at {path}; "
                        "shared data sets are referenced by path (../shared/data/...), point 'path' at them")
    if source.format == "conll":
        items: list = read_conll(path)
    elif source.format == "corpus":
        items = read_corpus(path)
    else:
        raise DataError(f"data source {source.path!r}: format {source.format!r} is for pretraining only")
    if source.max_sentences is not None:
        items = items[: source.max_sentences]
    return LoadedSource(source, items)


def mix_by_weight(items: list[T], weight: float, seed: int) -> list[T]:
    """Repeat ``items`` ``int(weight)`` times and add a seeded random sample of ``weight % 1`` of them."""
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    whole, fraction = int(weight), weight - int(weight)
    mixed = items * whole
    if fraction:
        mixed += random.Random(seed).sample(items, round(len(items) * fraction))
    return mixed


def split_dev_by_document(records: list[CorpusRecord], fraction: float, seed: int
                          ) -> tuple[list[CorpusRecord], list[CorpusRecord]]:
    """Hold out about ``fraction`` of the documents (all their sentences) as a dev set."""
    docs = sorted({r.doc_id for r in records})
    rng = random.Random(seed)
    rng.shuffle(docs)
    held = set(docs[: max(1, round(len(docs) * fraction))]) if fraction else set()
    return [r for r in records if r.doc_id not in held], [r for r in records if r.doc_id in held]


def tagged_sentences(loaded: LoadedSource) -> list[TaggedSentence]:
    """Tagger examples of a source, whatever its format."""
    if loaded.source.format == "conll":
        return list(loaded.items)
    return [to_tagged(record) for record in loaded.items]
