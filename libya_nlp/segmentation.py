"""Word tokens and sentences, with character offsets into the original text.

Tokens split at white space and punctuation; attached clitics stay in the word, as in
ANERcorp (``والجزائر`` is one token). Tokenisation runs on the normalised text
(:mod:`libya_nlp.normalization`), so a token carries both the form the model sees and the
span of the original string it covers.

>>> [t.text for t in tokenize("طلب السراج، من الجزائر")]
['طلب', 'السراج', '،', 'من', 'الجزائر']
>>> [s.text for s in split_sentences("قال السراج. وأكد ترامب!")]
['قال السراج.', 'وأكد ترامب!']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from libya_nlp.normalization import NormalizedText, normalize

_TOKEN_RE = re.compile(r"\S+")
# Tokens that end a sentence, and those that may close it right after (quotes, brackets).
_SENTENCE_END = frozenset({".", "!", "?", "؟", "…"})
_CLOSERS = frozenset({'"', "'", "”", "’", "»", ")", "]", "}", *_SENTENCE_END})
_LETTER_RE = re.compile(r"^[^\W\d_]$")


@dataclass(frozen=True, slots=True)
class Token:
    """A word or punctuation mark: ``text`` is normalised, ``start``/``end`` index the original."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence: its span in the original text and its tokens."""

    start: int
    end: int
    text: str
    tokens: tuple[Token, ...]


def tokenize(text: str | NormalizedText) -> list[Token]:
    """Split text into word and punctuation tokens with original offsets.

    >>> [(t.text, t.start, t.end) for t in tokenize("وَالجزائرُ، تونس")]
    [('والجزائر', 0, 10), ('،', 10, 11), ('تونس', 12, 16)]
    """
    normalized = text if isinstance(text, NormalizedText) else normalize(text)
    starts, ends = normalized.starts, normalized.ends
    return [
        Token(match.group(), starts[match.start()], ends[match.end() - 1])
        for match in _TOKEN_RE.finditer(normalized.text)
    ]


def split_sentences(text: str) -> list[Sentence]:
    """Split text into sentences at end punctuation and line breaks.

    A full stop after a single letter (``د.``) is an abbreviation, not an end; closing
    quotes and brackets written right after the end mark stay with the sentence.

    >>> [(s.start, s.end) for s in split_sentences("عنوان\\nقال «نعم.» ثم مضى")]
    [(0, 5), (6, 16), (17, 23)]
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences() takes a str, not {type(text).__name__}")
    tokens = tokenize(text)
    sentences: list[Sentence] = []
    current: list[Token] = []
    for i, token in enumerate(tokens):
        current.append(token)
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following is None or _ends_sentence(text, current, following):
            sentences.append(_make_sentence(text, current))
            current = []
    return sentences


def _ends_sentence(text: str, current: list[Token], following: Token) -> bool:
    if "\n" in text[current[-1].end : following.start]:
        return True
    last = current[-1]
    if following.text in _CLOSERS and following.start == last.end:
        return False  # the closer joins this sentence; decide after it
    k = len(current)
    while k > 0 and current[k - 1].text in _CLOSERS:
        k -= 1
    trailing = current[k:]
    if not any(t.text in _SENTENCE_END for t in trailing):
        return False
    if trailing[0].text == "." and k > 0:
        before = current[k - 1]
        if before.end == trailing[0].start and _LETTER_RE.match(before.text):
            return False  # an abbreviation such as "د." or "U.S."
    return True


def _make_sentence(text: str, tokens: list[Token]) -> Sentence:
    start, end = tokens[0].start, tokens[-1].end
    return Sentence(start=start, end=end, text=text[start:end], tokens=tuple(tokens))
