"""Fine-tuning the sentence classifier (``task: classifier``): request types and target stance.

Each corpus record yields one example per stance target it carries: the pair (target,
sentence) with the record's request types (the same for every target) and its stance toward
that target, so the target really conditions the stance head.

>>> record = parse_record({"id": "a", "doc_id": "d", "text": "رحب السراج", "entities": [],
...     "request_types": ["mediation"], "stance": [{"target": "حفتر", "label": "against"}], "source": "written"}, "x")
>>> [(e.target, e.request_labels, e.stance) for e in examples_of([record], ["حفتر", "غيره"])]
[('حفتر', [0, 0, 0, 1, 0, 0, 0], 1)]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig

from libya_nlp.classifier import SentenceClassifier
from libya_nlp.classifier_config import LibyaClassifierConfig
from libya_nlp.labels import REQUEST_TYPES, STANCE_LABELS
from libya_nlp.classifier_model import LibyaClassifierModel
from libya_nlp.segmentation import tokenize
from training.arrow_data import rows_dataset, tokenized
from training.classifier_tuning import evaluate_and_tune
from training.config import TrainConfig
from training.corpus import CorpusRecord, parse_record  # noqa: F401 - parse_record is used by the doctest
from training.errors import DataError
from training.sources import load_corpus_splits
from training.threshold_cv import document_folds
from training.metrics import request_scores, stance_scores
from training.hf_trainer import loss_history, make_trainer, save_checkpoint, seed_everything, train_resumable
from training.wordpiece import train_wordpiece

@dataclass
class PairExample:
    target: str
    words: list[str]
    request_labels: list[int]
    stance: int  # index into STANCE_LABELS, -100 when the record has no stance for this target


def train_classifier(config: TrainConfig, root: Path, resume: bool = False) -> dict[str, Any]:
    """Train, select on dev, tune thresholds on dev, write the checkpoint; returns the metrics."""
    seed_everything(config.seed)
    train, dev, data_rows = load_corpus_splits(config, root, "classifier")
    if dev and config.classifier.tune_thresholds and config.classifier.threshold_folds:
        try:  # before training, not after it
            document_folds(dev, config.classifier.threshold_folds, config.seed)
        except ValueError as error:
            raise DataError(f"classifier.threshold_folds: {error}; lower it or add dev documents") from error
    targets = config.classifier.targets
    options = config.classifier
    train_examples = examples_of(train, targets)
    head_options = {"classifier_dropout": options.classifier_dropout, "pooling": options.pooling,
                    "request_pos_weight": _pos_weights(train_examples) if options.balance_requests else None}
    if config.backbone:
        tokenizer = AutoTokenizer.from_pretrained(config.backbone)
        model = LibyaClassifierModel.from_encoder(config.backbone, **head_options)
    else:
        scratch = config.scratch
        tokenizer = train_wordpiece([r.text for r in train] + targets, vocab_size=scratch.vocab_size,
                                    model_max_length=scratch.max_position_embeddings)
        encoder = BertConfig(vocab_size=len(tokenizer), hidden_size=scratch.hidden_size,
                             num_hidden_layers=scratch.num_hidden_layers, num_attention_heads=scratch.num_attention_heads,
                             intermediate_size=scratch.intermediate_size,
                             max_position_embeddings=scratch.max_position_embeddings)
        model = LibyaClassifierModel(LibyaClassifierConfig(encoder=encoder.to_dict(), **head_options))
    max_length = min(config.training.max_length, SentenceClassifier(model, tokenizer).max_length)
    train_set = encode_pairs(tokenizer, train_examples, max_length)
    if options.standardize_pooled:
        _standardize_pooled(model, train_set, tokenizer.pad_token_id or 0, config.seed)
    dev_set = encode_pairs(tokenizer, examples_of(dev, targets), max_length)

    def compute_metrics(prediction: Any) -> dict[str, float]:
        request_logits, stance_logits = prediction.predictions
        request_gold, stance_gold = prediction.label_ids
        requests = request_scores(request_gold, (request_logits > 0).astype(int), REQUEST_TYPES)
        keep = stance_gold != -100
        stance = stance_scores([STANCE_LABELS[i] for i in stance_gold[keep]],
                               [STANCE_LABELS[i] for i in stance_logits.argmax(-1)[keep]])
        return {"request_micro_f1": requests["micro_f1"], "stance_macro_f1": stance["macro_f1"],
                "score": (requests["micro_f1"] + stance["macro_f1"]) / 2}

    pad_id = tokenizer.pad_token_id or 0
    trainer = make_trainer(config, model, train_set, dev_set, lambda batch: _collate(batch, pad_id), compute_metrics,
                           metric="score", label_names=["request_labels", "stance_labels"],
                           optimizer=_optimizer(model, config))
    train_resumable(trainer, resume)
    model = trainer.model.eval()
    metrics: dict[str, Any] = {"task": "classifier", "data": data_rows, "train_log": loss_history(trainer),
                               "evaluation": {}}
    if dev:
        metrics["evaluation"].update(evaluate_and_tune(config, model, tokenizer, train, dev))
    save_checkpoint(config, model, tokenizer, metrics, task_description=card_description(model))
    return metrics


def card_description(model: LibyaClassifierModel) -> str:
    """What the model card says this classifier is."""
    return ("Sentence classifier for Arabic news about Libya: one encoder with two heads, request types "
            f"(multi-label: {', '.join(REQUEST_TYPES)}) and stance (favor/against/none) toward a target actor "
            "given as text with the sentence." + (
                " The request probabilities blend in a character n-gram head (TF-IDF + logistic regression, "
                "`libya_nlp.ngram_requests`) stored with the weights." if model.request_ngrams is not None else ""))


def examples_of(records: list[CorpusRecord], targets: list[str]) -> list[PairExample]:
    """One (target, sentence) example per record and configured target it carries a stance for;
    a record with none of them still trains the request head (stance ignored)."""
    examples = []
    for record in records:
        words = [t.text for t in tokenize(record.text)]
        requests = [int(label in record.request_types) for label in REQUEST_TYPES]
        chosen = [t for t in targets if t in record.stance]
        for target in chosen:
            examples.append(PairExample(target, words, requests, STANCE_LABELS.index(record.stance[target])))
        if not chosen:
            examples.append(PairExample(targets[0], words, requests, -100))
    return examples


def encode_pairs(tokenizer: Any, examples: list[PairExample], max_length: int) -> Any:
    """A ``datasets.Dataset`` of encoded (target, sentence) pairs (a batched ``map``); only the
    sentence is cut if the pair is too long. An empty list when there are no examples."""
    if not examples:
        return []
    target_words = {t: [tok.text for tok in tokenize(t)] for t in {e.target for e in examples}}
    rows = rows_dataset({"target": [e.target for e in examples], "words": [e.words for e in examples],
                         "request_labels": [[float(v) for v in e.request_labels] for e in examples],
                         "stance_labels": [e.stance for e in examples]})

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        encoding = tokenizer([target_words[t] for t in batch["target"]], batch["words"], is_split_into_words=True,
                             truncation="only_second", max_length=max_length)
        return {**{key: list(encoding[key]) for key in encoding.keys()},
                "request_labels": batch["request_labels"], "stance_labels": batch["stance_labels"]}

    return tokenized(rows, encode, "tokenising (target, sentence) pairs")


def _standardize_pooled(model: LibyaClassifierModel, examples: Any, pad_id: int, seed: int,
                        sample: int = 1024) -> None:
    """Measure the pooled vector's per-dimension mean and std on up to ``sample`` training examples
    (the encoder as loaded) and store them in the config, so the heads read standardised inputs."""
    import random

    chosen = [examples[i] for i in random.Random(seed).sample(range(len(examples)), min(sample, len(examples)))]
    model.eval()
    vectors = []
    with torch.inference_mode():
        for i in range(0, len(chosen), 64):
            batch = _collate(chosen[i : i + 64], pad_id)
            vectors.append(model.pooled(batch["input_ids"], batch["attention_mask"]).float())
    model.train()
    pooled = torch.cat(vectors)
    model.config.pooled_mean = [round(float(v), 6) for v in pooled.mean(0)]
    model.config.pooled_std = [round(float(v), 6) for v in pooled.std(0).clamp(min=1e-4)]


def _pos_weights(examples: list[PairExample]) -> list[float]:
    """sqrt(negatives / positives) per request type, from the training examples."""
    labels = np.array([e.request_labels for e in examples], dtype=float)
    positives = labels.sum(0).clip(min=1.0)
    return [round(float(w), 3) for w in np.sqrt((len(labels) - positives) / positives)]


def _optimizer(model: LibyaClassifierModel, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with the heads at ``head_learning_rate_scale`` times the encoder's rate; no decay on
    biases and LayerNorm weights."""
    rate, decay = config.training.learning_rate, config.training.weight_decay
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        head = not name.startswith("encoder.")
        no_decay = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
        groups.setdefault((head, no_decay), []).append(parameter)
    return torch.optim.AdamW([
        {"params": params, "lr": rate * (config.classifier.head_learning_rate_scale if head else 1.0),
         "weight_decay": 0.0 if no_decay else decay}
        for (head, no_decay), params in groups.items()])


def _collate(batch: list[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    width = max(len(item["input_ids"]) for item in batch)
    out: dict[str, torch.Tensor] = {}
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        if key in batch[0]:
            fill = pad_id if key == "input_ids" else 0
            out[key] = torch.tensor([item[key] + [fill] * (width - len(item[key])) for item in batch])
    out["request_labels"] = torch.tensor([item["request_labels"] for item in batch])
    out["stance_labels"] = torch.tensor([item["stance_labels"] for item in batch])
    return out
