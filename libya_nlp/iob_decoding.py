"""Word labels from per-word label probabilities: plain argmax, or the best valid IOB2 sequence.

Argmax labels each word on its own, so it can produce ``O I-PER`` or ``B-ORG I-LOC``, which the
span merger then has to guess at. ``constrained`` decoding (Viterbi over log-probabilities with
the invalid transitions forbidden: ``I-X`` only after ``B-X`` or ``I-X``) picks the most probable
sequence that is valid IOB2; nothing is learned, so every token-classification checkpoint gets it.

>>> import numpy as np
>>> labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
>>> probs = np.array([[0.6, 0.3, 0.05, 0.05, 0.0], [0.1, 0.0, 0.5, 0.0, 0.4]])
>>> [labels[i] for i in decode_labels(probs, labels, "argmax")]
['O', 'I-PER']
>>> [labels[i] for i in decode_labels(probs, labels, "constrained")]
['B-PER', 'I-PER']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DECODINGS = ("constrained", "argmax")
_FORBIDDEN = -1e9


def decode_labels(probs: np.ndarray, labels: Sequence[str], decoding: str = "constrained") -> list[int]:
    """Label ids for a sentence's words, given a ``words x labels`` matrix of probabilities."""
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
    if len(probs) == 0:
        return []
    if decoding == "argmax":
        return [int(i) for i in probs.argmax(-1)]
    allowed, start = _transitions(labels)
    scores = np.log(np.clip(probs, 1e-12, None))
    best = scores[0] + start
    back = np.zeros(scores.shape, dtype=np.int64)
    for t in range(1, len(scores)):
        candidates = best[:, None] + allowed  # previous x next
        back[t] = candidates.argmax(0)
        best = candidates.max(0) + scores[t]
    path = [int(best.argmax())]
    for t in range(len(scores) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def _transitions(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(previous x next) additive scores, 0 or forbidden, and the scores of a sentence's first label."""
    n = len(labels)
    allowed = np.zeros((n, n))
    start = np.zeros(n)
    for j, label in enumerate(labels):
        prefix, _, kind = label.partition("-")
        if prefix != "I":
            continue
        start[j] = _FORBIDDEN
        for i, previous in enumerate(labels):
            if previous not in (f"B-{kind}", f"I-{kind}"):
                allowed[i, j] = _FORBIDDEN
    return allowed, start
