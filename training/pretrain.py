"""Masked-language-model pretraining of a small BERT (``task: pretrain``) with accelerate.

Whole-word masking drawn afresh for every batch (dynamic masking), bf16 on CUDA, fp32 on CPU.
The LM head is applied to the masked positions only, which halves the cost of a small model
with a large vocabulary. The run stops at ``training.max_steps`` or ``pretrain.max_minutes``,
whichever comes first, and saves a standard ``BertForMaskedLM`` directory in shards.

>>> generator = torch.Generator().manual_seed(0)
>>> ids = torch.tensor([[2, 10, 11, 12, 13, 3]])
>>> continuation = torch.zeros(20, dtype=torch.bool); continuation[11] = True
>>> inputs, labels = mask_whole_words(ids, continuation, special_ids=[2, 3], mask_id=4, vocab_size=20,
...                                   probability=0.5, generator=generator)
>>> bool(((labels[0, 1] == -100) == (labels[0, 2] == -100)).item())  # a word is masked whole or not at all
True
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

from libya_nlp.precision import cuda_bf16
from training.config import ConfigError, TrainConfig
from training.hf_trainer import cpu_bf16_is_native, save_checkpoint, seed_everything
from training.pretraining_data import load_packed, pack_corpus


def mask_whole_words(
    input_ids: torch.Tensor,
    continuation: torch.Tensor,
    *,
    special_ids: list[int],
    mask_id: int,
    vocab_size: int,
    probability: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose whole words with ``probability``; of their tokens 80% become [MASK], 10% random, 10% kept.

    ``continuation[id]`` is True for ``##`` pieces, which belong to the word before them.
    Returns (inputs, labels) with labels -100 where nothing is predicted.
    """
    device = input_ids.device
    special = torch.isin(input_ids, torch.tensor(special_ids, device=device))
    is_piece = continuation.to(device)[input_ids] & ~special
    word_index = torch.cumsum((~is_piece).long(), dim=1) - 1
    word_draw = torch.rand(input_ids.shape, generator=generator).to(device)
    chosen = (word_draw.gather(1, word_index) < probability) & ~special
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    action = torch.rand(input_ids.shape, generator=generator).to(device)
    inputs = input_ids.clone()
    inputs[chosen & (action < 0.8)] = mask_id
    randomised = chosen & (action >= 0.8) & (action < 0.9)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator).to(device)
    inputs[randomised] = random_ids[randomised]
    return inputs, labels


def pretrain_task(config: TrainConfig, root: Path, resume: bool = False) -> dict[str, Any]:
    """The ``pretrain`` entry of :mod:`training.tasks`; pretraining restarts from its config, not ``--resume``."""
    if resume:
        raise ConfigError("--resume is for tagger and classifier runs; pretraining saves every "
                          "`save_every_minutes` and restarts from its config")
    return pretrain(config, root)


