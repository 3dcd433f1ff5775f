"""The sentence classifier model: request types (multi-label) and target stance from one encoder.

The input is the pair (target, sentence); the first token's final hidden state feeds two
linear heads. The model registers with ``AutoConfig``/``AutoModel``, so a checkpoint is a
plain directory that ``from_pretrained`` reads without remote code.

>>> import torch
>>> from transformers import BertConfig
>>> config = LibyaClassifierConfig(encoder=BertConfig(
...     vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
...     intermediate_size=32).to_dict())
>>> out = LibyaClassifierModel(config)(input_ids=torch.tensor([[2, 5, 3]]))
>>> tuple(out.request_logits.shape), tuple(out.stance_logits.shape)
((1, 7), (1, 3))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel
from transformers.utils import ModelOutput

from libya_nlp.classifier_config import LibyaClassifierConfig
from libya_nlp.ngram_requests import NgramRequestHead


@dataclass
class LibyaClassifierOutput(ModelOutput):
    """Logits of both heads, and the summed loss when labels were given."""

    loss: torch.Tensor | None = None
    request_logits: torch.Tensor | None = None
    stance_logits: torch.Tensor | None = None


class LibyaClassifierModel(PreTrainedModel):
    """An encoder with a request-type head (sigmoid) and a stance head (softmax); optionally a
    character n-gram request head whose probabilities the :class:`~libya_nlp.classifier.SentenceClassifier`
    blends in (it reads text, not token ids, so ``forward`` does not use it).

    With a blend (``config.request_ngram_blend > 0``) the ``request_thresholds`` were tuned on the
    blended probabilities: ``forward``'s ``request_logits`` are the encoder's alone, so compare
    ``(1 - w) * sigmoid(request_logits) + w * request_ngrams.probabilities(texts)`` with them, or
    use :class:`~libya_nlp.classifier.SentenceClassifier`, which does."""

    config_class = LibyaClassifierConfig
    base_model_prefix = "encoder"
    _supports_sdpa = True
    supports_gradient_checkpointing = True

    def __init__(self, config: LibyaClassifierConfig, encoder: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        self.encoder = encoder if encoder is not None else _encoder_from_config(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.request_head = nn.Linear(config.hidden_size, len(config.request_types))
        self.stance_head = nn.Linear(config.hidden_size, len(config.stance_labels))
        self.request_ngrams = (NgramRequestHead(config.request_ngram_buckets, len(config.request_types))
                               if config.request_ngram_buckets else None)
        self.post_init()

    @classmethod
    def from_encoder(cls, backbone: str, **config_kwargs: Any) -> LibyaClassifierModel:
        """Start a classifier from a pretrained backbone (a directory or a hub name).

        A hub name such as "aubmindlab/bert-base-arabertv02" works the same way as a directory:

        >>> import tempfile
        >>> from transformers import BertConfig, BertModel
        >>> backbone = tempfile.mkdtemp()
        >>> BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ...                      intermediate_size=32)).save_pretrained(backbone)
        >>> LibyaClassifierModel.from_encoder(backbone).config.encoder["hidden_size"]
        16
        """
        # fp32 master weights whatever the backbone was saved in (transformers loads fp16 files as fp16)
        encoder = AutoModel.from_pretrained(backbone, use_safetensors=True, add_pooling_layer=False,
                                            dtype=torch.float32)
        config = LibyaClassifierConfig(encoder=encoder.config.to_dict(), **config_kwargs)
        return cls(config, encoder=encoder)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The vector the heads read (before standardisation), e.g. to measure its statistics."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        states = self.encoder(**inputs, return_dict=True).last_hidden_state
        if self.config.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return states[:, 0]

    def _init_weights(self, module: nn.Module) -> None:
        # an n-gram head is fitted, not initialised: zeros (probability 0.5 everywhere) rather
        # than the uninitialised memory a checkpoint without its buffers would otherwise leave
        if isinstance(module, NgramRequestHead):
            with torch.no_grad():
                for buffer in (module.idf, module.weight, module.bias):
                    buffer.zero_()
            return
        super()._init_weights(module)

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        request_labels: torch.Tensor | None = None,
        stance_labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> LibyaClassifierOutput:
        """Run both heads; with ``request_labels`` (float multi-hot) and/or ``stance_labels``
        (class ids, -100 to ignore) the summed loss is returned too."""
        hidden = self.pooled(input_ids, attention_mask, token_type_ids)
        if self.config.pooled_mean is not None:
            shift = torch.tensor(self.config.pooled_mean, dtype=hidden.dtype, device=hidden.device)
            scale = torch.tensor(self.config.pooled_std, dtype=hidden.dtype, device=hidden.device)
            hidden = (hidden - shift) / scale
        hidden = self.dropout(hidden)
        request_logits = self.request_head(hidden)
        stance_logits = self.stance_head(hidden)
        loss = None
        if request_labels is not None:
            weight = self.config.request_pos_weight
            pos_weight = None if weight is None else torch.tensor(weight, dtype=request_logits.dtype,
                                                                  device=request_logits.device)
            loss = nn.functional.binary_cross_entropy_with_logits(
                request_logits, request_labels.to(request_logits.dtype), pos_weight=pos_weight)
        if stance_labels is not None:
            stance_loss = nn.functional.cross_entropy(stance_logits, stance_labels, ignore_index=-100)
            loss = stance_loss if loss is None else loss + stance_loss
        return LibyaClassifierOutput(loss=loss, request_logits=request_logits, stance_logits=stance_logits)


def _encoder_from_config(config: LibyaClassifierConfig) -> PreTrainedModel:
    encoder_config = config.encoder_config()
    encoder_config._attn_implementation = config._attn_implementation
    try:
        return AutoModel.from_config(encoder_config, add_pooling_layer=False)
    except TypeError:  # backbones without a pooler take no such argument
        return AutoModel.from_config(encoder_config)


AutoConfig.register(LibyaClassifierConfig.model_type, LibyaClassifierConfig, exist_ok=True)
AutoModel.register(LibyaClassifierConfig, LibyaClassifierModel, exist_ok=True)
