"""Events (ANNOTATION.md §7): who asks whom, for each request type of a sentence.

:class:`RuleEventFinder` is the rule baseline: it finds the request word (طلب، طالب، دعا، حث،
ناشد ... and their nouns), takes the subject after it as the requester (Arabic puts the verb
first; an actor before the verb is the subject when none follows), the first other actor after
it as the addressee, and swaps the two for a received request (``تلقت الجزائر طلبا من السراج``).
Only entities with an actor id take roles.

>>> from libya_nlp.output import Entity
>>> text = "طلب السراج من الجزائر تنسيقا أمنيا"
>>> found = RuleEventFinder().find(text, [Entity(4, 10, "السراج", "PER", 0.9, "LBY-GNA"),
...     Entity(14, 21, "الجزائر", "LOC", 0.9, "DZA")], [("security_cooperation", 0.9)], offset=0)
>>> [(e.type, e.requester.actor, e.addressee.actor) for e in found]
[('security_cooperation', 'LBY-GNA', 'DZA')]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from libya_nlp.actors import ActorRegistry, clitic_readings, normalize_alias
from libya_nlp.output import Entity, Event, Role

_WORD_RE = re.compile(r"\w+")


def _keys(*words: str) -> frozenset[str]:
    return frozenset(normalize_alias(word) for word in words)


REQUEST_WORDS = _keys(
    "طلب", "طلبت", "يطلب", "تطلب", "طلبا", "طلبات", "الطلب", "طلبه", "طلبها", "يطلبان", "طلبوا",
    "طالب", "طالبت", "يطالب", "تطالب", "طالبوا", "مطالبة", "مطالبات", "المطالبة", "مطالبا", "مطالبه",
    "دعا", "دعت", "يدعو", "تدعو", "دعوا", "دعوة", "دعوات", "الدعوة", "داعيا", "داعية",
    "حث", "حثت", "يحث", "تحث", "حثوا", "ناشد", "ناشدت", "يناشد", "تناشد", "مناشدة", "نداء", "نداءات", "مناشدا",
    "التمس", "التمست", "يلتمس", "استنجد", "استنجدت", "يستنجد", "حض", "حضت", "يحض", "أمل", "يأمل", "تأمل",
    "سعى", "سعت", "يسعى", "تسعى", "يريد", "تريد", "أراد", "أرادت", "اقترح", "اقترحت", "يقترح",
)
RECEIVE_WORDS = _keys("تلقى", "تلقت", "يتلقى", "تتلقى", "تسلم", "تسلمت", "يتسلم", "استقبل", "استلم", "استلمت")
ADDRESSEE_MARKERS = _keys("من", "إلى", "الى", "على", "لدى")


class RuleEventFinder:
    """The rule baseline of the events stage."""

    name = "rules"

    def __init__(self, registry: ActorRegistry | None = None) -> None:
        self.registry = registry or ActorRegistry.load()

    def find(self, text: str, entities: Sequence[Entity], request_types: Sequence[tuple[str, float]],
             *, offset: int) -> list[Event]:
        """One event per request type of the sentence ``text`` (which starts at ``offset`` of the
        document); ``entities`` are the sentence's, with document offsets."""
        if not request_types:
            return []
        requester, addressee = self.roles(text, [e for e in entities if e.actor is not None], offset)
        return [Event(label, score, None if requester is None else Role.of(requester),
                      None if addressee is None else Role.of(addressee))
                for label, score in request_types]

    def roles(self, text: str, actors: Sequence[Entity], offset: int) -> tuple[Entity | None, Entity | None]:
        """(requester, addressee) among ``actors`` by the word order around the request word."""
        words = sentence_words(text, offset)
        trigger = next((i for i, w in enumerate(words) if _is(w[2], REQUEST_WORDS)), None)
        if trigger is None:
            first = actors[0] if actors else None
            second = next((e for e in actors if first is not None and e.actor != first.actor), None)
            return first, second
        at = words[trigger][0]
        before = [e for e in actors if e.end <= at]
        after = [e for e in actors if e.start >= words[trigger][1]]
        received = any(_is(w[2], RECEIVE_WORDS) for w in words[max(0, trigger - 4):trigger])
        if received:
            requester = next((e for e in after if self._marked(words, e)), after[0] if after else None)
            addressee = before[-1] if before else next((e for e in after if e is not requester), None)
            return requester, addressee
        subject = next((e for e in after if not self._marked(words, e)), None)
        if subject is not None and after and after[0] is subject:
            requester = subject
        else:
            requester = before[-1] if before else subject
        addressee = next((e for e in after if e is not requester and
                          (requester is None or e.actor != requester.actor)), None)
        return requester, addressee

    def _marked(self, words: list[tuple[int, int, str]], entity: Entity) -> bool:
        """Whether the word before ``entity``, or a ل clitic on it, marks an addressee (من، إلى، على، لـ)."""
        previous = [w for w in words if w[1] <= entity.start]
        if previous and previous[-1][2] in ADDRESSEE_MARKERS:
            return True
        return "ل" in self.registry.clitics(entity.text)


def sentence_words(text: str, offset: int) -> list[tuple[int, int, str]]:
    """(start, end, matching key) of each word of a sentence that starts at ``offset`` of its document."""
    return [(m.start() + offset, m.end() + offset, normalize_alias(m.group())) for m in _WORD_RE.finditer(text)]


def lexicon_form(word: str, lexicon: frozenset[str]) -> str | None:
    """The reading of ``word`` (clitics off) that ``lexicon`` holds, or ``None``.

    >>> lexicon_form("وطالب", REQUEST_WORDS)
    'طالب'
    """
    return next((reading for reading in clitic_readings(word) if reading in lexicon), None)


def _is(word: str, lexicon: frozenset[str]) -> bool:
    return lexicon_form(word, lexicon) is not None
