"""AraBERT v0.2 text normalisation as an offset-preserving map.

The model sees normalised text; every offset the library returns points into the original
string. Each character of the normalised text remembers the span of original characters it
came from, so a span of normalised text maps back with :meth:`NormalizedText.to_original`.

Rules, in order (those of AraBERT v0.2's preprocessor, minus its URL placeholders):

1. HTML: tags become a space, character references (``&amp;``, ``&#1604;``) are decoded.
2. Tashkeel (harakat, Quranic marks, superscript alef) and tatweel are removed; a letter
   absorbs the marks that follow it, so a word's span still covers its marks.
3. Characters: NFKC (presentation forms, ligatures), Hindi and Persian digits to ASCII,
   NBSP and other spaces to a space, zero-width and bidi marks removed, control characters to
   a space, Latin lower-cased.
4. A non-digit character repeated three or more times is kept twice (``!!!!`` -> ``!!``).
5. Spacing: punctuation and symbols (emoji included) get a space on each side, and digits
   are separated from Arabic letters. Decimal and thousands separators inside numbers stay.

>>> n = normalize("قالَ السرّاج:")
>>> n.text
'قال السراج :'
>>> n.to_original(4, 10)
(5, 12)
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# Replacement for one match: (output text, first input index, end input index) triples.
_Replacement = list[tuple[str, int, int]]

_TASHKEEL = "\u0610-\u061a\u064b-\u0652\u0656-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
_TATWEEL = "\u0640"
_MARKS_RE = re.compile(f"(.)([{_TASHKEEL}{_TATWEEL}]+)", re.DOTALL)
_MARK_CHARS = frozenset(
    chr(c) for c in range(0x0600, 0x0700) if re.fullmatch(f"[{_TASHKEEL}{_TATWEEL}]", chr(c))
)
# Alef, waw and yeh followed by a combining madda/hamza compose into one letter.
_COMPOSE_RE = re.compile("[\u0627\u0648\u064a][\u0653-\u0655]")

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_LINE_BREAKS = frozenset("\n\u2028\u2029\x0b\x0c\x85")
_VARIATION_SELECTORS = frozenset("\ufe0e\ufe0f")

# Characters that never change under rule 3; everything else goes through _map_char.
_PLAIN_RE = re.compile("[^\u0621-\u063a\u0641-\u064aa-z0-9 .,،؛؟!?:()\"'\\-\n]")
_HTML_RE = re.compile(
    r"<!--.*?-->|</?[A-Za-z][^<>]{0,2000}>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
    re.DOTALL,
)
_REPEAT_RE = re.compile(r"(\D)\1{2,}")
_ARABIC_LETTER = "\u0621-\u063a\u0641-\u064a"
_SPACING_RE = re.compile(r"(?P<number>\d+(?:[.,٫٬]\d+)*)|(?P<other>[^\w\s]|_)")
_ARABIC_LETTER_RE = re.compile(f"[{_ARABIC_LETTER}]")


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text with, for each of its characters, the original span it came from.

    >>> n = normalize("ليبيا&amp;تونس")
    >>> n.text
    'ليبيا & تونس'
    >>> n.original[slice(*n.to_original(6, 7))]
    '&amp;'
    """

    original: str
    text: str
    starts: list[int]
    ends: list[int]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span ``[start, end)`` (non-empty) to a span of the original.

        >>> normalize("ســـلام").to_original(0, 4)
        (0, 7)
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is empty or outside the normalised text of length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]


