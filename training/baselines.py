"""The bar a request-type classifier must clear: TF-IDF character n-grams + logistic regression.

One balanced logistic regression per request type over character 2-5-grams (within word
boundaries) of the normalised sentence, trained on the same training records and scored on
the same dev records as the model, at the 0.5 threshold. It is reported beside the model's
scores in the classifier's card.

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
from libya_nlp.normalization import normalize_text
from training.corpus import CorpusRecord
from training.metrics import request_scores

NAME = "TF-IDF char 2-5-grams + balanced logistic regression"


def tfidf_request_baseline(train: Sequence[CorpusRecord], evaluate: Sequence[CorpusRecord]) -> dict[str, Any]:
    """Request-type scores of the TF-IDF baseline trained on ``train``, scored on ``evaluate``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([normalize_text(r.text) for r in train])
    test = vectorizer.transform([normalize_text(r.text) for r in evaluate])
    gold_train = np.array([[t in r.request_types for t in REQUEST_TYPES] for r in train], dtype=int)
    gold = np.array([[t in r.request_types for t in REQUEST_TYPES] for r in evaluate], dtype=int)
    predicted = np.zeros_like(gold)
    for k in range(len(REQUEST_TYPES)):
        if gold_train[:, k].min() == gold_train[:, k].max():
            predicted[:, k] = gold_train[0, k]
            continue
        model = LogisticRegression(class_weight="balanced", max_iter=2000, C=4.0)
        predicted[:, k] = model.fit(features, gold_train[:, k]).predict(test)
    return request_scores(gold, predicted, REQUEST_TYPES) | {"sentences": len(evaluate), "name": NAME}
