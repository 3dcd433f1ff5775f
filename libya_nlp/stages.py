"""The stages an :class:`~libya_nlp.annotator.Annotator` runs, in order, over a chunk of texts.

A stage has two steps: ``prepare(chunk)`` does the work that needs only the text (tokenising,
windowing; it may run in a worker thread while the models run the previous chunk), and
``run(chunk, prepared, batch_size)`` fills its fields of the chunk's :class:`SentenceResult`s.
A later stage reads what the earlier ones wrote: actor linking reads the entities, the events
stage reads the actors and the request types. A new capability is a new stage: a class with
``name``, ``prepare`` and ``run`` that writes ``result.extra[...]`` (JSON values), added with
:meth:`Annotator.add_stage <libya_nlp.annotator.Annotator.add_stage>`; its fields appear in each
sentence of ``to_dict()``.

>>> [stage.name for stage in default_stages(tagger=None, classifier=None)]
['entities', 'requests_and_stance', 'actors', 'stance_gate', 'events']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from libya_nlp.actors import ActorRegistry
from libya_nlp.events import RuleEventFinder
from libya_nlp.output import Entity, Event, LabelScore, Stance
from libya_nlp.segmentation import Sentence
from libya_nlp.stance_gate import TargetMentionGate
from libya_nlp.tagger import WordSpan


@dataclass
class SentenceResult:
    """What the stages found in one sentence so far."""

    sentence: Sentence
    coded: bool  # False: no letter (or no Arabic letter with skip_non_arabic); nothing is coded
    entities: list[Entity] = field(default_factory=list)
    request_types: list[LabelScore] = field(default_factory=list)
    stance: Stance | None = None
    events: list[Event] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # an added stage's own fields, in the sentence's JSON
    owner: Any = None  # whoever assembles the document (the Annotator's bookkeeping)

    @property
    def words(self) -> list[str]:
        return [token.text for token in self.sentence.tokens]


@dataclass
class Chunk:
    """Sentences annotated together, each with the text of its document (a chunk may hold the
    sentences of many short documents, or a slice of one long document)."""

    items: list[tuple[str, SentenceResult]]
    target: str
    target_words: list[str]
    prepared: dict[str, Any] = field(default_factory=dict)

    def sentences(self) -> Iterator[tuple[str, SentenceResult]]:
        """Every sentence of the chunk with its document's text, in order."""
        return iter(self.items)


class Stage(Protocol):
    """One step of the pipeline."""

    name: str

    def prepare(self, chunk: Chunk) -> Any: ...

    def run(self, chunk: Chunk, prepared: Any, batch_size: int) -> None: ...


class EntityStage:
    """Entities from the token classifier, with offsets into the document."""

    name = "entities"

    def __init__(self, tagger: Any) -> None:
        self.tagger = tagger

    def prepare(self, chunk: Chunk) -> Any:
        return self.tagger.prepare([result.words for _, result in chunk.sentences()])

    def run(self, chunk: Chunk, prepared: Any, batch_size: int) -> None:
        spans = self.tagger.run(prepared, batch_size=batch_size)
        for (text, result), found in zip(chunk.sentences(), spans):
            if result.coded:
                result.entities = entities_in(text, result.sentence, found)


class ClassificationStage:
    """Request types and stance toward the chunk's target from the sentence classifier."""

    name = "requests_and_stance"

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def prepare(self, chunk: Chunk) -> Any:
        return self.classifier.prepare([result.words for _, result in chunk.sentences()], target=chunk.target_words)

    def run(self, chunk: Chunk, prepared: Any, batch_size: int) -> None:
        labels = self.classifier.run(prepared, batch_size=batch_size)
        for (_, result), found in zip(chunk.sentences(), labels):
            if result.coded:
                result.request_types = [LabelScore(label, score) for label, score in found.request_types]
                result.stance = Stance(chunk.target, found.stance, found.stance_score)
            else:
                result.stance = Stance(chunk.target, "none", 1.0)


_AFTER_CHARS = 40  # text after a mention the linker reads (for a demonym that qualifies it)


class ActorStage:
    """Each entity's actor id from the registry (ANNOTATION.md §6), read with the word after the
    mention and the document's text (for homonyms such as bare ``الوفاق``)."""

    name = "actors"

    def __init__(self, registry: ActorRegistry | None = None) -> None:
        self.registry = registry or ActorRegistry.load()

    def prepare(self, chunk: Chunk) -> None:
        return None

    def run(self, chunk: Chunk, prepared: Any, batch_size: int) -> None:
        for text, result in chunk.sentences():
            start = result.sentence.start
            result.entities = [
                dataclasses.replace(e, actor=self.registry.resolve(
                    e.text, e.label, before=text[start:e.start], after=text[e.end : e.end + _AFTER_CHARS],
                    document=text))
                for e in result.entities]


class EventStage:
    """Requester and addressee of each request type (ANNOTATION.md §7)."""

    name = "events"

    def __init__(self, finder: Any = None) -> None:
        self.finder = finder or RuleEventFinder()

    def prepare(self, chunk: Chunk) -> None:
        return None

    def run(self, chunk: Chunk, prepared: Any, batch_size: int) -> None:
        for _, result in chunk.sentences():
            if result.request_types:
                result.events = self.finder.find(
                    result.sentence.text, result.entities, [(r.label, r.score) for r in result.request_types],
                    offset=result.sentence.start)


def default_stages(tagger: Any, classifier: Any, registry: ActorRegistry | None = None,
                   event_finder: Any = None, *, gate_stance: bool = True) -> list[Stage]:
    """Entities, requests and stance, actors, the stance gate (:mod:`libya_nlp.stance_gate`; left
    out with ``gate_stance=False``), events: the pipeline of :func:`~libya_nlp.annotate`."""
    actors = ActorStage(registry)
    gate = [TargetMentionGate(actors.registry)] if gate_stance else []
    return [EntityStage(tagger), ClassificationStage(classifier), actors, *gate, EventStage(event_finder)]


def entities_in(text: str, sentence: Sentence, spans: list[WordSpan]) -> list[Entity]:
    """Turn a sentence's word spans into entities with offsets into ``text``."""
    entities = []
    for span in spans:
        start, end = sentence.tokens[span.start].start, sentence.tokens[span.end - 1].end
        entities.append(Entity(start, end, text[start:end], span.label, span.score))
    return entities


_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]")


def is_coded(sentence: str, skip_non_arabic: bool) -> bool:
    """Whether a sentence is coded at all: it has a letter, and (with ``skip_non_arabic``) an Arabic one.

    >>> is_coded("...", False), is_coded("Photo: AFP", True), is_coded("Photo: AFP", False)
    (False, False, True)
    """
    if not any(ch.isalpha() for ch in sentence):
        return False
    return not skip_non_arabic or bool(_ARABIC_LETTER.search(sentence))
