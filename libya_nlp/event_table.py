"""Events as table rows (one per event), for ``libya-nlp events`` and for analysis in pandas.

>>> from libya_nlp.output import Annotation, Entity, Event, LabelScore, Role, SentenceAnnotation, Stance
>>> text = "طلب السراج من الجزائر دعما"
>>> sentence = SentenceAnnotation(0, len(text), text, [LabelScore("military_aid", 0.9)], Stance("t", "none", 0.9),
...     [Event("military_aid", 0.8, Role("LBY-GNA", 4, 10, "السراج"), Role("DZA", 14, 21, "الجزائر"))])
>>> row = event_rows("doc-1", Annotation(text, [], [sentence]).to_dict())[0]
>>> row["cameo"], row["requester_id"], row["addressee_name"]
('0232', 'LBY-GNA', 'Algeria')
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, IO

from libya_nlp.actors import ActorRegistry
from libya_nlp.labels import CAMEO_CODES

COLUMNS: tuple[str, ...] = (
    "doc_id", "sentence_index", "sentence", "type", "cameo", "score",
    "requester_id", "requester_name", "requester_text", "addressee_id", "addressee_name", "addressee_text",
)


def event_rows(doc_id: str, annotation: dict[str, Any], registry: ActorRegistry | None = None) -> list[dict[str, Any]]:
    """The events of one annotated document (the JSON of ``Annotation.to_dict()``) as rows of :data:`COLUMNS`."""
    registry = registry or ActorRegistry.load()
    rows = []
    for index, sentence in enumerate(annotation.get("sentences", [])):
        for event in sentence.get("events", []):
            row: dict[str, Any] = {"doc_id": doc_id, "sentence_index": index, "sentence": sentence["text"],
                                   "type": event["type"], "cameo": CAMEO_CODES.get(event["type"], ""),
                                   "score": event["score"]}
            for role in ("requester", "addressee"):
                taken = event.get(role)
                actor = taken["actor"] if taken else None
                row[f"{role}_id"] = actor
                row[f"{role}_name"] = registry.get(actor).name_en if actor in registry else None
                row[f"{role}_text"] = taken["text"] if taken else None
            rows.append(row)
    return rows


def write_rows(rows: Iterable[dict[str, Any]], output: Path | None, stream: IO[str]) -> int:
    """Write rows as CSV (to ``output`` or ``stream``) or, for a ``.parquet`` path, as Parquet; returns the count."""
    if output is not None and output.suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"{output}: writing Parquet needs pyarrow (pip install pyarrow), or use a .csv path") from None
        table = list(rows)
        pq.write_table(pa.Table.from_pylist(table, schema=pa.schema(
            [(c, pa.int64() if c == "sentence_index" else pa.float64() if c == "score" else pa.string())
             for c in COLUMNS])), output)
        return len(table)
    handle = open(output, "w", encoding="utf-8", newline="") if output is not None else stream  # noqa: SIM115
    try:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    finally:
        if output is not None:
            handle.close()
