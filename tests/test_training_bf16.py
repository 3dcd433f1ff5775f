"""CPU bf16 training (training.cpu_bf16): the dev score the Trainer logs describes the model it returns.

Regression: one autocast context around the whole loop kept its bf16 weight copies, so every
forward pass ran on the starting weights; the logged dev loss stayed the starting model's while
the returned model drifted (a continued e5 tagger: logged F1 0.903, returned model 0.75).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import training.hf_trainer as hf_trainer
import training.tagger_training as tagger_training
from conftest import ROOT
from training.config import load_config


def test_the_logged_dev_loss_is_that_of_the_returned_model(tmp_path, tiny_tagger_dir, monkeypatch):
    trainers = []
    make = tagger_training.make_trainer

    def keep(*args, **kwargs):
        trainers.append(make(*args, **kwargs))
        return trainers[-1]

    monkeypatch.setattr(tagger_training, "make_trainer", keep)
    monkeypatch.setattr(hf_trainer, "cpu_has_native_bf16", lambda: True)  # emulated where the CPU has none: slow, same numbers
    config = load_config(ROOT / "configs" / "tagger_smoke.yaml", [
        f"output_dir={tmp_path / 'out'}", "scratch=null", f"backbone={tiny_tagger_dir}", "training.cpu_bf16=true",
        "training.epochs=3", "training.learning_rate=5.0e-3"])
    tagger_training.train_tagger(config, Path.cwd())
    trainer = trainers[0]
    logged = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    assert len(logged) == 3 and logged[0]["eval_loss"] != pytest.approx(logged[-1]["eval_loss"], rel=1e-3), \
        "the model did move"
    best = max(logged, key=lambda entry: entry["eval_f1"])  # the checkpoint load_best_model_at_end returns
    assert trainer.evaluate()["eval_loss"] == pytest.approx(best["eval_loss"], rel=1e-2)

    assert trainer.cpu_bf16


def test_cpu_bf16_falls_back_to_fp32_without_native_bf16(tmp_path, tiny_tagger_dir, monkeypatch, capsys):
    trainers = []
    make = tagger_training.make_trainer
    monkeypatch.setattr(tagger_training, "make_trainer", lambda *a, **k: trainers.append(make(*a, **k)) or trainers[-1])
    monkeypatch.setattr(hf_trainer, "cpu_has_native_bf16", lambda: False)
    config = load_config(ROOT / "configs" / "tagger_smoke.yaml", [
        f"output_dir={tmp_path / 'out'}", "scratch=null", f"backbone={tiny_tagger_dir}", "training.cpu_bf16=true",
        "training.epochs=1"])
    tagger_training.train_tagger(config, Path.cwd())
    assert trainers[0].cpu_bf16 is False
    assert "no native bf16" in capsys.readouterr().err
