"""Training configs: YAML loaded into typed dataclasses; unknown or mistyped keys are errors.

>>> config = config_from_dict({"task": "tagger", "output_dir": "/tmp/t", "backbone": "some/model",
...                            "data": {"train": [{"path": "a.conll", "format": "conll"}]}})
>>> config.training.learning_rate
5e-05
>>> config_from_dict({"task": "tagger", "output_dir": "x", "trainig": {}})
Traceback (most recent call last):
...
training.config.ConfigError: unknown key 'trainig' (did you mean 'training'?)
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from libya_nlp.labels import GNA_TARGET, HAFTAR_TARGET


class ConfigError(ValueError):
    """A config file or override that does not fit the schema; the message names the key."""


@dataclass
class DataSource:
    """One input file. ``weight`` repeats training data (2.5 = twice, plus half once more)."""

    path: str
    format: Literal["conll", "corpus", "raw"]
    weight: float = 1.0
    max_sentences: int | None = None
    # Hold out this fraction of the source (by document) for model selection.
    dev_fraction: float = 0.0
    # Tagger: add this many copies of each training sentence that names something, its mentions
    # swapped for other mentions of the same type from this source (training/augment.py).
    mention_swap: float = 0.0
    name: str = ""
    licence: str = ""


@dataclass
class DataConfig:
    train: list[DataSource] = field(default_factory=list)
    dev: list[DataSource] = field(default_factory=list)
    # Tagger: sentences longer than this many words are cut into pieces for training.
    max_words: int = 100


@dataclass
class ScratchBackbone:
    """A BERT built from scratch with a WordPiece vocabulary trained on the training text."""

    vocab_size: int = 2000
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 128
    max_position_embeddings: int = 256


@dataclass
class OptimConfig:
    epochs: float = 3.0
    learning_rate: float = 5.0e-5
    batch_size: int = 32
    eval_batch_size: int = 64
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lr_scheduler: str = "linear"
    max_length: int = 256
    early_stopping_patience: int | None = 2
    logging_steps: int = 50
    max_steps: int = -1
    # bf16 autocast on CPU too (CUDA always uses bf16 where supported), on CPUs with native bf16
    # (AVX512-BF16, AMX) only: elsewhere it is emulated and many times slower, so fp32 is used.
    cpu_bf16: bool = False
    # Batch examples of similar length together (less padding; much faster when lengths vary).
    group_by_length: bool = False


@dataclass
class ClassifierOptions:
    targets: list[str] = field(default_factory=lambda: [GNA_TARGET, HAFTAR_TARGET])
    # Choose each request type's threshold on the dev set (else 0.5).
    tune_thresholds: bool = True
    classifier_dropout: float = 0.1
    # "mean" for encoders trained with mean pooling (e5); "cls" reads the first token.
    pooling: Literal["cls", "mean"] = "cls"
    # Standardise the pooled vector per dimension (statistics measured on the training data before
    # training); needed for mean-pooled e5, whose pooled vectors vary by ~0.08 per dimension.
    standardize_pooled: bool = False
    # Weight each request type's positives by sqrt(negatives / positives) in the BCE loss.
    balance_requests: bool = False
    # The heads learn at this multiple of training.learning_rate (fresh heads on a pretrained encoder).
    head_learning_rate_scale: float = 1.0
    # Tune thresholds on this fraction of dev (by document) and report on the rest; 0 tunes and
    # reports on the same dev set (optimistic).
    threshold_fraction: float = 0.0
    # Or choose thresholds (and the n-gram blend) by K-fold cross-validation over dev documents:
    # the reported dev score is out-of-fold over all of dev, the shipped choice made on all of it
    # (training/threshold_cv.py). 0 = off; not together with threshold_fraction.
    threshold_folds: int = 0
    # One threshold for every request type (less prone to over-fit a small tuning set) or one each.
    shared_threshold: bool = False
    # Fit a character n-gram request head on the training records and blend its probabilities
    # with the encoder's, the weight chosen with the thresholds (threshold_folds or threshold_fraction)
    # (training/ngram_fit.py); needs tune_thresholds.
    ngram_blend: bool = False
    ngram_buckets: int = 131072


@dataclass
class PretrainOptions:
    """Masked-language-model pretraining of a small BERT (task: pretrain)."""

    packed_corpus: str = "artifacts/pretrain_corpus"
    vocab_size: int = 16000
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    sequence_length: int = 128
    mlm_probability: float = 0.15
    whole_word_masking: bool = True
    max_minutes: float = 20.0
    max_articles: int | None = None
    exclude: list[str] = field(default_factory=list)
    dev_sequences: int = 2000
    # bf16 autocast on CPU too (CUDA always uses bf16); about 1.3x faster on CPUs with AVX512-BF16.
    cpu_bf16: bool = False
    # Save the weights so far every this many minutes (a long CPU run survives a crash).
    save_every_minutes: float = 30.0


@dataclass
class EventOptions:
    """The events model (task: events): a logistic regression over (sentence, mention) features."""

    # Regularisation strengths tried; the best by cross-validation over training documents wins.
    c_values: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0, 3.0])
    folds: int = 5
    max_iter: int = 2000
    class_weight: Literal["balanced"] | None = None


@dataclass
class CardConfig:
    """What the model card says beyond the measured numbers."""

    model_name: str = ""
    intended_use: str = ""
    licence: str = ""
    limitations: str = ""


@dataclass
class TrainConfig:
    """The whole training run."""

    task: Literal["tagger", "classifier", "pretrain", "events"]
    output_dir: str
    backbone: str | None = None
    scratch: ScratchBackbone | None = None
    seed: int = 42
    # Tagger / classifier: also train with these seeds and ship the average of all the runs' weights
    # (a uniform model soup, training/soup.py), finished on dev as one run would be.
    soup_seeds: list[int] = field(default_factory=list)
    save_dtype: Literal["float32", "float16"] = "float32"
    max_shard_size: str = "14MB"
    data: DataConfig = field(default_factory=DataConfig)
    training: OptimConfig = field(default_factory=OptimConfig)
    classifier: ClassifierOptions = field(default_factory=ClassifierOptions)
    pretrain: PretrainOptions = field(default_factory=PretrainOptions)
    events: EventOptions = field(default_factory=EventOptions)
    card: CardConfig = field(default_factory=CardConfig)

    def __post_init__(self) -> None:
        from training.tasks import TASKS

        task = TASKS.get(self.task)
        if task is not None and task.needs_model and (self.backbone is None) == (self.scratch is None):
            raise ConfigError("set exactly one of 'backbone' (a checkpoint) or 'scratch' (a new small BERT)")
        if task is not None and task.needs_train_data and not self.data.train:
            raise ConfigError("data.train lists no source")
        _check_ranges(self)
        for i, source in enumerate(self.data.train):
            if not 0.0 <= source.dev_fraction < 1.0:
                raise ConfigError(f"data.train[{i}].dev_fraction must be in [0, 1), got {source.dev_fraction}")


def _check_ranges(config: TrainConfig) -> None:
    """Numbers that would train nothing or fail deep inside torch are refused here, by key."""
    optim = config.training
    rules = [("training.epochs", optim.epochs, optim.epochs > 0 or optim.max_steps > 0, "a positive number"),
             ("training.learning_rate", optim.learning_rate, optim.learning_rate > 0, "a positive number"),
             ("training.batch_size", optim.batch_size, optim.batch_size >= 1, "at least 1"),
             ("training.eval_batch_size", optim.eval_batch_size, optim.eval_batch_size >= 1, "at least 1"),
             ("training.gradient_accumulation_steps", optim.gradient_accumulation_steps,
              optim.gradient_accumulation_steps >= 1, "at least 1"),
             ("training.max_length", optim.max_length, optim.max_length >= 8, "at least 8"),
             ("training.warmup_ratio", optim.warmup_ratio, 0 <= optim.warmup_ratio < 1, "in [0, 1)"),
             ("training.weight_decay", optim.weight_decay, optim.weight_decay >= 0, "0 or more"),
             ("classifier.threshold_fraction", config.classifier.threshold_fraction,
              0 <= config.classifier.threshold_fraction < 1, "in [0, 1)"),
             ("classifier.threshold_folds", config.classifier.threshold_folds,
              config.classifier.threshold_folds == 0
              or (config.classifier.threshold_folds >= 2 and not config.classifier.threshold_fraction
                  and config.classifier.tune_thresholds),
              "0 (off) or at least 2, with classifier.tune_thresholds and without classifier.threshold_fraction"),
             ("classifier.head_learning_rate_scale", config.classifier.head_learning_rate_scale,
              config.classifier.head_learning_rate_scale > 0, "a positive number"),
             ("classifier.ngram_buckets", config.classifier.ngram_buckets, config.classifier.ngram_buckets >= 1,
              "a positive number"),
             ("classifier.ngram_blend", config.classifier.ngram_blend,
              not config.classifier.ngram_blend or config.classifier.tune_thresholds,
              "false unless classifier.tune_thresholds is true (the blend weight is tuned with the thresholds)"),
             ("events.folds", config.events.folds, config.events.folds >= 2, "at least 2"),
             ("events.c_values", config.events.c_values,
              bool(config.events.c_values) and all(c > 0 for c in config.events.c_values), "a list of positive numbers")]
    for key, value, ok, expected in rules:
        if not ok:
            raise ConfigError(f"{key} must be {expected}, got {value!r}")
    if config.soup_seeds and (config.task not in ("tagger", "classifier") or config.seed in config.soup_seeds
                              or len(set(config.soup_seeds)) != len(config.soup_seeds)):
        raise ConfigError(f"soup_seeds must be distinct seeds other than seed ({config.seed}), and only for task: "
                          f"tagger or classifier; got {config.soup_seeds!r} for task {config.task!r}")
    for i, source in enumerate(config.data.train):
        if source.weight <= 0:
            raise ConfigError(f"data.train[{i}].weight must be a positive number, got {source.weight!r}")
        if source.mention_swap < 0 or (source.mention_swap and config.task != "tagger"):
            raise ConfigError(f"data.train[{i}].mention_swap must be 0 or more, and only for task: tagger, "
                              f"got {source.mention_swap!r} for task {config.task!r}")


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config and apply ``key.sub=value`` overrides (values parsed as YAML)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    for override in overrides or []:
        apply_override(raw, override)
    try:
        return config_from_dict(raw)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set a dotted key in the raw config: ``training.epochs=2``, ``backbone=/models/tiny``."""
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {override!r} must look like key=value (e.g. training.epochs=2)")
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is not a section")
    node[parts[-1]] = yaml.safe_load(value) if value != "" else None


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig`, checking every key and type."""
    return _build(TrainConfig, raw, "")


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """The resolved config as plain data (what is saved next to a checkpoint)."""
    return dataclasses.asdict(config)


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(fields)})"
            raise ConfigError(f"unknown key {where + str(key)!r}{hint}")
    values = {}
    for name, spec in fields.items():
        if name in raw:
            values[name] = _convert(hints[name], raw[name], where + name)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing key {where + name!r}")
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(f"{where}{error}" if where else str(error)) from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where + ".")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            looks_like_exponent = isinstance(value, str) and any(c.isdigit() for c in value) and "e" in value.lower()
            extra = " (YAML reads 1e-5 as text: write 1.0e-5)" if looks_like_exponent else ""
            raise ConfigError(f"{where}: expected a number, got {value!r}{extra}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {hint}")  # pragma: no cover - schema bug
