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
from collections.abc import Iterator
from dataclasses import dataclass

from libya_nlp.normalization import NormalizedText, normalize

_TOKEN_RE = re.compile(r"\S+")
# Tokens that end a sentence, and those that may close it right after (quotes, brackets).
_SENTENCE_END = frozenset({".", "!", "?", "؟", "…"})
_CLOSERS = frozenset({'"', "'", "”", "’", "»", ")", "]", "}", *_SENTENCE_END})
_LETTER_RE = re.compile(r"^[^\W\d_]$")
_END_MARKS = frozenset(".!?؟…")
_HTML_SPAN = 2048  # the longest HTML tag normalisation removes (its pattern allows 2,000 characters)


def _is_end(token: str) -> bool:
    """An end mark, or several run together (``..`` from a normalised ``…``)."""
    return token in _SENTENCE_END or (len(token) > 1 and set(token) <= _END_MARKS)


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
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(normalized.text):
        token = Token(match.group(), starts[match.start()], ends[match.end() - 1])
        if tokens and token.start < tokens[-1].end:
            # original characters normalised into several tokens (NFKC and the repeat rule turn
            # "……" into ". ."): an original character belongs to one token only
            tokens[-1] = Token(tokens[-1].text + token.text, tokens[-1].start, max(tokens[-1].end, token.end))
        else:
            tokens.append(token)
    return tokens


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


def iter_sentences(text: str, window: int = 1 << 14) -> Iterator[Sentence]:
    """The sentences of :func:`split_sentences`, produced window by window, so that a very long
    document is never normalised and tokenised whole: memory follows the window, not the text.

    Each window is split and its sentences are kept up to the last one that starts after white
    space (that one may go on past the window); the next window starts there. A window with no
    such cut is doubled until it has one.

    >>> text = "قال السراج. " * 3 + "وأضاف"
    >>> [s.text for s in iter_sentences(text, window=16)] == [s.text for s in split_sentences(text)]
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"iter_sentences() takes a str, not {type(text).__name__}")
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    offset, size = 0, window
    while offset < len(text):
        end = min(len(text), offset + size)
        found = split_sentences(text[offset:end])
        if end == len(text):
            for sentence in found:
                yield _shifted(sentence, offset, text)
            return
        # Cut before the last sentence that starts after white space: normalisation never looks
        # across white space, so the sentences before the cut are those of the whole text. The
        # sentences from the cut on (the last may go on past the window) are split again.
        # An HTML tag cut by the window end reads as text: no cut within the tail it may span.
        last_safe = end - offset - _HTML_SPAN
        cut = next((s.start for s in reversed(found[1:])
                    if 0 < s.start <= last_safe and text[offset + s.start - 1].isspace()), 0)
        if not cut:
            size *= 2
            continue
        for sentence in found:
            if sentence.start < cut:
                yield _shifted(sentence, offset, text)
        offset += cut
        size = window


def _shifted(sentence: Sentence, offset: int, text: str) -> Sentence:
    if not offset:
        return sentence
    tokens = tuple(Token(t.text, t.start + offset, t.end + offset) for t in sentence.tokens)
    start, end = sentence.start + offset, sentence.end + offset
    return Sentence(start=start, end=end, text=text[start:end], tokens=tokens)


def _ends_sentence(text: str, current: list[Token], following: Token) -> bool:
    if "\n" in text[current[-1].end : following.start]:
        return True
    last = current[-1]
    if (following.text in _CLOSERS or _is_end(following.text)) and following.start == last.end:
        return False  # the closer joins this sentence; decide after it
    k = len(current)
    while k > 0 and (current[k - 1].text in _CLOSERS or _is_end(current[k - 1].text)):
        k -= 1
    trailing = current[k:]
    if not any(_is_end(t.text) for t in trailing):
        return False
    if trailing[0].text == "." and k > 0:
        before = current[k - 1]
        if before.end == trailing[0].start and _LETTER_RE.match(before.text):
            return False  # an abbreviation such as "د." or "U.S."
    return True


def _make_sentence(text: str, tokens: list[Token]) -> Sentence:
    start, end = tokens[0].start, tokens[-1].end
    return Sentence(start=start, end=end, text=text[start:end], tokens=tuple(tokens))
