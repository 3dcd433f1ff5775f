"""Training end to end on CPU: smoke configs, the AraBERT configs with a tiny local backbone, evaluation."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from conftest import ROOT, seed_texts
from training import tagger_training
from training.evaluate import main as evaluate_main
from training.train import main as train_main

SMALL_DATA = ["data.train=[{path: training/data/libya/train.jsonl, format: corpus, max_sentences: 24}]",
              "data.dev=[{path: training/data/libya/dev.jsonl, format: corpus, max_sentences: 8}]"]


def train(config, output, *overrides, resume=False):
    code = train_main([str(ROOT / "configs" / config), "--set", f"output_dir={output}",
                       *[arg for o in overrides for arg in ("--set", o)], *(["--resume"] if resume else [])])
    assert code == 0
    return json.loads((output / "metrics.json").read_text(encoding="utf-8"))


def losses(metrics):
    return [entry["loss"] for entry in metrics["train_log"] if "loss" in entry]


class _KilledAfterFirstSave(TrainerCallback):
    """Stands in for `kill -9` once the first epoch's checkpoint is on disk."""

    def on_save(self, args, state, control, **kwargs):
        raise KeyboardInterrupt("killed after the first checkpoint")


class _StepCounter(TrainerCallback):
    def __init__(self):
        self.steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1


def _with_callback(monkeypatch, callback):
    original = tagger_training.make_trainer

    def make_trainer(*args, **kwargs):
        trainer = original(*args, **kwargs)
        trainer.add_callback(callback)
        return trainer

    monkeypatch.setattr(tagger_training, "make_trainer", make_trainer)


def test_resume_after_a_kill_ends_where_an_unbroken_run_does(tiny_backbone, tmp_path, monkeypatch):
    overrides = [f"backbone={tiny_backbone}", "scratch=null", "training.epochs=2"]
    unbroken = _StepCounter()
    with monkeypatch.context() as patch:
        _with_callback(patch, unbroken)
        whole = train("tagger_smoke.yaml", tmp_path / "whole", *overrides)
    with monkeypatch.context() as patch:
        _with_callback(patch, _KilledAfterFirstSave())
        with pytest.raises(KeyboardInterrupt):
            train("tagger_smoke.yaml", tmp_path / "broken", *overrides)
    assert not (tmp_path / "broken" / "model.safetensors").exists()

    after_kill = _StepCounter()
    _with_callback(monkeypatch, after_kill)
    resumed = train("tagger_smoke.yaml", tmp_path / "broken", *overrides, resume=True)
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "broken" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights equal the unbroken run's"
    assert losses(resumed) == losses(whole)
    assert after_kill.steps == unbroken.steps // 2, "only the second epoch is trained after the kill"


@pytest.fixture(scope="module")
def smoke_tagger(tmp_path_factory):
    output = tmp_path_factory.mktemp("tagger_smoke")
    return output, train("tagger_smoke.yaml", output)


@pytest.fixture(scope="module")
def smoke_classifier(tmp_path_factory):
    output = tmp_path_factory.mktemp("classifier_smoke")
    return output, train("classifier_smoke.yaml", output)


def test_smoke_checkpoints_are_complete_standard_directories(smoke_tagger, smoke_classifier):
    for output, _ in (smoke_tagger, smoke_classifier):
        names = {p.name for p in output.iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "training_config.yaml", "metrics.json",
                "README.md"} <= names
        assert not [n for n in names if n.endswith((".bin", ".pt", ".pkl"))] and "checkpoints" not in names
        card = (output / "README.md").read_text(encoding="utf-8")
        assert "## Scores" in card and "Libya corpus" in card


def test_smoke_training_lowers_the_loss_and_learns(smoke_tagger, smoke_classifier):
    _, tagger_metrics = smoke_tagger
    _, classifier_metrics = smoke_classifier
    for metrics in (tagger_metrics, classifier_metrics):
        curve = losses(metrics)
        assert len(curve) >= 4 and sum(curve[-2:]) < sum(curve[:2])
    assert tagger_metrics["evaluation"]["dev"]["entities"]["f1"] > 0.1
    assert classifier_metrics["evaluation"]["dev"]["request_types"]["micro_f1"] > 0


