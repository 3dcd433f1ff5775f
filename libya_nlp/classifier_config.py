"""Configuration of the sentence classifier: one encoder, a request-type head and a stance head.

>>> from transformers import BertConfig
>>> config = LibyaClassifierConfig(encoder=BertConfig(hidden_size=32).to_dict())
>>> config.request_types[0], config.stance_labels
('security_cooperation', ['favor', 'against', 'none'])
>>> config.request_thresholds["mediation"]
0.5
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, PretrainedConfig

from libya_nlp.labels import REQUEST_TYPES, STANCE_LABELS


_WHOLE_MODEL_KEYS = ("dtype", "torch_dtype")
POOLINGS = ("cls", "mean")


class LibyaClassifierConfig(PretrainedConfig):
    """Label maps, per-label thresholds and the encoder's own config (as a dict).

    Args:
        encoder: the backbone's config as a dict (``BertConfig(...).to_dict()``), with its
            ``model_type``.
        request_types: names of the multi-label request-type outputs, in head order.
        request_thresholds: the probability above which each request type is predicted.
        stance_labels: names of the stance outputs, in head order.
        classifier_dropout: dropout before both heads.
        pooling: what the heads read: ``"cls"`` (the first token) or ``"mean"`` (the mean of the
            tokens, for encoders trained that way such as e5).
        request_pos_weight: training only: the BCE weight of a positive example per request type.
        pooled_mean, pooled_std: per-dimension shift and scale applied to the pooled vector before
            the heads (measured on the training data when the classifier was created). Mean-pooled
            e5 vectors share one large direction and vary by ~0.08 per dimension, so an unscaled
            linear head barely moves at a normal learning rate.
        request_ngram_buckets: with a number, the model carries a character n-gram request head
            (:class:`~libya_nlp.ngram_requests.NgramRequestHead`) of that many hash buckets.
        request_ngram_blend: the weight of that head's probabilities in the request scores
            (``(1 - w) * encoder + w * n-grams``); 0 reads the encoder alone.
    """

    model_type = "libya_sentence_classifier"

    def __init__(
        self,
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
        **kwargs: Any,
    ) -> None:
        self.encoder = dict(encoder) if encoder is not None else {"model_type": "bert"}
        for key in _WHOLE_MODEL_KEYS:  # the dtype is the whole model's: a stale encoder dtype would split it
            self.encoder.pop(key, None)
        if "model_type" not in self.encoder:
            raise ValueError("the encoder config needs a 'model_type' (use SomeConfig(...).to_dict())")
        self.request_types = list(request_types) if request_types is not None else list(REQUEST_TYPES)
        self.stance_labels = list(stance_labels) if stance_labels is not None else list(STANCE_LABELS)
        for name, labels in (("request_types", self.request_types), ("stance_labels", self.stance_labels)):
            if not labels or len(set(labels)) != len(labels):
                raise ValueError(f"{name} must be a non-empty list of distinct labels, got {labels}")
        thresholds = dict(request_thresholds) if request_thresholds is not None else {}
        unknown = set(thresholds) - set(self.request_types)
        if unknown:
            raise ValueError(f"request_thresholds names unknown request types: {sorted(unknown)}")
        self.request_thresholds = {label: float(thresholds.get(label, 0.5)) for label in self.request_types}
        bad = {k: v for k, v in self.request_thresholds.items() if not 0.0 < v < 1.0}
        if bad:
            raise ValueError(f"request thresholds must lie in (0, 1): {bad}")
        self.classifier_dropout = classifier_dropout
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        if request_pos_weight is not None and len(request_pos_weight) != len(self.request_types):
            raise ValueError(f"request_pos_weight needs one weight per request type ({len(self.request_types)})")
        self.request_pos_weight = list(request_pos_weight) if request_pos_weight is not None else None
        if (pooled_mean is None) != (pooled_std is None):
            raise ValueError("pooled_mean and pooled_std go together")
        self.pooled_mean = [float(v) for v in pooled_mean] if pooled_mean is not None else None
        self.pooled_std = [float(v) for v in pooled_std] if pooled_std is not None else None
        if request_ngram_buckets is not None and (
                isinstance(request_ngram_buckets, bool) or not isinstance(request_ngram_buckets, int)
                or request_ngram_buckets < 1):
            raise ValueError(f"request_ngram_buckets must be a positive whole number of buckets or None, "
                             f"got {request_ngram_buckets!r}")
        if (isinstance(request_ngram_blend, bool) or not isinstance(request_ngram_blend, (int, float))
                or not 0.0 <= request_ngram_blend <= 1.0 or (request_ngram_blend and request_ngram_buckets is None)):
            raise ValueError(f"request_ngram_blend must be a number in [0, 1] (above 0 needs request_ngram_buckets), "
                             f"got {request_ngram_blend!r}")
        self.request_ngram_buckets = request_ngram_buckets
        self.request_ngram_blend = float(request_ngram_blend)
        super().__init__(**kwargs)

    def encoder_config(self) -> PretrainedConfig:
        """The backbone's config object, built from the stored dict."""
        settings = dict(self.encoder)
        return AutoConfig.for_model(settings.pop("model_type"), **settings)

    @property
    def hidden_size(self) -> int:
        """Width of the encoder's output, which the heads read."""
        return int(self.encoder["hidden_size"])

    @property
    def initializer_range(self) -> float:
        return float(self.encoder.get("initializer_range", 0.02))
