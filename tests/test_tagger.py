import numpy as np
import pytest
import torch
from transformers import BertForTokenClassification

from conftest import tiny_bert_config
from libya_nlp.iob_decoding import decode_labels
from libya_nlp.labels import bio_labels
from libya_nlp.segmentation import tokenize
from libya_nlp.tagger import EntityTagger, WordSpan, decode_spans


@pytest.fixture(scope="module")
def context_free_tagger(tiny_tokenizer):
    """No attention layers and no position information: a word's label depends on the word alone,
    so windowed tagging of a long sentence must give each word the label it gets on its own."""
    labels = bio_labels()
    torch.manual_seed(3)
    config = tiny_bert_config(len(tiny_tokenizer), num_hidden_layers=0, id2label=dict(enumerate(labels)),
                              label2id={label: i for i, label in enumerate(labels)})
    model = BertForTokenClassification(config).eval()
    with torch.no_grad():
        model.bert.embeddings.position_embeddings.weight.zero_()
        model.bert.embeddings.token_type_embeddings.weight.zero_()
        model.classifier.weight.mul_(50)
    return EntityTagger(model, tiny_tokenizer, max_length=24, stride=6, decoding="argmax")


def test_long_sentence_is_windowed_and_every_word_keeps_its_own_label(context_free_tagger):
    from conftest import seed_texts

    words = [t.text for t in tokenize(" ".join(seed_texts()))][:400]
    job = context_free_tagger.prepare([words])
    assert len(job.windows) > 20  # really windowed, not truncated
    labels, _ = context_free_tagger.word_labels(job)
    alone, _ = context_free_tagger.word_labels(context_free_tagger.prepare([[w] for w in words]))
    assert labels[0] == [label[0] for label in alone]
    assert len(set(labels[0])) > 3


def test_batches_of_different_sizes_agree(context_free_tagger):
    sentences = [["طلب", "السراج"], ["من", "الجزائر", "تنسيقا", "أمنيا"], [], ["داعش"]]
    one = context_free_tagger.word_labels(context_free_tagger.prepare(sentences), batch_size=1)
    many = context_free_tagger.word_labels(context_free_tagger.prepare(sentences), batch_size=64)
    assert one[0] == many[0]
    np.testing.assert_allclose(sum(one[1], []), sum(many[1], []), rtol=1e-5)
    assert one[0][2] == []


def test_decode_spans_merges_iob2():
    labels = ["B-PER", "I-PER", "I-ORG", "O", "I-LOC", "B-LOC", "I-LOC"]
    spans = decode_spans(labels, [0.5] * len(labels))
    assert spans == [WordSpan(0, 2, "PER", 0.5), WordSpan(2, 3, "ORG", 0.5), WordSpan(4, 5, "LOC", 0.5),
                     WordSpan(5, 7, "LOC", 0.5)]


def _valid_iob2(labels):
    return all(not b.startswith("I-") or a in ("B-" + b[2:], b) for a, b in zip(["O", *labels], labels))


def test_constrained_decoding_is_the_most_probable_valid_sequence():
    import itertools

    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    rng = np.random.default_rng(0)
    for _ in range(30):
        probs = rng.dirichlet(np.ones(len(labels)) * 0.5, size=4)
        valid = [seq for seq in itertools.product(range(len(labels)), repeat=4)
                 if _valid_iob2([labels[i] for i in seq])]
        best = max(valid, key=lambda seq: sum(np.log(probs[t, i]) for t, i in enumerate(seq)))
        assert decode_labels(probs, labels, "constrained") == list(best)
        assert decode_labels(probs, labels, "argmax") == list(probs.argmax(-1))
    assert decode_labels(np.zeros((0, len(labels))), labels) == []
    with pytest.raises(ValueError, match="decoding must be one of"):
        decode_labels(probs, labels, "crf")


def test_tagger_decodes_valid_iob2_over_windows(context_free_tagger):
    from conftest import seed_texts

    words = [t.text for t in tokenize(" ".join(seed_texts()))][:400]
    argmax = context_free_tagger.word_labels(context_free_tagger.prepare([words]))[0][0]
    constrained = EntityTagger(context_free_tagger.model, context_free_tagger.tokenizer, max_length=24, stride=6)
    assert constrained.decoding == "constrained"  # the default
    labels, scores = constrained.word_labels(constrained.prepare([words]))
    assert not _valid_iob2(argmax) and _valid_iob2(labels[0])  # the random model does produce O I-X
    assert sum(a != b for a, b in zip(argmax, labels[0])) > 0 and len(labels[0]) == len(words)
    assert all(0.0 < s <= 1.0 for s in scores[0])


def test_checkpoint_can_name_its_decoding(context_free_tagger):
    model = context_free_tagger.model
    model.config.iob_decoding = "argmax"
    try:
        assert EntityTagger(model, context_free_tagger.tokenizer).decoding == "argmax"
        model.config.iob_decoding = "beam"
        with pytest.raises(ValueError, match="decoding must be one of"):
            EntityTagger(model, context_free_tagger.tokenizer)
    finally:
        del model.config.iob_decoding
