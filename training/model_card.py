"""The model card (README.md) written into every checkpoint: what it is, what it saw, what it scores.

Every number in the card comes from the run's ``metrics.json``; nothing is typed in by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from training.config import TrainConfig

_PIPELINE = {"tagger": "token-classification", "classifier": "text-classification", "pretrain": "fill-mask"}


def write_model_card(output: Path, config: TrainConfig, model: Any, metrics: dict[str, Any], *,
                     task_description: str) -> Path:
    """Write ``output/README.md`` from the config, the model and the measured metrics."""
    card = config.card
    name = card.model_name or f"libya_nlp {config.task} ({Path(config.output_dir).name})"
    encoder = getattr(model.config, "encoder", None)
    arch = encoder if isinstance(encoder, dict) else model.config.to_dict()
    parameters = sum(p.numel() for p in model.parameters())
    licence = card.licence or "see the licences of the training data above"
    lines = [
        "---",
        "language: ar",
        f"license: {'other' if card.licence else 'unknown'}",
        "library_name: transformers",
        f"pipeline_tag: {_PIPELINE[config.task]}",
        "tags: [libya_nlp, arabic, msa, libya]",
        "---",
        "",
        f"# {name}",
        "",
        task_description,
        "",
        "## Model",
        "",
        f"- Architecture: {arch.get('model_type', '?')}, {arch.get('num_hidden_layers', '?')} layers, "
        f"hidden size {arch.get('hidden_size', '?')}, {arch.get('num_attention_heads', '?')} attention heads, "
        f"vocabulary {arch.get('vocab_size', '?')}, {parameters:,} parameters.",
        f"- Initialised from: {config.backbone or 'nothing (a new BERT with a WordPiece vocabulary trained on the training text)'}.",
        f"- Weights: safetensors, {config.save_dtype}. Load with `libya_nlp` (no remote code).",
        "",
        "## Training data",
        "",
        "| split | source | format | sentences | weight | licence |",
        "|---|---|---|---|---|---|",
    ]
    for split in ("train", "dev"):
        for row in metrics.get("data", {}).get(split, []):
            lines.append(f"| {split} | {row.get('name') or row['path']} | {row['format']} | {row['sentences']:,} | "
                         f"{row.get('weight', 1.0)} | {row.get('licence') or 'not stated'} |")
    lines += _backbone_lines(config.backbone)
    lines += ["", "## Scores", "", *_score_lines(metrics), ""]
    lines += [
        "## Intended use and licence",
        "",
        card.intended_use or "Research on Arabic news about Libya: entities, requests and stance.",
        "",
        f"Licence: {licence}",
        "",
    ]
    if card.limitations:
        lines += ["## Limitations", "", card.limitations, ""]
    lines += ["## Training", "", _training_line(config, metrics) + " The full resolved config is "
              "`training_config.yaml`; the scores are in `metrics.json`.", "", "## Use", ""]
    if config.task == "pretrain":
        lines += ["Fine-tune it: set `backbone: path/to/this/directory` in a tagger or classifier config.", ""]
    else:
        lines += ["```python", "from libya_nlp import annotate",
                  f"annotate(text, {config.task}=\"path/to/this/directory\")", "```", ""]
    path = output / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _training_line(config: TrainConfig, metrics: dict[str, Any]) -> str:
    optim = config.training
    common = (f"learning rate {optim.learning_rate:g} ({optim.lr_scheduler}, warm-up {optim.warmup_ratio:g}); "
              f"batch {optim.batch_size} x {optim.gradient_accumulation_steps}")
    if config.task == "pretrain" and "steps" in metrics:
        return (f"Seed {config.seed}; {metrics['steps']:,} steps ({_pretrain_summary(metrics)}); {common}; "
                f"sequences of {metrics.get('corpus', {}).get('sequence_length', '?')} tokens.")
    return (f"Seed {config.seed}; {optim.epochs:g} epochs at most (early stopping patience "
            f"{optim.early_stopping_patience}); {common}; max length {optim.max_length}.")


def _pretrain_summary(metrics: dict[str, Any]) -> str:
    return (f"{metrics.get('tokens_seen', 0):,} tokens seen, {metrics.get('passes_over_corpus', 0):.2f} passes over "
            f"{metrics.get('corpus', {}).get('tokens', 0):,} tokens, {metrics.get('minutes', 0):.0f} minutes on "
            f"{metrics.get('processes', 1)} {metrics.get('device', '?')} process(es) in {metrics.get('precision', '?')}, "
            f"stopped by {metrics.get('stopped_by', '?')}")


def _backbone_lines(backbone: str | None, depth: int = 0) -> list[str]:
    """What the backbone itself was trained on, read from its own metrics.json (and its backbone's)."""
    if not backbone:
        return []
    directory = Path(backbone)
    header = ["", "## Backbone", ""] if depth == 0 else []
    if not (directory / "metrics.json").is_file():
        return header + [f"- `{backbone}`: see its own model card for its training data and licence."]
    metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    sources = "; ".join(f"{row.get('name') or row['path']} ({(row.get('licence') or 'licence not stated').rstrip('.')})"
                        for row in metrics.get("data", {}).get("train", []))
    line = f"- `{backbone}` ({metrics.get('task', '?')}), trained on: {sources or 'not recorded'}."
    if metrics.get("task") == "pretrain":
        held_out = metrics.get("evaluation", {}).get("held_out_sequences", {})
        line += f" {metrics.get('steps', 0):,} steps: {_pretrain_summary(metrics)}."
        if held_out:
            line += f" Held-out masked-LM loss {held_out['mlm_loss']:.3f}, accuracy {held_out['mlm_accuracy']:.3f}."
    parent = None
    if (directory / "training_config.yaml").is_file() and depth < 3:
        parent = (yaml.safe_load((directory / "training_config.yaml").read_text(encoding="utf-8")) or {}).get("backbone")
    return header + [line, *_backbone_lines(parent, depth + 1)]


def _score_lines(metrics: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for split, scores in metrics.get("evaluation", {}).items():
        how = ", ".join(part for part in (f"{scores['sentences']:,} sentences" if "sentences" in scores else "",
                                          scores.get("mode", ""), ", ".join(scores.get("data", []))) if part)
        lines.append(f"On `{split}`" + (f" ({how}):" if how else ":"))
        lines.append("")
        if "entities" in scores:
            entities = scores["entities"]
            lines += ["| type | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for name, row in sorted(entities["per_type"].items()):
                lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
            lines.append(f"| **all (micro)** | {entities['precision']:.3f} | {entities['recall']:.3f} | "
                         f"**{entities['f1']:.3f}** | {entities['support']} |")
            lines.append("")
        if "request_types" in scores:
            requests = scores["request_types"]
            lines.append(f"Request types: micro-F1 **{requests['micro_f1']:.3f}**, macro-F1 {requests['macro_f1']:.3f}.")
            lines += ["", "| request type | precision | recall | F1 | support | threshold |", "|---|---|---|---|---|---|"]
            thresholds = scores.get("thresholds", {})
            for name, row in requests["per_type"].items():
                lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                             f"{row['support']} | {thresholds.get(name, 0.5):.2f} |")
            lines.append("")
        for target, stance in scores.get("stance", {}).items():
            lines.append(f"Stance toward {target}: macro-F1 **{stance['macro_f1']:.3f}**, accuracy {stance['accuracy']:.3f}.")
            lines.append("")
        if "mlm_loss" in scores:
            lines.append(f"Masked-LM loss {scores['mlm_loss']:.3f}, accuracy on masked tokens {scores['mlm_accuracy']:.3f}.")
            lines.append("")
    return lines or ["No evaluation was run."]
