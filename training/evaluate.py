"""Evaluate a checkpoint: ``python -m training.evaluate MODEL_DIR --data PATH [--task ...]``.

Tagger: seqeval entity-level P/R/F1 per type. By default the words of the data are joined with
spaces and go through the public path of ``annotate()`` (normalisation, sentence split,
tokenisation, windowed tagging); ``--words`` tags the data's own words instead.
Classifier: per-type P/R/F1 and micro/macro F1 for request types, macro F1 of stance per
target. Writes ``metrics.json`` and a confusion-matrix PNG into ``--out`` (default: MODEL_DIR/eval).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from libya_nlp.annotator import find_entities
from libya_nlp.checkpoints import CheckpointError, load_classifier, load_tagger
from libya_nlp.classifier import SentenceClassifier
from libya_nlp.labels import ENTITY_TYPES, GNA_TARGET, PRECISIONS
from libya_nlp.segmentation import tokenize
from libya_nlp.tagger import EntityTagger
from training.conll import TaggedSentence, read_conll
from training.corpus import CorpusRecord, read_corpus, to_tagged
from training.errors import DataError
from training.metrics import entity_scores, plot_confusions, request_scores, stance_scores
from training.tasks import TASKS, task_of_model_type


def evaluate_tagger(tagger: EntityTagger, sentences: Sequence[TaggedSentence], *, through_text: bool = True,
                    batch_size: int = 64) -> dict[str, Any]:
    """Entity scores of ``tagger`` on gold sentences, plus a token-level confusion matrix."""
    gold = [s.tags for s in sentences]
    if through_text:
        predicted = _tags_through_text(tagger, sentences, batch_size)
    else:
        predicted = tagger.word_labels(tagger.prepare([s.words for s in sentences]), batch_size=batch_size)[0]
    scores = entity_scores(gold, predicted)
    kinds = ["O", *ENTITY_TYPES]
    flat_gold = [t.split("-")[-1] for tags in gold for t in tags]
    flat_pred = [t.split("-")[-1] for tags in predicted for t in tags]
    matrix = [[sum(1 for g, p in zip(flat_gold, flat_pred) if g == a and p == b) for b in kinds] for a in kinds]
    return {"entities": scores, "token_confusion": {"labels": kinds, "matrix": matrix},
            "sentences": len(sentences), "mode": "annotate() on space-joined words" if through_text else "gold words"}


def _tags_through_text(tagger: EntityTagger, sentences: Sequence[TaggedSentence], batch_size: int) -> list[list[str]]:
    texts, word_spans = [], []
    for sentence in sentences:
        spans, position = [], 0
        for word in sentence.words:
            spans.append((position, position + len(word)))
            position += len(word) + 1
        texts.append(" ".join(sentence.words))
        word_spans.append(spans)
    predicted = []
    for spans, entities in zip(word_spans, find_entities(tagger, texts, batch_size=batch_size)):
        tags = ["O"] * len(spans)
        for entity in entities:
            inside = [i for i, (s, e) in enumerate(spans) if s >= entity.start and e <= entity.end]
            for k, i in enumerate(inside):
                tags[i] = ("B-" if k == 0 else "I-") + entity.label
        predicted.append(tags)
    return predicted


def evaluate_classifier(classifier: SentenceClassifier, records: Sequence[CorpusRecord], *,
                        batch_size: int = 64) -> dict[str, Any]:
    """Request-type and per-target stance scores of ``classifier`` on corpus records."""
    words = [[t.text for t in tokenize(r.text)] for r in records]
    labels = classifier.request_types
    targets = sorted({target for r in records for target in r.stance})
    gold = np.array([[label in r.request_types for label in labels] for r in records], dtype=int)
    stance: dict[str, Any] = {}
    results_by_target = {}
    for target in targets or [GNA_TARGET]:
        chosen = [i for i, r in enumerate(records) if target in r.stance] if targets else list(range(len(records)))
        results = classifier.classify([words[i] for i in chosen], target=[t.text for t in tokenize(target)],
                                      batch_size=batch_size)
        results_by_target[target] = dict(zip(chosen, results))
        if targets:
            stance[target] = stance_scores([records[i].stance[target] for i in chosen], [r.stance for r in results],
                                           classifier.stance_labels)
    # Request types are read with the first target; a record without it is read once more with the default.
    first = results_by_target[(targets or [GNA_TARGET])[0]]
    missing = [i for i in range(len(records)) if i not in first]
    if missing:
        extra = classifier.classify([words[i] for i in missing], target=[t.text for t in tokenize(GNA_TARGET)],
                                    batch_size=batch_size)
        first = {**first, **dict(zip(missing, extra))}
    probs = np.array([[first[i].request_scores[label] for label in labels] for i in range(len(records))])
    probs = probs.reshape(len(records), len(labels))
    predicted = (probs >= classifier.thresholds).astype(int)
    return {"request_types": request_scores(gold, predicted, labels), "stance": stance,
            "thresholds": dict(zip(labels, map(float, classifier.thresholds))), "sentences": len(records),
            "request_probabilities": probs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", help="checkpoint directory (or hub name)")
    parser.add_argument("--data", required=True, nargs="+", help="CoNLL (.txt/.conll) or corpus (.jsonl) files")
    parser.add_argument("--task", choices=[t.name for t in TASKS.values() if t.evaluator],
                        help="default: from the checkpoint's config")
    parser.add_argument("--words", action="store_true", help="tagger: tag the gold words, not space-joined text")
    parser.add_argument("--out", type=Path, help="where to write metrics.json and confusion.png")
    parser.add_argument("--record-as", metavar="NAME",
                        help="also add the scores to MODEL_DIR/metrics.json under evaluation.NAME and rewrite its "
                             "model card (e.g. --record-as anercorp_test)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default=None)
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="as in annotate(): auto = bf16 on CUDA and bf16-capable CPUs; int8 = CPU dynamic quantisation")
    args = parser.parse_args(argv)
    from libya_nlp.precision import resolve_device

    task = args.task or _guess_task(args.model_dir)
    out = args.out or Path(args.model_dir) / "eval"
    try:
        metrics, confusions = TASKS[task].evaluate(args, resolve_device(args.device))
    except (CheckpointError, DataError, ValueError) as error:
        print(f"training.evaluate: {error}", file=sys.stderr)
        return 2
    metrics["data"] = [str(p) for p in args.data]
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_confusions(confusions, out / "confusion.png")
    if args.record_as:
        record_in_checkpoint(Path(args.model_dir), args.record_as, metrics)
    print(json.dumps(_summary(metrics), ensure_ascii=False))
    print(f"wrote {out / 'metrics.json'} and {out / 'confusion.png'}", file=sys.stderr)
    return 0


def evaluate_tagger_files(args: argparse.Namespace, device: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``training.evaluate`` for a tagger: span scores on CoNLL or corpus files, token confusion."""
    from libya_nlp.precision import prepare_model

    model, tokenizer, _ = load_tagger(args.model_dir)
    sentences = [s for path in args.data for s in _read_tagged(path)]
    metrics = evaluate_tagger(EntityTagger(prepare_model(model, device, args.precision), tokenizer), sentences,
                              through_text=not args.words, batch_size=args.batch_size)
    return metrics, {"tokens (gold rows)": (metrics["token_confusion"]["matrix"], metrics["token_confusion"]["labels"])}


