"""Corpus records (ANNOTATION.md §4): reading and checking them, and turning them into examples.

>>> record = parse_record({"id": "x-1", "doc_id": "d", "text": "طلب السراج دعما",
...     "entities": [{"start": 4, "end": 10, "label": "PER"}], "request_types": [],
...     "stance": [{"target": "حكومة الوفاق الوطني", "label": "none"}], "source": "written"}, "a.jsonl:1")
>>> to_tagged(record).tags
['O', 'B-PER', 'O']
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libya_nlp.actors import ActorRegistry
from libya_nlp.labels import ENTITY_TYPES, REQUEST_TYPES, STANCE_LABELS
from libya_nlp.segmentation import Token, tokenize
from training.conll import TaggedSentence
from training.errors import DataError

_KEYS = {"id", "doc_id", "text", "entities", "request_types", "stance", "source"}
_OPTIONAL_KEYS = {"events"}
_ENTITY_KEYS = {"start", "end", "label", "text", "actor"}


@dataclass(frozen=True)
class EntitySpan:
    start: int
    end: int
    label: str
    actor: str | None = None


@dataclass(frozen=True)
class CorpusEvent:
    """An event of ANNOTATION.md §7; the roles index the record's (start-sorted) ``entities``."""

    type: str
    requester: int | None
    addressee: int | None


@dataclass(frozen=True)
class CorpusRecord:
    """One annotated sentence."""

    id: str
    doc_id: str
    text: str
    entities: tuple[EntitySpan, ...]
    request_types: tuple[str, ...]
    stance: dict[str, str]
    source: str
    events: tuple[CorpusEvent, ...] | None = None  # None: the record was not annotated for events

    def tokens(self) -> list[Token]:
        return tokenize(self.text)


def read_corpus(path: str | Path) -> list[CorpusRecord]:
    """Read and check a corpus JSONL file; :class:`DataError` names the file and line of the first problem."""
    records: list[CorpusRecord] = []
    seen: dict[str, str] = {}
    for where, item in iter_records(path):
        if isinstance(item, DataError):
            raise item
        if item.id in seen:
            raise DataError(f"{where}: id {item.id!r} repeats (first at {seen[item.id]})")
        seen[item.id] = where
        records.append(item)
    return records