def test_trained_checkpoints_load_in_annotate(smoke_tagger, smoke_classifier):
    from libya_nlp import annotate

    tagger_dir, _ = smoke_tagger
    classifier_dir, metrics = smoke_classifier
    result = annotate(seed_texts()[0], tagger=tagger_dir, classifier=classifier_dir, device="cpu")
    data = result.to_dict()
    assert data["entities"], "the smoke tagger finds some entities in a seed article"
    assert len(data["sentences"]) == 7
    config = json.loads((classifier_dir / "config.json").read_text(encoding="utf-8"))
    assert config["request_thresholds"] == metrics["evaluation"]["dev"]["thresholds"]


def test_same_seed_same_weights(tiny_backbone, tmp_path):
    # From a fixed backbone (and its tokenizer) a run is repeatable to the bit. A scratch run is not
    # quite: the tokenizers library breaks ties between equally frequent merges in hash order.
    overrides = [f"backbone={tiny_backbone}", "scratch=null", "training.epochs=2"]
    train("tagger_smoke.yaml", tmp_path / "a", *overrides)
    train("tagger_smoke.yaml", tmp_path / "b", *overrides)
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    train("tagger_smoke.yaml", tmp_path / "c", *overrides, "seed=14")
    c = load_file(tmp_path / "c" / "model.safetensors")
    assert any((a[k] != c[k]).any() for k in a), "another seed gives other weights"


@pytest.mark.parametrize("config, task", [("tagger_arabert.yaml", "tagger"), ("classifier_arabert.yaml", "classifier")])
def test_arabert_configs_run_with_a_substituted_backbone(config, task, tiny_backbone, tmp_path):
    metrics = train(config, tmp_path, f"backbone={tiny_backbone}", "training.epochs=1", *SMALL_DATA)
    assert metrics["task"] == task and "dev" in metrics["evaluation"]
    resolved = (tmp_path / "training_config.yaml").read_text(encoding="utf-8")
    assert f"backbone: {tiny_backbone}" in resolved and "batch_size: 32" in resolved
    assert "Initialised from: " + str(tiny_backbone) in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_missing_data_is_a_clear_error(tiny_backbone, tmp_path, capsys):
    code = train_main([str(ROOT / "configs" / "tagger_arabert.yaml"), "--set", f"output_dir={tmp_path}",
                       "--set", f"backbone={tiny_backbone}",
                       "--set", "data.train=[{path: ../no/such/ANERCorp_train.txt, format: conll}]"])
    assert code == 2
    assert "ANERCorp_train.txt" in capsys.readouterr().err


def test_evaluate_command_writes_metrics_and_confusion(smoke_tagger, smoke_classifier, tmp_path, capsys):
    tagger_dir, _ = smoke_tagger
    classifier_dir, _ = smoke_classifier
    dev = str(ROOT / "training" / "data" / "libya" / "dev.jsonl")
    assert evaluate_main([str(tagger_dir), "--data", dev, "--out", str(tmp_path / "t")]) == 0
    tagger_scores = json.loads((tmp_path / "t" / "metrics.json").read_text(encoding="utf-8"))
    assert set(tagger_scores["entities"]["per_type"]) <= {"PER", "ORG", "LOC", "MISC"}
    assert (tmp_path / "t" / "confusion.png").stat().st_size > 1000
    assert evaluate_main([str(classifier_dir), "--data", dev, "--out", str(tmp_path / "c")]) == 0
    scores = json.loads((tmp_path / "c" / "metrics.json").read_text(encoding="utf-8"))
    assert {"micro_f1", "macro_f1", "per_type"} <= set(scores["request_types"])
    assert set(scores["stance"]) == {"حكومة الوفاق الوطني", "خليفة حفتر"}
    assert (tmp_path / "c" / "confusion.png").is_file()
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "request_micro_f1" in summary


def test_evaluate_runs_every_precision_annotate_offers(smoke_classifier, tmp_path, monkeypatch):
    # int8 is what `annotate(precision="int8")` runs: evaluate must prepare the model the same way.
    from libya_nlp import precision as precision_module

    prepared = []
    original = precision_module.prepare_model

    def recording_prepare_model(model, device, precision="auto"):
        prepared.append(precision)
        return original(model, device, precision)

    monkeypatch.setattr(precision_module, "prepare_model", recording_prepare_model)
    classifier_dir, _ = smoke_classifier
    dev = str(ROOT / "training" / "data" / "libya" / "dev.jsonl")
    scores = {}
    for precision in ("fp32", "int8"):
        assert evaluate_main([str(classifier_dir), "--data", dev, "--precision", precision,
                              "--out", str(tmp_path / precision)]) == 0
        scores[precision] = json.loads((tmp_path / precision / "metrics.json").read_text(encoding="utf-8"))
    assert prepared == ["fp32", "int8"]
    assert abs(scores["fp32"]["request_types"]["micro_f1"] - scores["int8"]["request_types"]["micro_f1"]) < 0.1


