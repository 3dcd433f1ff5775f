import numpy as np

from libya_nlp.checkpoints import load_classifier
from libya_nlp.classifier import SentenceClassifier, merge_windows
from libya_nlp.labels import GNA_TARGET, REQUEST_TYPES
from libya_nlp.segmentation import tokenize


def test_merge_takes_max_request_and_least_neutral_stance():
    requests, stance = merge_windows([np.array([0.2, 0.9]), np.array([0.6, 0.1])],
                                     [np.array([0.1, 0.2, 0.7]), np.array([0.1, 0.8, 0.1])], none_index=2)
    np.testing.assert_allclose(requests, [0.6, 0.9])
    np.testing.assert_allclose(stance, [0.1, 0.8, 0.1])


def test_long_sentence_gets_one_result_from_several_windows(tiny_classifier_dir):
    model, tokenizer, _ = load_classifier(tiny_classifier_dir)
    classifier = SentenceClassifier(model, tokenizer, max_length=32, stride=8)
    target = [t.text for t in tokenize(GNA_TARGET)]
    long_sentence = [t.text for t in tokenize("طلب السراج من الجزائر تنسيقا أمنيا " * 30)]
    job = classifier.prepare([long_sentence, ["دعا", "حفتر"]], target=target)
    assert len(job.windows) > 5
    results = classifier.run(job)
    assert len(results) == 2
    assert set(results[0].request_scores) == set(REQUEST_TYPES)
    # every predicted type clears its own threshold (mediation's is 0.3 in the fixture)
    for label, score in results[0].request_types:
        assert score >= model.config.request_thresholds[label]
