"""Annotate a Hugging Face ``datasets.Dataset`` or ``IterableDataset`` (extra ``[datasets]``).

The result is the same kind of dataset with an ``annotation`` column holding the JSON of
``Annotation.to_dict()`` (a string, so that Arrow stores one type whatever the entities are;
``json.loads`` gives the dict back). On an ``IterableDataset`` nothing is computed until rows are
read, and memory stays flat however many rows stream through.

>>> from datasets import Dataset
>>> import json
>>> done = annotate_dataset(Dataset.from_dict({"text": ["طلب السراج دعما."]}), device="cpu")
>>> json.loads(done[0]["annotation"])["sentences"][0]["text"]
'طلب السراج دعما.'

    from datasets import load_dataset
    archive = load_dataset("json", data_files="archive/*.jsonl.gz", split="train")
    annotate_dataset(archive, batch_size=64).to_parquet("annotated.parquet")
"""

from __future__ import annotations

import json
from typing import Any

ANNOTATION_COLUMN = "annotation"


def annotate_dataset(dataset: Any, *, text_column: str = "text", batch_size: int = 32, annotator: Any = None,
                     **annotator_options: Any) -> Any:
    """``dataset`` with an ``annotation`` column (JSON strings), computed ``16 * batch_size`` rows at a time.

    ``annotator_options`` are those of :class:`~libya_nlp.annotator.Annotator` (``device``,
    ``tagger``, ``precision`` ...); or pass an ``annotator`` already loaded.
    """
    from libya_nlp.annotator import Annotator

    columns = getattr(dataset, "column_names", None)
    if columns is not None and text_column not in columns:
        raise KeyError(f"the dataset has no column {text_column!r} (it has {columns}); pass text_column=")
    if columns is not None and ANNOTATION_COLUMN in columns:
        raise ValueError(f"the dataset already has an {ANNOTATION_COLUMN!r} column; remove or rename it first")
    if annotator is None:
        annotator = Annotator(**annotator_options)
    elif annotator_options:
        raise TypeError(f"pass either an annotator or its options, not both ({sorted(annotator_options)})")

    def annotate_rows(batch: dict[str, list[Any]]) -> dict[str, list[str]]:
        texts = batch[text_column]
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"column {text_column!r} holds a {type(text).__name__} in this batch "
                                f"(row {index} of it); every row needs a str")
        results = annotator.annotate_batch(texts, batch_size=batch_size)
        return {ANNOTATION_COLUMN: [json.dumps(r.to_dict(), ensure_ascii=False) for r in results]}

    return dataset.map(annotate_rows, batched=True, batch_size=16 * batch_size)
