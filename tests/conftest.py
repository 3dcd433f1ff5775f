"""Tiny models built offline: a WordPiece vocabulary trained on the seed articles and 2-layer BERTs.

Nothing here touches a model hub; checkpoints are saved to and loaded from temp directories.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny models gain nothing from threads; one keeps the suite steady on a shared 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


def seed_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in SEEDS]


def tiny_bert_config(vocab_size: int, **overrides):
    from transformers import BertConfig

    settings = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=128)
    settings.update(overrides)
    return BertConfig(**settings)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from training.wordpiece import train_wordpiece

    lines = [line for text in seed_texts() for line in text.splitlines() if line.strip()]
    return train_wordpiece(lines, vocab_size=800, model_max_length=128, min_frequency=1)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory, tiny_tokenizer) -> Path:
    """A tiny untrained BERT encoder with the tiny tokenizer: what training configs fine-tune in tests."""
    from transformers import BertModel

    path = tmp_path_factory.mktemp("tiny_backbone")
    BertModel(tiny_bert_config(len(tiny_tokenizer), max_position_embeddings=512)).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_tagger_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    import torch
    from transformers import BertForTokenClassification

    from libya_nlp.labels import bio_labels

    labels = bio_labels()
    torch.manual_seed(0)
    config = tiny_bert_config(len(tiny_tokenizer), id2label=dict(enumerate(labels)),
                              label2id={label: i for i, label in enumerate(labels)})
    model = BertForTokenClassification(config)
    with torch.no_grad():  # lean toward entity labels so that random weights still produce spans
        model.classifier.bias.copy_(torch.tensor([0.0] + [0.3] * (len(labels) - 1)))
    path = tmp_path_factory.mktemp("tagger")
    model.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    import torch

    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.classifier_model import LibyaClassifierModel

    torch.manual_seed(1)
    config = LibyaClassifierConfig(encoder=tiny_bert_config(len(tiny_tokenizer)).to_dict(),
                                   request_thresholds={"mediation": 0.3})
    model = LibyaClassifierModel(config)
    path = tmp_path_factory.mktemp("classifier")
    model.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def annotator(tiny_tagger_dir, tiny_classifier_dir):
    from libya_nlp import Annotator

    # fp32: tests compare runs whose batches differ (batch vs one by one); only fp32 is bit-for-bit
    # batch-invariant on CPU. bf16 and int8 are checked against fp32 in test_annotator.py.
    return Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32")
