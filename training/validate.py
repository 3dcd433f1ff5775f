"""Check corpus files: ``python -m training.validate FILE...``.

Checks every record against ANNOTATION.md §4 (schema, known labels, entity offsets inside the
text and on token boundaries), ids unique across all files, no document split across files,
no exact duplicates and no near duplicates (the same sentence with one word changed, added or
dropped). Prints every problem with its file and line, then the counts per label. Exit code 1
when there is a problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from libya_nlp.labels import ENTITY_TYPES, REQUEST_TYPES, STANCE_LABELS
from libya_nlp.segmentation import tokenize
from training.errors import DataError
from training.corpus import CorpusRecord, iter_records

_NEAR_DUPLICATE_MIN_TOKENS = 6


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    records: list[tuple[str, CorpusRecord]] = field(default_factory=list)  # (file:line, record)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(paths: Sequence[str | Path]) -> Report:
    """Check the files; problems are collected, not raised."""
    report = Report()
    ids: dict[str, str] = {}
    doc_files: dict[str, set[str]] = defaultdict(set)
    for path in map(Path, paths):
        if not path.is_file():
            report.problems.append(f"{path}: no such file")
            continue
        for where, item in iter_records(path):
            if isinstance(item, DataError):
                report.problems.append(str(item))
                continue
            if item.id in ids:
                report.problems.append(f"{where}: id {item.id!r} repeats (first at {ids[item.id]})")
            ids.setdefault(item.id, where)
            doc_files[item.doc_id].add(str(path))
            report.records.append((where, item))
    for doc, files in sorted(doc_files.items()):
        if len(files) > 1:
            report.problems.append(f"document {doc!r} is split across {sorted(files)}: split by document")
    report.problems += find_duplicates(report.records)
    return report


def find_duplicates(records: list[tuple[str, CorpusRecord]]) -> list[str]:
    """Exact duplicates, and sentences that differ by one word substituted, inserted or deleted."""
    problems = []
    exact: dict[str, str] = {}
    keys: dict[tuple, list[int]] = defaultdict(list)
    token_lists = [tuple(t.text for t in tokenize(r.text)) for _, r in records]
    for index, ((where, record), tokens) in enumerate(zip(records, token_lists)):
        if record.text in exact:
            problems.append(f"{where}: exact duplicate of {exact[record.text]}")
            continue
        exact[record.text] = where
        if len(tokens) < _NEAR_DUPLICATE_MIN_TOKENS:
            continue
        keys[("full", tokens)].append(index)
        for i in range(len(tokens)):
            keys[("gap", tokens[:i] + ("*",) + tokens[i + 1 :])].append(index)  # one word substituted
            keys[("full", tokens[:i] + tokens[i + 1 :])].append(index)  # one word dropped
    reported: set[tuple[int, int]] = set()
    for members in keys.values():
        unique = sorted(set(members))
        for a, b in zip(unique, unique[1:]):
            if (a, b) not in reported and records[a][1].text != records[b][1].text:
                reported.add((a, b))
                problems.append(f"{records[b][0]}: near duplicate of {records[a][0]} (one word differs)")
    return problems


def counts(records: Sequence[CorpusRecord]) -> dict[str, object]:
    """Counts per label, per target and per source."""
    total = len(records)
    requests = Counter(r for record in records for r in record.request_types)
    stance: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        for target, label in record.stance.items():
            stance[target][label] += 1
    no_request = sum(1 for r in records if not r.request_types)
    return {
        "sentences": total,
        "documents": len({r.doc_id for r in records}),
        "by_source": dict(Counter(r.source for r in records)),
        "request_types": {label: requests.get(label, 0) for label in REQUEST_TYPES},
        "no_request": no_request,
        "no_request_share": round(no_request / total, 3) if total else 0.0,
        "multi_request": sum(1 for r in records if len(r.request_types) > 1),
        "stance": {target: {label: c.get(label, 0) for label in STANCE_LABELS} for target, c in stance.items()},
        "entities": {label: sum(1 for r in records for e in r.entities if e.label == label) for label in ENTITY_TYPES},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="corpus JSONL files (ANNOTATION.md §4)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    report = validate(args.files)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    summary = counts([record for _, record in report.records])
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(_format(summary))
    print(f"{len(report.problems)} problem(s) in {len(report.records)} valid record(s)", file=sys.stderr)
    return 0 if report.ok else 1


def _format(summary: dict) -> str:
    lines = [f"sentences {summary['sentences']}, documents {summary['documents']}, by source {summary['by_source']}",
             f"no request type: {summary['no_request']} ({summary['no_request_share']:.0%}); "
             f"several types: {summary['multi_request']}"]
    lines += [f"  {label:<22} {count}" for label, count in summary["request_types"].items()]
    for target, labels in summary["stance"].items():
        lines.append(f"stance toward {target}: " + ", ".join(f"{k} {v}" for k, v in labels.items()))
    lines.append("entities: " + ", ".join(f"{k} {v}" for k, v in summary["entities"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
