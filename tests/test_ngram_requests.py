"""The character n-gram request head: sklearn's char_wb n-grams and TF-IDF, its blend into the
classifier's request scores, and its storage in a checkpoint (safetensors and int8)."""

import random

import numpy as np
import pytest
import torch

from conftest import tiny_bert_config
from libya_nlp.checkpoints import load_classifier
from libya_nlp.classifier import SentenceClassifier
from libya_nlp.classifier_config import LibyaClassifierConfig
from libya_nlp.classifier_model import LibyaClassifierModel
from libya_nlp.ngram_requests import bucket_counts, char_ngrams, tfidf_rows
from libya_nlp import weights_int8
from training.ngram_fit import fit_ngram_head

_ALPHABET = list("ابتثجحخدذرسشصضطظعغفقكلمنهوي") + list("ab") + [" ", " ", "  ", "،"]


def _texts(count, seed=0):
    rng = random.Random(seed)
    return ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(count)]


def test_char_ngrams_are_sklearns_char_wb_ngrams():
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False).build_analyzer()
    for text in _texts(300) + ["", "و", "في", "دعم", "طالب بدعم"]:
        assert char_ngrams(text) == analyzer(text), text


def test_tfidf_of_the_head_is_sklearns_on_the_hashed_counts():
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    texts, buckets = _texts(80, seed=1), 512
    counts = [bucket_counts(t, buckets) for t in texts]
    matrix = csr_matrix(([v for c in counts for v in c.values()],
                         ([i for i, c in enumerate(counts) for _ in c], [k for c in counts for k in c])),
                        shape=(len(texts), buckets))
    reference = TfidfTransformer(sublinear_tf=True).fit(matrix)
    head = fit_ngram_head(texts, np.array([[i % 2] for i in range(len(texts))]), buckets=buckets, min_df=1)
    seen = np.asarray(matrix.sum(0)).ravel() > 0
    np.testing.assert_allclose(head.idf.numpy()[seen], reference.idf_[seen], rtol=1e-6)
    expected = reference.transform(matrix).toarray()
    for row, count in enumerate(counts):
        ids, values = tfidf_rows(count, head.idf.double().numpy())
        dense = np.zeros(buckets)
        dense[ids] = values
        np.testing.assert_allclose(dense, expected[row], rtol=1e-5, atol=1e-7)


def test_rare_buckets_are_left_out():
    head = fit_ngram_head(["دعم عسكري", "دعم سياسي", "تونس"], np.array([[1], [0], [0]]), buckets=4096, min_df=2)
    assert bucket_counts("تونس", 4096) and all(head.idf[b] == 0 for b in bucket_counts("تونس", 4096))
    assert all(head.idf[b] > 0 for b in bucket_counts("دعم", 4096))


def _classifier_with_head(tiny_tokenizer, blend):
    torch.manual_seed(3)
    config = LibyaClassifierConfig(encoder=tiny_bert_config(len(tiny_tokenizer)).to_dict(),
                                   request_ngram_buckets=2048, request_ngram_blend=blend)
    model = LibyaClassifierModel(config).eval()
    texts = ["طلب السراج دعما عسكريا", "زار الوزير تونس", "دعت الحكومة إلى وساطة", "عقد اجتماع في تونس"]
    labels = np.array([[1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]])
    head = fit_ngram_head(texts, labels, buckets=2048, min_df=1)
    model.request_ngrams.load_state_dict(head.state_dict())
    return model


SENTENCES = [["طلب", "السراج", "دعما", "عسكريا"], ["عقد", "اجتماع", "في", "تونس"]]
TARGET = ["حكومة", "الوفاق"]


def test_blend_is_the_weighted_mean_of_encoder_and_ngram_probabilities(tiny_tokenizer):
    model = _classifier_with_head(tiny_tokenizer, blend=0.4)
    blended = SentenceClassifier(model, tiny_tokenizer).classify(SENTENCES, target=TARGET)
    ngram = model.request_ngrams.probabilities([" ".join(s) for s in SENTENCES])
    model.config.request_ngram_blend = 0.0
    encoder = SentenceClassifier(model, tiny_tokenizer).classify(SENTENCES, target=TARGET)
    types = model.config.request_types
    for i in range(len(SENTENCES)):
        got = np.array([blended[i].request_scores[t] for t in types])
        alone = np.array([encoder[i].request_scores[t] for t in types])
        np.testing.assert_allclose(got, 0.6 * alone + 0.4 * ngram[i], rtol=1e-6)
    assert not np.allclose(ngram[0], ngram[1])  # the head does tell the sentences apart


