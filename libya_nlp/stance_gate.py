"""Stance only toward a target the text names (ANNOTATION.md §3: the target and its leaders and bodies).

The classifier reads stance from the sentence and the target's text alone, so on real news it
gives sentences that never name the target (another country's "national accord government", a
football club called الوفاق aside, whole paragraphs about someone else) a confident ``favor`` or
``against``. :class:`TargetMentionGate` is the pipeline stage after actor linking that turns such
a stance into ``none`` unless the sentence names the target: an entity whose actor id is the
target's, or a run of up to four words that is one of the registry's names for it (``بالسراج``,
``حكومة طرابلس``, ``قوات حفتر``: what the registry lists for the actor, its leaders and bodies).
A name the registry marks as a homonym (``homonyms_ar``: bare ``الوفاق``, ``السراج``, ``المجلس
الرئاسي``) counts only if the document also names something of the target's country (``ليبيا``,
``الليبية``, ``فايز السراج``, ``مجلس النواب``...); a name it marks as shared with other states
(``shared_ar``: ``حكومة الوفاق الوطني``) does not count in a document that names one of them and
nothing of the target's country (the linker's rules, :meth:`ActorRegistry.in_context`). A target
the registry does not know is never gated.

Measured on the Libya dev corpus (gold entities): of the 103 sentences with a stance toward the
GNA, 99 name it this way and all 99 keep their stance with their document as context (95 if each
sentence is read alone); 104 of 104 toward Haftar. On 126 real news sentences naming الوفاق،
السراج، حفتر or المشير (most of them about Yemen, Palestine, Bahrain or football; none with a
stance toward the GNA in the blind labels), the default models gave 31 a GNA stance and the gate
turned 16 of those into ``none``. A seat (``طرابلس``) counts like a homonym, and does not itself
make a text Libyan (Lebanon has a Tripoli too): on the kept real samples (r53, r61, s71: 407
sentences, 1 gold GNA stance) that cut the false GNA stances from 11 to 7 with the Libya dev
corpus unchanged (99 of 103).

The model's own reading of a gated sentence stays in its JSON as ``stance_model``; its ``stance``
becomes ``none`` with the score ``1 - p`` (``p``: the model's probability for the label it gave).

>>> from libya_nlp.actors import ActorRegistry
>>> gate = TargetMentionGate(ActorRegistry.load())
>>> gate.target_id("حكومة الوفاق الوطني"), gate.target_id("فريق كرة القدم")
('LBY-GNA', None)
>>> gate.keeps("رحب الاتحاد الأوروبي بحكومة الوفاق".split(), "LBY-GNA")
True
>>> gate.keeps("أشاد الأمين العام بدور الحكومة اليمنية".split(), "LBY-GNA")
False
>>> gate.keeps("شككت المعارضة وعلى رأسها جمعية الوفاق".split(), "LBY-GNA")
False
>>> gate.keeps("وفد الوفاق يصل إلى الصخيرات".split(), "LBY-GNA", document="وصل وفد ليبي. وفد الوفاق يصل إلى الصخيرات")
True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from libya_nlp.actors import ActorRegistry
from libya_nlp.output import Stance

MAX_NAME_WORDS = 4


class TargetMentionGate:
    """Pipeline stage: a stance toward a target that the sentence does not name becomes ``none``."""

    name = "stance_gate"

    def __init__(self, registry: ActorRegistry, max_words: int = MAX_NAME_WORDS) -> None:
        self.registry = registry
        self.max_words = max_words
        self.target_id = functools.lru_cache(maxsize=64)(self._target_id)

    def _target_id(self, target: str) -> str | None:
        """The registry id a target text (or id) resolves to (``None``: not in the registry, never gated)."""
        if target in self.registry:
            return target
        return self.registry.resolve(target) or self.registry.resolve(target, "ORG")

    def keeps(self, words: Sequence[str], target: str, mentions: Sequence[tuple[str, str | None]] = (),
              document: str | None = None) -> bool:
        """Whether a stance toward ``target`` may stand in a sentence of ``words`` whose entities are
        ``mentions`` (text, actor id), in ``document`` (default: the sentence alone)."""
        target_id = self.target_id(target)
        if target_id is None:
            return True
        statuses = []
        for text, actor in mentions:
            if actor == target_id:
                found = self.registry.name(text)  # a span linked by a name inside it is named by its own
                statuses.append(found[1] if found is not None and found[0] == target_id else "own")
        # a seat (طرابلس) is a place first: like a homonym, it names the target only in a text that names
        # something of the target's country (Lebanon's Tripoli, embassies "in Tripoli" in a sentence alone do not)
        statuses += ["homonym" if self.registry.names_as_place(" ".join(words[start:end])) else status
                     for start, end, actor, status in self.registry.runs(words, self.max_words) if actor == target_id]
        context = " ".join(words) if document is None else document
        return any(self.registry.in_context(target_id, status, context) == target_id for status in set(statuses))

    def prepare(self, chunk: Any) -> None:
        return None

    def run(self, chunk: Any, prepared: Any, batch_size: int) -> None:
        for document, result in chunk.sentences():
            stance = result.stance
            if stance is None or stance.label == "none":
                continue
            if not self.keeps(result.words, chunk.target, [(e.text, e.actor) for e in result.entities], document):
                result.extra["stance_model"] = {"label": stance.label, "score": round(stance.score, 4),
                                                "gated": "the sentence does not name the target"}
                result.stance = Stance(stance.target, "none", 1.0 - stance.score)
