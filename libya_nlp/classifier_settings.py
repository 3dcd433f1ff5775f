"""The sentence classifier's settings, checked: one home for their defaults and rules, shared by
:class:`~libya_nlp.classifier_config.LibyaClassifierConfig` (transformers) and the transformers-free
runtime (:mod:`libya_nlp.lite_models`), so both read a checkpoint the same way.

>>> settings = classifier_settings(encoder={"model_type": "bert", "hidden_size": 8})
>>> settings["pooling"], settings["request_thresholds"]["mediation"]
('cls', 0.5)
>>> classifier_settings(encoder={"model_type": "bert"}, pooling="max")
Traceback (most recent call last):
...
ValueError: pooling must be one of ('cls', 'mean'), got 'max'
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from libya_nlp.labels import REQUEST_TYPES, STANCE_LABELS

_WHOLE_MODEL_KEYS = ("dtype", "torch_dtype")
POOLINGS = ("cls", "mean")


def classifier_settings(
    encoder: dict[str, Any] | None = None,
    request_types: list[str] | None = None,
    request_thresholds: dict[str, float] | None = None,
    stance_labels: list[str] | None = None,
    classifier_dropout: float = 0.1,
    pooling: str = "cls",
    request_pos_weight: list[float] | None = None,
    pooled_mean: list[float] | None = None,
    pooled_std: list[float] | None = None,
    request_ngram_buckets: int | None = None,
    request_ngram_blend: float = 0.0,
) -> dict[str, Any]:
    """The classifier-specific settings with defaults filled in; raises ``ValueError`` for bad ones.
    (The arguments are documented on :class:`~libya_nlp.classifier_config.LibyaClassifierConfig`.)"""
    s = SimpleNamespace()
    s.encoder = dict(encoder) if encoder is not None else {"model_type": "bert"}
    for key in _WHOLE_MODEL_KEYS:  # the dtype is the whole model's: a stale encoder dtype would split it
        s.encoder.pop(key, None)
    if "model_type" not in s.encoder:
        raise ValueError("the encoder config needs a 'model_type' (use SomeConfig(...).to_dict())")
    s.request_types = list(request_types) if request_types is not None else list(REQUEST_TYPES)
    s.stance_labels = list(stance_labels) if stance_labels is not None else list(STANCE_LABELS)
    for name, labels in (("request_types", s.request_types), ("stance_labels", s.stance_labels)):
        if not labels or len(set(labels)) != len(labels):
            raise ValueError(f"{name} must be a non-empty list of distinct labels, got {labels}")
    thresholds = dict(request_thresholds) if request_thresholds is not None else {}
    unknown = set(thresholds) - set(s.request_types)
    if unknown:
        raise ValueError(f"request_thresholds names unknown request types: {sorted(unknown)}")
    s.request_thresholds = {label: float(thresholds.get(label, 0.5)) for label in s.request_types}
    bad = {k: v for k, v in s.request_thresholds.items() if not 0.0 < v < 1.0}
    if bad:
        raise ValueError(f"request thresholds must lie in (0, 1): {bad}")
    s.classifier_dropout = classifier_dropout
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    s.pooling = pooling
    if request_pos_weight is not None and len(request_pos_weight) != len(s.request_types):
        raise ValueError(f"request_pos_weight needs one weight per request type ({len(s.request_types)})")
    s.request_pos_weight = list(request_pos_weight) if request_pos_weight is not None else None
    if (pooled_mean is None) != (pooled_std is None):
        raise ValueError("pooled_mean and pooled_std go together")
    s.pooled_mean = [float(v) for v in pooled_mean] if pooled_mean is not None else None
    s.pooled_std = [float(v) for v in pooled_std] if pooled_std is not None else None
    if request_ngram_buckets is not None and (
            isinstance(request_ngram_buckets, bool) or not isinstance(request_ngram_buckets, int)
            or request_ngram_buckets < 1):
        raise ValueError(f"request_ngram_buckets must be a positive whole number of buckets or None, "
                         f"got {request_ngram_buckets!r}")
    if (isinstance(request_ngram_blend, bool) or not isinstance(request_ngram_blend, (int, float))
            or not 0.0 <= request_ngram_blend <= 1.0 or (request_ngram_blend and request_ngram_buckets is None)):
        raise ValueError(f"request_ngram_blend must be a number in [0, 1] (above 0 needs request_ngram_buckets), "
                         f"got {request_ngram_blend!r}")
    s.request_ngram_buckets = request_ngram_buckets
    s.request_ngram_blend = float(request_ngram_blend)
    return vars(s)


def split_settings(mapping: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(classifier settings, everything else)`` of a config dict, e.g. a checkpoint's config.json.

    >>> split_settings({"pooling": "mean", "model_type": "libya_sentence_classifier"})
    ({'pooling': 'mean'}, {'model_type': 'libya_sentence_classifier'})
    """
    names = inspect.signature(classifier_settings).parameters
    return ({k: v for k, v in mapping.items() if k in names}, {k: v for k, v in mapping.items() if k not in names})
