"""Loading the configured data sources: reading, mixing by weight, and holding out a dev set.

Dev sets are split by document, never by sentence, and the random choices are seeded.

>>> len(mix_by_weight(list(range(10)), 2.5, seed=0))
25
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from training.config import DataSource
from training.conll import TaggedSentence, read_conll
from training.errors import DataError
from training.corpus import CorpusRecord, read_corpus, to_tagged

T = TypeVar("T")


@dataclass
class LoadedSource:
    source: DataSource
    items: list  # TaggedSentence for conll, CorpusRecord for corpus


_DATA_HOMES = {
    "anercorp": "ANERcorp (Benajiba et al. 2007) in the CAMeL Lab train/test split "
                "(ANERCorp_CamelLab_train.txt / _test.txt, from CAMeL Lab's release; research use only) is not in "
                "this repository.",
    "saudinewsnet": "SaudiNewsNet (github.com/parallelfold/SaudiNewsNet, CC BY-NC-SA 4.0) is not in this repository.",
    "training/data/libya": "The Libya corpus ships with the repository (training/data/libya/); run from the "
                           "repository root.",
}


def where_to_get(path: str) -> str:
    """One sentence on where a data set named in a config comes from.

    >>> where_to_get("../shared/data/anercorp_camel/ANERCorp_CamelLab_train.txt").startswith("ANERcorp")
    True
    """
    lowered = path.lower()
    for key, text in _DATA_HOMES.items():
        if key in lowered:
            return text
    return "Data sets are referenced by path, never committed (see the README's Data section)."


def load_source(source: DataSource, base: Path | None = None) -> LoadedSource:
    """Read one source (relative paths resolve from ``base``, the repository root)."""
    path = Path(source.path)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.exists():
        raise DataError(f"data source {source.path!r} not found at {path}. {where_to_get(source.path)} "
                        f"Then point the config at your copy: --set 'data.train=[{{path: /your/copy, format: "
                        f"{source.format}}}]' or edit the config's path.")
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


def load_corpus_splits(config: Any, root: Path, task: str) -> tuple[list[CorpusRecord], list[CorpusRecord], dict]:
    """Train and dev corpus records of a config (``dev_fraction`` held out by document, ``weight``
    applied), and the rows of the card's data table."""
    rows: dict[str, list[dict[str, Any]]] = {"train": [], "dev": []}
    train: list[CorpusRecord] = []
    dev: list[CorpusRecord] = []
    for index, source in enumerate(config.data.train):
        if source.format != "corpus":
            raise DataError(f"{task} data must be corpus JSONL (format: corpus); {source.path} is {source.format}")
        records = load_source(source, root).items
        if source.dev_fraction:
            records, held = split_dev_by_document(records, source.dev_fraction, config.seed + index)
            dev += held
        train += mix_by_weight(records, source.weight, config.seed + index)
        rows["train"].append({"path": source.path, "name": source.name, "format": source.format,
                              "sentences": len(records), "weight": source.weight, "licence": source.licence})
    for source in config.data.dev:
        records = load_source(source, root).items
        dev += records
        rows["dev"].append({"path": source.path, "name": source.name, "format": source.format,
                            "sentences": len(records), "licence": source.licence})
    return train, dev, rows
