"""A uniform model soup: the average of the weights of checkpoints fine-tuned from the same encoder.

``python -m training.soup CONFIG.yaml --members DIR DIR [...] [--set output_dir=OUT]``

The members are runs of one recipe with different seeds (or data): same task, architecture,
label maps and tokenizer. Their weights are averaged (Wortsman et al. 2022, "Model soups"), then
the soup is finished as a run of CONFIG would be: a classifier's request thresholds and n-gram
blend are chosen again on CONFIG's dev set (cross-validated as the config says), a tagger is
scored on its dev set, and the checkpoint, metrics and model card go to CONFIG's ``output_dir``.
The card lists the members and their own dev scores beside the soup's.

A classifier's heads read the pooled vector standardised by statistics that each member measured
on its own sample of the training data (``pooled_mean`` / ``pooled_std``): the heads are mapped
to the raw pooled vector before averaging and back to the first member's statistics after, so
each member's head is averaged as the function it computes.

>>> import torch
>>> average([{"w": torch.tensor([1.0, 3.0])}, {"w": torch.tensor([3.0, 5.0])}])["w"].tolist()
[2.0, 4.0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from training.config import ConfigError, TrainConfig, load_config
from training.errors import DataError

_HEADS = ("request_head", "stance_head")
_FITTED = ("request_ngrams.",)  # fitted again by the classifier's tuning, not averaged


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors with the same keys and shapes; other
    tensors (integer buffers) are taken from the first."""
    first = states[0]
    return {key: (torch.stack([s[key].float() for s in states]).mean(0).to(value.dtype)
                  if value.is_floating_point() else value.clone())
            for key, value in first.items()}


def check_compatible(states: list[dict[str, torch.Tensor]], names: list[str]) -> None:
    """Raise ``ConfigError`` naming the first member whose weights do not line up with the first's."""
    first = states[0]
    for state, name in zip(states[1:], names[1:]):
        missing = sorted(set(first) ^ set(state))
        if missing:
            raise ConfigError(f"soup member {name} has other weights than {names[0]} (e.g. {missing[0]}): members "
                              "must share the architecture")
        for key, value in first.items():
            if state[key].shape != value.shape:
                raise ConfigError(f"soup member {name}: {key} has shape {tuple(state[key].shape)}, {names[0]} "
                                  f"{tuple(value.shape)}: members must share the architecture and vocabulary")


def _raw_heads(state: dict[str, torch.Tensor], config: Any) -> dict[str, torch.Tensor]:
    """The classifier's head weights as functions of the raw pooled vector p:
    W (p - mean) / std + b = (W / std) p + (b - (W / std) mean)."""
    if config.pooled_mean is None:
        return dict(state)
    mean, std = torch.tensor(config.pooled_mean), torch.tensor(config.pooled_std)
    out = dict(state)
    for head in _HEADS:
        weight = state[f"{head}.weight"].float() / std
        out[f"{head}.weight"], out[f"{head}.bias"] = weight, state[f"{head}.bias"].float() - weight @ mean
    return out


def _standardised_heads(state: dict[str, torch.Tensor], config: Any) -> dict[str, torch.Tensor]:
    """The inverse of :func:`_raw_heads` for ``config``'s statistics."""
    if config.pooled_mean is None:
        return dict(state)
    mean, std = torch.tensor(config.pooled_mean), torch.tensor(config.pooled_std)
    out = dict(state)
    for head in _HEADS:
        raw = state[f"{head}.weight"]
        out[f"{head}.weight"], out[f"{head}.bias"] = raw * std, state[f"{head}.bias"] + raw @ mean
    return out


def soup(config: TrainConfig, members: list[str], root: Path) -> dict[str, Any]:
    """Average ``members`` into ``config.output_dir`` and finish it as ``config``'s task does; returns
    the metrics written to metrics.json."""
    if len(members) < 2:
        raise ConfigError("a soup needs at least two --members")
    if config.task not in ("tagger", "classifier"):
        raise ConfigError(f"training.soup averages taggers and classifiers, not task {config.task!r}")
    load = _classifier_members if config.task == "classifier" else _tagger_members
    models, tokenizer = load(members)
    states = [m.state_dict() for m in models]
    check_compatible(states, members)
    if config.task == "classifier":
        raws = [{k: v for k, v in _raw_heads(s, m.config).items() if not k.startswith(_FITTED)}
                for s, m in zip(states, models)]
        merged = _standardised_heads(average(raws), models[0].config)
    else:
        merged = average(states)
    model = models[0]
    model.load_state_dict(merged, strict=False)
    model.eval()
    soup_rows = [{"path": str(path), **_member_summary(Path(path))} for path in members]
    finish = _finish_classifier if config.task == "classifier" else _finish_tagger
    return finish(config, model, tokenizer, root, soup_rows)


def member_dirs(config: TrainConfig) -> list[Path]:
    """Where :func:`train_soup` trains each seed of ``config``: OUTPUT_DIR/members/seed<N>."""
    return [Path(config.output_dir) / "members" / f"seed{seed}" for seed in (config.seed, *config.soup_seeds)]


