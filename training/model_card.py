"""The model card (README.md) written into every checkpoint: what it is, what it saw, what it scores.

Every number in the card comes from the run's ``metrics.json``; nothing is typed in by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from libya_nlp import weights_int8
from training.config import TrainConfig
from training.tasks import TASKS

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
        f"pipeline_tag: {TASKS[config.task].pipeline_tag}",
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
        f"- Weights: {_weights_line(output, config)}. Load with `libya_nlp` (no remote code).",
        "",
        "## Training data",
        "",
        *data_table(metrics),
    ]
    lines += metrics.get("backbone_provenance") or backbone_provenance(config.backbone)
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
              "`training_config.yaml`; the scores are in `metrics.json`.", "", *soup_lines(metrics), "## Use", ""]
    if TASKS[config.task].use_as == "backbone":
        lines += ["Fine-tune it: set `backbone: path/to/this/directory` in a tagger or classifier config.", ""]
    else:
        lines += ["```python", "from libya_nlp import annotate",
                  f"annotate(text, {config.task}=\"path/to/this/directory\")", "```", ""]
    path = output / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def data_table(metrics: dict[str, Any]) -> list[str]:
    """The card's markdown table of the train and dev sources recorded in ``metrics["data"]``.

    >>> data_table({"data": {"train": [{"path": "a.jsonl", "format": "corpus", "sentences": 1200}]}})[2]
    '| train | a.jsonl | corpus | 1,200 | 1.0 | not stated |'
    >>> data_table({"data": {"train": [{"path": "a.txt", "format": "conll", "sentences": 9, "mention_swapped": 7}]}})[2]
    '| train | a.txt | conll | 9 (+7 with mentions swapped) | 1.0 | not stated |'
    """
    lines = ["| split | source | format | sentences | weight | licence |", "|---|---|---|---|---|---|"]
    for split in ("train", "dev"):
        for row in metrics.get("data", {}).get(split, []):
            lines.append(f"| {split} | {row.get('name') or row['path']} | {row.get('format', '?')} | "
                         f"{row['sentences']:,}{_swapped(row)} | {row.get('weight', 1.0)} | {row.get('licence') or 'not stated'} |")
    return lines


def _swapped(row: dict[str, Any]) -> str:
    return f" (+{row['mention_swapped']:,} with mentions swapped)" if row.get("mention_swapped") else ""


def _weights_line(output: Path, config: TrainConfig) -> str:
    if weights_int8.files_in(output):
        return ("`model.int8*.safetensors` (shards of at most 15 MB): matrices as int8 with one fp16 scale per 128 weights of a row, the rest fp16 "
                "(`libya_nlp.weights_int8`; loaded as float32). The scores recorded as `*_int8_weights` and "
                "`anercorp_test` below are of these weights; `*_fp32_weights` of the float32 weights before storage")
    return f"safetensors, {config.save_dtype}"


def soup_lines(metrics: dict[str, Any]) -> list[str]:
    """The card's account of a model soup (``training.soup``): its members, their seeds and own dev scores.

    >>> soup_lines({"soup_of": [{"path": "runs/a", "seed": 42, "dev": {"entity_f1": 0.9}}, {"path": "runs/b"}]})[2:4]
    ['- `runs/a` (seed 42): dev {"entity_f1": 0.9}', '- `runs/b` (seed ?): dev no dev scores recorded']
    >>> soup_lines({})
    []
    """
    members = metrics.get("soup_of") or []
    if not members:
        return []
    lines = [f"These weights are the average of {len(members)} runs of this recipe (a uniform model soup, "
             "`training.soup`). The scores above are the average's (a classifier's request thresholds and n-gram "
             "blend chosen again on dev); each run's own dev scores:", ""]
    for member in members:
        dev = json.dumps(member["dev"], ensure_ascii=False) if member.get("dev") else "no dev scores recorded"
        lines.append(f"- `{member['path']}` (seed {member.get('seed', '?')}): dev {dev}")
    return lines + [""]


def _training_line(config: TrainConfig, metrics: dict[str, Any]) -> str:
    optim = config.training
    common = (f"learning rate {optim.learning_rate:g} ({optim.lr_scheduler}, warm-up {optim.warmup_ratio:g}); "
              f"batch {optim.batch_size} x {optim.gradient_accumulation_steps}")
    if "steps" in metrics:  # a step-counted run (pretraining), not an epoch-counted one
        return (f"Seed {config.seed}; {metrics['steps']:,} steps ({_pretrain_summary(metrics)}); {common}; "
                f"sequences of {metrics.get('corpus', {}).get('sequence_length', '?')} tokens.")
    return (f"Seed {config.seed}; {optim.epochs:g} epochs at most (early stopping patience "
            f"{optim.early_stopping_patience}); {common}; max length {optim.max_length}.")


def _pretrain_summary(metrics: dict[str, Any]) -> str:
    return (f"{metrics.get('tokens_seen', 0):,} tokens seen, {metrics.get('passes_over_corpus', 0):.2f} passes over "
            f"{metrics.get('corpus', {}).get('tokens', 0):,} tokens, {metrics.get('minutes', 0):.0f} minutes on "
            f"{metrics.get('processes', 1)} {metrics.get('device', '?')} process(es) in {metrics.get('precision', '?')}, "
            f"stopped by {metrics.get('stopped_by', '?')}")


def backbone_provenance(backbone: str | None) -> list[str]:
    """The card's Backbone section: what the backbone was trained on, read from its own metrics.json
    and its backbone's, up the chain. Training records it in the checkpoint's metrics.json
    (``backbone_provenance``), so a card rewritten later (a re-score) keeps it when runs/ has changed.

    >>> backbone_provenance(None)
    []
    """
    return _backbone_lines(backbone, 0, set())


def _backbone_lines(backbone: str | None, depth: int, seen: set[Path]) -> list[str]:
    if not backbone or Path(backbone).resolve() in seen:  # a folder that names itself as its backbone
        return []
    seen.add(Path(backbone).resolve())
    directory = Path(backbone)
    header = ["", "## Backbone", ""] if depth == 0 else []
    if (directory / "conversion.json").is_file():
        return header + _conversion_lines(backbone, json.loads((directory / "conversion.json").read_text(encoding="utf-8")))
    if not (directory / "metrics.json").is_file():
        return header + [f"- `{backbone}`: see its own model card for its training data and licence."]
    metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    sources = "; ".join(f"{row.get('name') or row['path']} ({(row.get('licence') or 'licence not stated').rstrip('.')})"
                        for row in metrics.get("data", {}).get("train", []))
    line = f"- `{backbone}` ({metrics.get('task', '?')}), trained on: {sources or 'not recorded'}."
    if "steps" in metrics:  # a pretrained backbone of this project
        held_out = metrics.get("evaluation", {}).get("held_out_sequences", {})
        line += f" {metrics.get('steps', 0):,} steps: {_pretrain_summary(metrics)}."
        if held_out:
            line += f" Held-out masked-LM loss {held_out['mlm_loss']:.3f}, accuracy {held_out['mlm_accuracy']:.3f}."
    parent = None
    if (directory / "training_config.yaml").is_file() and depth < 3:
        parent = (yaml.safe_load((directory / "training_config.yaml").read_text(encoding="utf-8")) or {}).get("backbone")
    return header + [line, *_backbone_lines(parent, depth + 1, seen)]


def _conversion_lines(backbone: str, report: dict[str, Any]) -> list[str]:
    """The imported encoder: origin, licence, trimming and the check against the original engine."""
    lines = [f"- `{backbone}`: multilingual-e5-small (Wang et al. 2024; MIT licence), a 12-layer, 384-wide BERT "
             "with the XLM-R SentencePiece vocabulary, pretrained by its authors on large multilingual data. "
             f"Imported offline from {report['source']} by `python -m training.import_backbone`: 4-bit Q4_0 "
             "weights dequantised to float32."]
    if "trimmed_vocabulary" in report:
        lines.append(f"- Vocabulary trimmed from {report['original_vocabulary']:,} to {report['trimmed_vocabulary']:,} "
                     f"pieces: those used at least {report['trim_min_count']} times in {report['trim_tokens_counted']:,} "
                     f"tokens of {', '.join(report['trim_corpus'])}, every single character below U+2E80 and the "
                     f"{report['trim_latin_pieces']:,} most probable lower-case Latin pieces. Text outside that "
                     "corpus (English above all) splits into more, shorter pieces than in the original model.")
    check = report.get("engine_check")
    if check:
        parts = [f"{script}: {row['sentences']} sentences, cosine mean {row['cosine_mean']:.4f} (min "
                 f"{row['cosine_min']:.4f}), identical pieces in {row['pieces_equal']}"
                 for script, row in check.items() if isinstance(row, dict) and "cosine_mean" in row]
        lines.append("- Checked against the wheel's own C engine (mean-pooled, L2-normalised embeddings of the same "
                     f"`passage: ` text): {'; '.join(parts)}. (The untrimmed import agrees at cosine 0.9999 with "
                     "identical pieces on all 50 sentences; trimming changes the pieces of every text that uses a "
                     "dropped piece, such as `passage`, and the C engine also quantises activations.)")
    lines.append(f"- Text normalisation: the library's AraBERT v0.2 rules (`{report.get('text_normalization', 'arabert_v02')}`,"
                 " recorded in config.json), then NFKC in the tokenizer.")
    return lines


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
            if scores.get("ngram_blend") == 0:
                lines.append("Request probabilities: the encoder's alone (a blend weight of 0 was chosen, so no "
                             "character n-gram head is shipped).")
                lines.append("")
            elif "ngram_blend" in scores:
                lines.append(f"Request probabilities: {1 - scores['ngram_blend']:.1f} x the encoder's + "
                             f"{scores['ngram_blend']:.1f} x the character n-gram head's (`libya_nlp.ngram_requests`; "
                             "the weight chosen with the thresholds, as this split's description says).")
                lines.append("")
            if "folds" in scores:
                picks = "; ".join(f"fold {f['fold'] + 1} ({f['sentences']} sentences): blend {f['blend']:.1f}, threshold "
                                  + "/".join(f"{t:.2f}" for t in sorted(set(f["thresholds"].values())))
                                  for f in scores["folds"])
                lines.append(f"Chosen on the other folds for each fold: {picks}.")
                lines.append("")
            if "baseline" in scores:
                base = scores["baseline"]
                lines.append(f"Baseline on the same {base['sentences']:,} sentences ({base['name']}, trained on the "
                             f"same training records): request micro-F1 {base['micro_f1']:.3f}, "
                             f"macro-F1 {base['macro_f1']:.3f}.")
                lines.append("")
        if "real_entities" in scores:
            found = scores["real_entities"]
            lines.append(f"Entity overlap F1 **{found['overlap_f1']:.3f}** (same label, one-to-one; exact spans "
                         f"{found['exact_f1']:.3f}; {found['gold']} gold, {found['predicted']} predicted).")
            lines.append("")
        if "real_requests" in scores:
            asked = scores["real_requests"]
            lines.append(f"Request types: micro-F1 **{asked['micro_f1']:.3f}** ({asked['gold']} gold, "
                         f"{asked['predicted']} predicted).")
            lines.append("")
            for target, stance in scores.get("real_stance", {}).items():
                if not stance["gold_not_none"]:  # a macro-F1 over "none" alone says nothing
                    continue
                lines.append(f"Stance toward {target}: macro-F1 {stance['macro_f1']:.3f} "
                             f"(gold stances other than none: {stance['gold_not_none']}).")
                lines.append("")
        for target, stance in scores.get("stance", {}).items():
            lines.append(f"Stance toward {target}: macro-F1 **{stance['macro_f1']:.3f}**, accuracy {stance['accuracy']:.3f}.")
            lines.append("")
        if "mlm_loss" in scores:
            lines.append(f"Masked-LM loss {scores['mlm_loss']:.3f}, accuracy on masked tokens {scores['mlm_accuracy']:.3f}.")
            lines.append("")
    return lines or ["No evaluation was run."]
