"""training.soup: averaging fine-tuned checkpoints, the classifier's heads as functions, clear refusals."""

import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, tiny_bert_config
from training.config import ConfigError
from training.soup import _raw_heads, _standardised_heads, average, check_compatible
from training.soup import main as soup_main
from training.train import main as train_main

CONFIG = str(ROOT / "configs" / "classifier_e5.yaml")
DATA = ["data.train=[{path: training/data/libya/train.jsonl, format: corpus, max_sentences: 24}]",
        "data.dev=[{path: training/data/libya/dev.jsonl, format: corpus, max_sentences: 40}]",
        "classifier.threshold_folds=2", "training.epochs=1"]


def _sets(*overrides):
    return [arg for o in overrides for arg in ("--set", o)]


def test_a_soup_of_two_seeds_is_their_average_with_thresholds_chosen_again(tiny_backbone, tmp_path):
    common = [f"backbone={tiny_backbone}", *DATA]
    out = tmp_path / "soup"
    assert train_main([CONFIG, *_sets(f"output_dir={out}", "soup_seeds=[7]", *common)]) == 0
    first, second = out / "members" / "seed42", out / "members" / "seed7"
    a, b, s = (load_file(d / "model.safetensors") for d in (first, second, out))
    key = "encoder.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(a[key], b[key]), "two seeds give two models"
    assert torch.allclose(s[key], (a[key] + b[key]) / 2)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert [m["seed"] for m in metrics["soup_of"]] == [42, 7]
    assert "request_micro_f1" in metrics["soup_of"][0]["dev"]
    assert metrics["evaluation"]["dev"]["mode"].startswith("2-fold cross-validation")
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "average of 2 runs" in card and f"`{second}` (seed 7)" in card
    # the same soup from the command line, of the members on disk
    again = tmp_path / "again"
    assert soup_main([CONFIG, "--members", str(first), str(second), *_sets(f"output_dir={again}", *common)]) == 0
    assert torch.equal(load_file(again / "model.safetensors")[key], s[key])
    assert (json.loads((again / "metrics.json").read_text(encoding="utf-8"))["evaluation"]["dev"]["thresholds"]
            == metrics["evaluation"]["dev"]["thresholds"])

    from libya_nlp import annotate

    doc = annotate("طالب السراج الاتحاد الأوروبي بدعم خفر السواحل.", classifier=str(out), tagger=None)
    assert doc.sentences and doc.model["classifier"] == str(out), "the soup loads where a trained classifier does"


def _classifier(mean, std, seed):
    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.classifier_model import LibyaClassifierModel

    torch.manual_seed(seed)
    config = LibyaClassifierConfig(encoder=tiny_bert_config(50).to_dict(), pooling="mean",
                                   pooled_mean=mean, pooled_std=std)
    return LibyaClassifierModel(config).eval()


def test_heads_read_through_other_standardisations_are_averaged_as_the_functions_they_compute():
    hidden = 32
    a = _classifier([0.0] * hidden, [1.0] * hidden, seed=0)
    # b computes exactly a's function, through other statistics: W_b = W_a s_b / s_a, b_b = b_a + W_a (m_b - m_a) / s_a
    mean_b, std_b = [0.5] * hidden, [3.0] * hidden
    b = _classifier(mean_b, std_b, seed=0)
    state_b = b.state_dict()
    for head in ("request_head", "stance_head"):
        weight = a.state_dict()[f"{head}.weight"]
        state_b[f"{head}.weight"] = weight * 3.0
        state_b[f"{head}.bias"] = a.state_dict()[f"{head}.bias"] + weight @ torch.tensor(mean_b)
    b.load_state_dict(state_b)
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    expected = a(input_ids=ids).request_logits
    assert torch.allclose(b(input_ids=ids).request_logits, expected, atol=1e-5)

    merged = _standardised_heads(average([_raw_heads(a.state_dict(), a.config), _raw_heads(state_b, b.config)]),
                                 a.config)
    soup = _classifier(a.config.pooled_mean, a.config.pooled_std, seed=0)
    soup.load_state_dict(merged)
    assert torch.allclose(soup(input_ids=ids).request_logits, expected, atol=1e-5)
    naive = _classifier(a.config.pooled_mean, a.config.pooled_std, seed=0)
    naive.load_state_dict(average([a.state_dict(), state_b]))
    assert not torch.allclose(naive(input_ids=ids).request_logits, expected, atol=1e-3), "plain averaging would differ"


def test_soup_seeds_must_be_new_distinct_seeds_of_a_tagger_or_classifier():
    from training.config import load_config

    with pytest.raises(ConfigError, match="soup_seeds must be distinct seeds other than seed"):
        load_config(CONFIG, ["soup_seeds=[42]"])
    with pytest.raises(ConfigError, match="soup_seeds"):
        load_config(str(ROOT / "configs" / "events.yaml"), ["soup_seeds=[1]"])
    assert load_config(CONFIG, ["soup_seeds=[13, 7]"]).soup_seeds == [13, 7]


def test_members_that_do_not_line_up_are_refused_by_name(tmp_path, capsys):
    with pytest.raises(ConfigError, match="soup member b: w has shape"):
        check_compatible([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}], ["a", "b"])
    with pytest.raises(ConfigError, match="soup member b has other weights"):
        check_compatible([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}], ["a", "b"])
    member = tmp_path / "m"
    member.mkdir()
    assert soup_main([CONFIG, "--members", str(member), str(tmp_path / "n"), "--set", f"output_dir={member}"]) == 2
    assert "is one of the members" in capsys.readouterr().err
    assert soup_main([CONFIG, "--members", str(member), "--set", f"output_dir={tmp_path / 'o'}"]) == 2
    assert "at least two" in capsys.readouterr().err


def test_a_tagger_soup_trains_its_members_once_and_resume_keeps_finished_ones(tiny_backbone, tmp_path):
    config = str(ROOT / "configs" / "tagger_smoke.yaml")
    out = tmp_path / "tagger"
    sets = _sets(f"output_dir={out}", f"backbone={tiny_backbone}", "scratch=null", "training.epochs=1",
                 "soup_seeds=[14]")
    assert train_main([config, *sets]) == 0
    members = [out / "members" / "seed13", out / "members" / "seed14"]
    a, b, s = (load_file(d / "model.safetensors") for d in (*members, out))
    assert torch.allclose(s["classifier.weight"], (a["classifier.weight"] + b["classifier.weight"]) / 2)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["task"] == "tagger" and "entities" in metrics["evaluation"]["dev"]
    assert [m["seed"] for m in metrics["soup_of"]] == [13, 14]
    stamps = [(m / "model.safetensors").stat().st_mtime_ns for m in members]
    assert train_main([config, *sets, "--resume"]) == 0
    assert [(m / "model.safetensors").stat().st_mtime_ns for m in members] == stamps, "finished members are kept"
    assert torch.equal(load_file(out / "model.safetensors")["classifier.weight"], s["classifier.weight"])