NAME = "arabert_v02"  # what a checkpoint's config records as its ``text_normalization``


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` as AraBERT v0.2 does, keeping a map back to the original.

    >>> normalize("عام ٢٠١١م").text
    'عام 2011 م'
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() takes a str, not {type(text).__name__}")
    starts = list(range(len(text)))
    ends = list(range(1, len(text) + 1))
    current = text
    for pattern, replace in _PASSES:
        current, starts, ends = _rewrite(current, starts, ends, pattern, replace)
    return NormalizedText(original=text, text=current, starts=starts, ends=ends)


def normalize_text(text: str) -> str:
    """The normalised string alone, for pretraining corpora and tokenizer training.

    >>> normalize_text("الـــــــعـرب!!!!")
    'العرب ! !'
    """
    return normalize(text).text


def _rewrite(
    text: str,
    starts: list[int],
    ends: list[int],
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], _Replacement | None],
) -> tuple[str, list[int], list[int]]:
    """Apply one rule: each output character maps to the original span of its input range."""
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    pos = 0
    for match in pattern.finditer(text):
        replacement = replace(match)
        if replacement is None:
            continue
        first = match.start()
        pieces.append(text[pos:first])
        new_starts += starts[pos:first]
        new_ends += ends[pos:first]
        for out, i, j in replacement:
            pieces.append(out)
            new_starts += [starts[i]] * len(out)
            new_ends += [ends[j - 1]] * len(out)
        pos = match.end()
    if pos == 0 and not pieces:
        return text, starts, ends
    pieces.append(text[pos:])
    new_starts += starts[pos:]
    new_ends += ends[pos:]
    return "".join(pieces), new_starts, new_ends


def _replace_html(match: re.Match[str]) -> _Replacement | None:
    token = match.group()
    if token.startswith("&"):
        decoded = html.unescape(token)
        if decoded == token:
            return None
        return [(decoded, match.start(), match.end())]
    return [(" ", match.start(), match.end())]


def _replace_marks(match: re.Match[str]) -> _Replacement:
    base = match.group(1)
    if base in _MARK_CHARS:  # marks with no letter before them: drop them all
        return []
    return [(base, match.start(), match.end())]


def _replace_composed(match: re.Match[str]) -> _Replacement | None:
    composed = unicodedata.normalize("NFC", match.group())
    return [(composed, match.start(), match.end())] if len(composed) == 1 else None


@functools.lru_cache(maxsize=65536)
def _map_char(char: str) -> str:
    out = []
    for c in unicodedata.normalize("NFKC", char):
        if c in _MARK_CHARS or c in _VARIATION_SELECTORS:
            continue
        if c in _LINE_BREAKS:
            out.append("\n")
        elif c == "\u200b" or c.isspace():
            out.append(" ")
        else:
            category = unicodedata.category(c)
            if category == "Cf":
                continue
            if category == "Cc":
                out.append(" ")
            else:
                out.append(c.translate(_DIGITS).lower())
    return "".join(out)


def _replace_char(match: re.Match[str]) -> _Replacement | None:
    char = match.group()
    mapped = _map_char(char)
    if mapped == char:
        return None
    return [(mapped, match.start(), match.end())] if mapped else []


def _replace_repeat(match: re.Match[str]) -> _Replacement:
    char = match.group(1)
    return [(char, match.start(), match.start() + 1), (char, match.start() + 1, match.end())]


@functools.lru_cache(maxsize=4096)
def _is_punctuation(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "PS"


def _replace_spacing(match: re.Match[str]) -> _Replacement | None:
    text, first, end = match.string, match.start(), match.end()
    before = text[first - 1] if first else " "
    after = text[end] if end < len(text) else " "
    if match.group("number"):
        pad_left = bool(_ARABIC_LETTER_RE.match(before))
        pad_right = bool(_ARABIC_LETTER_RE.match(after))
    else:
        if not _is_punctuation(match.group()):
            return None  # a combining mark or a format character: part of its word
        # A neighbouring punctuation mark pads the gap itself.
        pad_left = not before.isspace() and not _is_punctuation(before)
        pad_right = not after.isspace()
    if not (pad_left or pad_right):
        return None
    out: _Replacement = []
    if pad_left:
        out.append((" ", first, first + 1))
    out.append((match.group(), first, end))
    if pad_right:
        out.append((" ", end - 1, end))
    return out


_PASSES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Replacement | None]], ...] = (
    (_HTML_RE, _replace_html),
    (_MARKS_RE, _replace_marks),
    (_COMPOSE_RE, _replace_composed),
    (_PLAIN_RE, _replace_char),
    (_REPEAT_RE, _replace_repeat),
    (_SPACING_RE, _replace_spacing),
)
