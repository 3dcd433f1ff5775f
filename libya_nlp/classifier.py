"""The sentence classifier: request types and stance toward a target for each sentence.

The model reads the pair (target, sentence). When the checkpoint carries a character n-gram
request head (:mod:`libya_nlp.ngram_requests`), its probabilities are blended into the request
scores with the weight in the config. A sentence too long for the model is cut into
overlapping windows: a request type found in any window counts (the maximum probability),
and the stance comes from the window that is most sure the stance is not ``none``.

>>> merge_windows([np.array([0.1, 0.9]), np.array([0.7, 0.2])],
...               [np.array([0.1, 0.1, 0.8]), np.array([0.6, 0.1, 0.3])], none_index=2)
(array([0.7, 0.9]), array([0.6, 0.1, 0.3]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from libya_nlp.batching import max_input_length, run_batched, windows_of
from libya_nlp.ngram_requests import blend

if TYPE_CHECKING:
    from libya_nlp.classifier_model import LibyaClassifierModel


@dataclass(frozen=True)
class SentenceLabels:
    """The classifier's reading of one sentence: all request-type probabilities and the stance."""

    request_scores: dict[str, float]
    request_types: list[tuple[str, float]]  # above their thresholds, most probable first
    stance: str
    stance_score: float


class SentenceClassifier:
    """Wraps a :class:`LibyaClassifierModel` and its fast tokenizer.

    >>> from libya_nlp.checkpoints import load_classifier
    >>> model, tokenizer, _ = load_classifier()  # the embedded default
    >>> classifier = SentenceClassifier(model, tokenizer)
    >>> [result] = classifier.classify([["طلب", "السراج", "تنسيقا", "أمنيا"]], target=["حكومة", "الوفاق", "الوطني"])
    >>> result.stance in ("favor", "against", "none"), sorted(result.request_scores) == sorted(classifier.request_types)
    (True, True)
    """

    def __init__(self, model: LibyaClassifierModel | Any, tokenizer: Any, *, max_length: int | None = None,
                 stride: int | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        config = model.config
        self.request_types = list(config.request_types)
        self.thresholds = np.array([config.request_thresholds[label] for label in self.request_types])
        self.stance_labels = list(config.stance_labels)
        self.none_index = self.stance_labels.index("none") if "none" in self.stance_labels else None
        self.max_length = max_length or max_input_length(
            tokenizer, config.encoder.get("max_position_embeddings"), config.encoder.get("model_type", "")
        )
        self.stride = stride if stride is not None else max(1, self.max_length // 4)

    def classify(
        self, sentences: Sequence[Sequence[str]], *, target: Sequence[str], batch_size: int = 32
    ) -> list[SentenceLabels]:
        """Labels for each sentence (a list of normalised words) toward ``target`` (its words)."""
        return self.run(self.prepare(sentences, target=target), batch_size=batch_size)

    def prepare(self, sentences: Sequence[Sequence[str]], *, target: Sequence[str]) -> ClassificationJob:
        """Tokenise and window the (target, sentence) pairs; no model call."""
        sentences = [list(words) for words in sentences]
        if not sentences:
            return ClassificationJob(0, None, [], [])
        target = list(target)
        room = self.max_length - len(self.tokenizer(target, is_split_into_words=True)["input_ids"]) - 1
        if room < 8:
            raise ValueError(f"the stance target is too long for this model ({self.max_length} tokens at most)")
        encoding = self.tokenizer(
            [target] * len(sentences), sentences, is_split_into_words=True,
            truncation="only_second", max_length=self.max_length, stride=min(self.stride, room // 2),
            return_overflowing_tokens=True, return_attention_mask=True,
        )
        return ClassificationJob(len(sentences), encoding, windows_of(encoding), [" ".join(w) for w in sentences])

    def run(self, job: ClassificationJob, *, batch_size: int = 32) -> list[SentenceLabels]:
        """Run the model on a prepared job; one result per sentence."""
        if job.encoding is None:
            return []
        outputs = run_batched(self.model, job.windows, _classifier_heads, batch_size=batch_size,
                              pad_token_id=self.tokenizer.pad_token_id or 0, token_level=False)
        per_sentence: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(job.count)]
        for w, (request_probs, stance_probs) in enumerate(outputs):
            per_sentence[job.encoding["overflow_to_sample_mapping"][w]].append((request_probs, stance_probs))
        ngram_probs = self._ngram_probabilities(job.texts)
        results = []
        for index, windows in enumerate(per_sentence):
            request_probs, stance_probs = merge_windows([r for r, _ in windows], [s for _, s in windows],
                                                        self.none_index)
            if ngram_probs is not None:
                request_probs = blend(request_probs, ngram_probs[index], self.model.config.request_ngram_blend)
            chosen = [(self.request_types[i], float(request_probs[i]))
                      for i in np.flatnonzero(request_probs >= self.thresholds)]
            chosen.sort(key=lambda pair: -pair[1])
            stance = int(stance_probs.argmax())
            results.append(SentenceLabels(
                request_scores={label: float(p) for label, p in zip(self.request_types, request_probs)},
                request_types=chosen, stance=self.stance_labels[stance], stance_score=float(stance_probs[stance]),
            ))
        return results

    def _ngram_probabilities(self, texts: list[str] | None) -> np.ndarray | None:
        """The n-gram head's request probabilities, or None when the model has no blend."""
        head = getattr(self.model, "request_ngrams", None)
        if head is None or not self.model.config.request_ngram_blend:
            return None
        if texts is None:
            raise ValueError("this classifier blends an n-gram request head, which reads the sentences' text: "
                             "build the job with prepare(), or pass ClassificationJob(..., texts=[...])")
        return head.probabilities(texts)


@dataclass
class ClassificationJob:
    """(target, sentence) pairs tokenised and windowed for the classifier, and each sentence as
    space-joined words (what an n-gram request head reads)."""

    count: int
    encoding: Any
    windows: list[dict[str, list[int]]]
    texts: list[str] | None = None


def merge_windows(
    request_probs: Sequence[np.ndarray], stance_probs: Sequence[np.ndarray], none_index: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the windows of one sentence: max per request type; the stance of the window least
    likely to be ``none`` (or the first window when there is no ``none`` label)."""
    requests = np.max(np.stack(request_probs), axis=0)
    if none_index is None or len(stance_probs) == 1:
        return requests, stance_probs[0]
    chosen = min(range(len(stance_probs)), key=lambda i: stance_probs[i][none_index])
    return requests, stance_probs[chosen]


def _classifier_heads(outputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    return outputs.request_logits.float().sigmoid(), outputs.stance_logits.float().softmax(-1)
