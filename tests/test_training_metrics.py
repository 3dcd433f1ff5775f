import numpy as np
import pytest

from training.metrics import entity_scores, request_scores, stance_scores, tune_thresholds


def test_entity_scores_count_exact_spans():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    scores = entity_scores(gold, predicted)
    # one of three predicted spans is exact (the person); one of three gold spans is found
    assert scores["precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["per_type"]["PER"]["f1"] == 1.0
    assert scores["per_type"]["LOC"]["recall"] == 0.0 and scores["per_type"]["ORG"]["support"] == 1


def test_request_scores_micro_macro():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    predicted = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    scores = request_scores(gold, predicted, ["a", "b"])
    assert scores["per_type"]["a"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert scores["per_type"]["b"]["f1"] == 0.5
    assert scores["micro_f1"] == pytest.approx(0.75)  # tp 3, fp 1, fn 1
    assert scores["macro_f1"] == pytest.approx(0.75)
    assert scores["no_request_accuracy"] == 0.75


def test_stance_macro_f1_and_confusion():
    scores = stance_scores(["favor", "favor", "against", "none"], ["favor", "none", "against", "none"])
    assert scores["per_label"]["favor"]["recall"] == 0.5
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3, abs=1e-4)
    assert scores["confusion"]["matrix"] == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]


def test_thresholds_move_to_the_best_f1():
    probs = np.array([[0.3, 0.9], [0.35, 0.8], [0.1, 0.2], [0.6, 0.1]])
    gold = np.array([[1, 0], [1, 0], [0, 0], [1, 0]])
    thresholds = tune_thresholds(probs, gold, ["low", "never"])
    assert thresholds == {"low": 0.3, "never": 0.5}
