import shutil

import pytest

from libya_nlp import checkpoints
from libya_nlp.checkpoints import CheckpointError, load_classifier, load_tagger


def test_loads_local_directories(tiny_tagger_dir, tiny_classifier_dir):
    model, tokenizer, name = load_tagger(tiny_tagger_dir)
    assert model.config.id2label[1] == "B-PER" and tokenizer.is_fast and name == str(tiny_tagger_dir)
    model, _, _ = load_classifier(tiny_classifier_dir)
    assert model.config.request_thresholds["mediation"] == 0.3


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_tagger(tmp_path / "nothing")


def test_directory_without_weights(tmp_path, tiny_tagger_dir):
    shutil.copy(tiny_tagger_dir / "config.json", tmp_path)
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        load_tagger(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(CheckpointError, match="safetensors only"):
        load_tagger(tmp_path)


def test_broken_weights_are_reported(tmp_path, tiny_tagger_dir):
    shutil.copytree(tiny_tagger_dir, tmp_path, dirs_exist_ok=True)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot load the tagger weights"):
        load_tagger(tmp_path)


def test_wrong_kind_of_checkpoint(tiny_tagger_dir, tiny_classifier_dir):
    with pytest.raises(CheckpointError, match="not a libya_nlp classifier"):
        load_classifier(tiny_tagger_dir)
    with pytest.raises(CheckpointError, match="IOB2"):
        load_tagger(tiny_classifier_dir)


def test_absent_default_model_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoints, "_DEFAULT_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="training.train configs/tagger_e5.yaml"):
        load_tagger(None)


def test_hub_names_pass_through_to_transformers():
    assert checkpoints.resolve_checkpoint("aubmindlab/bert-base-arabertv02", "tagger") == "aubmindlab/bert-base-arabertv02"


def test_a_checkpoint_trained_on_other_normalisation_is_refused(tmp_path, tiny_tagger_dir):
    import json

    shutil.copytree(tiny_tagger_dir, tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "text_normalization": "arabert_v02"}))
    load_tagger(tmp_path)  # the library's own rules: fine
    (tmp_path / "config.json").write_text(json.dumps({**config, "text_normalization": "camel_tools_dediac"}))
    with pytest.raises(CheckpointError, match="normalised as 'camel_tools_dediac'"):
        load_tagger(tmp_path)


def test_a_bare_name_that_is_no_folder_fails_at_once_with_both_readings(tmp_path, monkeypatch):
    import time

    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    with pytest.raises(CheckpointError, match="'mymodel' is not a folder here.*organisation/name"):
        load_tagger("mymodel")
    assert time.monotonic() - started < 2  # no hub retries


def test_an_unreachable_hub_name_says_it_was_read_as_one(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="not a folder here, so it was read as a model hub name"):
        load_tagger("nobody-here/no-such-model")


def test_an_index_that_points_at_a_pickle_is_refused(tmp_path, tiny_tagger_dir):
    import json

    shutil.copy(tiny_tagger_dir / "config.json", tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_tagger_dir / name, tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"a pickle that runs code")
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {"classifier.weight": "pytorch_model.bin"}}))
    with pytest.raises(CheckpointError, match="not safetensors.*pytorch_model.bin"):
        load_tagger(tmp_path)
