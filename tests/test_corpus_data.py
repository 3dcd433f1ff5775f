"""The shipped Libya corpus: valid, split by document, the counts its issue asks for, seeds fully annotated."""

import json
from collections import Counter

import pytest

from conftest import ROOT, SEEDS
from libya_nlp.labels import GNA_TARGET, HAFTAR_TARGET, REQUEST_TYPES, STANCE_LABELS
from libya_nlp.segmentation import split_sentences
from training.validate import counts, validate

CORPUS = [ROOT / "training" / "data" / "libya" / name for name in ("train.jsonl", "dev.jsonl")]
REAL_NEWS_LINES = [ROOT / "training" / "data" / "libya" / name for name in ("realnews_train.jsonl", "realnews_dev.jsonl")]
ROLES = [ROOT / "training" / "data" / "libya" / name for name in ("roles_train.jsonl", "roles_dev.jsonl")]


@pytest.fixture(scope="module")
def report():
    return validate(CORPUS)


def test_validator_passes_on_the_corpus(report):
    assert report.problems == []


def test_counts_meet_the_corpus_targets(report):
    summary = counts([record for _, record in report.records])
    assert summary["sentences"] >= 2000
    assert all(summary["request_types"][label] >= 120 for label in REQUEST_TYPES)
    assert summary["no_request_share"] >= 0.30
    for target in (GNA_TARGET, HAFTAR_TARGET):
        assert all(summary["stance"][target][label] >= 80 for label in STANCE_LABELS), summary["stance"][target]


def test_split_is_by_document_and_near_85_15(report):
    sizes = Counter(where.split(":")[0].rsplit("/", 1)[-1] for where, _ in report.records)
    assert 0.80 <= sizes["train.jsonl"] / sum(sizes.values()) <= 0.90


def test_every_seed_sentence_is_annotated(report):
    seed_texts = {record.text for _, record in report.records if record.source == "seed"}
    for path in SEEDS:
        for sentence in split_sentences(path.read_text(encoding="utf-8")):
            assert sentence.text in seed_texts


def test_contract_examples_from_the_seeds_are_labelled_as_stated(report):
    by_text = {record.text: record for _, record in report.records}
    first = next(r for t, r in by_text.items() if t.startswith("طلب رئيس المجلس الرئاسي لحكومة الوفاق الوطني"))
    assert first.request_types == ("security_cooperation",)
    embargo = next(r for t, r in by_text.items() if t.startswith("ومن المقرر أن يبحث السراج مع ترامب"))
    assert set(embargo.request_types) == {"arms_embargo", "military_aid"}
    ready = next(r for t, r in by_text.items() if t.startswith("وكان الرئيس التركي صرح"))
    assert ready.request_types == ()


def test_validator_catches_what_it_names(tmp_path):
    good = json.loads(CORPUS[0].read_text(encoding="utf-8").splitlines()[0])
    bad_offset = {**good, "id": "x-2", "entities": [{"start": 1, "end": 3, "label": "PER"}]}
    bad_label = {**good, "id": "x-3", "text": good["text"] + " وأضاف.", "request_types": ["weapons"]}
    near = {**good, "id": "x-4", "text": good["text"].replace(" ", " جدا ", 1), "entities": [],
            "events": [{"type": t, "requester": None, "addressee": None} for t in good["request_types"]]}
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (good, good, bad_offset, bad_label, near)),
                    encoding="utf-8")
    problems = "\n".join(validate([path]).problems)
    assert "c.jsonl:2: id" in problems and "repeats" in problems
    assert "c.jsonl:3: entity 0" in problems and "token boundaries" in problems
    assert "c.jsonl:4: unknown request type 'weapons'" in problems
    assert "c.jsonl:5: near duplicate of" in problems


def test_real_news_lines_are_valid_beside_the_corpus_and_mostly_not_requests():
    report = validate([*CORPUS, *REAL_NEWS_LINES])  # ids unique and documents unsplit across all four files
    assert report.problems == []
    lines = [(where, record) for where, record in report.records if "realnews_" in where]
    assert len(lines) >= 300
    share = sum(bool(record.request_types) for _, record in lines) / len(lines)
    assert 0.2 <= share <= 0.4, share
    latin = [r for _, r in lines if not any("\u0600" <= c <= "\u06ff" for c in r.text)]
    captions = [r for r in latin if any(credit in r.text for credit in ("Photo", "photo", "Getty"))]
    assert len(latin) >= 20 and len(captions) >= 10
    assert not any(r.request_types for r in captions)  # an English caption or credit is not a request
    boilerplate = [r for _, r in lines if r.text in ("زر الذهاب إلى الأعلى", "الأكثر قراءة")]
    assert boilerplate and all(not r.request_types and not r.entities for r in boilerplate)
    dev = sum("realnews_dev" in where for where, _ in lines)
    assert 0.1 <= dev / len(lines) <= 0.2


@pytest.mark.parametrize("path", CORPUS + REAL_NEWS_LINES + ROLES, ids=lambda p: p.name)
def test_every_record_carries_actor_ids_and_its_events(path):
    """ANNOTATION.md §7: every entity has `actor`; every record with request types has `events`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        raw = json.loads(line)
        assert all("actor" in entity for entity in raw["entities"]), f"{path.name}:{number}"
        assert ("events" in raw) == bool(raw["request_types"]), f"{path.name}:{number}"


def test_the_events_of_the_contract_example_are_in_the_seed(report):
    record = next(r for _, r in report.records if r.id == "seed-000-01")
    [event] = record.events
    assert (event.type, record.entities[event.requester].actor, record.entities[event.addressee].actor) == \
        ("security_cooperation", "LBY-GNA", "DZA")


def test_validator_checks_events_and_actor_ids(tmp_path):
    good = json.loads(CORPUS[0].read_text(encoding="utf-8").splitlines()[0])
    unknown_actor = {**good, "id": "e-1", "entities": [{**good["entities"][0], "actor": "XYZ"}] + good["entities"][1:]}
    out_of_range = {**good, "id": "e-2", "events": [{"type": "security_cooperation", "requester": 99, "addressee": None}]}
    no_actor = {**good, "id": "e-3", "events": [{"type": "security_cooperation", "requester": 2, "addressee": None}]}
    wrong_type = {**good, "id": "e-4", "events": [{"type": "mediation", "requester": None, "addressee": None}]}
    missing_type = {**good, "id": "e-5", "events": []}
    rows = (unknown_actor, out_of_range, {**no_actor, "entities": [{**e, "actor": None} for e in good["entities"]]},
            wrong_type, missing_type)
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    problems = "\n".join(validate([path]).problems)
    assert "e.jsonl:1: entity 0" in problems and "'XYZ' is not an id of the actor registry" in problems
    assert "e.jsonl:2: event 0: requester 99 is not an index" in problems
    assert "e.jsonl:3: event 0: requester points at entity 2, which has no actor" in problems
    assert "e.jsonl:4: event 0: type 'mediation' is not one of the record's request_types" in problems
    assert "e.jsonl:5: request types ['security_cooperation'] have no event" in problems


def test_all_corpus_files_validate_together():
    """Ids unique and no near duplicates across every file the configs train on."""
    assert validate(CORPUS + REAL_NEWS_LINES + ROLES).problems == []
