"""Fine-tuning the entity tagger (``task: tagger``): IOB2 labels on first subwords.

>>> tokenizer = train_wordpiece(["طلب السراج دعما", "طلب السراجي"] * 3, vocab_size=32)
>>> tokenizer.tokenize("السراجي")
['السراج', '##ي']
>>> encode_tagged(tokenizer, [TaggedSentence(["طلب", "السراجي"], ["O", "B-PER"])], {"O": 0, "B-PER": 1}, 16)[0]["labels"]
[-100, 0, 1, -100, -100]
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, BertConfig, BertForTokenClassification
from transformers import DataCollatorForTokenClassification

from libya_nlp.labels import bio_labels
from libya_nlp.tagger import EntityTagger
from training.arrow_data import rows_dataset, tokenized
from training.augment import swap_mentions
from training.config import TrainConfig
from training.conll import TaggedSentence, chunk_sentence
from training.evaluate import evaluate_tagger
from training.metrics import entity_scores
from training.sources import load_source, mix_by_weight, split_dev_by_document, tagged_sentences
from training.hf_trainer import loss_history, make_trainer, save_checkpoint, seed_everything, train_resumable
from training.wordpiece import train_wordpiece

_PSEUDO_DOC = 25  # CoNLL files have no document ids: hold out blocks of this many sentences


DESCRIPTION = ("Entity tagger for Arabic news: IOB2 tags for PER, ORG, LOC and MISC on word tokens (first-subword "
               "labelling), used by `libya_nlp.annotate()` to return entities with character offsets.")


def train_tagger(config: TrainConfig, root: Path, resume: bool = False) -> dict[str, Any]:
    """Train, select on dev, write the checkpoint; returns the metrics written to metrics.json."""
    seed_everything(config.seed)
    train, dev, data_rows = load_data(config, root)
    if config.backbone:
        tokenizer = AutoTokenizer.from_pretrained(config.backbone)
    else:
        tokenizer = train_wordpiece((" ".join(s.words) for s in train), vocab_size=config.scratch.vocab_size,
                                    model_max_length=config.scratch.max_position_embeddings)
    labels = bio_labels()
    label2id = {label: i for i, label in enumerate(labels)}
    model = _make_model(config, labels, len(tokenizer))
    max_length = min(config.training.max_length, EntityTagger(model, tokenizer).max_length)
    train_pieces = [piece for s in train for piece in chunk_sentence(s, config.data.max_words)]
    dev_pieces = [piece for s in dev for piece in chunk_sentence(s, config.data.max_words)]
    train_set = encode_tagged(tokenizer, train_pieces, label2id, max_length)
    dev_set = encode_tagged(tokenizer, dev_pieces, label2id, max_length)

    def compute_metrics(prediction: Any) -> dict[str, float]:
        predicted, gold = prediction.predictions, prediction.label_ids
        gold_tags, predicted_tags = [], []
        for p_row, g_row in zip(predicted, gold):
            keep = g_row != -100
            gold_tags.append([labels[i] for i in g_row[keep]])
            predicted_tags.append([labels[i] for i in p_row[keep]])
        return {"f1": entity_scores(gold_tags, predicted_tags)["f1"]}

    trainer = make_trainer(config, model, train_set, dev_set, DataCollatorForTokenClassification(tokenizer),
                           compute_metrics, metric="f1", label_names=["labels"],
                           preprocess_logits=lambda logits, _labels: logits.argmax(-1))
    train_resumable(trainer, resume)
    model = trainer.model.eval()
    metrics: dict[str, Any] = {"task": "tagger", "data": data_rows, "train_log": loss_history(trainer),
                               "evaluation": {}}
    if dev:
        metrics["evaluation"]["dev"] = evaluate_tagger(EntityTagger(model, tokenizer), dev,
                                                       batch_size=config.training.eval_batch_size)
    save_checkpoint(config, model, tokenizer, metrics, task_description=DESCRIPTION)
    return metrics


def encode_tagged(tokenizer: Any, sentences: list[TaggedSentence], label2id: dict[str, int],
                  max_length: int) -> Any:
    """A ``datasets.Dataset`` of token ids with the word's tag on its first subword and -100
    elsewhere (tokenised by a batched ``map``); an empty list when there are no sentences."""
    if not sentences:
        return []
    rows = rows_dataset({"words": [s.words for s in sentences], "tags": [s.tags for s in sentences]})

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        encoding = tokenizer(batch["words"], is_split_into_words=True, truncation=True, max_length=max_length)
        columns: dict[str, list[Any]] = {key: list(encoding[key]) for key in encoding.keys()}
        columns["labels"] = []
        for i, tags in enumerate(batch["tags"]):
            labels, previous = [], None
            for word in encoding.word_ids(i):
                labels.append(-100 if word is None or word == previous else label2id[tags[word]])
                previous = word
            columns["labels"].append(labels)
        return columns

    return tokenized(rows, encode, "tokenising tagged sentences")


def _make_model(config: TrainConfig, labels: list[str], vocab_size: int) -> Any:
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    if config.backbone:
        # fp32 master weights even from an fp16 checkpoint such as the shipped defaults
        return AutoModelForTokenClassification.from_pretrained(
            config.backbone, num_labels=len(labels), id2label=id2label, label2id=label2id, dtype=torch.float32)
    scratch = config.scratch
    return BertForTokenClassification(BertConfig(
        vocab_size=vocab_size, hidden_size=scratch.hidden_size, num_hidden_layers=scratch.num_hidden_layers,
        num_attention_heads=scratch.num_attention_heads, intermediate_size=scratch.intermediate_size,
        max_position_embeddings=scratch.max_position_embeddings, id2label=id2label, label2id=label2id))


def load_data(config: TrainConfig, root: Path) -> tuple[list[TaggedSentence], list[TaggedSentence], dict]:
    """Train and dev sentences of a tagger config (held-out parts, weights and mention swaps applied)
    and the rows of the card's data table."""
    rows: dict[str, list[dict[str, Any]]] = {"train": [], "dev": []}
    train: list[TaggedSentence] = []
    held_out: list[TaggedSentence] = []
    for index, source in enumerate(config.data.train):
        loaded = load_source(source, root)
        if source.dev_fraction:
            keep, hold = _hold_out(loaded, source.dev_fraction, config.seed + index)
        else:
            keep, hold = tagged_sentences(loaded), []
        held_out += hold
        train += mix_by_weight(keep, source.weight, config.seed + index)
        swapped = swap_mentions(keep, source.mention_swap, config.seed + index) if source.mention_swap else []
        train += swapped
        rows["train"].append(_row(source, len(keep)) | ({"mention_swapped": len(swapped)} if swapped else {}))
    dev: list[TaggedSentence] = list(held_out)
    for source in config.data.dev:
        loaded = load_source(source, root)
        dev += tagged_sentences(loaded)
        rows["dev"].append(_row(source, len(loaded.items)))
    if held_out:
        rows["dev"].append({"path": "held out from train", "format": "mixed", "sentences": len(held_out)})
    return train, dev, rows


def _hold_out(loaded: Any, fraction: float, seed: int) -> tuple[list[TaggedSentence], list[TaggedSentence]]:
    if loaded.source.format == "corpus":
        from training.corpus import to_tagged

        keep, hold = split_dev_by_document(loaded.items, fraction, seed)
        return [to_tagged(r) for r in keep], [to_tagged(r) for r in hold]
    sentences = tagged_sentences(loaded)
    blocks = [sentences[i : i + _PSEUDO_DOC] for i in range(0, len(sentences), _PSEUDO_DOC)]
    order = list(range(len(blocks)))
    random.Random(seed).shuffle(order)
    held = set(order[: max(1, round(len(blocks) * fraction))])
    return ([s for i, b in enumerate(blocks) if i not in held for s in b],
            [s for i, b in enumerate(blocks) if i in held for s in b])


def _row(source: Any, sentences: int) -> dict[str, Any]:
    return {"path": source.path, "name": source.name, "format": source.format, "sentences": sentences,
            "weight": source.weight, "licence": source.licence}