def evaluate_classifier_files(args: argparse.Namespace, device: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``training.evaluate`` for a classifier: request and stance scores on corpus files, stance confusions."""
    from libya_nlp.precision import prepare_model

    model, tokenizer, _ = load_classifier(args.model_dir)
    records = [r for path in args.data for r in read_corpus(path)]
    metrics = evaluate_classifier(SentenceClassifier(prepare_model(model, device, args.precision), tokenizer), records,
                                  batch_size=args.batch_size)
    metrics.pop("request_probabilities")
    return metrics, {f"stance: {t}": (s["confusion"]["matrix"], s["confusion"]["labels"])
                     for t, s in metrics["stance"].items()}


def record_in_checkpoint(model_dir: Path, name: str, scores: dict[str, Any]) -> None:
    """Add ``scores`` to the checkpoint's metrics.json and regenerate its card from the saved config."""
    import yaml

    from training.config import config_from_dict
    from training.model_card import write_model_card

    metrics_path = model_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics.setdefault("evaluation", {})[name] = {k: v for k, v in scores.items() if k != "token_confusion"}
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    config = config_from_dict(yaml.safe_load((model_dir / "training_config.yaml").read_text(encoding="utf-8")))
    model = TASKS[config.task].load(model_dir)[0]
    write_model_card(model_dir, config, model, metrics, task_description=metrics.get("description", ""))


def _read_tagged(path: str) -> list[TaggedSentence]:
    if path.endswith(".jsonl"):
        return [to_tagged(r) for r in read_corpus(path)]
    return read_conll(path)


def _guess_task(model_dir: str) -> str:
    config_path = Path(model_dir) / "config.json"
    if config_path.is_file():
        return task_of_model_type(json.loads(config_path.read_text(encoding="utf-8")).get("model_type"))
    raise DataError(f"cannot tell the task of {model_dir}: pass --task tagger or --task classifier")


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    if "entities" in metrics:
        return {"entity_f1": metrics["entities"]["f1"],
                "per_type_f1": {k: v["f1"] for k, v in metrics["entities"]["per_type"].items()}}
    return {"request_micro_f1": metrics["request_types"]["micro_f1"],
            "request_macro_f1": metrics["request_types"]["macro_f1"],
            "stance_macro_f1": {t: s["macro_f1"] for t, s in metrics["stance"].items()}}


if __name__ == "__main__":
    sys.exit(main())
