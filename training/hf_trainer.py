"""What tagger and classifier training share: the Trainer set-up, seeds, and writing the checkpoint.

The Trainer evaluates on the dev set every epoch, keeps the best checkpoint by the task's
metric and stops early; ``accelerate launch -m training.train CONFIG`` runs it data-parallel.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from libya_nlp.precision import cpu_has_native_bf16, cuda_bf16
from training.config import TrainConfig, config_to_dict
from training.model_card import backbone_provenance, write_model_card

_CHECKPOINTS = "checkpoints"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for a repeatable run."""
    set_seed(seed, deterministic=False)


class _Trainer(Trainer):
    """A Trainer whose forward passes run under CPU bf16 autocast (``training.cpu_bf16``).

    The Trainer's own ``bf16`` flag on a CPU needs ``use_cpu=True``, which fixes accelerate's
    process-wide state to CPU and breaks a later ``Accelerator()`` in the same process. Autocast is
    entered per forward pass (training and evaluation steps), never around the whole loop: one
    autocast context held across steps keeps its cache of bf16 weight copies, so every forward pass
    then ran on the weights of the first step while the optimizer moved the fp32 weights blindly
    (the logged dev score stayed that of the starting model while the returned model got worse).
    """

    cpu_bf16 = False

    def autocast_smart_context_manager(self, cache_enabled: bool | None = True) -> contextlib.AbstractContextManager:
        if self.cpu_bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return super().autocast_smart_context_manager(cache_enabled)


def make_trainer(
    config: TrainConfig,
    model: torch.nn.Module,
    train_dataset: Any,
    dev_dataset: Any,
    collator: Callable[..., Any],
    compute_metrics: Callable[..., dict[str, float]],
    metric: str,
    label_names: list[str],
    preprocess_logits: Callable[..., Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> Trainer:
    """A Trainer that evaluates each epoch on ``dev_dataset`` and keeps the best model by ``metric``."""
    optim = config.training
    has_dev = dev_dataset is not None and len(dev_dataset) > 0
    arguments = TrainingArguments(
        output_dir=str(Path(config.output_dir) / _CHECKPOINTS),
        num_train_epochs=optim.epochs,
        max_steps=optim.max_steps,
        learning_rate=optim.learning_rate,
        per_device_train_batch_size=optim.batch_size,
        per_device_eval_batch_size=optim.eval_batch_size,
        gradient_accumulation_steps=optim.gradient_accumulation_steps,
        weight_decay=optim.weight_decay,
        warmup_steps=float(optim.warmup_ratio),  # a float below 1 is a ratio of the total steps
        lr_scheduler_type=optim.lr_scheduler,
        logging_steps=optim.logging_steps,
        eval_strategy="epoch" if has_dev else "no",
        save_strategy="epoch" if has_dev else "no",
        load_best_model_at_end=has_dev,
        metric_for_best_model=metric if has_dev else None,
        greater_is_better=True,
        save_total_limit=2,
        save_only_model=False,  # optimizer and RNG state too, so `--resume` continues exactly
        bf16=cuda_bf16(),
        train_sampling_strategy="group_by_length" if optim.group_by_length else "random",
        seed=config.seed,
        data_seed=config.seed,
        report_to=[],
        label_names=label_names,
        dataloader_num_workers=0,
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    callbacks = []
    if has_dev and optim.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=optim.early_stopping_patience))
    trainer = _Trainer(
        model=model, args=arguments, train_dataset=train_dataset, eval_dataset=dev_dataset if has_dev else None,
        data_collator=collator, compute_metrics=compute_metrics, callbacks=callbacks,
        preprocess_logits_for_metrics=preprocess_logits, optimizers=(optimizer, None),
    )
    trainer.cpu_bf16 = optim.cpu_bf16 and not torch.cuda.is_available() and cpu_bf16_is_native()
    return trainer


def cpu_bf16_is_native() -> bool:
    """``training.cpu_bf16`` only pays on CPUs with native bf16: on an AVX2-only CPU autocast emulates
    it, and a tagger step took about 30 s instead of about 1.5 s in fp32, so such a CPU trains in fp32.

    >>> isinstance(cpu_bf16_is_native(), bool)
    True
    """
    if cpu_has_native_bf16():
        return True
    print("training: training.cpu_bf16 is set but this CPU has no native bf16 (AVX512-BF16 or AMX); "
          "training in fp32 instead (emulated bf16 is many times slower)", file=sys.stderr)
    return False


def train_resumable(trainer: Trainer, resume: bool) -> None:
    """Run ``trainer.train()``, continuing from the newest checkpoint in its output dir when ``resume``.

    A resumed run restores optimizer, scheduler and RNG state, so it ends where an unbroken run would.
    """
    last = get_last_checkpoint(trainer.args.output_dir) if resume and Path(trainer.args.output_dir).is_dir() else None
    if resume and last is None:
        print(f"training: --resume found no checkpoint in {trainer.args.output_dir}; starting from the beginning")
    trainer.train(resume_from_checkpoint=last)


def loss_history(trainer: Trainer) -> list[dict[str, float]]:
    """Training losses and dev metrics as logged, for metrics.json and the tests."""
    return [{k: v for k, v in entry.items() if isinstance(v, (int, float))} for entry in trainer.state.log_history]


_WEIGHT_PATTERNS = ("model*.safetensors", "model.safetensors.index.json", "pytorch_model*.bin",
                    "pytorch_model.bin.index.json")


def remove_weights(directory: Path) -> None:
    """Delete every weight file and index in ``directory``, so a new save leaves no stale shard
    that a loader could pick up beside the new weights."""
    for pattern in _WEIGHT_PATTERNS:
        for path in directory.glob(pattern):
            path.unlink()


def save_checkpoint(
    config: TrainConfig,
    model: Any,
    tokenizer: Any,
    metrics: dict[str, Any],
    *,
    task_description: str,
) -> Path:
    """Write the checkpoint directory: weights, tokenizer, resolved config, metrics.json, model card."""
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(output / _CHECKPOINTS, ignore_errors=True)
    shutil.rmtree(output / "partial", ignore_errors=True)
    remove_weights(output)
    if config.save_dtype == "float16":
        model = model.to(torch.float16)
    model.save_pretrained(output, max_shard_size=config.max_shard_size)
    tokenizer.save_pretrained(output)
    (output / "training_config.yaml").write_text(
        yaml.safe_dump(config_to_dict(config), allow_unicode=True, sort_keys=False), encoding="utf-8")
    metrics["description"] = task_description
    metrics["backbone_provenance"] = backbone_provenance(config.backbone)
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_model_card(output, config, model, metrics, task_description=task_description)
    return output
