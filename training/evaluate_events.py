"""Score events end to end from raw text: ``python -m training.evaluate_events --data DEV.jsonl``.

Each corpus document (its records joined by line breaks, in corpus order) goes through
``annotate_batch`` (tagger, classifier, actor linker, stance gate, events model), as users annotate
articles; each record's predicted event triples (type, requester id, addressee id) are matched with
the record's gold events. Records without request types count too: events predicted there are
false positives. Also reported: actor-id accuracy on the gold entities the tagger found with
the exact span, and the same triples with the rule baseline in place of the events model.

    python -m training.evaluate_events --data training/data/libya/dev.jsonl --data training/data/libya/realnews_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from training.corpus import read_corpus
from training.event_training import gold_triples
from training.metrics import actor_accuracy, event_triple_scores


def documents(records: list[Any]) -> list[tuple[str, list[tuple[int, Any]]]]:
    """The records' documents in order of first appearance: each document's records joined by
    line breaks (a line break always ends a sentence), with the offset of each record in it.

    >>> from types import SimpleNamespace as Record
    >>> records = [Record(doc_id="d", text="أ ب"), Record(doc_id="e", text="د"), Record(doc_id="d", text="ج")]
    >>> [(text, [offset for offset, _ in parts]) for text, parts in documents(records)]
    [('أ ب\\nج', [0, 4]), ('د', [0])]
    """
    grouped: dict[str, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.doc_id, []).append(record)
    joined = []
    for parts in grouped.values():
        offsets = [0]
        for record in parts[:-1]:
            offsets.append(offsets[-1] + len(record.text) + 1)
        joined.append(("\n".join(r.text for r in parts), list(zip(offsets, parts))))
    return joined


def evaluate_end_to_end(records: list[Any], *, tagger: str | None = None, classifier: str | None = None,
                        events: str | None = None, batch_size: int = 32, device: str = "cpu",
                        precision: str = "fp32", by_document: bool = True) -> dict[str, Any]:
    """Triple scores and linked-actor accuracy of the full pipeline (default models unless named) on
    ``records``. With ``by_document`` (the default) each document's records are annotated together,
    as users annotate articles, so the linker and the stance gate see the whole document (a bare
    ``السراج`` links only in a document that names something Libyan); otherwise each record alone."""
    from libya_nlp import annotate_batch

    units = documents(records) if by_document else [(r.text, [(0, r)]) for r in records]
    annotations = annotate_batch([text for text, _ in units], tagger=tagger, classifier=classifier, events=events,
                                 batch_size=batch_size, device=device, precision=precision)
    gold, predicted, gold_ids, found_ids = [], [], [], []
    for (_, parts), annotation in zip(units, annotations):
        spans = {(e.start, e.end): e.actor for e in annotation.entities}
        for offset, record in parts:
            end = offset + len(record.text)
            gold.append(gold_triples(record))
            predicted.append([(e.type, e.requester and e.requester.actor, e.addressee and e.addressee.actor)
                              for s in annotation.sentences if offset <= s.start < end for e in s.events])
            for entity in record.entities:
                if (offset + entity.start, offset + entity.end) in spans:
                    gold_ids.append(entity.actor)
                    found_ids.append(spans[offset + entity.start, offset + entity.end])
    return {"records": len(records), "documents": len(units), "triples": event_triple_scores(gold, predicted),
            "actors_on_found_spans": actor_accuracy(gold_ids, found_ids),
            "gold_entities_found_exactly": round(len(gold_ids) / max(1, sum(len(r.entities) for r in records)), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate_events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, type=Path, help="corpus JSONL with events")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="write the scores as JSON here")
    parser.add_argument("--by-record", action="store_true",
                        help="annotate each record alone instead of each document whole")
    args = parser.parse_args(argv)
    records = [r for path in args.data for r in read_corpus(path)]
    options = {"device": args.device, "by_document": not args.by_record}
    scores = {"learned": evaluate_end_to_end(records, **options),
              "rules": evaluate_end_to_end(records, events="rules", **options)}
    text = json.dumps(scores, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
