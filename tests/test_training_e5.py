"""The e5 recipe end to end on a tiny converted Unigram backbone: train both tasks, card, annotate()."""

import json

from conftest import ROOT
from test_import_backbone import _image
from training.e5_image import read_image, write_image
from training.import_backbone import convert
from training.train import main as train_main

SMALL_DATA = ["data.train=[{path: training/data/libya/train.jsonl, format: corpus, max_sentences: 24},"
              " {path: training/data/libya/realnews_train.jsonl, format: corpus, max_sentences: 8}]",
              "data.dev=[{path: training/data/libya/dev.jsonl, format: corpus, max_sentences: 40}]"]


def _backbone(tmp_path):
    write_image(tmp_path / "tiny.bin", _image(positions=128))
    convert(read_image(tmp_path / "tiny.bin"), tmp_path / "e5")
    (tmp_path / "e5" / "conversion.json").write_text(json.dumps({
        "source": "a synthetic E5S1 image", "original_vocabulary": 18,
        "engine_check": {"arabic": {"sentences": 1, "cosine_mean": 1.0, "cosine_min": 1.0, "pieces_equal": 1}}}))
    return tmp_path / "e5"


def _train(config, output, *overrides):
    code = train_main([str(ROOT / "configs" / config), "--set", f"output_dir={output}",
                       *[arg for o in overrides for arg in ("--set", o)]])
    assert code == 0
    return json.loads((output / "metrics.json").read_text(encoding="utf-8"))


def test_e5_configs_train_and_annotate_on_a_unigram_backbone(tmp_path):
    from libya_nlp import annotate

    backbone = _backbone(tmp_path)
    common = [f"backbone={backbone}", "training.epochs=1", "training.batch_size=8", *SMALL_DATA]
    tagger = _train("tagger_e5.yaml", tmp_path / "tagger", *common)
    classifier = _train("classifier_e5.yaml", tmp_path / "classifier", *common)
    assert tagger["task"] == "tagger" and "dev" in tagger["evaluation"]
    dev, tune = classifier["evaluation"]["dev"], classifier["evaluation"]["dev_tune"]
    assert dev["sentences"] + tune["sentences"] == 40 and "dev_tune" in dev["thresholds_tuned_on"]
    assert dev["baseline"]["sentences"] == dev["sentences"] and "TF-IDF" in dev["baseline"]["name"]
    config = json.loads((tmp_path / "classifier" / "config.json").read_text(encoding="utf-8"))
    assert config["pooling"] == "mean" and len(config["request_pos_weight"]) == 7
    assert len(set(config["request_thresholds"].values())) == 1  # one shared threshold
    # the n-gram head: fitted, its weight chosen on dev_tune, the encoder alone reported beside it
    assert config["request_ngram_buckets"] == 131072 and config["request_ngram_blend"] == dev["ngram_blend"]
    alone = classifier["evaluation"]["dev_encoder_only"]
    assert alone["sentences"] == dev["sentences"] and "micro_f1" in alone["request_types"]
    card = (tmp_path / "classifier" / "README.md").read_text(encoding="utf-8")
    assert "multilingual-e5-small" in card and "Baseline on the same" in card and "MIT" in card
    assert "character n-gram head" in card and "dev_encoder_only" in card
    text = "طلب السراج من «الجزائر» دعما. Photo: Reuters"
    result = annotate(text, tagger=tmp_path / "tagger", classifier=tmp_path / "classifier").to_dict()
    assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
    assert len(result["sentences"]) >= 1