def test_the_head_is_saved_and_loaded_with_the_classifier(tiny_tokenizer, tmp_path):
    model = _classifier_with_head(tiny_tokenizer, blend=0.5)
    expected = SentenceClassifier(model, tiny_tokenizer).classify(SENTENCES, target=TARGET)
    model.save_pretrained(tmp_path / "fp32")
    tiny_tokenizer.save_pretrained(tmp_path / "fp32")
    (tmp_path / "int8").mkdir()
    weights_int8.save_int8(model, tmp_path / "int8")
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "int8" / name).write_bytes((tmp_path / "fp32" / name).read_bytes())
    for folder, tolerance in (("fp32", 1e-6), ("int8", 2e-2)):
        loaded, tokenizer, _ = load_classifier(tmp_path / folder)
        assert loaded.config.request_ngram_blend == 0.5 and loaded.request_ngrams.buckets == 2048
        torch.testing.assert_close(loaded.request_ngrams.bias, model.request_ngrams.bias, atol=1e-2, rtol=1e-3)
        got = SentenceClassifier(loaded, tokenizer).classify(SENTENCES, target=TARGET)
        for before, after in zip(expected, got):
            for label, score in before.request_scores.items():
                assert after.request_scores[label] == pytest.approx(score, abs=tolerance), (folder, label)


def test_a_checkpoint_without_its_ngram_weights_is_refused(tiny_tokenizer, tmp_path):
    """transformers only warns about missing weights; the head would read uninitialised memory
    (NaN scores, invalid JSON) if loading went on."""
    from safetensors.torch import load_file, save_file

    from libya_nlp.checkpoints import CheckpointError

    model = _classifier_with_head(tiny_tokenizer, blend=0.5)
    model.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("request_ngrams.")},
              tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=r"lack 3 tensor\(s\).*request_ngrams\."):
        load_classifier(tmp_path)


def test_a_fresh_head_is_zero_not_uninitialised(tiny_tokenizer):
    model = _classifier_with_head(tiny_tokenizer, blend=0.5)
    model._init_weights(model.request_ngrams)
    assert all(float(b.abs().sum()) == 0 for b in model.request_ngrams.buffers())


def test_a_job_without_texts_runs_the_encoder_alone_and_refuses_a_blend(tiny_tokenizer):
    from dataclasses import replace

    model = _classifier_with_head(tiny_tokenizer, blend=0.0)
    classifier = SentenceClassifier(model, tiny_tokenizer)
    job = classifier.prepare(SENTENCES, target=TARGET)
    bare = replace(job, texts=None)
    assert [r.request_scores for r in classifier.run(bare)] == [r.request_scores for r in classifier.run(job)]
    model.config.request_ngram_blend = 0.5
    with pytest.raises(ValueError, match="reads the sentences' text"):
        classifier.run(bare)


@pytest.mark.parametrize("kwargs, message", [
    ({"request_ngram_blend": 0.3}, "needs request_ngram_buckets"),
    ({"request_ngram_buckets": 16, "request_ngram_blend": 1.5}, r"in \[0, 1\]"),
    ({"request_ngram_buckets": 0}, "positive whole number of buckets"),
    ({"request_ngram_buckets": 2048.0}, "positive whole number of buckets"),
    ({"request_ngram_buckets": True}, "positive whole number of buckets"),
    ({"request_ngram_buckets": "2048"}, "positive whole number of buckets"),
    ({"request_ngram_buckets": 16, "request_ngram_blend": None}, r"in \[0, 1\]"),
    ({"request_ngram_buckets": 16, "request_ngram_blend": "0.5"}, r"in \[0, 1\]"),
    ({"request_ngram_buckets": 16, "request_ngram_blend": True}, r"in \[0, 1\]"),
])
def test_config_rejects_bad_blend_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LibyaClassifierConfig(encoder=tiny_bert_config(50).to_dict(), **kwargs)


def test_training_config_needs_tuned_thresholds_for_a_blend():
    from conftest import ROOT
    from training.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="classifier.ngram_blend"):
        load_config(ROOT / "configs" / "classifier_e5.yaml", ["classifier.tune_thresholds=false",
                                                             "classifier.threshold_folds=0"])
