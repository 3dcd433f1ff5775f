"""The events task: trains from a config, selects C by cross-validation, writes a loadable model and card."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT
from libya_nlp.event_model import EventModel, load_event_finder
from libya_nlp.output import Entity
from training.train import main as train_main

TRAIN = ROOT / "training" / "data" / "libya" / "train.jsonl"


@pytest.fixture(scope="module")
def events_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("events")
    lines = TRAIN.read_text(encoding="utf-8").splitlines()
    (tmp / "train.jsonl").write_text("\n".join(lines[:400]) + "\n", encoding="utf-8")
    (tmp / "dev.jsonl").write_text("\n".join(lines[400:520]) + "\n", encoding="utf-8")
    config = {"task": "events", "output_dir": str(tmp / "out"), "seed": 3,
              "data": {"train": [{"path": str(tmp / "train.jsonl"), "format": "corpus"}],
                       "dev": [{"path": str(tmp / "dev.jsonl"), "format": "corpus"}]},
              "events": {"c_values": [0.3, 1.0], "folds": 2}}
    (tmp / "events.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert train_main([str(tmp / "events.yaml")]) == 0
    return tmp / "out"


def test_the_run_writes_model_metrics_and_card(events_run):
    metrics = json.loads((events_run / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["selection"]["cv_triple_f1_by_C"]) == {"0.3", "1.0"}
    dev = metrics["evaluation"]["dev"]
    assert dev["gold_actors"]["f1"] > dev["rules_gold_actors"]["f1"], dev
    card = (events_run / "README.md").read_text(encoding="utf-8")
    assert "| learned | gold |" in card and "| rules | gold |" in card


def test_the_saved_model_loads_and_finds_roles(events_run):
    model = load_event_finder(events_run)
    assert isinstance(model, EventModel)
    text = "طلب السراج من الجزائر تنسيقا أمنيا"
    [event] = model.find(text, [Entity(4, 10, "السراج", "PER", 0.9, "LBY-GNA"), Entity(14, 21, "الجزائر", "LOC", 0.9, "DZA")],
                         [("security_cooperation", 0.9)], offset=0)
    assert (event.requester.actor, event.addressee.actor) == ("LBY-GNA", "DZA")


def test_a_missing_or_foreign_model_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="events.json"):
        EventModel.load(tmp_path)
    (tmp_path / "events.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ValueError, match="libya_nlp.events.logreg/1"):
        EventModel.load(tmp_path)


def test_resume_is_refused_for_a_task_that_cannot_resume(events_run, tmp_path, capsys):
    config = yaml.safe_load((events_run.parent / "events.yaml").read_text(encoding="utf-8"))
    config["output_dir"] = str(tmp_path / "o")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert train_main([str(tmp_path / "c.yaml"), "--resume"]) == 2
    assert "--resume is not supported for task 'events'" in capsys.readouterr().err


def test_end_to_end_scoring_counts_every_gold_event(tiny_tagger_dir, tiny_classifier_dir):
    from training.corpus import read_corpus
    from training.evaluate_events import evaluate_end_to_end

    records = read_corpus(TRAIN)[:12]
    scores = evaluate_end_to_end(records, tagger=str(tiny_tagger_dir), classifier=str(tiny_classifier_dir),
                                 events="rules")
    assert scores["records"] == 12
    assert scores["triples"]["support"] == sum(len(r.events or ()) for r in records) > 0
    assert 0.0 <= scores["triples"]["f1"] <= 1.0 and 0.0 <= scores["gold_entities_found_exactly"] <= 1.0


def test_end_to_end_scores_go_into_the_events_card(events_run, tiny_tagger_dir, tiny_classifier_dir, tmp_path):
    import shutil

    from training.build_defaults import score_events_end_to_end

    installed = tmp_path / "events"
    shutil.copytree(events_run, installed)
    (tmp_path / "dev.jsonl").write_text("\n".join(TRAIN.read_text(encoding="utf-8").splitlines()[:10]) + "\n",
                                        encoding="utf-8")
    scores = score_events_end_to_end(installed, (str(tmp_path / "dev.jsonl"),), tagger=str(tiny_tagger_dir),
                                     classifier=str(tiny_classifier_dir))
    recorded = json.loads((installed / "metrics.json").read_text(encoding="utf-8"))["evaluation"]["end_to_end"]
    assert recorded["learned"]["records"] == 10 and recorded["rules"] == scores["rules"]
    card = (installed / "README.md").read_text(encoding="utf-8")
    assert "## End to end from raw text (10 dev records" in card
    assert f"| learned | {scores['learned']['triples']['precision']:.3f} |" in card and "| rules |" in card
    assert "| learned | gold |" in card  # the dev table is kept


def test_install_removes_nothing_when_a_source_is_missing(tmp_path, monkeypatch):
    from training import build_defaults

    installed = tmp_path / "installed"
    installed.mkdir()
    (installed / "events.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(build_defaults, "default_model_dir", lambda kind: installed)
    with pytest.raises(SystemExit, match=r"missing .*events.json"):
        build_defaults.install(tmp_path / "tagger", tmp_path / "classifier", tmp_path / "no_events")
    assert (installed / "events.json").is_file()


def test_install_of_one_kind_leaves_the_others_installed(tmp_path, monkeypatch):
    from training import build_defaults

    installed = {kind: tmp_path / "installed" / kind for kind in build_defaults.KINDS}
    for kind, folder in installed.items():
        folder.mkdir(parents=True)
        (folder / "kept.txt").write_text(kind, encoding="utf-8")
    monkeypatch.setattr(build_defaults, "default_model_dir", lambda kind: installed[kind])
    events = tmp_path / "events_run"
    events.mkdir()
    for name in build_defaults._EVENTS_SHIPPED:
        (events / name).write_text("{}", encoding="utf-8")
    # only the events model: the tagger and classifier sources may be absent, and stay as installed
    build_defaults.install(tmp_path / "no_tagger", tmp_path / "no_classifier", events, ("events",))
    assert not (installed["events"] / "kept.txt").exists() and (installed["events"] / "events.json").is_file()
    assert (installed["tagger"] / "kept.txt").is_file() and (installed["classifier"] / "kept.txt").is_file()
    monkeypatch.setattr(build_defaults, "MAX_TOTAL_BYTES", 10)  # the budget counts what stays installed too
    with pytest.raises(SystemExit, match="over the"):
        build_defaults.install(tmp_path / "no_tagger", tmp_path / "no_classifier", events, ("events",))


def test_the_second_tagger_stage_starts_from_the_first_and_takes_the_overrides():
    from training import build_defaults

    first, second = build_defaults._RECIPES["e5"][0]
    steps = build_defaults._tagger_steps((first, second), ["training.epochs=1"])
    assert steps[0] == (first, [])
    assert steps[1] == (second, ["backbone=runs/tagger_e5", "training.epochs=1"])
    with pytest.raises(SystemExit, match="output_dir of the one it starts from"):
        build_defaults._tagger_steps((first, second), ["output_dir=runs/tagger_e5"])


def _linking_only_annotate(texts, **_):
    """annotate_batch with a tagger that finds every السراج and the real linker: one
    military_aid event per sentence with a request verb, requested by the linked name."""
    from libya_nlp.actors import ActorRegistry
    from libya_nlp.output import Annotation, Event, LabelScore, Role, SentenceAnnotation, Stance
    from libya_nlp.segmentation import split_sentences

    registry, annotations = ActorRegistry.load(), []
    for text in texts:
        entities, sentences = [], []
        for sentence in split_sentences(text):
            start = text.find("السراج", sentence.start, sentence.end)
            entity = None
            if start >= 0:
                end = start + len("السراج")
                actor = registry.resolve("السراج", "PER", before=text[:start], after=text[end:], document=text)
                entity = Entity(start, end, "السراج", "PER", 0.9, actor)
                entities.append(entity)
            events = [Event("military_aid", 0.9, Role.of(entity) if entity and entity.actor else None, None)] \
                if "طلب" in sentence.text else []
            sentences.append(SentenceAnnotation(sentence.start, sentence.end, sentence.text,
                                                [LabelScore("military_aid", 0.9)] if events else [],
                                                Stance("حكومة الوفاق الوطني", "none", 0.9), events))
        annotations.append(Annotation(text, entities, sentences))
    return annotations


def test_end_to_end_scoring_reads_each_document_whole(monkeypatch):
    """A bare السراج links only in a document that names something Libyan (the linker's homonym
    rule), so records scored alone lose the second sentence's requester; scored by document, the
    record's entities and events are found at their offsets in the joined text."""
    import libya_nlp
    from training.corpus import parse_record
    from training.evaluate_events import evaluate_end_to_end

    def record(i: str, text: str, events: list) -> object:
        start = text.find("السراج")
        entities = [] if start < 0 else [{"start": start, "end": start + 6, "label": "PER", "text": "السراج",
                                          "actor": "LBY-GNA"}]
        return parse_record({"id": i, "doc_id": "d1", "text": text, "entities": entities, "source": "test",
                             "request_types": [e["type"] for e in events], "events": events, "stance": []}, i)

    records = [record("1", "وصل وفد من ليبيا إلى روما.", []),
               record("2", "وطلب السراج من روما طائرات.", [{"type": "military_aid", "requester": 0, "addressee": None}])]
    monkeypatch.setattr(libya_nlp, "annotate_batch", _linking_only_annotate)
    whole = evaluate_end_to_end(records)
    alone = evaluate_end_to_end(records, by_document=False)
    assert (whole["documents"], alone["documents"]) == (1, 2)
    assert whole["actors_on_found_spans"]["accuracy"] == 1.0 and whole["triples"]["f1"] == 1.0
    assert alone["actors_on_found_spans"]["accuracy"] == 0.0 and alone["triples"]["f1"] == 0.0
