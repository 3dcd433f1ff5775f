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
    dev = classifier["evaluation"]["dev"]
    assert dev["sentences"] == 40 and "5-fold cross-validation over dev documents" in dev["thresholds_tuned_on"]
    assert [f["sentences"] for f in dev["folds"]] and sum(f["sentences"] for f in dev["folds"]) == 40
    assert dev["baseline"]["sentences"] == dev["sentences"] and "TF-IDF" in dev["baseline"]["name"]
    config = json.loads((tmp_path / "classifier" / "config.json").read_text(encoding="utf-8"))
    assert config["pooling"] == "mean" and len(config["request_pos_weight"]) == 7
    assert len(set(config["request_thresholds"].values())) == 1  # one shared threshold
    # the n-gram head: fitted, its weight chosen with the threshold, the encoder alone reported beside it;
    # a weight of 0 ships no head
    blended = config["request_ngram_blend"] > 0
    assert config["request_ngram_blend"] == dev["ngram_blend"]
    assert config["request_ngram_buckets"] == (131072 if blended else None)
    from safetensors import safe_open
    with safe_open(tmp_path / "classifier" / "model.safetensors", "pt") as weights:
        assert any(k.startswith("request_ngrams.") for k in weights.keys()) == blended
    alone = classifier["evaluation"]["dev_encoder_only"]
    assert alone["sentences"] == dev["sentences"] and "micro_f1" in alone["request_types"]
    card = (tmp_path / "classifier" / "README.md").read_text(encoding="utf-8")
    assert "multilingual-e5-small" in card and "Baseline on the same" in card and "MIT" in card
    assert ("x the character n-gram head's" in card) == blended and "dev_encoder_only" in card
    assert ("no character n-gram head is shipped" in card) == (not blended)
    assert "Chosen on the other folds for each fold: fold 1 (" in card
    text = "طلب السراج من «الجزائر» دعما. Photo: Reuters"
    result = annotate(text, tagger=tmp_path / "tagger", classifier=tmp_path / "classifier").to_dict()
    assert all(text[e["start"]:e["end"]] == e["text"] for e in result["entities"])
    assert len(result["sentences"]) >= 1


def test_the_split_tuning_reports_on_the_documents_it_did_not_tune_on(tmp_path):
    backbone = _backbone(tmp_path)
    metrics = _train("classifier_e5.yaml", tmp_path / "classifier", f"backbone={backbone}", "training.epochs=1",
                     "training.batch_size=8", *SMALL_DATA, "classifier.threshold_folds=0",
                     "classifier.threshold_fraction=0.34")
    dev, tune = metrics["evaluation"]["dev"], metrics["evaluation"]["dev_tune"]
    assert dev["sentences"] + tune["sentences"] == 40 and "dev_tune" in dev["thresholds_tuned_on"]
    assert "folds" not in dev and metrics["evaluation"]["dev_encoder_only"]["sentences"] == dev["sentences"]
    assert "tuned on dev_tune" in metrics["evaluation"]["dev_encoder_only"]["mode"]


def test_folds_and_a_tuning_fraction_do_not_go_together():
    import pytest

    from training.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="classifier.threshold_folds"):
        load_config(ROOT / "configs" / "classifier_e5.yaml", ["classifier.threshold_fraction=0.3"])
    with pytest.raises(ConfigError, match="classifier.threshold_folds"):
        load_config(ROOT / "configs" / "classifier_e5.yaml", ["classifier.threshold_folds=1"])


def test_too_few_dev_documents_for_the_folds_fail_before_training(tmp_path, capsys):
    code = train_main([str(ROOT / "configs" / "classifier_e5.yaml"), "--set", f"output_dir={tmp_path / 'c'}",
                       "--set", "backbone=/no/such/backbone", *[a for o in SMALL_DATA[:1] for a in ("--set", o)],
                       "--set", "data.dev=[{path: training/data/libya/dev.jsonl, format: corpus, max_sentences: 2}]"])
    assert code != 0 and "classifier.threshold_folds" in capsys.readouterr().err
