import numpy as np
import pytest
import torch
from transformers import BertForTokenClassification

from conftest import tiny_bert_config
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
    return EntityTagger(model, tiny_tokenizer, max_length=24, stride=6)


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
