"""Training data through Hugging Face datasets: the batched map gives, row for row, what encoding
each sentence alone gives, so the move to Arrow changes no training result."""

from __future__ import annotations

from datasets import Dataset

from conftest import seed_texts
from libya_nlp.labels import bio_labels
from libya_nlp.segmentation import split_sentences, tokenize
from training.classifier_training import PairExample, encode_pairs
from training.conll import TaggedSentence
from training.tagger_training import encode_tagged


def _sentences() -> list[list[str]]:
    return [[t.text for t in tokenize(s.text)] for text in seed_texts() for s in split_sentences(text)]


def test_tagged_rows_equal_encoding_each_sentence_alone(tiny_tokenizer):
    labels = bio_labels()
    label2id = {label: i for i, label in enumerate(labels)}
    sentences = [TaggedSentence(words, [labels[(i + j) % len(labels)] for j in range(len(words))])
                 for i, words in enumerate(_sentences())]
    encoded = encode_tagged(tiny_tokenizer, sentences, label2id, max_length=48)  # some are cut
    assert isinstance(encoded, Dataset) and len(encoded) == len(sentences) > 1000 // 48
    for row, sentence in zip(encoded, sentences):
        alone = tiny_tokenizer(sentence.words, is_split_into_words=True, truncation=True, max_length=48)
        first = [j == 0 or w != alone.word_ids()[j - 1] for j, w in enumerate(alone.word_ids())]
        expected = [-100 if w is None or not f else label2id[sentence.tags[w]] for w, f in zip(alone.word_ids(), first)]
        assert row["input_ids"] == alone["input_ids"] and row["labels"] == expected
    assert any(len(row["input_ids"]) == 48 for row in encoded)


def test_pair_rows_equal_encoding_each_pair_alone(tiny_tokenizer):
    examples = [PairExample("حكومة الوفاق" if i % 2 else "خليفة حفتر", words, [i % 2] * 7, i % 3 - 1 if i % 4 else -100)
                for i, words in enumerate(_sentences())]
    encoded = encode_pairs(tiny_tokenizer, examples, max_length=40)
    assert isinstance(encoded, Dataset) and len(encoded) == len(examples)
    for row, example in zip(encoded, examples):
        target = [t.text for t in tokenize(example.target)]
        alone = tiny_tokenizer(target, example.words, is_split_into_words=True, truncation="only_second", max_length=40)
        assert row["input_ids"] == alone["input_ids"] and row["token_type_ids"] == alone["token_type_ids"]
        assert row["request_labels"] == [float(v) for v in example.request_labels]
        assert row["stance_labels"] == example.stance
