"""Fit the character n-gram request head and choose its blend weight with the encoder.

The head (:class:`libya_nlp.ngram_requests.NgramRequestHead`) is fitted on the classifier's
training records: n-gram buckets seen in fewer than ``min_df`` training sentences get idf 0
(left out), and each request type gets a logistic regression with balanced class weights. The
blend weight and the threshold(s) are then chosen together on dev (cross-validated over its
documents, or on its tuning part: :mod:`training.classifier_tuning`).

>>> texts = ["طلب السراج دعما عسكريا", "زار الوزير تونس", "طالب بدعم عسكري عاجل", "عقد اجتماع في تونس"]
>>> head = fit_ngram_head(texts, np.array([[1], [0], [1], [0]]), buckets=1024, min_df=1)
>>> [int(p > 0.5) for p in head.probabilities(["دعما عسكريا", "اجتماع في تونس"])[:, 0]]
[1, 0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from libya_nlp.ngram_requests import NgramRequestHead, bucket_counts, tfidf_rows
from libya_nlp.ngram_requests import blend as blend_probabilities
from libya_nlp.segmentation import tokenize

DEFAULT_BUCKETS = 2**17
BLENDS = tuple(round(b, 2) for b in np.arange(0.0, 0.61, 0.1))


def record_text(record: Any) -> str:
    """A corpus record as the classifier and its n-gram head read it: normalised words joined by spaces."""
    return sentence_text(record.text)


def sentence_text(text: str) -> str:
    """A sentence as the n-gram head reads it: its normalised words joined by spaces."""
    return " ".join(t.text for t in tokenize(text))


def fit_ngram_head(texts: Sequence[str], labels: np.ndarray, *, buckets: int = DEFAULT_BUCKETS, min_df: int = 2,
                   C: float = 4.0) -> NgramRequestHead:
    """A head fitted on ``texts`` (space-joined normalised words) and their multi-hot ``labels``
    (one column per request type)."""
    import torch
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counts = [bucket_counts(text, buckets) for text in texts]
    df = np.zeros(buckets)
    for row in counts:
        df[list(row)] += 1
    idf = np.where(df >= min_df, np.log((1 + len(texts)) / (1 + df)) + 1.0, 0.0)
    head = NgramRequestHead(buckets, labels.shape[1])
    rows, cols, values = [], [], []
    for i, row in enumerate(counts):
        ids, vals = tfidf_rows(row, idf)
        rows.extend([i] * len(ids))
        cols.extend(ids.tolist())
        values.extend(vals.tolist())
    features = csr_matrix((values, (rows, cols)), shape=(len(texts), buckets))
    weight = np.zeros((labels.shape[1], buckets))
    bias = np.zeros(labels.shape[1])
    for k in range(labels.shape[1]):
        column = labels[:, k]
        if column.min() == column.max():  # one class only: a constant
            bias[k] = 20.0 if column[0] else -20.0
            continue
        model = LogisticRegression(class_weight="balanced", max_iter=3000, C=C).fit(features, column)
        weight[k], bias[k] = model.coef_[0], model.intercept_[0]
    with torch.no_grad():
        head.idf.copy_(torch.from_numpy(idf))
        head.weight.copy_(torch.from_numpy(weight))
        head.bias.copy_(torch.from_numpy(bias))
    return head


def choose_blend(encoder_probs: np.ndarray, ngram_probs: np.ndarray, gold: np.ndarray,
                 choose_thresholds: Callable[[np.ndarray, np.ndarray], dict[str, float]],
                 score: Callable[[np.ndarray, np.ndarray], float], blends: Sequence[float] = BLENDS,
                 ) -> tuple[float, dict[str, float], float]:
    """The blend weight (and its thresholds) with the best ``score`` on these tuning sentences;
    ties go to the smaller weight.

    >>> enc = np.array([[0.9], [0.6], [0.2]]); ngr = np.array([[0.9], [0.1], [0.1]]); gold = np.array([[1], [0], [0]])
    >>> pick = lambda p, g: {"x": 0.5}
    >>> f1 = lambda p, t: float(((p[:, 0] >= t["x"]) == gold[:, 0]).mean())
    >>> choose_blend(enc, ngr, gold, pick, f1, blends=(0.0, 0.5))[0]
    0.5
    """
    best: tuple[float, float, dict[str, float]] | None = None
    for blend in blends:
        probs = blend_probabilities(encoder_probs, ngram_probs, blend)
        thresholds = choose_thresholds(probs, gold)
        value = score(probs, thresholds)
        if best is None or value > best[0] + 1e-12:
            best = (value, float(blend), thresholds)
    assert best is not None
    return best[1], best[2], best[0]
