"""Training examples as Hugging Face ``datasets`` (Arrow tables): the readers' items become rows,
tokenisation is one batched ``map``, and the Trainer reads the result.

The readers (:mod:`training.conll`, :mod:`training.corpus`, the raw text of
:mod:`training.pretraining_data`) keep their own validation, which names the file and line of a
bad record; what they return is turned into columns here. Rows keep the readers' order, so a
seeded run gives the same batches as from Python lists.

>>> rows = rows_dataset({"words": [["طلب", "السراج"], ["قال"]], "tags": [["O", "B-PER"], ["O"]]})
>>> list(tokenized(rows, lambda batch: {"length": [len(w) for w in batch["words"]]})["length"])
[2, 1]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datasets import Dataset

_MAP_BATCH = 1000


def rows_dataset(columns: dict[str, list[Any]]) -> Dataset:
    """An in-memory Arrow dataset with these columns (equal lengths), in this order."""
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns of different lengths: {lengths}")
    return Dataset.from_dict(columns)


def tokenized(dataset: Dataset, encode: Callable[[dict[str, list[Any]]], dict[str, list[Any]]],
              description: str | None = None) -> Dataset:
    """``encode`` applied to batches of rows; its columns replace the dataset's.

    Nothing is cached on disk: the rows are in memory and training reads them once per epoch.
    """
    return dataset.map(encode, batched=True, batch_size=_MAP_BATCH, remove_columns=dataset.column_names,
                       load_from_cache_file=False, desc=description)
