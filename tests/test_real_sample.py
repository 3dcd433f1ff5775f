"""training.real_sample: drawing sentences about Libya from raw news, and scoring a labelled sample."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest

from training.real_sample import draw, main, score


class _Read:
    def __init__(self, result):
        self.result = result

    def to_dict(self):
        return self.result


class _FixedAnnotator:
    """Answers every text with the same entities and request types (what the scorer is tested on)."""

    def __init__(self, answers):
        self.answers = answers

    def annotate_batch(self, texts, stance_target):
        return [_Read(self.answers[text]) for text in texts]


def test_score_matches_spans_one_to_one_and_counts_requests():
    text = "طالب السراج تركيا بدعم عسكري"
    answers = {text: {"entities": [{"start": 5, "end": 11, "label": "PER"}, {"start": 12, "end": 17, "label": "ORG"}],
                      "sentences": [{"request_types": [{"label": "military_aid"}, {"label": "mediation"}],
                                     "stance": {"label": "none"}}]}}
    labels = {"a": {"entities": [{"text": "السراج", "label": "PER"}, {"text": "تركيا", "label": "LOC"}],
                    "request_types": ["military_aid"], "stance": {"GNA": "none", "Haftar": "none"}}}
    scores = score([{"id": "a", "text": text}, {"id": "unlabelled", "text": "x"}], labels, _FixedAnnotator(answers))
    assert scores["sentences"] == 1
    assert scores["entities"] == {"overlap_f1": 0.5, "exact_f1": 0.5, "gold": 2, "predicted": 2}  # تركيا: wrong label
    assert scores["request_types"] == {"micro_f1": pytest.approx(2 / 3, abs=1e-4), "gold": 1, "predicted": 2}


def test_draw_keeps_sentences_about_libya_and_splits_by_request_verb(tmp_path):
    about = ["ودعا المبعوث الأممي الأطراف الليبية إلى العودة للحوار فورا", "وطالبت حكومة الوفاق تركيا بدعم عسكري عاجل",
             "وصل رئيس المجلس الرئاسي إلى طرابلس مساء أمس قادما من روما", "وشهدت بنغازي هدوءا حذرا بعد أيام من الاشتباكات"]
    other = "وفاز الفريق البرازيلي فيليبي بالمباراة الودية أمس في الملعب"
    (tmp_path / "arabic_newspapers_2012").mkdir()
    with gzip.open(tmp_path / "arabic_newspapers_2012" / "a.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps({"text": ". ".join(about[:2] + [other]) + "."}, ensure_ascii=False) + "\n")
    (tmp_path / "saudinewsnet").mkdir()
    with zipfile.ZipFile(tmp_path / "saudinewsnet" / "d.zip", "w") as archive:
        archive.writestr("d.json", json.dumps([{"content": ". ".join(about[2:]) + "."}], ensure_ascii=False))
    rows = draw(tmp_path, with_verb=2, without_verb=2)
    assert sorted(r["text"].rstrip(".") for r in rows) == sorted(about)
    named = draw(tmp_path, with_verb=1, without_verb=0, naming="الوفاق|حفتر", prefix="stance")
    assert [(r["id"], r["text"].rstrip(".")) for r in named] == [("stance-000", about[1])]
    with pytest.raises(SystemExit, match="only 2 sentences with a request verb"):
        draw(tmp_path, with_verb=3, without_verb=1)
    assert main(["draw", "--data", str(tmp_path), "--out", str(tmp_path / "s.jsonl"), "--with-verb", "1",
                 "--without-verb", "1"]) == 0
    assert len((tmp_path / "s.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_the_baseline_on_a_sample_scores_as_on_the_same_corpus_records():
    from pathlib import Path

    from training.baselines import tfidf_request_baseline
    from training.config import load_config
    from training.real_sample import baseline_score
    from training.sources import load_corpus_splits

    config = Path("configs/classifier_smoke.yaml")
    train, dev, _ = load_corpus_splits(load_config(config), Path("."), "classifier")
    sample = [{"id": r.id, "text": r.text} for r in dev]
    labels = {r.id: {"request_types": list(r.request_types)} for r in dev}
    scores = baseline_score(sample, labels, config)
    expected = tfidf_request_baseline(list({r.id: r for r in train}.values()), dev)
    assert scores["request_types"]["gold"] == sum(len(r.request_types) for r in dev) > 0
    assert scores["request_types"]["micro_f1"] == pytest.approx(expected["micro_f1"], abs=1e-4)


def _raw_news(root, sentences):
    (root / "arabic_newspapers_2012").mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "arabic_newspapers_2012" / "a.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps({"text": ". ".join(sentences) + "."}, ensure_ascii=False) + "\n")


def test_a_frozen_sample_is_drawn_again_and_scores_as_the_original(tmp_path):
    from training.real_sample import freeze, thaw

    about = ["وطالبت حكومة الوفاق تركيا بدعم عسكري عاجل", "وصل رئيس المجلس الرئاسي إلى طرابلس مساء أمس قادما من روما"]
    _raw_news(tmp_path, about)
    sample = draw(tmp_path, with_verb=1, without_verb=1, seed=3, prefix="t")
    labels = {r["id"]: {"entities": [{"text": "طرابلس", "label": "LOC"}] if "طرابلس" in r["text"] else [],
                        "request_types": ["military_aid"] if "تركيا" in r["text"] else [],
                        "stance": {"GNA": "none"}} for r in sample}
    header, rows = freeze(sample, labels, {"seed": 3, "with_verb": 1, "without_verb": 1, "naming": None, "prefix": "t"})
    assert all("text" not in row for row in rows) and header["sentences"] == 2
    assert not any("طرابلس" in json.dumps(row, ensure_ascii=False) for row in rows)  # no text of the raw news
    again, thawed = thaw(header, rows, tmp_path)
    assert again == sample
    answers = {r["text"]: {"entities": [], "sentences": [{"request_types": [{"label": "military_aid"}],
                                                          "stance": {"label": "none"}}]} for r in sample}
    assert score(again, thawed, _FixedAnnotator(answers)) == score(sample, labels, _FixedAnnotator(answers))
    _raw_news(tmp_path, [about[0] + " فورا", about[1]])  # the raw news changed under the labels
    with pytest.raises(SystemExit, match="sentence t-00[01] drawn from .* does not match its hash"):
        thaw(header, rows, tmp_path)
    with pytest.raises(SystemExit, match="no folder .*none: the sample's sentences are drawn again"):
        thaw(header, rows, tmp_path / "none")


def test_freeze_refuses_an_entity_that_is_not_in_its_sentence():
    from training.real_sample import freeze

    with pytest.raises(SystemExit, match="x-000: entity text not in the sentence"):
        freeze([{"id": "x-000", "source": "s", "text": "وصل السراج"}],
               {"x-000": {"entities": [{"text": "حفتر", "label": "PER"}], "request_types": []}}, {})


def test_the_committed_samples_have_offsets_and_known_labels():
    from pathlib import Path

    from libya_nlp.labels import ENTITY_TYPES, REQUEST_TYPES

    headers = sorted(Path("training/data/real").glob("*.json"))
    assert headers
    for header_path in headers:
        header = json.loads(header_path.read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in header_path.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines()]
        assert len(rows) == header["sentences"] == len({r["id"] for r in rows})
        for row in rows:
            assert set(row) == {"id", "sha256", "entities", "request_types", "stance"}
            assert all(0 <= s < e and label in ENTITY_TYPES for s, e, label in row["entities"])
            assert set(row["request_types"]) <= set(REQUEST_TYPES)


def test_kept_samples_are_scored_into_both_cards(tmp_path, tiny_tagger_dir, tiny_classifier_dir, capsys):
    from training.real_sample import freeze, record_frozen

    _raw_news(tmp_path, ["وطالبت حكومة الوفاق تركيا بدعم عسكري عاجل", "وصل رئيس المجلس الرئاسي إلى طرابلس مساء أمس"])
    sample = draw(tmp_path, with_verb=1, without_verb=1, seed=3, prefix="t")
    labels = {r["id"]: {"entities": [], "request_types": ["military_aid"] if "تركيا" in r["text"] else []} for r in sample}
    header, rows = freeze(sample, labels, {"seed": 3, "with_verb": 1, "without_verb": 1, "naming": None, "prefix": "t"},
                          blind=True)
    (tmp_path / "t.json").write_text(json.dumps(header), encoding="utf-8")
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    recorded = []
    results = record_frozen([tmp_path / "t.json"], tmp_path, tiny_tagger_dir, tiny_classifier_dir,
                            record=lambda model_dir, name, scores: recorded.append((model_dir, name, scores)))
    assert results["t"]["sentences"] == 2 and results["t"]["request_types"]["gold"] == 1 and results["t"]["blind"]
    assert [(d, n) for d, n, _ in recorded] == [(tiny_tagger_dir, "real_news_t"), (tiny_classifier_dir, "real_news_t")]
    assert set(recorded[0][2]) == {"sentences", "data", "mode", "real_entities"}
    assert recorded[1][2]["real_requests"] == results["t"]["request_types"] and "a blind test" in recorded[1][2]["mode"]
    assert main(["score-frozen", str(tmp_path / "t.json"), "--data", str(tmp_path), "--tagger", str(tiny_tagger_dir),
                 "--classifier", str(tiny_classifier_dir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["t"]["request_types"] == results["t"]["request_types"]


def test_the_card_shows_real_news_scores():
    from training.model_card import _score_lines

    lines = _score_lines({"evaluation": {"real_news_r61": {
        "sentences": 120, "data": ["training/data/real/r61.json"], "mode": "annotate() on real news",
        "real_entities": {"overlap_f1": 0.9096, "exact_f1": 0.8724, "gold": 407, "predicted": 400},
        "real_requests": {"micro_f1": 0.0, "gold": 1, "predicted": 5},
        "real_stance": {"GNA": {"macro_f1": 0.33, "gold_not_none": 0}, "Haftar": {"macro_f1": 0.5, "gold_not_none": 3}}}}})
    text = "\n".join(lines)
    assert "On `real_news_r61` (120 sentences, annotate() on real news, training/data/real/r61.json):" in text
    assert "Entity overlap F1 **0.910** (same label, one-to-one; exact spans 0.872; 407 gold, 400 predicted)." in text
    assert "Request types: micro-F1 **0.000** (1 gold, 5 predicted)." in text
    assert "Stance toward Haftar: macro-F1 0.500 (gold stances other than none: 3)." in text
    assert "toward GNA" not in text  # no gold stance: its macro-F1 would say nothing
