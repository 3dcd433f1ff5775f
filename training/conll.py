"""Reading CoNLL-style NER files (ANERcorp's ``token tag`` lines, blank line between sentences).

Tags are mapped to this project's scheme (``PERS`` -> ``PER``). Tokens are re-tokenised the
way inference tokenises text, so that a token such as ``(د`` becomes ``(`` and ``د`` and the
model trains on the words it will see.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> _ = path.write_text("قال O\\nفائز B-PERS\\nالسراج I-PERS\\n\\nفي O\\nطرابلس. B-LOC\\n", encoding="utf-8")
>>> [(s.words, s.tags) for s in read_conll(path)]
[(['قال', 'فائز', 'السراج'], ['O', 'B-PER', 'I-PER']), (['في', 'طرابلس', '.'], ['O', 'B-LOC', 'O'])]
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from libya_nlp.labels import canonical_tag
from libya_nlp.normalization import normalize_text
from training.errors import DataError


@dataclass
class TaggedSentence:
    """Words (normalised, as the model sees them) and their IOB2 tags."""

    words: list[str]
    tags: list[str]


def read_conll(path: str | Path) -> list[TaggedSentence]:
    """Read a ``token tag`` file into sentences; raise :class:`DataError` naming file:line on bad input."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (data under ../shared/data is referenced by path, never copied)")
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    sentences.append(retokenize(words, tags))
                    words, tags = [], []
                continue
            token, sep, tag = line.rpartition(" ")
            if not sep:
                token, sep, tag = line.rpartition("\t")
            if not sep or not token.strip():
                raise DataError(f"{path}:{number}: expected 'TOKEN TAG', got {line!r}")
            if token.strip() == "-DOCSTART-":
                continue
            try:
                tags.append(canonical_tag(tag.strip()))
            except ValueError as error:
                raise DataError(f"{path}:{number}: {error}") from None
            words.append(token.strip())
    if words:
        sentences.append(retokenize(words, tags))
    return sentences


def retokenize(words: list[str], tags: list[str]) -> TaggedSentence:
    """Normalise each word; when a word splits, punctuation pieces are ``O``, the first other
    piece keeps the tag and later ones continue it with ``I-``.

    >>> retokenize(["(رويترز)", "2002م"], ["B-ORG", "B-MISC"]).tags
    ['O', 'B-ORG', 'O', 'B-MISC', 'I-MISC']
    """
    out_words: list[str] = []
    out_tags: list[str] = []
    for word, tag in zip(words, tags):
        pieces = normalize_text(word).split()
        seen_content = False
        for piece in pieces:
            out_words.append(piece)
            if tag == "O" or _is_punctuation(piece):
                out_tags.append("O")
            else:
                out_tags.append("I-" + tag[2:] if seen_content else tag)
                seen_content = True
    return TaggedSentence(out_words, out_tags)


def _is_punctuation(piece: str) -> bool:
    return all(unicodedata.category(c)[0] in "PS" for c in piece)


def chunk_sentence(sentence: TaggedSentence, max_words: int) -> list[TaggedSentence]:
    """Cut a long sentence into pieces of at most ``max_words`` words (for training only).

    A piece that starts inside an entity starts it with ``B-``.

    >>> [s.tags for s in chunk_sentence(TaggedSentence(list("abcde"), ["O", "B-PER", "I-PER", "I-PER", "O"]), 2)]
    [['O', 'B-PER'], ['B-PER', 'I-PER'], ['O']]
    """
    pieces = []
    for start in range(0, len(sentence.words), max_words):
        tags = sentence.tags[start : start + max_words]
        if tags and tags[0].startswith("I-"):
            tags = ["B-" + tags[0][2:], *tags[1:]]
        pieces.append(TaggedSentence(sentence.words[start : start + max_words], tags))
    return pieces
