"""Mention replacement for tagger training data: new sentences with each entity swapped for
another mention of the same type from the same source.

A tagger fine-tuned on ANERcorp learns its names by heart (training loss 0.02 after an epoch)
and then misses names it never saw. Putting other mentions into the same contexts (Dai & Adel
2020, "mention replacement") is meant to make it read the context as well as the name; on the
shipped tagger it did not help (README, "Train your own"), so no shipped config uses it.

>>> sentences = [TaggedSentence(["زار", "فائز", "السراج", "روما"], ["O", "B-PER", "I-PER", "B-LOC"]),
...              TaggedSentence(["قال", "حفتر", "في", "بنغازي"], ["O", "B-PER", "O", "B-LOC"]),
...              TaggedSentence(["لا", "شيء"], ["O", "O"])]
>>> new = swap_mentions(sentences, copies=1.0, seed=0)
>>> len(new)  # one copy of each sentence that names something
2
>>> [(s.words, s.tags) for s in new][0]
(['زار', 'حفتر', 'بنغازي'], ['O', 'B-PER', 'B-LOC'])
"""

from __future__ import annotations

import random
from collections import defaultdict

from libya_nlp.tagger import decode_spans
from training.conll import TaggedSentence


def mentions(sentence: TaggedSentence) -> list[tuple[int, int, str]]:
    """``(start, end, type)`` word spans of the IOB2 entities, read as the tagger reads its labels
    (:func:`libya_nlp.tagger.decode_spans`: an ``I-`` without its ``B-`` opens one).

    >>> mentions(TaggedSentence(["a", "b", "c", "d"], ["B-PER", "I-PER", "O", "I-LOC"]))
    [(0, 2, 'PER'), (3, 4, 'LOC')]
    """
    return [(span.start, span.end, span.label) for span in decode_spans(sentence.tags, [1.0] * len(sentence.tags))]


def swap_mentions(sentences: list[TaggedSentence], copies: float, seed: int) -> list[TaggedSentence]:
    """New sentences (the input is not changed): ``int(copies)`` copies of every sentence with at
    least one entity, plus a seeded sample of ``copies % 1`` of them, each mention replaced by a
    random mention of its type drawn from all of ``sentences`` (up to four draws for one that
    differs from the original)."""
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    pool: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for sentence in sentences:
        for start, end, kind in mentions(sentence):
            pool[kind].append(tuple(sentence.words[start:end]))
    named = [s for s in sentences if any(tag != "O" for tag in s.tags)]
    rng = random.Random(seed)
    chosen = named * int(copies) + rng.sample(named, round(len(named) * (copies - int(copies))))
    return [_swapped(sentence, pool, rng) for sentence in chosen]


def _swapped(sentence: TaggedSentence, pool: dict[str, list[tuple[str, ...]]], rng: random.Random) -> TaggedSentence:
    words: list[str] = []
    tags: list[str] = []
    position = 0
    for start, end, kind in mentions(sentence):
        words += sentence.words[position:start]
        tags += sentence.tags[position:start]
        original = tuple(sentence.words[start:end])
        replacement = original
        for _ in range(4):
            replacement = rng.choice(pool[kind])
            if replacement != original:
                break
        words += replacement
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(replacement) - 1)
        position = end
    return TaggedSentence(words + sentence.words[position:], tags + sentence.tags[position:])
