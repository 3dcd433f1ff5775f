"""The entity tagger: IOB2 word labels from any token-classification checkpoint, merged into spans.

Words are labelled by their first subword; a sentence's word labels are then the most probable
valid IOB2 sequence (:mod:`libya_nlp.iob_decoding`). A sentence longer than the model's maximum
length is cut into overlapping windows; each word takes its label from the window in which
it sits furthest from an edge, so nothing is truncated.

>>> decode_spans(["B-PER", "I-PER", "O", "B-LOC"], [0.9, 0.7, 0.99, 0.8])
[WordSpan(start=0, end=2, label='PER', score=0.8), WordSpan(start=3, end=4, label='LOC', score=0.8)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from libya_nlp.batching import max_input_length, run_batched, windows_of
from libya_nlp.iob_decoding import DECODINGS, decode_labels
from libya_nlp.labels import canonical_tag


@dataclass(frozen=True)
class WordSpan:
    """An entity over words ``[start, end)`` of one sentence."""

    start: int
    end: int
    label: str
    score: float


class EntityTagger:
    """Wraps a token-classification model and its fast tokenizer.

    >>> from libya_nlp.checkpoints import load_tagger
    >>> model, tokenizer, _ = load_tagger()  # the embedded default
    >>> spans = EntityTagger(model, tokenizer).tag([["طلب", "فائز", "السراج"], ["عنوان"]])
    >>> len(spans), all(0 <= s.start < s.end <= 3 for s in spans[0])
    (2, True)
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = None, stride: int | None = None,
                 decoding: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = [canonical_tag(model.config.id2label[i]) for i in range(len(model.config.id2label))]
        config = model.config
        self.max_length = max_length or max_input_length(
            tokenizer, getattr(config, "max_position_embeddings", None), getattr(config, "model_type", "")
        )
        self.stride = stride if stride is not None else max(1, self.max_length // 4)
        # "constrained" (the best valid IOB2 sequence) or "argmax"; a checkpoint may name its own
        self.decoding = decoding or getattr(config, "iob_decoding", None) or "constrained"
        if self.decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {self.decoding!r}")

    def tag(self, sentences: Sequence[Sequence[str]], *, batch_size: int = 32) -> list[list[WordSpan]]:
        """Entity spans for each sentence, given as lists of (normalised) words."""
        return self.run(self.prepare(sentences), batch_size=batch_size)

    def prepare(self, sentences: Sequence[Sequence[str]]) -> TaggingJob:
        """Tokenise and window the sentences (no model call; safe to run in a worker thread)."""
        sentences = [list(words) for words in sentences]
        todo = [i for i, words in enumerate(sentences) if words]
        if not todo:
            return TaggingJob([len(w) for w in sentences], todo, None, [])
        encoding = self.tokenizer(
            [sentences[i] for i in todo], is_split_into_words=True, truncation=True, max_length=self.max_length,
            stride=self.stride, return_overflowing_tokens=True, return_attention_mask=True,
        )
        return TaggingJob([len(w) for w in sentences], todo, encoding, windows_of(encoding))

    def run(self, job: TaggingJob, *, batch_size: int = 32) -> list[list[WordSpan]]:
        """Run the model on a prepared job and merge its windows into entity spans per sentence."""
        labels, scores = self.word_labels(job, batch_size=batch_size)
        return [decode_spans(l, s) for l, s in zip(labels, scores)]

    def word_labels(self, job: TaggingJob, *, batch_size: int = 32) -> tuple[list[list[str]], list[list[float]]]:
        """The IOB2 label and its probability for every word of every sentence of a prepared job."""
        labels = [["O"] * n for n in job.lengths]
        scores = [[1.0] * n for n in job.lengths]
        if job.encoding is None:
            return labels, scores
        encoding = job.encoding
        outputs = run_batched(self.model, job.windows, _tag_heads, batch_size=batch_size,
                              pad_token_id=self.tokenizer.pad_token_id or 0, token_level=True)
        # best[(sentence, word)] = (distance from the window edge, label probabilities)
        best: dict[tuple[int, int], tuple[int, np.ndarray]] = {}
        for w, (probs,) in enumerate(outputs):
            sentence = job.todo[encoding["overflow_to_sample_mapping"][w]]
            word_ids = encoding.word_ids(w)
            content = [p for p, word in enumerate(word_ids) if word is not None]
            if not content:  # words the tokenizer drops entirely (a lone combining mark) stay O
                continue
            first, last = content[0], content[-1]
            previous = None
            for p in content:
                word = word_ids[p]
                if word != previous:  # the word's first subword in this window
                    distance = min(p - first, last - p)
                    key = (sentence, word)
                    if key not in best or distance > best[key][0]:
                        best[key] = (distance, probs[p])
                previous = word
        outside = np.zeros(len(self.labels), dtype=np.float32)
        outside[self.labels.index("O")] = 1.0
        for sentence, n in enumerate(job.lengths):
            if n == 0:
                continue
            matrix = np.stack([best[(sentence, word)][1] if (sentence, word) in best else outside for word in range(n)])
            ids = decode_labels(matrix, self.labels, self.decoding)
            labels[sentence] = [self.labels[i] for i in ids]
            scores[sentence] = [float(matrix[word, i]) for word, i in enumerate(ids)]
        return labels, scores


@dataclass
class TaggingJob:
    """Sentences tokenised and windowed for the tagger."""

    lengths: list[int]  # words per sentence
    todo: list[int]  # sentences with at least one word, in encoding order
    encoding: Any
    windows: list[dict[str, list[int]]]


def decode_spans(labels: Sequence[str], scores: Sequence[float]) -> list[WordSpan]:
    """Merge IOB2 word labels into spans; an ``I-`` without a matching opener starts a span.

    The span's score is the mean probability of its words' labels.
    """
    spans: list[WordSpan] = []
    start, kind = None, None
    for i, label in enumerate([*labels, "O"]):
        prefix, _, entity_type = label.partition("-")
        continues = prefix == "I" and entity_type == kind
        if start is not None and not continues:
            spans.append(WordSpan(start, i, kind, sum(scores[start:i]) / (i - start)))  # type: ignore[arg-type]
            start, kind = None, None
        if prefix in ("B", "I") and not continues:
            start, kind = i, entity_type
    return spans


def _tag_heads(outputs: Any) -> tuple[torch.Tensor]:
    return (outputs.logits.float().softmax(-1),)
