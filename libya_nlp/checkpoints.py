"""Finding and loading checkpoints: local directories or hub names, safetensors only, no remote code.

:func:`load_tagger` and :func:`load_classifier` return transformers models (for training and
evaluation); :func:`load_for_inference`, which ``annotate()`` uses, returns the torch-only twins of
:mod:`libya_nlp.lite_models` where a checkpoint allows it, so that a cold start does not import
transformers' modeling code.

>>> default_model_dir("tagger").parts[-3:]
('models', 'default', 'tagger')
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import torch

from libya_nlp import normalization, weights_int8
from libya_nlp.labels import canonical_tag

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from libya_nlp.classifier_model import LibyaClassifierModel

_DEFAULT_DIR = Path(__file__).resolve().parent / "models" / "default"
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
_PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
_UNSTORED_SUFFIXES = ("position_ids", "token_type_ids")  # buffers some encoders rebuild instead of storing
_TRAIN_HINT = {
    "tagger": "python -m training.build_defaults (or python -m training.train configs/tagger_e5.yaml)",
    "classifier": "python -m training.build_defaults (or python -m training.train configs/classifier_e5.yaml)",
    "events": "python -m training.build_defaults (or python -m training.train configs/events.yaml)",
}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or not of the expected kind."""


def default_model_dir(kind: str) -> Path:
    """Where the embedded default ``tagger``, ``classifier`` or ``events`` model lives inside the package."""
    if kind not in _TRAIN_HINT:
        raise ValueError(f"kind must be one of {', '.join(_TRAIN_HINT)}, got {kind!r}")
    return _DEFAULT_DIR / kind


def resolve_checkpoint(name_or_path: str | os.PathLike[str] | None, kind: str) -> str:
    """Return a local directory or a hub name to load; ``None`` means the embedded default.

    Raises :class:`CheckpointError` for a missing local directory or an absent default.
    """
    if name_or_path is None:
        path = default_model_dir(kind)
        if not (path / "config.json").is_file():
            raise CheckpointError(
                f"the embedded default {kind} is not in this install ({path} has no config.json). "
                f"Pass {kind}=DIR with a trained checkpoint, or build one with `{_TRAIN_HINT[kind]}`."
            )
        return str(path)
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        _check_local_files(path, kind)
        return str(path)
    if path.exists() or text.startswith((".", "/", "~")) or os.sep in text.replace("/", "") or text.count("/") > 1:
        raise CheckpointError(f"{kind} checkpoint directory {text!r} does not exist (or is not a directory)")
    if "/" not in text:  # not a folder here, and hub models are named organisation/name
        raise CheckpointError(
            f"{kind} checkpoint {text!r} is not a folder here ({path.resolve()} does not exist), and model hub "
            "names look like 'organisation/name' (e.g. 'aubmindlab/bert-base-arabertv02'): check the path")
    return text  # a hub name such as "aubmindlab/bert-base-arabertv02"


def load_tagger(name_or_path: str | os.PathLike[str] | None = None) -> tuple[PreTrainedModel, Any, str]:
    """Load a token classifier with IOB2 labels over PER/ORG/LOC/MISC, and its tokenizer.

    Returns ``(model, tokenizer, resolved_name)``.

    >>> load_tagger("/no/such/dir")
    Traceback (most recent call last):
    ...
    libya_nlp.checkpoints.CheckpointError: tagger checkpoint directory '/no/such/dir' does not exist (or is not a directory)
    """
    from transformers import AutoModelForTokenClassification

    source = resolve_checkpoint(name_or_path, "tagger")
    with _quiet_loading():
        config = _load_config(source, "tagger")
        _check_tagger_labels(config, source)
        model = _load_model(AutoModelForTokenClassification, source, "tagger", config=config)
        tokenizer = _load_tokenizer(source, "tagger")
    return model.eval(), tokenizer, source


def load_classifier(name_or_path: str | os.PathLike[str] | None = None) -> tuple[LibyaClassifierModel, Any, str]:
    """Load a :class:`~libya_nlp.classifier_model.LibyaClassifierModel` checkpoint and its tokenizer.

    Returns ``(model, tokenizer, resolved_name)``.
    """
    from transformers import AutoModel

    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.classifier_model import LibyaClassifierModel  # noqa: F401 - registers the model type

    source = resolve_checkpoint(name_or_path, "classifier")
    with _quiet_loading():
        config = _load_config(source, "classifier")
        if not isinstance(config, LibyaClassifierConfig):
            raise CheckpointError(
                f"{source} is a {type(config).__name__} checkpoint, not a libya_nlp classifier "
                f"(model_type {LibyaClassifierConfig.model_type!r}); train one with `{_TRAIN_HINT['classifier']}`"
            )
        model = _load_model(AutoModel, source, "classifier", config=config)
        tokenizer = _load_tokenizer(source, "classifier")
    return model.eval(), tokenizer, source


RUNTIMES = ("auto", "lite", "transformers")


