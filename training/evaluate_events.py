"""Score events end to end from raw text: ``python -m training.evaluate_events --data DEV.jsonl``.

Each corpus record's text goes through ``annotate_batch`` (tagger, classifier, actor linker,
events model); its predicted event triples (type, requester id, addressee id) are matched with
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


def evaluate_end_to_end(records: list[Any], *, tagger: str | None = None, classifier: str | None = None,
                        events: str | None = None, batch_size: int = 32, device: str = "cpu",
                        precision: str = "fp32") -> dict[str, Any]:
    """Triple scores and linked-actor accuracy of the full pipeline (default models unless named) on ``records``."""
    from libya_nlp import annotate_batch

    annotations = annotate_batch([r.text for r in records], tagger=tagger, classifier=classifier, events=events,
                                 batch_size=batch_size, device=device, precision=precision)
    gold, predicted, gold_ids, found_ids = [], [], [], []
    for record, annotation in zip(records, annotations):
        gold.append(gold_triples(record))
        predicted.append([(e.type, e.requester and e.requester.actor, e.addressee and e.addressee.actor)
                          for s in annotation.sentences for e in s.events])
        spans = {(e.start, e.end): e.actor for e in annotation.entities}
        for entity in record.entities:
            if (entity.start, entity.end) in spans:
                gold_ids.append(entity.actor)
                found_ids.append(spans[entity.start, entity.end])
    return {"records": len(records), "triples": event_triple_scores(gold, predicted),
            "actors_on_found_spans": actor_accuracy(gold_ids, found_ids),
            "gold_entities_found_exactly": round(len(gold_ids) / max(1, sum(len(r.entities) for r in records)), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate_events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, type=Path, help="corpus JSONL with events")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="write the scores as JSON here")
    args = parser.parse_args(argv)
    records = [r for path in args.data for r in read_corpus(path)]
    scores = {"learned": evaluate_end_to_end(records, device=args.device),
              "rules": evaluate_end_to_end(records, events="rules", device=args.device)}
    text = json.dumps(scores, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
