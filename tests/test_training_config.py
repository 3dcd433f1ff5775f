import pytest

from training.config import ConfigError, apply_override, config_from_dict, load_config

BASE = {"task": "tagger", "output_dir": "/tmp/x", "backbone": "some/model",
        "data": {"train": [{"path": "a.txt", "format": "conll"}]}}


def test_shipped_configs_load(tmp_path):
    from conftest import ROOT

    for name in ["tagger_smoke", "classifier_smoke", "tagger_arabert", "classifier_arabert", "tagger_mini",
                 "classifier_mini", "pretrain_mini", "tagger_e5", "tagger_e5_anercorp", "tagger_e5_selftrain",
                 "classifier_e5"]:
        config = load_config(ROOT / "configs" / f"{name}.yaml")
        assert config.task in ("tagger", "classifier", "pretrain")
    arabert = load_config(ROOT / "configs" / "tagger_arabert.yaml")
    assert arabert.backbone == "aubmindlab/bert-base-arabertv02" and arabert.training.learning_rate == 5.0e-5


@pytest.mark.parametrize("change, message", [
    ({"trainig": {}}, "unknown key 'trainig' .*did you mean 'training'"),
    ({"training": {"learning_rate": "1e-5"}}, "training.learning_rate: expected a number.*1.0e-5"),
    ({"training": {"epochs": "three"}}, "training.epochs: expected a number"),
    ({"training": {"batch_size": 8.5}}, "training.batch_size: expected an integer"),
    ({"data": {"train": [{"path": "a", "format": "xml"}]}}, r"data.train\[0\].format: expected one of"),
    ({"data": {"train": [{"path": "a", "format": "conll", "wieght": 2}]}}, r"unknown key 'data.train\[0\].wieght'"),
    ({"task": "summarise"}, "task: expected one of"),
    ({"scratch": {"hidden_size": 8}}, "exactly one of 'backbone'"),
    ({"training": {"epochs": -1}}, r"training.epochs must be a positive number, got -1"),
    ({"training": {"learning_rate": -1.0e-5}}, r"training.learning_rate must be a positive number"),
    ({"training": {"batch_size": 0}}, r"training.batch_size must be at least 1, got 0"),
    ({"classifier": {"threshold_fraction": 1.5}}, r"classifier.threshold_fraction must be in \[0, 1\)"),
    ({"data": {"train": [{"path": "a", "format": "conll", "mention_swap": -1}]}},
     r"data.train\[0\].mention_swap must be 0 or more"),
    ({"task": "classifier", "data": {"train": [{"path": "a", "format": "corpus", "mention_swap": 1}]}},
     r"data.train\[0\].mention_swap .*only for task: tagger"),
])
def test_bad_configs_name_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({**BASE, **change})


def test_missing_required_key():
    with pytest.raises(ConfigError, match="missing key 'output_dir'"):
        config_from_dict({"task": "tagger"})


def test_overrides_are_typed_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: tagger\noutput_dir: o\nbackbone: b\ndata:\n  train: [{path: a, format: conll}]\n")
    config = load_config(path, ["training.epochs=2", "seed=7", "backbone=/models/tiny",
                                "data.dev=[{path: d.jsonl, format: corpus}]"])
    assert config.training.epochs == 2.0 and config.seed == 7 and config.backbone == "/models/tiny"
    assert config.data.dev[0].format == "corpus"
    with pytest.raises(ConfigError, match="key=value"):
        apply_override({}, "training.epochs")
    with pytest.raises(ConfigError, match=r"c.yaml: training.epochs: expected a number"):
        load_config(path, ["training.epochs=lots"])


def test_a_word_for_a_number_gets_no_exponent_hint():
    with pytest.raises(ConfigError) as error:
        config_from_dict({**BASE, "training": {"epochs": "twelve"}})
    assert "expected a number" in str(error.value) and "1.0e-5" not in str(error.value)