def load_for_inference(kind: str, name_or_path: str | os.PathLike[str] | None = None,
                       runtime: str = "auto") -> tuple[Any, Any, str]:
    """Load a ``tagger`` or ``classifier`` for annotation: ``(model, tokenizer, resolved_name)``.

    ``runtime="auto"`` uses the torch-only modules of :mod:`libya_nlp.lite_models` and the
    ``tokenizers`` library directly when the checkpoint is a local BERT the library knows (its own
    checkpoints and the embedded defaults; 4-5 s less start-up on a 2-core CPU), and transformers
    otherwise (hub names, other architectures); ``"lite"`` insists on the former, ``"transformers"``
    on the latter. Both compute the same outputs.

    >>> model, tokenizer, _ = load_for_inference("tagger")
    >>> type(model).__name__, type(tokenizer).__name__
    ('LiteTokenTagger', 'LiteTokenizer')
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if kind not in ("tagger", "classifier"):
        raise ValueError(f"kind must be 'tagger' or 'classifier', got {kind!r}")
    if runtime != "transformers":
        source = resolve_checkpoint(name_or_path, kind)
        reason = _lite_unsupported(source, kind)
        if reason is None:
            return (*_load_lite(source, kind), source)
        if runtime == "lite":
            raise CheckpointError(f"the {kind} {source!r} cannot run without transformers ({reason}); "
                                  "use runtime='auto' or 'transformers'")
    return (load_tagger if kind == "tagger" else load_classifier)(name_or_path)


def _lite_unsupported(source: str, kind: str) -> str | None:
    """Why :func:`_load_lite` cannot read this checkpoint, or ``None``."""
    from libya_nlp.lite_models import unsupported_encoder
    from libya_nlp.lite_tokenizer import INPUT_NAMES

    path = Path(source)
    if not path.is_dir():
        return "not a local directory"
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        tokenizer_config = path / "tokenizer_config.json"
        tokenizer_class = (json.loads(tokenizer_config.read_text(encoding="utf-8")).get("tokenizer_class")
                           if tokenizer_config.is_file() else None)
    except (OSError, ValueError) as error:
        return f"unreadable config: {error}"
    if not (path / "tokenizer.json").is_file():
        return "no tokenizer.json"
    if tokenizer_class not in INPUT_NAMES:
        return f"tokenizer_class {tokenizer_class!r}"
    if kind == "tagger":
        if config.get("architectures") != ["BertForTokenClassification"]:
            return f"architectures {config.get('architectures')}"
        return unsupported_encoder(config)
    if config.get("model_type") != "libya_sentence_classifier":
        return f"model_type {config.get('model_type')!r}"
    return unsupported_encoder(config.get("encoder") or {})


def _load_lite(source: str, kind: str) -> tuple[Any, Any]:
    from libya_nlp.classifier_settings import classifier_settings, split_settings
    from libya_nlp.lite_models import LiteSentenceClassifier, LiteTokenTagger
    from libya_nlp.lite_tokenizer import LiteTokenizer

    directory = Path(source)
    raw = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    try:
        if kind == "tagger":
            raw["id2label"] = {int(i): label for i, label in (raw.get("id2label") or {}).items()}
            config = SimpleNamespace(**raw)
            check_text_normalization(config, source)
            _check_tagger_labels(config, source)
            model = LiteTokenTagger(config)
        else:
            settings, rest = split_settings(raw)
            config = SimpleNamespace(**rest, **classifier_settings(**settings))
            check_text_normalization(config, source)
            model = LiteSentenceClassifier(config)
        state = _read_weights(directory)
        tokenizer = LiteTokenizer.from_directory(directory)
    except CheckpointError:
        raise
    except Exception as error:  # noqa: BLE001 - re-raised with the checkpoint named
        raise CheckpointError(f"cannot load the {kind} {source!r}: {error}") from error
    state = {name: tensor for name, tensor in state.items() if ".pooler." not in name}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"the weights in {source} do not fit its {kind} config: missing {sorted(missing)[:5]}, "
                              f"unexpected {sorted(unexpected)[:5]}; save the checkpoint again from the trained model")
    return model.eval(), tokenizer


def _read_weights(directory: Path) -> dict[str, torch.Tensor]:
    """The float32 state dict of a checkpoint: int8 files, one model.safetensors, or its shards."""
    from safetensors.torch import load_file

    if not any((directory / name).is_file() for name in _WEIGHT_FILES):
        return weights_int8.load_int8(directory)
    index = directory / "model.safetensors.index.json"
    files = (sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
             if index.is_file() else ["model.safetensors"])
    state: dict[str, torch.Tensor] = {}
    for name in files:
        state.update(load_file(str(directory / name)))
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def _check_local_files(path: Path, kind: str) -> None:
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{kind} checkpoint {path} has no config.json; is it a Hugging Face model directory?")
    if not any((path / name).is_file() for name in _WEIGHT_FILES) and not weights_int8.files_in(path):
        if any((path / name).is_file() for name in _PICKLE_FILES):
            raise CheckpointError(
                f"{kind} checkpoint {path} holds pickle weights (pytorch_model.bin) only; libya_nlp loads "
                "safetensors only: load it once with transformers and save_pretrained() it again"
            )
        raise CheckpointError(f"{kind} checkpoint {path} has no model.safetensors")
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            files = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (ValueError, KeyError, AttributeError) as error:
            raise CheckpointError(f"{index} is not a safetensors index ({error})") from error
        foreign = sorted(f for f in files if not f.endswith(".safetensors") or "/" in f or "\\" in f)
        if foreign:
            raise CheckpointError(f"{index} names weight files that are not safetensors in this folder: {foreign}; "
                                  "libya_nlp loads safetensors only")


def _load_config(source: str, kind: str) -> Any:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the checkpoint named
        hint = "" if Path(source).is_dir() else (
            f" ({source!r} is not a folder here, so it was read as a model hub name; check the path, or the "
            "network and HF_HUB_OFFLINE if you meant the hub)")
        raise CheckpointError(f"cannot read the {kind} config of {source!r}{hint}: {error}") from error
    check_text_normalization(config, source)
    return config


def check_text_normalization(config: Any, source: str) -> None:
    """Refuse a checkpoint trained on text normalised otherwise than the library normalises it.

    Checkpoints record it as ``text_normalization`` (in the encoder's config for a classifier);
    one that records nothing (a hub model such as AraBERT) is taken to expect the AraBERT rules.
    """
    encoder = getattr(config, "encoder", None)
    recorded = getattr(config, "text_normalization", None) or (encoder or {}).get("text_normalization")
    if recorded not in (None, normalization.NAME):
        raise CheckpointError(f"{source!r} was trained on text normalised as {recorded!r}; libya_nlp applies "
                              f"{normalization.NAME!r} before every model, so its scores would not hold")


def _load_model(auto_class: Any, source: str, kind: str, **kwargs: Any) -> Any:
    if Path(source).is_dir() and weights_int8.files_in(source) and not any(
            (Path(source) / name).is_file() for name in _WEIGHT_FILES):
        return _load_int8_model(auto_class, Path(source), kind, kwargs["config"])
    try:
        # fp32 whatever the stored dtype (defaults ship in fp16); callers cast for their device.
        model, info = auto_class.from_pretrained(source, use_safetensors=True, trust_remote_code=False,
                                                 dtype=torch.float32, output_loading_info=True, **kwargs)
    except Exception as error:  # noqa: BLE001 - re-raised with the checkpoint named
        raise CheckpointError(f"cannot load the {kind} weights of {source!r}: {error}") from error
    # transformers only warns about weights the config asks for and the files lack; such a model
    # would run on freshly initialised heads and give confident nonsense
    missing = [name for name in info.get("missing_keys", ()) if not name.endswith(_UNSTORED_SUFFIXES)]
    if missing:
        raise CheckpointError(f"the {kind} weights of {source!r} lack {len(missing)} tensor(s) its config needs "
                              f"(e.g. {', '.join(sorted(missing)[:3])}); the checkpoint is incomplete or was saved "
                              "from another config: save it again from the trained model")
    return model


def _load_int8_model(auto_class: Any, directory: Path, kind: str, config: Any) -> Any:
    """A model whose weights are stored as int8 (:mod:`libya_nlp.weights_int8`), in float32."""
    try:
        try:  # every weight comes from the file: skip the random initialisation (1.2 s for two e5 models)
            from transformers.initialization import no_init_weights
        except ImportError:  # pragma: no cover - older transformers
            no_init_weights = contextlib.nullcontext
        with no_init_weights():
            model = auto_class.from_config(config, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(weights_int8.load_int8(directory), strict=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the checkpoint named
        raise CheckpointError(f"cannot load the {kind} weights of {str(directory)!r}: {error}") from error
    model.tie_weights()
    missing = [name for name in missing if not name.endswith(_UNSTORED_SUFFIXES)]
    if missing or unexpected:
        raise CheckpointError(f"the int8 weights in {directory} do not fit the {kind} config: missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]}")
    return model


def _load_tokenizer(source: str, kind: str) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - re-raised with the checkpoint named
        raise CheckpointError(f"cannot load the {kind} tokenizer of {source!r}: {error}") from error
    if not getattr(tokenizer, "is_fast", False):
        raise CheckpointError(f"the {kind} tokenizer of {source!r} is not a fast tokenizer; word offsets need one")
    return tokenizer


def _check_tagger_labels(config: Any, source: str) -> None:
    labels = [config.id2label[i] for i in sorted(config.id2label)] if config.id2label else []
    try:
        canonical = [canonical_tag(label) for label in labels]
    except ValueError as error:
        raise CheckpointError(
            f"tagger {source!r} has labels {labels} in its config: {error}. "
            "A libya_nlp tagger needs IOB2 labels (O, B-PER, I-PER, ...) in id2label."
        ) from error
    if "O" not in canonical or len(canonical) < 3:
        raise CheckpointError(f"tagger {source!r} has labels {labels}: expected O plus B-/I- tags")


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' loading progress bars; annotate() prints nothing on its own."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()
