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

from libya_nlp.classifier_settings import POOLINGS, classifier_settings, split_settings

__all__ = ["LibyaClassifierConfig", "POOLINGS"]


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

    def __init__(self, **kwargs: Any) -> None:
        """Keyword arguments as documented above (checked by
        :func:`~libya_nlp.classifier_settings.classifier_settings`); the rest go to ``PretrainedConfig``."""
        settings, kwargs = split_settings(kwargs)
        for key, value in classifier_settings(**settings).items():
            setattr(self, key, value)
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
