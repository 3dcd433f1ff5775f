"""The rule baseline of the events stage (ANNOTATION.md §7): roles by word order around the request word."""

from __future__ import annotations

import re

import pytest

from libya_nlp.actors import ActorRegistry
from libya_nlp.events import RuleEventFinder
from libya_nlp.output import Entity


def entities(text: str, *surfaces: str) -> list[Entity]:
    """Entities at the first occurrence of each surface, linked by the registry."""
    registry = ActorRegistry.load()
    found = []
    for surface in surfaces:
        start = text.index(surface)
        found.append(Entity(start, start + len(surface), surface, "PER", 0.9,
                            registry.resolve(surface, "ORG", before=text[:start])))
    return found


def roles(text: str, *surfaces: str, types=(("military_aid", 0.8),)) -> list[tuple]:
    events = RuleEventFinder().find(text, entities(text, *surfaces), list(types), offset=0)
    return [(e.type, e.requester and e.requester.actor, e.addressee and e.addressee.actor) for e in events]


@pytest.mark.parametrize(("text", "surfaces", "expected"), [
    ("طلب السراج من الجزائر تنسيقا أمنيا", ("السراج", "الجزائر"), ("LBY-GNA", "DZA")),          # VSO
    ("السراج يطلب من تركيا دعما عسكريا", ("السراج", "تركيا"), ("LBY-GNA", "TUR")),             # SVO
    ("تلقت الجزائر طلبا من السراج لتنسيق أمني", ("الجزائر", "السراج"), ("LBY-GNA", "DZA")),    # received request
    ("دعا غسان سلامة إلى وقف إطلاق النار", ("غسان سلامة",), ("UNSMIL", None)),                 # no addressee
    ("وطالب حفتر روسيا بتزويده بالسلاح", ("حفتر", "روسيا"), ("LBY-LNA", "RUS")),              # clitic on the verb
])
def test_roles_follow_the_request(text, surfaces, expected):
    assert roles(text, *surfaces) == [("military_aid", *expected)]


def test_every_request_type_gets_an_event_and_no_type_none():
    text = "طلب السراج من تركيا دعما عسكريا ورفع حظر السلاح"
    got = roles(text, "السراج", "تركيا", types=(("military_aid", 0.9), ("arms_embargo", 0.7)))
    assert [g[0] for g in got] == ["military_aid", "arms_embargo"]
    assert RuleEventFinder().find(text, entities(text, "السراج"), [], offset=0) == []


def test_only_entities_with_an_actor_take_roles():
    text = "طلب عمر المختار من الجزائر دعما"
    assert roles(text, "عمر المختار", "الجزائر") == [("military_aid", None, "DZA")]


def test_role_offsets_point_into_the_document():
    prefix = "عنوان. "
    sentence = "طلب السراج من الجزائر دعما"
    text = prefix + sentence
    found = [Entity(m.start(), m.end(), m.group(), "PER", 0.9, actor)
             for m, actor in ((re.search("السراج", text), "LBY-GNA"), (re.search("الجزائر", text), "DZA"))]
    [event] = RuleEventFinder().find(sentence, found, [("military_aid", 0.9)], offset=len(prefix))
    assert text[event.requester.start:event.requester.end] == "السراج"
    assert text[event.addressee.start:event.addressee.end] == "الجزائر"


def test_learned_model_takes_an_entity_that_starts_on_the_request_word():
    """Regression: a tagger span starting on the request word (here «طلب السراج» tagged as one PER)
    was on neither side of it, and the features raised KeyError."""
    from libya_nlp.event_model import EventModel

    model = EventModel({"requester": {"side=before": 2.0}, "addressee": {"prev=من": 3.0}}, bias={"none": 0.5})
    text = "طلب السراج من الجزائر دعما"
    entities = [Entity(0, 10, "طلب السراج", "PER", 0.9, "LBY-GNA"), Entity(14, 21, "الجزائر", "LOC", 0.9, "DZA")]
    [event] = model.find(text, entities, [("military_aid", 0.8)], offset=0)
    assert (event.requester.actor, event.addressee.actor) == ("LBY-GNA", "DZA")
