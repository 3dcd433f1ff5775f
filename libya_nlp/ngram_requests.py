"""A character n-gram view of request types, blended into the classifier's request probabilities.

TF-IDF of character 2-5-grams taken inside words (each word padded with a space on both sides),
hashed into a fixed number of buckets (CRC-32, so the same on every platform and Python), and one
logistic regression per request type over it. It sees surface forms the fine-tuned encoder
reads differently (verb stems such as ``طالب``/``دعا``, nouns of the request), and its errors
are not the encoder's, so a weighted mean of the two probabilities scores better on dev than
either (measured in the classifier's card). The weights live in the classifier checkpoint as
buffers of :class:`NgramRequestHead`; :mod:`training.ngram_fit` fits them.

>>> char_ngrams("دعم", 2, 3)
[' د', 'دع', 'عم', 'م ', ' دع', 'دعم', 'عم ']
>>> import torch
>>> head = NgramRequestHead(buckets=64, types=1)
>>> _ = head.weight.zero_(), head.bias.fill_(2.0), head.idf.fill_(1.0)
>>> [round(float(p), 3) for p in head.probabilities(["طلب دعما", ""])[:, 0]]
[0.881, 0.881]
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

MIN_N, MAX_N = 2, 5


def char_ngrams(text: str, min_n: int = MIN_N, max_n: int = MAX_N) -> list[str]:
    """Character n-grams inside each whitespace-separated word padded with spaces (a word
    shorter than ``n`` gives itself once)."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        for n in range(min_n, max_n + 1):
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def bucket_counts(text: str, buckets: int) -> Counter[int]:
    """How often each hashed n-gram bucket occurs in ``text``."""
    return Counter(zlib.crc32(gram.encode("utf-8")) % buckets for gram in char_ngrams(text))


def tfidf_rows(counts: Counter[int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The L2-normalised sublinear TF-IDF of one text as (bucket ids, values); buckets whose idf
    is 0 (too rare in training) are left out."""
    ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    values = tf * idf[ids] if len(ids) else tf
    keep = values > 0
    ids, values = ids[keep], values[keep]
    norm = float(np.sqrt((values**2).sum()))
    return ids, (values / norm if norm > 0 else values)


def blend(encoder_probs: np.ndarray, ngram_probs: np.ndarray | None, weight: float) -> np.ndarray:
    """The request probabilities a classifier reports: ``(1 - weight) * encoder + weight * n-grams``
    (the encoder's alone without n-gram probabilities).

    >>> blend(np.array([0.2, 0.8]), np.array([0.6, 0.0]), 0.5).tolist()
    [0.4, 0.4]
    """
    return encoder_probs if ngram_probs is None else (1.0 - weight) * encoder_probs + weight * ngram_probs


class NgramRequestHead(nn.Module):
    """Hashed character n-gram TF-IDF and one logistic regression per request type, as buffers
    (saved with the classifier's weights; never trained by gradient)."""

    def __init__(self, buckets: int, types: int) -> None:
        super().__init__()
        if buckets < 1 or types < 1:
            raise ValueError(f"an n-gram head needs at least one bucket and one type, got {buckets} and {types}")
        self.buckets = buckets
        self.register_buffer("idf", torch.zeros(buckets))
        self.register_buffer("weight", torch.zeros(types, buckets))
        self.register_buffer("bias", torch.zeros(types))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Per-type probabilities, shape (len(texts), types), of texts given as space-joined
        normalised words (what the classifier reads)."""
        idf = self.idf.detach().float().cpu().numpy().astype(np.float64)
        weight = self.weight.detach().float().cpu().numpy()
        bias = self.bias.detach().float().cpu().numpy()
        scores = np.empty((len(texts), weight.shape[0]), dtype=np.float64)
        for row, text in enumerate(texts):
            ids, values = tfidf_rows(bucket_counts(text, self.buckets), idf)
            scores[row] = weight[:, ids] @ values + bias
        return 1.0 / (1.0 + np.exp(-scores))
