"""Cross-validated thresholds and blend: folds follow documents, and no sentence is scored by a
choice made on its own labels."""

import numpy as np
import pytest

from training.metrics import tune_shared_threshold
from training.threshold_cv import choose_blend_or_encoder, cross_validate, document_folds

LABELS = ["a", "b"]


class _Record:
    def __init__(self, doc_id):
        self.doc_id = doc_id


def _choose(probs, gold):
    return tune_shared_threshold(probs, gold, LABELS)


def _micro(gold, probs, thresholds):
    predicted = probs >= np.array([thresholds[label] for label in LABELS])
    tp = (predicted & (gold == 1)).sum()
    return 2 * tp / max(1, predicted.sum() + gold.sum())


def test_folds_keep_documents_together_and_are_balanced():
    records = [_Record(f"d{i // 3}") for i in range(60)]  # 20 documents of 3 sentences
    folds = document_folds(records, 5, seed=3)
    by_doc = {}
    for record, fold in zip(records, folds):
        by_doc.setdefault(record.doc_id, set()).add(fold)
    assert all(len(f) == 1 for f in by_doc.values())
    assert sorted(np.bincount(folds).tolist()) == [12] * 5
    assert folds == document_folds(records, 5, seed=3) and folds != document_folds(records, 5, seed=4)


def test_too_few_documents_for_the_folds_is_an_error():
    with pytest.raises(ValueError, match="3 documents"):
        document_folds([_Record(d) for d in "abc"], 5, seed=0)


def test_a_folds_predictions_do_not_depend_on_its_own_labels():
    rng = np.random.default_rng(0)
    encoder, ngram = rng.random((80, 2)), rng.random((80, 2))
    gold = (rng.random((80, 2)) < 0.4).astype(int)
    folds = [i % 4 for i in range(80)]
    predicted, choices = cross_validate(encoder, ngram, gold, folds, _choose, _micro, LABELS, (0.0, 0.3, 0.6))
    flipped = gold.copy()
    inside = np.array(folds) == 2
    flipped[inside] = 1 - flipped[inside]  # fold 2's labels change; its choice and predictions must not
    again, choices_again = cross_validate(encoder, ngram, flipped, folds, _choose, _micro, LABELS, (0.0, 0.3, 0.6))
    np.testing.assert_array_equal(again[inside], predicted[inside])
    assert choices_again[2] == choices[2]
    assert [c["sentences"] for c in choices] == [20, 20, 20, 20]


def test_each_fold_uses_the_choice_made_on_the_other_folds():
    """Fold 0's sentences are read at the threshold the other folds prefer, even where a threshold
    tuned on fold 0 itself would score them perfectly."""
    encoder = np.array([[0.3, 0.0]] * 4 + [[0.7, 0.0]] * 4 + [[0.3, 0.0]] * 4)
    gold = np.array([[1, 0]] * 4 + [[1, 0]] * 4 + [[0, 0]] * 4)
    folds = [0] * 4 + [1] * 4 + [2] * 4
    predicted, choices = cross_validate(encoder, None, gold, folds, _choose, _micro, LABELS)
    assert choices[0]["thresholds"]["a"] > 0.3  # folds 1 and 2 say 0.3 is negative
    assert predicted[:4, 0].tolist() == [0, 0, 0, 0]
    blend, thresholds, _ = choose_blend_or_encoder(encoder[:4], None, gold[:4], _choose, _micro, (0.0,))
    assert blend == 0.0 and thresholds["a"] <= 0.3  # tuned on fold 0 alone it would have caught them
