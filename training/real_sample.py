"""A blind-labelled sample of real news sentences, for measuring the models on text no one here wrote.

The raw news under ``../shared/data`` is research-only: the sample and its labels stay in ``runs/``
(never committed). Two steps:

    python -m training.real_sample draw --out runs/real_sample.jsonl        # 90 with a request verb, 60 without
    # label it blind (a helper session with ANNOTATION.md and GUIDELINES.md) into runs/real_labels.jsonl:
    #   {"id", "entities": [{"text", "label"}], "request_types": [...], "stance": {"GNA": ..., "Haftar": ...}}
    python -m training.real_sample score runs/real_sample.jsonl runs/real_labels.jsonl [--tagger DIR --classifier DIR]

Labels are kept across sessions without the text: ``freeze`` writes, for the repository, each
sentence's id, a SHA-256 of its text and its labels with character offsets, plus the draw's
arguments (``training/data/real/NAME.json`` and ``NAME.jsonl``); ``score-frozen`` draws the
same sentences again from ``../shared/data``, checks every hash, and scores them:

    python -m training.real_sample freeze runs/real_sample.jsonl runs/real_labels.jsonl \
        --draw-seed 7 --with-verb 90 --without-verb 60 --prefix raw --out training/data/real/raw
    python -m training.real_sample score-frozen [training/data/real/raw.json ...] [--tagger DIR --classifier DIR] [--record]

(every kept sample when none is named; ``--record`` adds the scores to the two models' cards).

``score`` runs the public :class:`~libya_nlp.annotator.Annotator` on the sentences and prints entity
overlap and exact F1 (same label, one-to-one), request-type micro-F1 and stance macro-F1 per target;
with ``--baseline configs/classifier_e5.yaml`` also the request micro-F1 of the TF-IDF baseline
(:mod:`training.baselines`) trained on that config's training records, the bar of the classifier.

>>> is_about_libya("وصل السراج إلى الجزائر"), is_about_libya("الظهير البرازيلي فيليبي")
(True, False)
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import random
import re
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from libya_nlp.labels import REQUEST_TYPES

_LIBYA = re.compile(r"(?<!\w)(و|ب|ل|ف|وب|ول|ال|وال|بال|لل)?(ليبيا|ليبي|ليبية|الليبي|طرابلس|بنغازي|حفتر|السراج|الوفاق|مصراتة|سرت|الدبيبة)")
_REQUEST_VERB = re.compile(r"(^|\s)(و|ف)?(طالب|طالبت|دعا|دعت|طلب|طلبت|ناشد|ناشدت|حث|حثت|يطالب|تطالب|يدعو|تدعو|"
                           r"مطالبا|داعيا|داعية|مطالبة)(\s|$)")
_SOURCES = ("hespress_aljazeera_2022/*.jsonl.gz", "arabic_newspapers_2012/*.jsonl.gz", "saudinewsnet/*.zip")
TARGETS = {"GNA": "حكومة الوفاق الوطني", "Haftar": "خليفة حفتر"}


def is_about_libya(text: str) -> bool:
    """Whether a sentence names Libya, a Libyan city or one of the main Libyan actors."""
    return bool(_LIBYA.search(text))


def draw(data_dir: Path, with_verb: int = 90, without_verb: int = 60, seed: int = 7, *, naming: str | None = None,
         prefix: str = "raw") -> list[dict[str, str]]:
    """Sentences about Libya (6-60 words, no repeats), ``with_verb`` of them with a request verb.

    ``naming`` (a regular expression) keeps only the sentences it matches, e.g. ``"الوفاق|حفتر"`` for a
    sample where stance can be read; ids are ``{prefix}-000`` ...
    """
    from libya_nlp.segmentation import split_sentences

    wanted = re.compile(naming) if naming else None

    pools: dict[bool, list[tuple[str, str]]] = {True: [], False: []}
    seen: set[str] = set()
    for source, text in _articles(data_dir):
        if not is_about_libya(text):
            continue
        for sentence in split_sentences(text):
            words = sentence.text.strip()
            if (6 <= len(words.split()) <= 60 and is_about_libya(words) and words not in seen
                    and (wanted is None or wanted.search(words))):
                seen.add(words)
                pools[bool(_REQUEST_VERB.search(words))].append((source, words))
    rng = random.Random(seed)
    if len(pools[True]) < with_verb or len(pools[False]) < without_verb:
        raise SystemExit(f"only {len(pools[True])} sentences with a request verb and {len(pools[False])} without "
                         f"under {data_dir}; ask for fewer")
    chosen = rng.sample(pools[True], with_verb) + rng.sample(pools[False], without_verb)
    rng.shuffle(chosen)
    return [{"id": f"{prefix}-{i:03d}", "source": source, "text": text} for i, (source, text) in enumerate(chosen)]


def _articles(data_dir: Path) -> Iterator[tuple[str, str]]:
    for pattern in _SOURCES:
        for path in sorted(glob.glob(str(data_dir / pattern))):
            if path.endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    for name in archive.namelist():
                        for article in json.loads(archive.read(name)):
                            yield Path(path).parent.name, article.get("content") or ""
            else:
                with gzip.open(path, "rt", encoding="utf-8") as lines:
                    for line in lines:
                        yield Path(path).name, json.loads(line).get("text") or ""


def score(sample: Sequence[dict[str, Any]], labels: dict[str, dict[str, Any]], annotator: Any) -> dict[str, Any]:
    """Entity, request-type and stance scores of ``annotator`` on the labelled sentences of ``sample``."""
    from sklearn.metrics import f1_score

    items = [(row["text"], labels[row["id"]]) for row in sample if row["id"] in labels]
    texts = [text for text, _ in items]
    read = {key: [a.to_dict() for a in annotator.annotate_batch(texts, stance_target=target)]
            for key, target in TARGETS.items()}
    found = exact = predicted_count = gold_count = 0
    gold_types, predicted_types = [], []
    for (text, label), result in zip(items, read["GNA"]):
        gold = _gold_spans(text, label["entities"])
        predicted = [(e["start"], e["end"], e["label"]) for e in result["entities"]]
        gold_count, predicted_count = gold_count + len(gold), predicted_count + len(predicted)
        used: set[int] = set()
        for g in gold:
            k = next((k for k, p in enumerate(predicted) if k not in used and p[2] == g[2] and p[0] < g[1] and g[0] < p[1]), None)
            if k is not None:
                used.add(k)
                found += 1
                exact += predicted[k][:2] == g[:2]
        predicted_types.append({t["label"] for s in result["sentences"] for t in s["request_types"]})
        gold_types.append(_gold_types(label))
    scores: dict[str, Any] = {
        "sentences": len(items),
        "entities": {"overlap_f1": _f1(found, predicted_count, gold_count), "exact_f1": _f1(exact, predicted_count, gold_count),
                     "gold": gold_count, "predicted": predicted_count},
        "request_types": request_f1(gold_types, predicted_types),
        "stance": {},
    }
    for key in TARGETS:
        gold = [label.get("stance", {}).get(key, "none") for _, label in items]
        predicted = [next((s["stance"]["label"] for s in r["sentences"] if s.get("stance") and s["stance"]["label"] != "none"),
                          "none") for r in read[key]]
        present = sorted(set(gold) | set(predicted))
        scores["stance"][key] = {"macro_f1": round(float(f1_score(gold, predicted, labels=present, average="macro",
                                                                   zero_division=0)), 4),
                                 "gold_not_none": sum(g != "none" for g in gold)}
    return scores


def baseline_score(sample: Sequence[dict[str, Any]], labels: dict[str, dict[str, Any]], config: Path) -> dict[str, Any]:
    """Request micro-F1 of the TF-IDF baseline trained on the training records of a classifier ``config``."""
    from training.baselines import NAME, THRESHOLD, fit_baseline
    from training.config import load_config
    from training.ngram_fit import sentence_text
    from training.sources import load_corpus_splits

    train, _, _ = load_corpus_splits(load_config(config), Path("."), "classifier")
    head = fit_baseline(list({r.id: r for r in train}.values()))
    items = [(row["text"], labels[row["id"]]) for row in sample if row["id"] in labels]
    probabilities = head.probabilities([sentence_text(text) for text, _ in items])
    predicted = [{t for t, p in zip(REQUEST_TYPES, row) if p >= THRESHOLD} for row in probabilities]
    return {"name": NAME, "trained_on": str(config),
            "request_types": request_f1([_gold_types(label) for _, label in items], predicted)}


def request_f1(gold: Sequence[set[str]], predicted: Sequence[set[str]]) -> dict[str, Any]:
    """Micro-F1 of predicted against gold request-type sets, one pair per sentence.

    >>> request_f1([{"mediation"}, set()], [{"mediation", "economic_aid"}, set()])
    {'micro_f1': 0.6667, 'gold': 1, 'predicted': 2}
    """
    shared = sum(len(g & p) for g, p in zip(gold, predicted))
    gold_count, predicted_count = sum(map(len, gold)), sum(map(len, predicted))
    return {"micro_f1": _f1(shared, predicted_count, gold_count), "gold": gold_count, "predicted": predicted_count}


def freeze(sample: Sequence[dict[str, Any]], labels: dict[str, dict[str, Any]], draw_args: dict[str, Any],
           **about: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the text-free rows that keep a labelled sample in the repository.

    >>> header, rows = freeze([{"id": "a-000", "source": "x", "text": "وصل السراج"}],
    ...                       {"a-000": {"entities": [{"text": "السراج", "label": "PER"}], "request_types": []}},
    ...                       {"seed": 7})
    >>> rows[0]["entities"], rows[0]["sha256"][:12], header["sentences"]
    ([[4, 10, 'PER']], 'e118f29d053d', 1)
    """
    rows = []
    for item in sample:
        label = labels.get(item["id"])
        if label is None:
            continue
        text = item["text"]
        spans = _gold_spans(text, label.get("entities", []))
        if len(spans) != len(label.get("entities", [])):
            missing = [e["text"] for e in label["entities"] if e["text"] not in text]
            raise SystemExit(f"{item['id']}: entity text not in the sentence: {missing}")
        rows.append({"id": item["id"], "sha256": _digest(text), "entities": [list(span) for span in spans],
                     "request_types": sorted(_gold_types(label)),
                     "stance": {key: label.get("stance", {}).get(key, "none") for key in TARGETS}})
    return {"draw": draw_args, "sentences": len(rows), **about}, rows


