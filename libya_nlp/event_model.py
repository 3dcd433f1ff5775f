"""The learned events model: a role for each (sentence, candidate actor mention) pair.

Each entity with an actor id is a candidate. Its features say where it stands relative to the
request word (side, distance, rank among the actors on that side), which words and clitics
come right before and after it (من، إلى، على، لـ، قال), what it is (label, actor kind, id) and
which request word and voice the sentence uses. A multinomial logistic regression over those
features (trained by ``training/event_training.py``, stored as plain JSON weights, so inference
needs neither scikit-learn nor a GPU) gives each candidate P(none), P(requester), P(addressee).

Decoding per sentence: an actor id takes a role when one of its mentions has that role as its
most likely one; each request type then gets one event per (requester, addressee) pair, with
``None`` for a role no candidate takes (ANNOTATION.md §7: two addressees, two events).

>>> model = EventModel({"requester": {"side=after": 2.0}, "addressee": {"prev=من": 3.0}}, bias={"none": 0.5})
>>> from libya_nlp.output import Entity
>>> text = "طلب السراج من الجزائر دعما"
>>> found = model.find(text, [Entity(4, 10, "السراج", "PER", 0.9, "LBY-GNA"), Entity(14, 21, "الجزائر", "LOC", 0.9, "DZA")],
...                    [("military_aid", 0.8)], offset=0)
>>> [(e.requester.actor, e.addressee.actor) for e in found]
[('LBY-GNA', 'DZA')]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import Any

from libya_nlp.actors import ActorRegistry, normalize_alias
from libya_nlp.events import RECEIVE_WORDS, REQUEST_WORDS, RuleEventFinder, lexicon_form, sentence_words
from libya_nlp.output import Entity, Event, Role

ROLES: tuple[str, ...] = ("none", "requester", "addressee")
MODEL_FILE = "events.json"
_SPEECH = frozenset(normalize_alias(w) for w in ("قال", "قالت", "أكد", "أكدت", "أعلن", "أعلنت", "أوضح", "أوضحت",
                                                  "أضاف", "أضافت", "ذكر", "ذكرت", "أفاد", "أفادت", "وفق", "حسب"))


def _bucket(n: int) -> str:
    return str(n) if n < 3 else "3-4" if n < 5 else "5-8" if n < 9 else "9+"


def candidate_features(text: str, candidates: Sequence[Entity], offset: int,
                       registry: ActorRegistry) -> list[list[str]]:
    """The features of each candidate (an entity with an actor id) of one sentence.

    >>> registry = ActorRegistry.load()
    >>> text = "طلب السراج من الجزائر دعما"
    >>> features = candidate_features(text, [Entity(4, 10, "السراج", "PER", 0.9, "LBY-GNA"),
    ...                                      Entity(14, 21, "الجزائر", "LOC", 0.9, "DZA")], 0, registry)
    >>> "prev=من" in features[1], "side=after" in features[0]
    (True, True)
    """
    words = sentence_words(text, offset)
    triggers = [i for i, w in enumerate(words) if lexicon_form(w[2], REQUEST_WORDS)]
    first = triggers[0] if triggers else None
    trigger_word = lexicon_form(words[first][2], REQUEST_WORDS) if first is not None else "NONE"
    received = first is not None and any(lexicon_form(w[2], RECEIVE_WORDS) for w in words[max(0, first - 4):first])
    voice = "received" if received else "active"
    word_index = [next((i for i, w in enumerate(words) if w[1] > e.start), len(words)) for e in candidates]
    end_index = [next((i for i, w in enumerate(words) if w[0] >= e.end), len(words)) for e in candidates]
    before_rank: dict[int, int] = {}
    after_rank: dict[int, int] = {}
    if first is not None:
        after = [n for n, i in enumerate(word_index) if i > first]
        # an entity that starts on the request word itself (a tagger error) counts as before it
        before = [n for n, i in enumerate(word_index) if i <= first][::-1]
        after_rank = {n: rank for rank, n in enumerate(after, 1)}
        before_rank = {n: rank for rank, n in enumerate(before, 1)}
    seen_ids: dict[str, int] = {}
    features = []
    for n, entity in enumerate(candidates):
        start, end = word_index[n], end_index[n]
        prev = words[start - 1][2] if start > 0 else "BOS"
        prev2 = words[start - 2][2] if start > 1 else "BOS"
        nxt = words[end][2] if end < len(words) else "EOS"
        clitic = registry.clitics(entity.text) or "-"
        kind = registry.actors[entity.actor].kind if entity.actor in registry.actors else "?"
        if first is None:
            side, distance, rank = "none", "-", "-"
        elif start > first:
            side, distance, rank = "after", _bucket(start - first - 1), str(min(after_rank[n], 3))
        else:
            side, distance, rank = "before", _bucket(first - start), str(min(before_rank[n], 3))
        nearest = min((abs(t - start) for t in triggers), default=99)
        speech_before = any(w[2] in _SPEECH for w in words[:start])
        repeat = seen_ids.get(entity.actor, 0)
        seen_ids[entity.actor] = repeat + 1
        f = [f"label={entity.label}", f"kind={kind}", f"actor={entity.actor}", f"side={side}",
             f"distance={distance}", f"rank={side}{rank}", f"prev={prev}", f"prev2={prev2} {prev}", f"next={nxt}",
             f"clitic={clitic}", f"trigger={trigger_word}", f"voice={voice}", f"near={_bucket(nearest)}",
             f"speech_before={speech_before}", f"first_mention={repeat == 0}", f"position={min(n, 3)}",
             f"voice_side_rank={voice} {side}{rank}", f"side_prev={side} {prev}", f"side_clitic={side} {clitic}",
             f"trigger_side_rank={trigger_word} {side}{rank}", f"kind_side={kind} {side}", f"label_side={entity.label} {side}",
             f"triggers={min(len(triggers), 3)}", f"candidates={min(len(candidates), 5)}", "bias"]
        features.append(f)
    return features


def load_event_finder(source: str | Path | None = None, registry: ActorRegistry | None = None) -> Any:
    """The events step of the pipeline: ``None`` for the embedded default model, ``"rules"`` for
    the rule baseline, or a directory holding ``events.json``.

    >>> load_event_finder("rules").name
    'rules'
    """
    if source == "rules":
        return RuleEventFinder(registry)
    from libya_nlp.checkpoints import CheckpointError, default_model_dir

    directory = default_model_dir("events") if source is None else Path(source)
    if source is None and not (directory / MODEL_FILE).is_file():
        raise CheckpointError(f"the embedded events model is missing from {directory}; rebuild it with "
                              "`python -m training.train configs/events.yaml` and `python -m training.build_defaults "
                              "--skip-train`, or pass events='rules'")
    return EventModel.load(directory)


class EventModel:
    """A multinomial logistic regression over :func:`candidate_features`, with the events decoding.

    ``weights[role][feature]`` and ``bias[role]``; roles missing from either weigh 0.
    """

    name = "learned"

    def __init__(self, weights: dict[str, dict[str, float]], bias: dict[str, float] | None = None,
                 registry: ActorRegistry | None = None, source: str = "<memory>") -> None:
        self.weights = {role: dict(weights.get(role, {})) for role in ROLES}
        self.bias = {role: float((bias or {}).get(role, 0.0)) for role in ROLES}
        self.registry = registry or ActorRegistry.load()
        self.source = source

    @classmethod
    def load(cls, directory: str | Path) -> EventModel:
        """Read ``DIR/events.json`` (what ``training.event_training`` writes)."""
        path = Path(directory) / MODEL_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no events model here (train one with "
                                    "`python -m training.train configs/events.yaml`)") from None
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
        if data.get("format") != "libya_nlp.events.logreg/1":
            raise ValueError(f"{path}: format {data.get('format')!r} is not 'libya_nlp.events.logreg/1'")
        return cls(data["weights"], data.get("bias"), source=str(Path(directory)))

    def save(self, directory: str | Path, **extra: Any) -> Path:
        path = Path(directory) / MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": "libya_nlp.events.logreg/1", "roles": list(ROLES), "bias": self.bias,
                "weights": {role: dict(sorted(w.items())) for role, w in self.weights.items() if w}, **extra}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")
        return path

    def probabilities(self, features: list[str]) -> dict[str, float]:
        scores = {role: self.bias[role] + sum(self.weights[role].get(f, 0.0) for f in features) for role in ROLES}
        top = max(scores.values())
        exp = {role: math.exp(score - top) for role, score in scores.items()}
        total = sum(exp.values())
        return {role: value / total for role, value in exp.items()}

    def find(self, text: str, entities: Sequence[Entity], request_types: Sequence[tuple[str, float]],
             *, offset: int) -> list[Event]:
        """One event per request type and (requester, addressee) pair of the sentence ``text``."""
        if not request_types:
            return []
        candidates = [e for e in entities if e.actor is not None]
        best: dict[str, dict[str, tuple[float, Entity]]] = {"requester": {}, "addressee": {}}
        for entity, features in zip(candidates, candidate_features(text, candidates, offset, self.registry)):
            p = self.probabilities(features)
            role = max(ROLES, key=p.__getitem__)
            if role != "none" and p[role] > best[role].get(entity.actor, (0.0, entity))[0]:
                best[role][entity.actor] = (p[role], entity)
        for actor in set(best["requester"]) & set(best["addressee"]):  # one id, one role: the likelier
            weaker = min(("requester", "addressee"), key=lambda role: best[role][actor][0])
            del best[weaker][actor]
        requesters = [(p, Role.of(e)) for p, e in sorted(best["requester"].values(), key=lambda x: x[1].start)]
        addressees = [(p, Role.of(e)) for p, e in sorted(best["addressee"].values(), key=lambda x: x[1].start)]
        events = []
        for (label, score), (p_r, requester), (p_a, addressee) in product(
                request_types, requesters or [(1.0, None)], addressees or [(1.0, None)]):
            events.append(Event(label, score * min(p_r, p_a), requester, addressee))
        return events
