"""After fine-tuning: the classifier's dev scores, its request threshold(s) and n-gram blend weight.

Three ways, by the ``classifier`` options of the config:

- ``tune_thresholds: false``: thresholds stay at 0.5; dev is scored as is.
- ``threshold_folds: K``: K-fold cross-validation over dev documents (:mod:`training.threshold_cv`);
  "dev" is all of dev, each sentence scored with choices made on the other folds; the shipped
  choices are made on all of dev.
- ``threshold_fraction: F``: choices made on a document-disjoint part F of dev ("dev_tune"), the
  rest reported ("dev"); with F = 0, tuned and reported on the same sentences (optimistic).

With ``ngram_blend`` the character n-gram request head is fitted on the training records and its
blend weight chosen with the thresholds; the encoder alone is reported beside it on the same
sentences ("dev_encoder_only"), and a blend of 0 drops the head from the checkpoint. Every split
carries the TF-IDF baseline (:mod:`training.baselines`) on the same sentences. The epoch was
selected on all of dev before any of this, so every dev score here is slightly optimistic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from libya_nlp.classifier import SentenceClassifier
from libya_nlp.classifier_model import LibyaClassifierModel
from libya_nlp.labels import REQUEST_TYPES
from training.baselines import fit_baseline, tfidf_request_baseline
from training.config import TrainConfig
from training.corpus import CorpusRecord
from training.evaluate import evaluate_classifier
from training.metrics import request_scores, tune_shared_threshold, tune_thresholds
from training.ngram_fit import BLENDS, DEFAULT_BUCKETS, fit_ngram_head, record_text
from training.sources import split_dev_by_document
from training.threshold_cv import choose_blend_or_encoder, cross_validate, document_folds


def evaluate_and_tune(config: TrainConfig, model: LibyaClassifierModel, tokenizer: Any,
                      train: list[CorpusRecord], dev: list[CorpusRecord]) -> dict[str, Any]:
    """Dev scores by split name; sets the model's thresholds (and n-gram head and blend) in place."""
    options, batch_size = config.classifier, config.training.eval_batch_size
    unique_train = list({r.id: r for r in train}.values())  # weights repeat records; the n-grams see each once
    baseline_head = fit_baseline(unique_train)

    def baseline(records: list[CorpusRecord]) -> dict[str, Any]:
        return tfidf_request_baseline(unique_train, records, head=baseline_head)

    def score(records: list[CorpusRecord]) -> dict[str, Any]:
        scores = evaluate_classifier(SentenceClassifier(model, tokenizer), records, batch_size=batch_size)
        scores.pop("request_probabilities")
        return scores | {"baseline": baseline(records)}

    if not options.tune_thresholds:
        return {"dev": score(dev)}
    model.config.request_ngram_blend = 0.0
    if options.ngram_blend:
        head = baseline_head if options.ngram_buckets == DEFAULT_BUCKETS else fit_ngram_head(
            [record_text(r) for r in unique_train], _gold(unique_train), buckets=options.ngram_buckets)
        model.request_ngrams = head.to(next(model.parameters()).device)
        model.config.request_ngram_buckets = options.ngram_buckets
    if options.threshold_folds:
        results = _cross_validated(options, config.seed, model, tokenizer, dev, batch_size, baseline)
    else:
        results = _split(options, config.seed, model, tokenizer, dev, batch_size, score)
    if options.ngram_blend and not model.config.request_ngram_blend:  # the encoder alone won: ship no head
        model.request_ngrams = None
        model.config.request_ngram_buckets = None
    return results


