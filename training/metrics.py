"""Scores: seqeval entity-level P/R/F1 for the tagger, scikit-learn for request types and stance.

>>> entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])["f1"]
1.0
>>> stance_scores(["favor", "none", "against"], ["favor", "none", "none"])["macro_f1"]
0.5556
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from seqeval.metrics import classification_report as seqeval_report
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from libya_nlp.labels import STANCE_LABELS

_DIGITS = 4


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Exact-span entity precision, recall and F1 (micro over types) and per type, with seqeval."""
    report = seqeval_report([list(g) for g in gold], [list(p) for p in predicted], output_dict=True, zero_division=0)
    micro = report["micro avg"]
    per_type = {name: _prf(values) for name, values in report.items() if not name.endswith(" avg")}
    return {"precision": round(float(micro["precision"]), _DIGITS), "recall": round(float(micro["recall"]), _DIGITS),
            "f1": round(float(micro["f1-score"]), _DIGITS), "support": int(micro["support"]), "per_type": per_type}


def request_scores(gold: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Multi-label request types: per-type P/R/F1, micro and macro F1, and the no-request accuracy."""
    gold = np.asarray(gold, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, zero_division=0)
    per_type = {label: {"precision": round(float(p), _DIGITS), "recall": round(float(r), _DIGITS),
                        "f1": round(float(f), _DIGITS), "support": int(s)}
                for label, p, r, f, s in zip(labels, precision, recall, f1, support)}
    none_gold, none_pred = gold.sum(1) == 0, predicted.sum(1) == 0
    return {
        "micro_f1": round(float(f1_score(gold, predicted, average="micro", zero_division=0)), _DIGITS),
        "macro_f1": round(float(f1_score(gold, predicted, average="macro", zero_division=0)), _DIGITS),
        "exact_match": round(float((gold == predicted).all(1).mean()), _DIGITS) if len(gold) else 0.0,
        "no_request_accuracy": round(float((none_gold == none_pred).mean()), _DIGITS) if len(gold) else 0.0,
        "per_type": per_type,
    }


def stance_scores(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = STANCE_LABELS
                  ) -> dict[str, Any]:
    """Stance: macro F1 over the labels, per-label P/R/F1, accuracy and the confusion matrix (rows = gold)."""
    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    return {
        "macro_f1": round(float(np.mean(f1)), _DIGITS),
        "accuracy": round(float(np.mean([g == p for g, p in zip(gold, predicted)])), _DIGITS) if gold else 0.0,
        "per_label": {label: {"precision": round(float(p), _DIGITS), "recall": round(float(r), _DIGITS),
                              "f1": round(float(f), _DIGITS), "support": int(s)}
                      for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        "confusion": {"labels": labels, "matrix": confusion_matrix(gold, predicted, labels=labels).tolist()},
    }


def tune_thresholds(probs: np.ndarray, gold: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Per request type, the threshold in 0.05..0.95 with the best F1 on these examples.

    Ties go to the threshold closest to 0.5; a type with no positive example keeps 0.5.

    >>> tune_thresholds(np.array([[0.2], [0.4], [0.9]]), np.array([[0], [1], [1]]), ["x"])
    {'x': 0.4}
    """
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    thresholds = {}
    for k, label in enumerate(labels):
        if gold[:, k].sum() == 0:
            thresholds[label] = 0.5
            continue
        scores = [(f1_score(gold[:, k], probs[:, k] >= t, zero_division=0), -abs(t - 0.5), t) for t in grid]
        thresholds[label] = float(max(scores)[2])
    return thresholds


def tune_shared_threshold(probs: np.ndarray, gold: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """One threshold in 0.05..0.95 for every request type, the one with the best micro-F1.

    >>> tune_shared_threshold(np.array([[0.2, 0.7], [0.6, 0.1]]), np.array([[0, 1], [1, 0]]), ["x", "y"])
    {'x': 0.5, 'y': 0.5}
    """
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    scores = [(f1_score(gold.ravel(), (probs >= t).ravel(), zero_division=0), -abs(t - 0.5), t) for t in grid]
    best = float(max(scores)[2])
    return {label: best for label in labels}


def plot_confusions(matrices: dict[str, tuple[list[list[int]], list[str]]], path: str | Path) -> None:
    """Draw one confusion matrix per entry (title -> (matrix, labels)) into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(matrices)
    figure, axes = plt.subplots(1, count, figsize=(4.2 * count, 4), squeeze=False)
    for axis, (title, (matrix, labels)) in zip(axes[0], matrices.items()):
        values = np.asarray(matrix)
        axis.imshow(values, cmap="Blues")
        axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axis.set_yticks(range(len(labels)), labels)
        axis.set_xlabel("predicted")
        axis.set_ylabel("gold")
        axis.set_title(title, fontsize=9)
        for (i, j), value in np.ndenumerate(values):
            axis.text(j, i, str(value), ha="center", va="center",
                      color="white" if value > values.max() / 2 else "black", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _prf(values: dict[str, float]) -> dict[str, Any]:
    return {"precision": round(float(values["precision"]), _DIGITS), "recall": round(float(values["recall"]), _DIGITS),
            "f1": round(float(values["f1-score"]), _DIGITS), "support": int(values["support"])}


Triple = tuple[str, str | None, str | None]


def event_triple_scores(gold: Sequence[Sequence[Triple]], predicted: Sequence[Sequence[Triple]]) -> dict[str, float]:
    """Micro precision, recall and F1 of (type, requester id, addressee id) triples, matched
    exactly and as multisets within each sentence (ANNOTATION.md §7).

    >>> event_triple_scores([[("mediation", "UN", None)]], [[("mediation", "UN", None), ("mediation", "UN", "TUR")]])
    {'precision': 0.5, 'recall': 1.0, 'f1': 0.6667, 'support': 1}
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted")
    hits = sum(sum((Counter(g) & Counter(p)).values()) for g, p in zip(gold, predicted))
    n_gold = sum(len(g) for g in gold)
    n_pred = sum(len(p) for p in predicted)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": n_gold}


def actor_accuracy(gold: Sequence[str | None], predicted: Sequence[str | None]) -> dict[str, float]:
    """Share of mentions whose actor id (or null) is right, overall and on the mentions gold resolves.

    >>> actor_accuracy(["DZA", None, "TUR"], ["DZA", None, None])
    {'accuracy': 0.6667, 'accuracy_resolved': 0.5, 'mentions': 3}
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold mentions but {len(predicted)} predicted")
    right = [g == p for g, p in zip(gold, predicted)]
    resolved = [r for r, g in zip(right, gold) if g is not None]
    return {"accuracy": round(sum(right) / len(right), 4) if right else 0.0,
            "accuracy_resolved": round(sum(resolved) / len(resolved), 4) if resolved else 0.0,
            "mentions": len(right)}