def pretrain(config: TrainConfig, root: Path) -> dict[str, Any]:
    """Pack the corpus if needed, pretrain, evaluate MLM on held-out sequences, save the checkpoint."""
    from accelerate import Accelerator

    options = config.pretrain
    seed_everything(config.seed)
    corpus_dir = Path(options.packed_corpus)
    if not (corpus_dir / "tokens.npy.xz").is_file():
        sources = [Path(s.path) if Path(s.path).is_absolute() else root / s.path for s in config.data.train]
        if len(sources) != 1:
            raise ValueError("task: pretrain reads one data root (data.train: [{path: ../shared/data, format: raw}])")
        pack_corpus(sources[0], corpus_dir, vocab_size=options.vocab_size, sequence_length=options.sequence_length,
                    exclude=options.exclude, max_articles=options.max_articles)
    corpus_meta = json.loads((corpus_dir / "corpus.json").read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(corpus_dir)
    sequences = load_packed(corpus_dir)
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(sequences))
    dev_rows = order[: min(options.dev_sequences, len(sequences) // 10)]
    train_rows = order[len(dev_rows):]

    accelerator = Accelerator(mixed_precision="bf16" if cuda_bf16() else "no")
    autocast_bf16 = accelerator.device.type == "cpu" and options.cpu_bf16 and cpu_bf16_is_native()
    model = BertForMaskedLM(BertConfig(
        vocab_size=len(tokenizer), hidden_size=options.hidden_size, num_hidden_layers=options.num_hidden_layers,
        num_attention_heads=options.num_attention_heads, intermediate_size=options.intermediate_size,
        max_position_embeddings=max(512, options.sequence_length)))
    optim = config.training
    optimizer = torch.optim.AdamW(model.parameters(), lr=optim.learning_rate, weight_decay=optim.weight_decay,
                                  betas=(0.9, 0.98), eps=1e-6)
    model, optimizer = accelerator.prepare(model, optimizer)
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    continuation = torch.tensor([token.startswith("##") for token in vocab])
    special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]
    mask_args = dict(special_ids=special_ids, mask_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
                     probability=options.mlm_probability)
    generator = torch.Generator().manual_seed(config.seed)
    batch = optim.batch_size * accelerator.num_processes
    steps_per_epoch = max(1, len(train_rows) // batch)
    max_steps = optim.max_steps if optim.max_steps > 0 else int(optim.epochs * steps_per_epoch)
    warmup = max(1, int(max_steps * optim.warmup_ratio))
    started = last_save = time.perf_counter()
    log: list[dict[str, float]] = []
    step, running, stopped_by = 0, 0.0, "max_steps"
    model.train()
    while step < max_steps:
        epoch_order = train_rows[rng.permutation(len(train_rows))]
        for first in range(0, len(epoch_order) - batch + 1, batch):
            rows = epoch_order[first : first + batch]
            rows = rows[accelerator.process_index :: accelerator.num_processes]
            ids = torch.from_numpy(sequences[rows].astype(np.int64)).to(accelerator.device)
            inputs, labels = mask_whole_words(ids, continuation, generator=generator, **mask_args)
            elapsed = time.perf_counter() - started
            # Decay by steps, or by time when the time budget binds first, so the LR always reaches 0.
            progress = max(step / max_steps, elapsed / 60 / options.max_minutes)
            warm = max(step / warmup, 1e-3) if step < warmup else 1.0
            lr = optim.learning_rate * min(warm, max(0.0, (1 - progress) / max(1e-9, 1 - warmup / max_steps)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
                loss, _ = _masked_lm_loss(accelerator.unwrap_model(model), inputs, labels)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            running += loss.item()
            step += 1
            if step % optim.logging_steps == 0:
                elapsed = time.perf_counter() - started
                entry = {"step": step, "loss": round(running / optim.logging_steps, 4), "lr": lr,
                         "minutes": round(elapsed / 60, 2),
                         "tokens_per_second": round(step * batch * options.sequence_length / elapsed)}
                log.append(entry)
                accelerator.print(json.dumps(entry))
                running = 0.0
            if accelerator.is_main_process and time.perf_counter() - last_save >= options.save_every_minutes * 60:
                accelerator.unwrap_model(model).save_pretrained(Path(config.output_dir) / "partial",
                                                                max_shard_size=config.max_shard_size)
                tokenizer.save_pretrained(Path(config.output_dir) / "partial")
                last_save = time.perf_counter()
            if (time.perf_counter() - started) / 60 >= options.max_minutes:
                stopped_by = "max_minutes"
                break
            if step >= max_steps:
                break
        if stopped_by == "max_minutes":
            break
    model = accelerator.unwrap_model(model).eval()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
        dev_loss, dev_accuracy = _evaluate_mlm(model, sequences[dev_rows], continuation, mask_args,
                                               accelerator.device, batch=optim.eval_batch_size, seed=config.seed)
    elapsed = time.perf_counter() - started
    metrics = {
        "task": "pretrain", "corpus": corpus_meta,
        "data": {"train": [{"path": str(s.path), "name": s.name, "format": "raw", "licence": s.licence,
                            "sentences": len(train_rows), "weight": 1.0} for s in config.data.train]},
        "steps": step, "stopped_by": stopped_by, "minutes": round(elapsed / 60, 2),
        "tokens_seen": step * batch * options.sequence_length,
        "passes_over_corpus": round(step * batch / max(1, len(train_rows)), 3),
        "device": str(accelerator.device), "processes": accelerator.num_processes,
        "precision": "bf16" if accelerator.device.type == "cuda" or autocast_bf16 else "fp32",
        "evaluation": {"held_out_sequences": {"mlm_loss": dev_loss, "mlm_accuracy": dev_accuracy,
                                              "sequences": int(len(dev_rows))}},
        "train_log": log,
    }
    if accelerator.is_main_process:
        save_checkpoint(config, model, tokenizer, metrics, task_description=(
            "A small Arabic BERT pretrained with whole-word masked language modelling on raw MSA news text, "
            "as the backbone of libya_nlp's offline default tagger and classifier."))
    return metrics


def _masked_lm_loss(model: BertForMaskedLM, inputs: torch.Tensor, labels: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    hidden = model.bert(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
    selected = labels != -100
    logits = model.cls(hidden[selected])
    loss = torch.nn.functional.cross_entropy(logits.float(), labels[selected])
    return loss, (logits.argmax(-1) == labels[selected]).float().mean()


@torch.no_grad()
def _evaluate_mlm(model: BertForMaskedLM, sequences: np.ndarray, continuation: torch.Tensor, mask_args: dict,
                  device: torch.device, *, batch: int, seed: int) -> tuple[float, float]:
    generator = torch.Generator().manual_seed(seed + 1)
    losses, accuracies = [], []
    for first in range(0, len(sequences), batch):
        ids = torch.from_numpy(sequences[first : first + batch].astype(np.int64)).to(device)
        inputs, labels = mask_whole_words(ids, continuation, generator=generator, **mask_args)
        loss, accuracy = _masked_lm_loss(model, inputs, labels)
        losses.append(loss.item())
        accuracies.append(accuracy.item())
    if not losses:
        return math.nan, math.nan
    return round(float(np.mean(losses)), 4), round(float(np.mean(accuracies)), 4)