def train_soup(config: TrainConfig, root: Path, resume: bool = False) -> dict[str, Any]:
    """Train ``config`` once per seed (``seed`` and ``soup_seeds``) into :func:`member_dirs`, then
    average them into ``output_dir``. With ``resume``, finished members are kept and a killed one
    continues from its last epoch."""
    from dataclasses import replace

    from training.tasks import TASKS

    for seed, member in zip((config.seed, *config.soup_seeds), member_dirs(config)):
        if resume and (member / "metrics.json").is_file():
            continue
        run = replace(config, seed=seed, output_dir=str(member), soup_seeds=[])
        TASKS[config.task].train(run, root, resume=resume)
    return soup(config, [str(m) for m in member_dirs(config)], root)


def _classifier_members(members: list[str]) -> tuple[list[Any], Any]:
    from libya_nlp.checkpoints import load_classifier

    loaded = [load_classifier(path) for path in members]
    _check_tokenizers([t for _, t, _ in loaded], members)
    return [m.float() for m, _, _ in loaded], loaded[0][1]


def _tagger_members(members: list[str]) -> tuple[list[Any], Any]:
    from libya_nlp.checkpoints import load_tagger

    loaded = [load_tagger(path) for path in members]
    _check_tokenizers([t for _, t, _ in loaded], members)
    labels = [m.config.id2label for m, _, _ in loaded]
    for label_map, name in zip(labels[1:], members[1:]):
        if label_map != labels[0]:
            raise ConfigError(f"soup member {name} has other labels than {members[0]}")
    return [m.float() for m, _, _ in loaded], loaded[0][1]


def _check_tokenizers(tokenizers: list[Any], names: list[str]) -> None:
    vocab = tokenizers[0].get_vocab()
    for tokenizer, name in zip(tokenizers[1:], names[1:]):
        if tokenizer.get_vocab() != vocab:
            raise ConfigError(f"soup member {name} has another vocabulary than {names[0]}: members must be "
                              "fine-tuned from the same encoder")


def _member_summary(path: Path) -> dict[str, Any]:
    """A member's seed and its own dev headline, from its metrics.json and training_config.yaml."""
    import yaml

    from training.tasks import TASKS

    summary: dict[str, Any] = {}
    config_file = path / "training_config.yaml"
    if config_file.is_file():
        summary["seed"] = (yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}).get("seed")
    metrics_file = path / "metrics.json"
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        dev = metrics.get("evaluation", {}).get("dev")
        if dev and metrics.get("task") in TASKS:
            summary["dev"] = TASKS[metrics["task"]].headline(dev)
    return summary


def _finish_classifier(config: TrainConfig, model: Any, tokenizer: Any, root: Path,
                       soup_rows: list[dict[str, Any]]) -> dict[str, Any]:
    from training.classifier_training import card_description
    from training.classifier_tuning import evaluate_and_tune
    from training.hf_trainer import save_checkpoint
    from training.sources import load_corpus_splits

    train, dev, data_rows = load_corpus_splits(config, root, "classifier")
    metrics: dict[str, Any] = {"task": "classifier", "data": data_rows, "soup_of": soup_rows, "evaluation": {}}
    if dev:
        metrics["evaluation"].update(evaluate_and_tune(config, model, tokenizer, train, dev))
    save_checkpoint(config, model, tokenizer, metrics, task_description=card_description(model))
    return metrics


def _finish_tagger(config: TrainConfig, model: Any, tokenizer: Any, root: Path,
                   soup_rows: list[dict[str, Any]]) -> dict[str, Any]:
    from libya_nlp.tagger import EntityTagger
    from training.evaluate import evaluate_tagger
    from training.hf_trainer import save_checkpoint
    from training.tagger_training import DESCRIPTION, load_data

    _, dev, data_rows = load_data(config, root)
    metrics: dict[str, Any] = {"task": "tagger", "data": data_rows, "soup_of": soup_rows, "evaluation": {}}
    if dev:
        metrics["evaluation"]["dev"] = evaluate_tagger(EntityTagger(model, tokenizer), dev,
                                                       batch_size=config.training.eval_batch_size)
    save_checkpoint(config, model, tokenizer, metrics, task_description=DESCRIPTION)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.soup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="the members' recipe (its dev set, options and card are used)")
    parser.add_argument("--members", nargs="+", required=True, metavar="DIR", help="checkpoints to average")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--overwrite", action="store_true", help="replace a checkpoint in output_dir")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
        output = Path(config.output_dir)
        if output.resolve() in {Path(m).resolve() for m in args.members}:
            raise ConfigError(f"output_dir {output} is one of the members: choose another with --set output_dir=")
        if output.is_dir() and any(output.iterdir()) and not args.overwrite:
            raise ConfigError(f"output_dir {output} is not empty: pass --overwrite or --set output_dir=NEW_DIR")
        torch.manual_seed(config.seed)
        metrics = soup(config, args.members, Path.cwd())
    except (ConfigError, DataError) as error:
        print(f"training.soup: {error}", file=sys.stderr)
        return 2
    from training.train import _headline

    print(json.dumps({"output_dir": config.output_dir, "evaluation": _headline(metrics)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