def iter_records(path: str | Path) -> Iterator[tuple[str, CorpusRecord | DataError]]:
    """``(file:line, record or the problem with it)`` for each non-empty line of a corpus file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, parse_record(json.loads(line), where)
            except json.JSONDecodeError as error:
                yield where, DataError(f"{where}: not valid JSON ({error.msg}, column {error.colno})")
            except DataError as error:
                yield where, error


def parse_record(raw: Any, where: str) -> CorpusRecord:
    """Check one record against the schema; raise :class:`DataError` prefixed with ``where``."""

    def fail(message: str) -> DataError:
        return DataError(f"{where}: {message}")

    if not isinstance(raw, dict):
        raise fail("expected a JSON object")
    missing = _KEYS - set(raw)
    if missing:
        raise fail(f"missing keys {sorted(missing)}")
    unknown = set(raw) - _KEYS - _OPTIONAL_KEYS
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)} (allowed: {sorted(_KEYS | _OPTIONAL_KEYS)})")
    for key in ("id", "doc_id", "text", "source"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise fail(f"{key!r} must be a non-empty string")
    text = raw["text"]
    tokens = tokenize(text)
    starts = {t.start for t in tokens}
    ends = {t.end for t in tokens}
    entities = []
    if not isinstance(raw["entities"], list):
        raise fail("'entities' must be a list")
    for i, entity in enumerate(raw["entities"]):
        if not isinstance(entity, dict) or not {"start", "end", "label"} <= set(entity) or set(entity) - _ENTITY_KEYS:
            raise fail(f"entity {i}: expected {{start, end, label}} (and optionally text, actor)")
        start, end, label = entity["start"], entity["end"], entity["label"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise fail(f"entity {i}: offsets [{start}, {end}) are not inside the text (length {len(text)})")
        if label not in ENTITY_TYPES:
            raise fail(f"entity {i}: unknown label {label!r} (use one of {', '.join(ENTITY_TYPES)})")
        if start not in starts or end not in ends:
            raise fail(f"entity {i} {text[start:end]!r} [{start}, {end}) does not fall on token boundaries "
                       "(a span covers whole tokens, clitics included)")
        if "text" in entity and entity["text"] != text[start:end]:
            raise fail(f"entity {i}: text {entity['text']!r} differs from text[{start}:{end}] = {text[start:end]!r}")
        actor = entity.get("actor")
        if actor is not None and actor not in _registry():
            raise fail(f"entity {i} {text[start:end]!r}: actor {actor!r} is not an id of the actor registry "
                       f"({_registry().source}); use a registry id or null")
        entities.append(EntitySpan(start, end, label, actor))
    if [e.start for e in entities] != sorted(e.start for e in entities):
        raise fail("entities must be listed in text order (events index them)")
    for a, b in zip(entities, entities[1:]):
        if b.start < a.end:
            raise fail(f"entities [{a.start}, {a.end}) and [{b.start}, {b.end}) overlap; spans are flat")
    requests = raw["request_types"]
    if not isinstance(requests, list) or len(set(requests)) != len(requests):
        raise fail("'request_types' must be a list without repeats")
    for request in requests:
        if request not in REQUEST_TYPES:
            raise fail(f"unknown request type {request!r} (use one of {', '.join(REQUEST_TYPES)})")
    stance: dict[str, str] = {}
    if not isinstance(raw["stance"], list):
        raise fail("'stance' must be a list of {target, label}")
    for item in raw["stance"]:
        if not isinstance(item, dict) or set(item) != {"target", "label"} or not isinstance(item["target"], str):
            raise fail("each stance entry must be {\"target\": ..., \"label\": ...}")
        if item["label"] not in STANCE_LABELS:
            raise fail(f"unknown stance label {item['label']!r} (use one of {', '.join(STANCE_LABELS)})")
        if item["target"] in stance:
            raise fail(f"stance target {item['target']!r} repeats")
        stance[item["target"]] = item["label"]
    events = _parse_events(raw["events"], entities, requests, fail) if "events" in raw else None
    return CorpusRecord(raw["id"], raw["doc_id"], text, tuple(entities), tuple(requests), stance, raw["source"],
                        events)


def _parse_events(raw: Any, entities: list[EntitySpan], requests: list[str], fail: Any) -> tuple[CorpusEvent, ...]:
    """Check ``events``: roles index entities that have an actor (or are null); types equal ``request_types``."""
    if not isinstance(raw, list):
        raise fail("'events' must be a list of {type, requester, addressee}")
    events = []
    for n, event in enumerate(raw):
        if not isinstance(event, dict) or set(event) != {"type", "requester", "addressee"}:
            raise fail(f"event {n}: expected {{\"type\", \"requester\", \"addressee\"}}")
        if event["type"] not in requests:
            raise fail(f"event {n}: type {event['type']!r} is not one of the record's request_types {requests}")
        for role in ("requester", "addressee"):
            index = event[role]
            if index is None:
                continue
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(entities):
                raise fail(f"event {n}: {role} {index!r} is not an index into entities (0..{len(entities) - 1}) or null")
            if entities[index].actor is None:
                raise fail(f"event {n}: {role} points at entity {index}, which has no actor; a role needs one (or null)")
        events.append(CorpusEvent(event["type"], event["requester"], event["addressee"]))
    missing = set(requests) - {event.type for event in events}
    if missing:
        raise fail(f"request types {sorted(missing)} have no event; every request type needs at least one")
    return tuple(events)


def _registry() -> ActorRegistry:
    return ActorRegistry.load()


def to_tagged(record: CorpusRecord) -> TaggedSentence:
    """IOB2 tags over the record's tokens (normalised words), from its character spans."""
    tokens = record.tokens()
    tags = ["O"] * len(tokens)
    for entity in record.entities:
        inside = [i for i, t in enumerate(tokens) if t.start >= entity.start and t.end <= entity.end]
        for position, i in enumerate(inside):
            tags[i] = ("B-" if position == 0 else "I-") + entity.label
    return TaggedSentence([t.text for t in tokens], tags)