def thaw(header: dict[str, Any], rows: Sequence[dict[str, Any]], data_dir: Path, *,
         where: str = "the frozen sample") -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Draw a frozen sample's sentences again and return ``(sample, labels)`` as :func:`score` reads them.

    Raises ``SystemExit`` naming the id when a sentence's text no longer matches its hash (the raw
    news under ``data_dir`` differs from the one the labels were made on).
    """
    if not data_dir.is_dir():
        raise SystemExit(f"{where}: no folder {data_dir}: the sample's sentences are drawn again from the raw news "
                         f"there (give its place with --data)")
    arguments = dict(header["draw"])
    sample = draw(data_dir, arguments.pop("with_verb"), arguments.pop("without_verb"), arguments.pop("seed"),
                  **arguments)
    by_id = {row["id"]: row for row in sample}
    labels = {}
    for row in rows:
        item = by_id.get(row["id"])
        if item is None or _digest(item["text"]) != row["sha256"]:
            raise SystemExit(f"{where}: sentence {row['id']} drawn from {data_dir} does not match its hash: the raw "
                             f"news there differs from the copy the labels were made on")
        text = item["text"]
        labels[row["id"]] = {"entities": [{"text": text[s:e], "label": label} for s, e, label in row["entities"]],
                             "request_types": row["request_types"], "stance": row["stance"]}
    return [by_id[row["id"]] for row in rows], labels


def frozen_samples(folder: Path = Path("training/data/real")) -> list[Path]:
    """The headers (``NAME.json``) of the samples kept in the repository."""
    return sorted(folder.glob("*.json"))


def load_frozen(header_path: Path, data_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """A kept sample's header, and its sentences and labels drawn again from ``data_dir`` (:func:`thaw`)."""
    header = json.loads(header_path.read_text(encoding="utf-8"))
    sample, labels = thaw(header, _read_jsonl(header_path.with_suffix(".jsonl")), data_dir, where=str(header_path))
    return header, sample, labels


