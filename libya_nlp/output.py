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
    extra: dict[str, Any] = field(default_factory=dict)  # fields an added stage writes (JSON values)

    def to_dict(self) -> dict[str, Any]:
        core = {"start": self.start, "end": self.end, "text": self.text,
                "request_types": [r.to_dict() for r in self.request_types],
                "stance": self.stance.to_dict(), "events": [e.to_dict() for e in self.events]}
        clash = sorted(set(core) & set(self.extra))
        if clash:
            raise ValueError(f"a stage wrote sentence field(s) {clash}, which the core output already has; rename them")
        return core | self.extra


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

    def to_html(self, *, full_page: bool = False) -> str:
        """Right-to-left HTML: entities highlighted with their label and actor id, and after each
        sentence visible badges for its request types, its stance (when not ``none``) and its
        events; line breaks kept; a legend on top. ``full_page=True`` gives a whole document
        (``<meta charset="utf-8">``, ``lang="ar"``, ``dir="rtl"``) to save as a file.

        >>> Annotation("في ليبيا", [Entity(3, 8, "ليبيا", "LOC", 0.9)], []).to_html()[:40]
        '<div dir="rtl" lang="ar" class="libya-nl'
        """
        parts = ['<div dir="rtl" lang="ar" class="libya-nlp" style="line-height:2.1;font-size:1.1em">', _LEGEND]
        entities = sorted(self.entities, key=lambda e: e.start)
        pos = 0
        for sentence in self.sentences or [None]:
            start, end = (sentence.start, sentence.end) if sentence else (0, len(self.text))
            parts.append(_text_html(self.text[pos:start]))
            parts.append('<span class="sentence">')
            cursor = start
            for entity in entities:
                if entity.start < start or entity.end > end:
                    continue
                parts.append(_text_html(self.text[cursor : entity.start]))
                parts.append(_entity_html(entity))
                cursor = entity.end
            parts.append(_text_html(self.text[cursor:end]) + "</span>")
            if sentence is not None:
                parts.append(_badges_html(sentence))
            pos = end
        parts.append(_text_html(self.text[pos:]) + "</div>")
        body = "".join(parts)
        if not full_page:
            return body
        return ('<!DOCTYPE html>\n<html lang="ar" dir="rtl">\n<head>\n<meta charset="utf-8">\n'
                '<title>libya_nlp annotation</title>\n</head>\n<body>\n' + body + "\n</body>\n</html>\n")

    def _repr_html_(self) -> str:
        return self.to_html()


_COLORS = {"PER": "#ffd6a5", "ORG": "#a0c4ff", "LOC": "#caffbf", "MISC": "#ffc6ff"}
_STANCE_COLORS = {"favor": "#2e7d32", "against": "#c62828"}
_BADGE = "display:inline-block;margin:0 .25em;padding:0 .4em;border-radius:.6em;font-size:.75em;line-height:1.6;"
_LEGEND = (
    '<div class="legend" style="font-size:.8em;margin-bottom:.6em">'
    + "".join(f'<mark style="background:{color};padding:0 .3em;margin:0 .2em">{label}</mark>'
              for label, color in _COLORS.items())
    + f'<span class="badge request" style="{_BADGE}background:#fff3cd;border:1px solid #d4a600">request type score</span>'
    f'<span class="badge stance" style="{_BADGE}color:#fff;background:{_STANCE_COLORS["favor"]}">stance: favor</span>'
    f'<span class="badge stance" style="{_BADGE}color:#fff;background:{_STANCE_COLORS["against"]}">stance: against</span>'
    f'<span class="badge event" style="{_BADGE}background:#e8eaf6;border:1px solid #3949ab">requester → addressee: type</span>'
    "</div>")


def _text_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


def _entity_html(entity: Entity) -> str:
    color = _COLORS.get(entity.label, "#eeeeee")
    tag = entity.label if entity.actor is None else f"{entity.label} · {entity.actor}"
    return (f'<mark class="entity" data-label="{entity.label}" style="background:{color};padding:0 .2em;'
            f'border-radius:.2em" title="{entity.label} {entity.score:.2f}">{html.escape(entity.text)}'
            f'<sub style="font-size:.6em" dir="ltr"> {html.escape(tag)}</sub></mark>')


def _badges_html(sentence: SentenceAnnotation) -> str:
    badges = [f'<span class="badge request" style="{_BADGE}background:#fff3cd;border:1px solid #d4a600" dir="ltr">'
              f"{html.escape(r.label)} {r.score:.2f}</span>" for r in sentence.request_types]
    stance = sentence.stance
    if stance.label in _STANCE_COLORS:
        badges.append(f'<span class="badge stance" style="{_BADGE}color:#fff;background:{_STANCE_COLORS[stance.label]}">'
                      f"{html.escape(stance.target)}: {stance.label} {stance.score:.2f}</span>")
    for event in sentence.events:
        requester = event.requester.actor if event.requester else "?"
        addressee = event.addressee.actor if event.addressee else "?"
        badges.append(f'<span class="badge event" style="{_BADGE}background:#e8eaf6;border:1px solid #3949ab" dir="ltr">'
                      f"{html.escape(requester)} → {html.escape(addressee)}: {html.escape(event.type)}</span>")
    return "".join(badges)
