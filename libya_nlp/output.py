"""What ``annotate()`` returns: dataclasses whose ``to_dict()`` is the JSON of ANNOTATION.md §5.

>>> ann = Annotation(text="طلب السراج", entities=[Entity(4, 10, "السراج", "PER", 0.98)], sentences=[],
...                  model={"tagger": "t", "classifier": "c"})
>>> ann.to_dict()["entities"]
[{'start': 4, 'end': 10, 'text': 'السراج', 'label': 'PER', 'score': 0.98, 'actor': None}]
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

_SCORE_DIGITS = 4


@dataclass(frozen=True)
class Entity:
    """A named entity; ``start``/``end`` are offsets into the annotated text; ``actor`` is the
    registry id it stands for (ANNOTATION.md §6), or ``None``."""

    start: int
    end: int
    text: str
    label: str
    score: float
    actor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "label": self.label,
                "score": round(self.score, _SCORE_DIGITS), "actor": self.actor}


@dataclass(frozen=True)
class Role:
    """The entity that takes a role in an event: its actor id and where it is in the text."""

    actor: str
    start: int
    end: int
    text: str

    @classmethod
    def of(cls, entity: Entity) -> Role:
        if entity.actor is None:
            raise ValueError(f"entity {entity.text!r} has no actor id; a role needs one")
        return cls(entity.actor, entity.start, entity.end, entity.text)

    def to_dict(self) -> dict[str, Any]:
        return {"actor": self.actor, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Event:
    """A request the sentence reports (ANNOTATION.md §7): its type, requester and addressee
    (``None`` where the sentence does not name them)."""

    type: str
    score: float
    requester: Role | None
    addressee: Role | None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "score": round(self.score, _SCORE_DIGITS),
                "requester": None if self.requester is None else self.requester.to_dict(),
                "addressee": None if self.addressee is None else self.addressee.to_dict()}


@dataclass(frozen=True)
class LabelScore:
    """A predicted label with its probability."""

    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, _SCORE_DIGITS)}


@dataclass(frozen=True)
class Stance:
    """The stance the sentence reports toward ``target``."""

    target: str
    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "label": self.label, "score": round(self.score, _SCORE_DIGITS)}


@dataclass(frozen=True)
class SentenceAnnotation:
    """One sentence: its span, the request types found in it, its stance, and its events."""

    start: int
    end: int
    text: str
    request_types: list[LabelScore]
    stance: Stance
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text,
                "request_types": [r.to_dict() for r in self.request_types],
                "stance": self.stance.to_dict(), "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Annotation:
    """Everything found in one text. ``text`` is the input, unchanged."""

    text: str
    entities: list[Entity]
    sentences: list[SentenceAnnotation]
    model: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serialisable dict of ANNOTATION.md §5."""
        return {"text": self.text, "entities": [e.to_dict() for e in self.entities],
                "sentences": [s.to_dict() for s in self.sentences], "model": dict(self.model)}

    @property
    def actors(self) -> dict[str, list[Entity]]:
        """The document's actors: id -> its mentions, in text order.

        >>> Annotation("أنقرة وأنقرة", [Entity(0, 5, "أنقرة", "LOC", 0.9, "TUR"), Entity(6, 12, "وأنقرة", "LOC", 0.9, "TUR")],
        ...            []).actors["TUR"][1].text
        'وأنقرة'
        """
        found: dict[str, list[Entity]] = {}
        for entity in sorted(self.entities, key=lambda e: e.start):
            if entity.actor is not None:
                found.setdefault(entity.actor, []).append(entity)
        return found

    def to_html(self) -> str:
        """Right-to-left HTML with entities highlighted and each sentence's labels as a tooltip.

        >>> Annotation("في ليبيا", [Entity(3, 8, "ليبيا", "LOC", 0.9)], []).to_html()[:40]
        '<div dir="rtl" lang="ar" class="libya-nl'
        """
        parts = ['<div dir="rtl" lang="ar" class="libya-nlp" style="line-height:2;font-size:1.1em">']
        entities = sorted(self.entities, key=lambda e: e.start)
        pos = 0
        for sentence in self.sentences or [None]:
            start, end = (sentence.start, sentence.end) if sentence else (0, len(self.text))
            parts.append(html.escape(self.text[pos:start]))
            title = _sentence_title(sentence) if sentence else ""
            parts.append(f'<span class="sentence" title="{html.escape(title)}">')
            cursor = start
            for entity in entities:
                if entity.start < start or entity.end > end:
                    continue
                parts.append(html.escape(self.text[cursor : entity.start]))
                color = _COLORS.get(entity.label, "#eeeeee")
                parts.append(
                    f'<mark style="background:{color};padding:0 .2em;border-radius:.2em" '
                    f'title="{entity.label} {entity.score:.2f}">{html.escape(entity.text)}'
                    f'<sub style="font-size:.6em"> {entity.label}</sub></mark>'
                )
                cursor = entity.end
            parts.append(html.escape(self.text[cursor:end]) + "</span>")
            pos = end
        parts.append(html.escape(self.text[pos:]) + "</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.to_html()


_COLORS = {"PER": "#ffd6a5", "ORG": "#a0c4ff", "LOC": "#caffbf", "MISC": "#ffc6ff"}


def _sentence_title(sentence: SentenceAnnotation) -> str:
    requests = ", ".join(f"{r.label} {r.score:.2f}" for r in sentence.request_types) or "no request"
    stance = sentence.stance
    return f"{requests} | stance toward {stance.target}: {stance.label} {stance.score:.2f}"