def score_frozen(header_path: Path, data_dir: Path, annotator: Any, *, baseline: Path | None = None) -> dict[str, Any]:
    """:func:`score` ``annotator`` on a kept sample, with whether the sample is still blind (and, given a
    classifier config as ``baseline``, the TF-IDF baseline's request scores there)."""
    header, sample, labels = load_frozen(header_path, data_dir)
    scores = score(sample, labels, annotator) | {"blind": bool(header.get("blind", False))}
    if baseline is not None:
        scores["baseline"] = baseline_score(sample, labels, baseline)
    return scores


def record_frozen(header_paths: Sequence[Path], data_dir: Path, tagger_dir: Path, classifier_dir: Path,
                  record: Any = None) -> dict[str, dict[str, Any]]:
    """Score the tagger and classifier of two checkpoints on kept real-news samples and add the scores
    to their metrics and cards (the tagger's entities, the classifier's request types and stance),
    as ``real_news_NAME``. Returns the scores by sample name."""
    from libya_nlp.annotator import Annotator

    if record is None:
        from training.evaluate import record_in_checkpoint as record
    annotator = Annotator(tagger=str(tagger_dir), classifier=str(classifier_dir))
    results = {}
    for path in header_paths:
        scores = score_frozen(path, data_dir, annotator)
        results[path.stem] = scores
        about = {"sentences": scores["sentences"], "data": [str(path)],
                 "mode": "annotate() on real news sentences drawn again from the raw news, labelled blind "
                         + ("(a blind test: no model choice made on them)" if scores["blind"]
                            else "(a dev set, not a blind test: they or their errors have shaped choices)")}
        record(tagger_dir, f"real_news_{path.stem}", about | {"real_entities": scores["entities"]})
        record(classifier_dir, f"real_news_{path.stem}",
               about | {"real_requests": scores["request_types"], "real_stance": scores["stance"]})
    return results


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _gold_types(label: dict[str, Any]) -> set[str]:
    return set(label["request_types"]) & set(REQUEST_TYPES)