def test_evaluation_can_be_recorded_in_the_model_card(smoke_tagger, tmp_path):
    import shutil

    source, _ = smoke_tagger
    checkpoint = tmp_path / "tagger"
    shutil.copytree(source, checkpoint)
    dev = str(ROOT / "training" / "data" / "libya" / "dev.jsonl")
    assert evaluate_main([str(checkpoint), "--data", dev, "--out", str(tmp_path / "e"), "--record-as", "held_out"]) == 0
    metrics = json.loads((checkpoint / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["evaluation"]["held_out"]["entities"]["f1"] == json.loads(
        (tmp_path / "e" / "metrics.json").read_text(encoding="utf-8"))["entities"]["f1"]
    card = (checkpoint / "README.md").read_text(encoding="utf-8")
    assert "On `held_out` (" in card and "On `dev` (" in card and metrics["description"] in card
    assert f"{dev})" in card.split("On `held_out`")[1].splitlines()[0], "the card says which file was scored"


def test_retraining_into_a_used_output_dir_is_refused_or_replaces_every_stale_weight(tiny_backbone, tmp_path, capsys):
    from libya_nlp.checkpoints import load_tagger

    args = [f"backbone={tiny_backbone}", "training.epochs=1", "max_shard_size=100KB", *SMALL_DATA]
    train("tagger_arabert.yaml", tmp_path, *args)
    assert len(list(tmp_path.glob("model-*.safetensors"))) > 1  # sharded
    code = train_main([str(ROOT / "configs" / "tagger_arabert.yaml"), "--set", f"output_dir={tmp_path}",
                       *[a for o in args for a in ("--set", o)]])
    err = capsys.readouterr().err
    assert code == 2 and "is not empty" in err and "--overwrite" in err
    code = train_main([str(ROOT / "configs" / "tagger_arabert.yaml"), "--set", f"output_dir={tmp_path}", "--overwrite",
                       *[a for o in [f"backbone={tiny_backbone}", "training.epochs=1", "max_shard_size=50MB",
                                     "seed=7", *SMALL_DATA] for a in ("--set", o)]])
    assert code == 0
    assert sorted(p.name for p in tmp_path.glob("model*.safetensors*")) == ["model.safetensors"]
    new_weights = load_file(str(tmp_path / "model.safetensors"))
    loaded = load_tagger(tmp_path)[0].state_dict()
    assert all(torch.equal(loaded[k], new_weights[k].float()) for k in new_weights if k in loaded)


def test_the_backbone_chain_is_recorded_at_training_and_kept_when_runs_change(tiny_backbone, tmp_path):
    """Regression: a re-score rewrote the installed tagger's card from whatever runs/ then held, and a
    folder naming itself as its backbone repeated its own line instead of the real chain."""
    import shutil

    from training.model_card import backbone_provenance

    args = ["training.epochs=1", *SMALL_DATA]
    train("tagger_arabert.yaml", tmp_path / "stage1", f"backbone={tiny_backbone}", *args)
    train("tagger_arabert.yaml", tmp_path / "stage2", f"backbone={tmp_path / 'stage1'}", *args)
    metrics = json.loads((tmp_path / "stage2" / "metrics.json").read_text(encoding="utf-8"))
    chain = "\n".join(metrics["backbone_provenance"])
    assert f"`{tmp_path / 'stage1'}` (tagger), trained on:" in chain and f"`{tiny_backbone}`" in chain
    shutil.move(tmp_path / "stage1", tmp_path / "elsewhere")
    dev = str(ROOT / "training" / "data" / "libya" / "dev.jsonl")
    assert evaluate_main([str(tmp_path / "stage2"), "--data", dev, "--out", str(tmp_path / "e"), "--record-as", "x"]) == 0
    assert chain in (tmp_path / "stage2" / "README.md").read_text(encoding="utf-8")
    loop = tmp_path / "elsewhere"
    (loop / "training_config.yaml").write_text(f"backbone: {loop}\n", encoding="utf-8")
    lines = backbone_provenance(str(loop))
    assert sum(f"`{loop}`" in line for line in lines) == 1