def _cross_validated(options: Any, seed: int, model: LibyaClassifierModel, tokenizer: Any,
                     dev: list[CorpusRecord], batch_size: int, baseline: Any) -> dict[str, Any]:
    encoder = evaluate_classifier(SentenceClassifier(model, tokenizer), dev, batch_size=batch_size)
    encoder_probs, gold = encoder.pop("request_probabilities"), _gold(dev)
    ngram_probs = model.request_ngrams.probabilities([record_text(r) for r in dev]) if options.ngram_blend else None
    folds = document_folds(dev, options.threshold_folds, seed)
    choose, micro = _chooser(options), _micro_f1
    what = "threshold and n-gram blend weight" if options.ngram_blend else "threshold"
    mode = (f"{options.threshold_folds}-fold cross-validation over dev documents: each sentence scored with a {what} "
            f"chosen on the other folds; the shipped {what} chosen on all of dev")
    results: dict[str, Any] = {}
    if options.ngram_blend:
        alone, _ = cross_validate(encoder_probs, None, gold, folds, choose, micro, REQUEST_TYPES)
        results["dev_encoder_only"] = {
            "request_types": request_scores(gold, alone, REQUEST_TYPES), "sentences": len(dev),
            "thresholds": choose(encoder_probs, gold),
            "mode": "the same sentences and folds as dev, the encoder alone (no n-gram head)"}
    predicted, choices = cross_validate(encoder_probs, ngram_probs, gold, folds, choose, micro, REQUEST_TYPES, BLENDS)
    blend, thresholds, _ = choose_blend_or_encoder(encoder_probs, ngram_probs, gold, choose, micro, BLENDS)
    model.config.request_ngram_blend, model.config.request_thresholds = blend, thresholds
    dev_scores = {"request_types": request_scores(gold, predicted, REQUEST_TYPES), "stance": encoder["stance"],
                  "thresholds": thresholds, "sentences": len(dev), "mode": mode, "thresholds_tuned_on": mode,
                  "folds": choices, "baseline": baseline(dev)}
    if options.ngram_blend:
        dev_scores["ngram_blend"] = blend
    return {"dev": dev_scores} | results


def _split(options: Any, seed: int, model: LibyaClassifierModel, tokenizer: Any, dev: list[CorpusRecord],
           batch_size: int, score: Any) -> dict[str, Any]:
    report, tune = (split_dev_by_document(dev, options.threshold_fraction, seed)
                    if options.threshold_fraction else (dev, dev))
    gold, choose = _gold(tune), _chooser(options)
    encoder_probs = evaluate_classifier(SentenceClassifier(model, tokenizer), tune,
                                        batch_size=batch_size)["request_probabilities"]
    tuned_on = (f"dev_tune ({len(tune)} sentences, document-disjoint from these)" if options.threshold_fraction
                else "dev (these same sentences: optimistic)")
    extra: dict[str, Any] = {}
    if options.ngram_blend:
        model.config.request_thresholds = choose(encoder_probs, gold)
        extra["dev_encoder_only"] = {"request_types": score(report)["request_types"], "sentences": len(report),
                                     "thresholds": dict(model.config.request_thresholds),
                                     "mode": f"the same sentences as dev, the encoder alone (no n-gram head), its "
                                             f"threshold tuned on {tuned_on.split(' (')[0]}"}
    ngram_probs = (model.request_ngrams.probabilities([record_text(r) for r in tune]) if options.ngram_blend
                   else None)
    blend, thresholds, _ = choose_blend_or_encoder(encoder_probs, ngram_probs, gold, choose, _micro_f1, BLENDS)
    model.config.request_ngram_blend, model.config.request_thresholds = blend, thresholds
    blended = {"ngram_blend": blend} if options.ngram_blend else {}
    if not options.threshold_fraction:
        return {"dev": score(dev) | {"thresholds_tuned_on": tuned_on} | blended} | extra
    return {"dev": score(report) | {"thresholds_tuned_on": tuned_on} | blended, "dev_tune": score(tune)} | extra


def _chooser(options: Any) -> Any:
    def choose(probabilities: np.ndarray, gold: np.ndarray) -> dict[str, float]:
        return (tune_shared_threshold if options.shared_threshold else tune_thresholds)(
            probabilities, gold, REQUEST_TYPES)
    return choose


def _micro_f1(gold: np.ndarray, probs: np.ndarray, thresholds: dict[str, float]) -> float:
    predicted = (probs >= np.array([thresholds[label] for label in REQUEST_TYPES])).astype(int)
    return request_scores(gold, predicted, REQUEST_TYPES)["micro_f1"]


def _gold(records: list[CorpusRecord]) -> np.ndarray:
    return np.array([[label in r.request_types for label in REQUEST_TYPES] for r in records], dtype=int)
