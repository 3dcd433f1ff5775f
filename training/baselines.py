"""The bar a request-type classifier must clear: TF-IDF character n-grams + logistic regression.

One balanced logistic regression per request type over TF-IDF character 2-5-grams (within word
boundaries, hashed into 131,072 buckets) of the normalised sentence, trained on the same training
records and scored on the same dev records as the model, at the 0.5 threshold: the n-gram head of
:mod:`libya_nlp.ngram_requests` on its own. It is reported beside the model's scores in the
classifier's card.

>>> from training.corpus import parse_record
>>> rows = [{"id": f"r{i}", "doc_id": f"d{i}", "text": text, "entities": [], "request_types": types,
...          "stance": [], "source": "written"} for i, (text, types) in enumerate(
...     [("طلب السراج دعما عسكريا", ["military_aid"]), ("زار الوزير تونس", []),
...      ("طالب بدعم عسكري عاجل", ["military_aid"]), ("عقد اجتماع في تونس", [])])]
>>> records = [parse_record(r, "x") for r in rows]
>>> tfidf_request_baseline(records, records)["micro_f1"]
1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from libya_nlp.labels import REQUEST_TYPES
from libya_nlp.ngram_requests import NgramRequestHead
from training.corpus import CorpusRecord
from training.metrics import request_scores
from training.ngram_fit import fit_ngram_head, record_text

NAME = "TF-IDF char 2-5-grams (hashed) + balanced logistic regression"
THRESHOLD = 0.5  # the baseline is not tuned: every type at 0.5


def tfidf_request_baseline(train: Sequence[CorpusRecord], evaluate: Sequence[CorpusRecord], *,
                           head: NgramRequestHead | None = None) -> dict[str, Any]:
    """Request-type scores of the TF-IDF baseline trained on ``train``, scored on ``evaluate``;
    pass ``head`` (from :func:`fit_baseline` on the same ``train``) to score several sets with one fit."""
    head = head if head is not None else fit_baseline(train)
    gold = np.array([[t in r.request_types for t in REQUEST_TYPES] for r in evaluate], dtype=int)
    predicted = (head.probabilities([record_text(r) for r in evaluate]) >= THRESHOLD).astype(int)
    return request_scores(gold, predicted, REQUEST_TYPES) | {"sentences": len(evaluate), "name": NAME}


def fit_baseline(train: Sequence[CorpusRecord]) -> NgramRequestHead:
    """The baseline's n-gram head fitted on ``train`` (the same fit as the classifier's n-gram head)."""
    gold_train = np.array([[t in r.request_types for t in REQUEST_TYPES] for r in train], dtype=int)
    return fit_ngram_head([record_text(r) for r in train], gold_train)
