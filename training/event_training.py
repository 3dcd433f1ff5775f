"""Train the events model (task: events): roles of actor mentions, from the corpus ``events``.

Examples are the candidates (entities with an actor id) of every record that carries
``events``; a candidate's label is the role its actor id takes in the record's events
(``requester``, ``addressee`` or ``none``: evaluation is by id, so every mention of the id
carries it). A multinomial logistic regression is fitted on :func:`candidate_features`; its
regularisation C is chosen by cross-validation over training documents (dev is only measured).

Scores (dev; event triples = type, requester id, addressee id, matched exactly):
``gold_actors`` with the corpus' entities and actor ids, ``linked_actors`` with the corpus'
entities and the registry linker's ids, and the rule baseline on both.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from libya_nlp.actors import ActorRegistry
from libya_nlp.event_model import ROLES, EventModel, candidate_features
from libya_nlp.events import RuleEventFinder
from libya_nlp.output import Entity
from training.config import TrainConfig, config_to_dict
from training.corpus import CorpusRecord
from training.metrics import actor_accuracy, event_triple_scores
from training.model_card import data_table
from training.sources import load_corpus_splits


def train_events(config: TrainConfig, root: Path, resume: bool = False) -> dict[str, Any]:
    """Fit, select by cross-validation, evaluate on dev, write ``events.json``, metrics and card."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    registry = ActorRegistry.load()
    train, dev_all, data_rows = load_corpus_splits(config, root, "events")
    train = [r for r in train if r.events is not None]
    dev = [r for r in dev_all if r.events is not None]
    if not train:
        raise ValueError("no training record carries `events` (ANNOTATION.md §7)")
    options = config.events

    def fit(records: list[CorpusRecord], c: float) -> EventModel:
        features, labels = examples_of(records, registry)
        vectorizer = DictVectorizer()
        matrix = vectorizer.fit_transform([{f: 1.0 for f in row} for row in features])
        model = LogisticRegression(C=c, max_iter=options.max_iter, class_weight=options.class_weight)
        model.fit(matrix, labels)
        names = vectorizer.get_feature_names_out()
        classes = list(model.classes_)
        weights = {role: {str(n): float(w) for n, w in zip(names, model.coef_[classes.index(role)]) if abs(w) > 1e-6}
                   for role in ROLES if role in classes}
        bias = {role: float(model.intercept_[classes.index(role)]) for role in ROLES if role in classes}
        return EventModel(weights, bias, registry=registry)

    cv = {}
    folds = _folds_by_document(train, options.folds, config.seed)
    for c in options.c_values:
        scores = [score_events(fit([r for r in train if r not in fold], c), fold, registry)["f1"] for fold in folds]
        cv[c] = round(sum(scores) / len(scores), 4)
    best_c = max(cv, key=lambda c: (cv[c], -c))
    model = fit(train, best_c)
    output = root / config.output_dir
    output.mkdir(parents=True, exist_ok=True)
    rules = RuleEventFinder(registry)
    evaluation = {}
    if dev:
        linked = link_records(dev, registry)
        evaluation["dev"] = {
            "sentences": len(dev),
            "gold_actors": score_events(model, dev, registry),
            "linked_actors": score_events(model, dev, registry, linked),
            "rules_gold_actors": score_events(rules, dev, registry),
            "rules_linked_actors": score_events(rules, dev, registry, linked),
            "actor_linking": actor_accuracy([e.actor for r in dev_all for e in r.entities],
                                            [a for r in link_records(dev_all, registry) for a in r]),
        }
    metrics = {"task": "events", "data": data_rows, "selection": {"cv_triple_f1_by_C": cv, "C": best_c,
                                                                   "folds": len(folds)},
               "evaluation": evaluation}
    model.save(output, trained_on=[row["path"] for row in data_rows["train"]], C=best_c)
    (output / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    (output / "training_config.yaml").write_text(yaml.safe_dump(config_to_dict(config), allow_unicode=True,
                                                                sort_keys=False), encoding="utf-8")
    write_events_card(output, config, metrics)
    return metrics


def examples_of(records: list[CorpusRecord], registry: ActorRegistry) -> tuple[list[list[str]], list[str]]:
    """(features, role) for every candidate of every record with events."""
    features: list[list[str]] = []
    labels: list[str] = []
    for record in records:
        candidates = [e for e in gold_entities(record) if e.actor is not None]
        roles = _id_roles(record)
        features += candidate_features(record.text, candidates, 0, registry)
        labels += [roles.get(e.actor, "none") for e in candidates]
    return features, labels


def gold_entities(record: CorpusRecord, actors: list[str | None] | None = None) -> list[Entity]:
    """The record's entities as :class:`Entity` (``actors`` replaces the gold ids when given)."""
    ids = actors if actors is not None else [e.actor for e in record.entities]
    return [Entity(e.start, e.end, record.text[e.start:e.end], e.label, 1.0, actor)
            for e, actor in zip(record.entities, ids)]


def link_records(records: list[CorpusRecord], registry: ActorRegistry) -> list[list[str | None]]:
    """The registry linker's id for every gold entity of every record."""
    return [[registry.resolve(record.text[e.start:e.end], e.label, before=record.text[:e.start])
             for e in record.entities] for record in records]


def score_events(finder: Any, records: list[CorpusRecord], registry: ActorRegistry,
                 actors: list[list[str | None]] | None = None) -> dict[str, float]:
    """Event triple scores of ``finder`` on ``records`` with their gold entities and request types."""
    gold, predicted = [], []
    for n, record in enumerate(records):
        entities = gold_entities(record, None if actors is None else actors[n])
        events = finder.find(record.text, entities, [(t, 1.0) for t in record.request_types], offset=0)
        predicted.append([(e.type, e.requester and e.requester.actor, e.addressee and e.addressee.actor)
                          for e in events])
        gold.append(gold_triples(record))
    return event_triple_scores(gold, predicted)


def gold_triples(record: CorpusRecord) -> list[tuple[str, str | None, str | None]]:
    def actor(index: int | None) -> str | None:
        return None if index is None else record.entities[index].actor

    return [(event.type, actor(event.requester), actor(event.addressee)) for event in record.events or ()]


def _id_roles(record: CorpusRecord) -> dict[str, str]:
    roles: dict[str, str] = {}
    for _, requester, addressee in gold_triples(record):
        if addressee is not None and addressee != requester:
            roles.setdefault(addressee, "addressee")
        if requester is not None:
            roles[requester] = "requester"
    return roles


def _folds_by_document(records: list[CorpusRecord], folds: int, seed: int) -> list[list[CorpusRecord]]:
    docs = sorted({r.doc_id for r in records})
    random.Random(seed).shuffle(docs)
    fold_of = {doc: n % folds for n, doc in enumerate(docs)}
    return [[r for r in records if fold_of[r.doc_id] == k] for k in range(folds)]


def write_events_card(output: Path, config: TrainConfig, metrics: dict[str, Any]) -> Path:
    """``README.md`` of the events model: what it is, its data, its dev scores beside the rules."""
    card = config.card
    lines = [f"# {card.model_name or 'libya_nlp events model'}", "",
             "Requester and addressee of each request type of a sentence (ANNOTATION.md §7), among the "
             "sentence's entities that have an actor id: a multinomial logistic regression over word-order, "
             "clitic, lexical and actor features of each (sentence, mention) pair "
             "(`libya_nlp/event_model.py`), stored as JSON weights.", "",
             f"- Intended use: {card.intended_use or 'research'}", f"- Licence: {card.licence or 'see the data'}",
             f"- Regularisation: C = {metrics['selection']['C']}, chosen by {metrics['selection']['folds']}-fold "
             f"cross-validation over training documents (triple F1 by C: {metrics['selection']['cv_triple_f1_by_C']}).",
             "", "## Training data", "", *data_table(metrics)]
    dev = metrics["evaluation"].get("dev")
    if dev:
        lines += ["", f"## Scores (dev, {dev['sentences']} sentences with request types; gold entities and request types)",
                  "", "| finder | actors | triple precision | recall | F1 |", "|---|---|---|---|---|"]
        for key, finder, actors in (("gold_actors", "learned", "gold"), ("linked_actors", "learned", "linker"),
                                    ("rules_gold_actors", "rules", "gold"), ("rules_linked_actors", "rules", "linker")):
            s = dev[key]
            lines.append(f"| {finder} | {actors} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
        link = dev["actor_linking"]
        lines += ["", f"Actor linking on all dev entities: accuracy {link['accuracy']:.3f} over {link['mentions']} "
                      f"mentions ({link['accuracy_resolved']:.3f} on the mentions gold resolves)."]
    end_to_end = metrics["evaluation"].get("end_to_end")
    if end_to_end:
        learned, rules = end_to_end["learned"], end_to_end["rules"]
        whole = f" in {learned['documents']} documents, each annotated whole" if "documents" in learned else ""
        lines += ["", f"## End to end from raw text ({learned['records']} dev records{whole}; the installed default "
                      "tagger, classifier, linker and this model, `python -m training.evaluate_events`)", "",
                  "| finder | triple precision | recall | F1 |", "|---|---|---|---|"]
        for finder, scores in (("learned", learned), ("rules", rules)):
            t = scores["triples"]
            lines.append(f"| {finder} | {t['precision']:.3f} | {t['recall']:.3f} | {t['f1']:.3f} |")
        found = learned["actors_on_found_spans"]
        lines += ["", f"Gold entities the tagger found with the exact span: {learned['gold_entities_found_exactly']:.3f}; "
                      f"actor-id accuracy on them: {found['accuracy']:.3f}."]
    if card.limitations:
        lines += ["", "## Limitations", "", card.limitations]
    path = output / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
