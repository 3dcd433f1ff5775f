"""Inference twins of the library's BERT checkpoints in torch alone, without transformers' modeling code.

Importing ``transformers.modeling_utils`` takes about 5 s on a 2-core CPU (it pulls in torch._dynamo,
torch.distributed.tensor and scipy), more than a whole cold ``libya-nlp annotate`` of a seed should.
For the architectures the library itself trains (a BERT encoder under a token-classification head,
or under :class:`~libya_nlp.classifier_model.LibyaClassifierModel`'s heads) these modules compute the
same function with the same parameter names, so the checkpoint's state dict loads into them as it
is. :func:`~libya_nlp.checkpoints.load_for_inference` picks them when a checkpoint allows it and
falls back to transformers otherwise (hub names, other architectures); tests check that both give
the same logits.

>>> import torch
>>> config = {"model_type": "bert", "vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
...           "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}
>>> BertEncoder(config)(torch.tensor([[2, 5, 3]])).shape
torch.Size([1, 3, 8])
>>> unsupported_encoder({**config, "hidden_act": "swish"})
"hidden_act 'swish'"
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from libya_nlp.ngram_requests import NgramRequestHead

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}
_DEFAULTS = {"hidden_act": "gelu", "layer_norm_eps": 1e-12, "type_vocab_size": 2, "max_position_embeddings": 512}


def unsupported_encoder(config: dict[str, Any]) -> str | None:
    """Why these modules cannot run an encoder config (a ``BertConfig`` as a dict), or ``None``."""
    if config.get("model_type") != "bert":
        return f"model_type {config.get('model_type')!r}"
    act = config.get("hidden_act", _DEFAULTS["hidden_act"])
    if act not in _ACTIVATIONS:
        return f"hidden_act {act!r}"
    if config.get("position_embedding_type", "absolute") != "absolute":
        return f"position_embedding_type {config['position_embedding_type']!r}"
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return "a decoder"
    missing = [k for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size") if not isinstance(config.get(k), int)]
    if missing:
        return f"no {', '.join(missing)}"
    if config["hidden_size"] % config["num_attention_heads"]:
        return "hidden_size not a multiple of num_attention_heads"
    return None


class BertEncoder(nn.Module):
    """A BERT encoder (post-LN, absolute positions), named as ``transformers.BertModel`` names its
    parameters; returns the last hidden states."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        reason = unsupported_encoder(config)
        if reason:
            raise ValueError(f"this encoder config is not one BertEncoder runs: {reason}")
        settings = {**_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
        self.embeddings = _Embeddings(settings)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(_Layer(settings) for _ in range(settings["num_hidden_layers"]))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        states = self.embeddings(input_ids, token_type_ids)
        # keys that are padding get no attention; a padded query row still sees its real keys
        mask = None if attention_mask is None else attention_mask[:, None, None, :].bool()
        for layer in self.encoder.layer:
            states = layer(states, mask)
        return states


class _Embeddings(nn.Module):
    def __init__(self, s: dict[str, Any]) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(s["vocab_size"], s["hidden_size"])
        self.position_embeddings = nn.Embedding(s["max_position_embeddings"], s["hidden_size"])
        self.token_type_embeddings = nn.Embedding(s["type_vocab_size"], s["hidden_size"])
        self.LayerNorm = nn.LayerNorm(s["hidden_size"], eps=s["layer_norm_eps"])

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        states = self.word_embeddings(input_ids) + self.token_type_embeddings(types) + self.position_embeddings(positions)
        return self.LayerNorm(states)


class _Layer(nn.Module):
    def __init__(self, s: dict[str, Any]) -> None:
        super().__init__()
        width, eps = s["hidden_size"], s["layer_norm_eps"]
        self.heads = s["num_attention_heads"]
        self.activation = _ACTIVATIONS[s["hidden_act"]]
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(width, width))
        self.attention.output = _DenseNorm(width, width, eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(width, s["intermediate_size"])
        self.output = _DenseNorm(s["intermediate_size"], width, eps)

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, width = states.shape
        attention = self.attention.self

        def split(linear: nn.Linear) -> torch.Tensor:
            return linear(states).view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(split(attention.query), split(attention.key),
                                                 split(attention.value), attn_mask=mask)
        states = self.attention.output(context.transpose(1, 2).reshape(batch, length, width), states)
        return self.output(self.activation(self.intermediate.dense(states)), states)


class _DenseNorm(nn.Module):
    """dense, then LayerNorm over the residual sum (BERT's SelfOutput and Output)."""

    def __init__(self, inputs: int, width: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, width)
        self.LayerNorm = nn.LayerNorm(width, eps=eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class LiteTokenTagger(nn.Module):
    """``BertForTokenClassification`` for inference: ``bert`` then ``classifier``; ``forward`` returns
    an object with ``logits`` (batch x tokens x labels). ``config`` is the checkpoint's config.json
    as attributes (``id2label`` keyed by int)."""

    def __init__(self, config: SimpleNamespace) -> None:
        super().__init__()
        self.config = config
        self.bert = BertEncoder(vars(config))
        self.classifier = nn.Linear(config.hidden_size, len(config.id2label))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> SimpleNamespace:
        return SimpleNamespace(logits=self.classifier(self.bert(input_ids, attention_mask, token_type_ids)))


class LiteSentenceClassifier(nn.Module):
    """:class:`~libya_nlp.classifier_model.LibyaClassifierModel` for inference: the same pooling,
    standardisation and heads; ``forward`` returns ``request_logits`` and ``stance_logits``. ``config``
    holds :func:`~libya_nlp.classifier_settings.classifier_settings` as attributes."""

    def __init__(self, config: SimpleNamespace) -> None:
        super().__init__()
        self.config = config
        self.encoder = BertEncoder(config.encoder)
        width = int(config.encoder["hidden_size"])
        self.request_head = nn.Linear(width, len(config.request_types))
        self.stance_head = nn.Linear(width, len(config.stance_labels))
        self.request_ngrams = (NgramRequestHead(config.request_ngram_buckets, len(config.request_types))
                               if config.request_ngram_buckets else None)
        if config.pooled_mean is not None:
            self.register_buffer("pooled_mean", torch.tensor(config.pooled_mean), persistent=False)
            self.register_buffer("pooled_std", torch.tensor(config.pooled_std), persistent=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> SimpleNamespace:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        states = self.encoder(input_ids, attention_mask, token_type_ids)
        if self.config.pooling == "mean":
            weights = attention_mask.unsqueeze(-1).to(states.dtype)
            hidden = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        else:
            hidden = states[:, 0]
        if self.config.pooled_mean is not None:
            hidden = (hidden - self.pooled_mean) / self.pooled_std
        return SimpleNamespace(request_logits=self.request_head(hidden), stance_logits=self.stance_head(hidden))
