"""A checkpoint's ``tokenizer.json`` run through the ``tokenizers`` library directly, answering the
calls the tagger and the classifier make of a transformers fast tokenizer (same ids, windows and
word ids), without importing transformers.

>>> import tokenizers
>>> from tokenizers import models, pre_tokenizers
>>> backend = tokenizers.Tokenizer(models.WordLevel({"[UNK]": 0, "[PAD]": 1, "a": 2, "b": 3}, unk_token="[UNK]"))
>>> backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
>>> tokenizer = LiteTokenizer(backend, pad_token_id=1, model_max_length=512, input_names=("input_ids", "attention_mask"))
>>> encoding = tokenizer([["a", "b", "a"]], is_split_into_words=True, truncation=True, max_length=2, stride=1,
...                      return_overflowing_tokens=True)
>>> encoding["input_ids"], encoding["overflow_to_sample_mapping"], encoding.word_ids(1)
([[2, 3], [3, 2]], [0, 0], [1, 2])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tokenizers

# What transformers returns by default for the tokenizer classes that run tokenizer.json as it is (what
# training.import_backbone saves). Others are left to transformers: its BertTokenizer, for one, rebuilds
# the normaliser from tokenizer_config.json (lower case, accents) and adds token_type_ids.
INPUT_NAMES = {"TokenizersBackend": ("input_ids", "attention_mask")}
_UNLIMITED = int(1e30)  # transformers' model_max_length when a tokenizer states none


class LiteEncoding(dict):
    """A batch encoding: lists per window under ``input_ids`` etc., and ``word_ids(window)``."""

    def __init__(self, data: dict[str, Any], encodings: list[tokenizers.Encoding]) -> None:
        super().__init__(data)
        self._encodings = encodings

    def word_ids(self, index: int = 0) -> list[int | None]:
        return self._encodings[index].word_ids


class LiteTokenizer:
    """Wraps a ``tokenizers.Tokenizer``; see :meth:`from_directory`."""

    is_fast = True

    def __init__(self, backend: tokenizers.Tokenizer, *, pad_token_id: int | None, model_max_length: int,
                 input_names: Sequence[str], truncation_side: str = "right") -> None:
        self.backend = backend
        self.pad_token_id = pad_token_id
        self.model_max_length = model_max_length
        self.input_names = tuple(input_names)
        self.truncation_side = truncation_side

    @classmethod
    def from_directory(cls, directory: str | Path) -> LiteTokenizer:
        """Read ``tokenizer.json`` and ``tokenizer_config.json``; ``ValueError`` names what is not
        supported (then load the tokenizer with transformers)."""
        directory = Path(directory)
        if not (directory / "tokenizer.json").is_file():
            raise ValueError(f"{directory} has no tokenizer.json")
        path = directory / "tokenizer_config.json"
        settings = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        kind = settings.get("tokenizer_class")
        if kind not in INPUT_NAMES:
            raise ValueError(f"tokenizer_class {kind!r}")
        backend = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
        pad = settings.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        return cls(backend, pad_token_id=backend.token_to_id(pad) if pad else None,
                   model_max_length=int(settings.get("model_max_length") or _UNLIMITED),
                   input_names=settings.get("model_input_names") or INPUT_NAMES[kind],
                   truncation_side=settings.get("truncation_side", "right"))

    def __call__(self, text: Any, text_pair: Any = None, *, is_split_into_words: bool = False,
                 truncation: bool | str = False, max_length: int | None = None, stride: int = 0,
                 return_overflowing_tokens: bool = False, return_attention_mask: bool | None = None) -> LiteEncoding:
        """Encode one text (a str, or a list of words with ``is_split_into_words``) or a batch of
        them, optionally paired; with ``truncation`` and ``return_overflowing_tokens`` a text too
        long for ``max_length`` becomes several windows overlapping by ``stride`` tokens."""
        single = isinstance(text, str) or (is_split_into_words and bool(text) and isinstance(text[0], str))
        texts = [text] if single else list(text)
        pairs = None if text_pair is None else ([text_pair] if single else list(text_pair))
        inputs = texts if pairs is None else list(zip(texts, pairs))
        if truncation:
            strategy = "longest_first" if truncation is True else str(truncation)
            self.backend.enable_truncation(max_length or self.model_max_length, stride=stride, strategy=strategy,
                                           direction=self.truncation_side)
        else:
            self.backend.no_truncation()
        self.backend.no_padding()
        encoded = self.backend.encode_batch(inputs, add_special_tokens=True, is_pretokenized=is_split_into_words)
        keys = [k for k in self.input_names if k != "attention_mask" or return_attention_mask is not False]
        data: dict[str, list] = {key: [] for key in keys}
        windows: list[tokenizers.Encoding] = []
        mapping: list[int] = []
        for index, encoding in enumerate(encoded):
            group = [encoding] + (list(encoding.overflowing) if return_overflowing_tokens else [])
            for window in group:
                data.setdefault("input_ids", []).append(window.ids)
                if "token_type_ids" in data:
                    data["token_type_ids"].append(window.type_ids)
                if "attention_mask" in data:
                    data["attention_mask"].append(window.attention_mask)
            windows += group
            mapping += [index] * len(group)
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = mapping
        elif single:
            data = {key: values[0] for key, values in data.items()}
        return LiteEncoding(data, windows)