def _gold_spans(text: str, entities: Sequence[dict[str, str]]) -> list[tuple[int, int, str]]:
    """Character spans of the labelled entity texts, found in order of appearance."""
    spans, position = [], 0
    for entity in entities:
        start = text.find(entity["text"], position)
        if start < 0:
            start = text.find(entity["text"])
        if start >= 0:
            spans.append((start, start + len(entity["text"]), entity["label"]))
            position = start + len(entity["text"])
    return spans


def _f1(hits: int, predicted: int, gold: int) -> float:
    return round(2 * hits / (predicted + gold), 4) if predicted + gold else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.real_sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    drawing = commands.add_parser("draw", help="sample sentences about Libya from the raw news")
    drawing.add_argument("--data", type=Path, default=Path("../shared/data"))
    drawing.add_argument("--out", type=Path, required=True)
    drawing.add_argument("--with-verb", type=int, default=90)
    drawing.add_argument("--without-verb", type=int, default=60)
    drawing.add_argument("--seed", type=int, default=7)
    drawing.add_argument("--naming", help="a regular expression the sentences must match, e.g. 'الوفاق|حفتر'")
    drawing.add_argument("--prefix", default="raw", help="the ids' prefix (raw-000 ...); keep samples' ids apart")
    freezing = commands.add_parser("freeze", help="keep a labelled sample's labels without its text")
    freezing.add_argument("sample", type=Path)
    freezing.add_argument("labels", type=Path, nargs="+", help="JSONL files of labels by id (the first file wins on an id)")
    freezing.add_argument("--out", type=Path, required=True, help="path without suffix: writes OUT.json and OUT.jsonl")
    freezing.add_argument("--draw-seed", type=int, required=True, help="the draw's --seed")
    freezing.add_argument("--with-verb", type=int, required=True)
    freezing.add_argument("--without-verb", type=int, required=True)
    freezing.add_argument("--naming")
    freezing.add_argument("--prefix", required=True)
    freezing.add_argument("--note", default="", help="who labelled it and how (goes into OUT.json)")
    freezing.add_argument("--blind", action="store_true",
                          help="no model choice has been made on this sample yet (recorded; cards say so)")
    frozen = commands.add_parser("score-frozen", help="draw a frozen sample again and score the models on it")
    frozen.add_argument("headers", type=Path, nargs="*",
                        help="NAME.json files written by freeze (default: every sample in training/data/real)")
    frozen.add_argument("--data", type=Path, default=Path("../shared/data"))
    frozen.add_argument("--record", action="store_true",
                        help="also add the scores to the metrics and cards of --tagger and --classifier "
                             "(the installed defaults when not given)")
    scoring = commands.add_parser("score", help="score the models on a labelled sample")
    scoring.add_argument("sample", type=Path)
    scoring.add_argument("labels", type=Path, nargs="+", help="JSONL files of labels by id (the first file wins on an id)")
    for command in (scoring, frozen):
        command.add_argument("--tagger")
        command.add_argument("--classifier")
        command.add_argument("--baseline", type=Path, metavar="CONFIG",
                             help="also score the TF-IDF baseline trained on this classifier config's training data")
    args = parser.parse_args(argv)
    if args.command == "draw":
        rows = draw(args.data, args.with_verb, args.without_verb, args.seed, naming=args.naming, prefix=args.prefix)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} sentences to {args.out}", file=sys.stderr)
        return 0
    if args.command == "score-frozen":
        from libya_nlp.checkpoints import default_model_dir

        headers = args.headers or frozen_samples()
        if args.record:
            results = record_frozen(headers, args.data, Path(args.tagger or default_model_dir("tagger")),
                                    Path(args.classifier or default_model_dir("classifier")))
        else:
            from libya_nlp.annotator import Annotator

            annotator = Annotator(tagger=args.tagger, classifier=args.classifier)
            results = {path.stem: score_frozen(path, args.data, annotator, baseline=args.baseline) for path in headers}
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    sample = _read_jsonl(args.sample)
    labels = {}
    for path in args.labels:
        for record in _read_jsonl(path):
            labels.setdefault(record["id"], record)
    if args.command == "freeze":
        draw_args = {"seed": args.draw_seed, "with_verb": args.with_verb, "without_verb": args.without_verb,
                     "naming": args.naming, "prefix": args.prefix}
        header, rows = freeze(sample, labels, draw_args, blind=args.blind, note=args.note)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(header, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        args.out.with_suffix(".jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                  encoding="utf-8")
        print(f"froze {len(rows)} labelled sentences into {args.out}.json/.jsonl", file=sys.stderr)
        return 0
    from libya_nlp.annotator import Annotator

    scores = score(sample, labels, Annotator(tagger=args.tagger, classifier=args.classifier))
    if args.baseline is not None:
        scores["baseline"] = baseline_score(sample, labels, args.baseline)
    print(json.dumps(scores, ensure_ascii=False, indent=2))
    return 0


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path}:{number}: not JSON ({error})") from None
    return records


if __name__ == "__main__":
    sys.exit(main())
