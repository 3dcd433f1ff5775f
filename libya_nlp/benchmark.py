"""Throughput benchmark: ``libya-nlp benchmark`` prints a markdown table of sentences/s and tokens/s.

It compares :func:`annotate_batch` (entities + request types + stance) with the Hugging Face
``pipeline("token-classification", aggregation_strategy="simple")`` on the same tagger (entities
only) and with a straightforward ``AutoModel`` loop on the same classifier, on the same sentences
and batch size. ``--size arabert-base`` builds randomly initialised models of AraBERT-base size
(12 layers, 768 wide, 64k vocabulary) to measure speed at that scale; on CUDA the table adds model
FLOP utilisation against the GPU's measured bf16 matrix-multiply rate.

>>> len(benchmark_sentences(10))
10
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from libya_nlp.labels import DEFAULT_STANCE_TARGET, PRECISIONS

_CORPUS = Path(__file__).resolve().parent.parent / "training" / "data" / "libya" / "dev.jsonl"
_SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@dataclass
class Row:
    method: str
    does: str
    seconds: float
    sentences: int
    tokens: int
    flops: float = 0.0

    def cells(self, baseline: float | None, peak: float | None) -> list[str]:
        rate = self.sentences / self.seconds
        cells = [self.method, self.does, f"{rate:,.1f}", f"{self.tokens / self.seconds:,.0f}",
                 f"{rate / baseline:.2f}x" if baseline else "1.00x"]
        if peak:
            cells.append(f"{100 * self.flops / self.seconds / peak:.1f}%")
        return cells


def benchmark_sentences(count: int) -> list[str]:
    """``count`` Arabic news sentences from the repository (Libya corpus dev set, then seeds), cycled."""
    from libya_nlp.segmentation import split_sentences

    texts: list[str] = []
    if _CORPUS.is_file():
        texts += [json.loads(line)["text"] for line in _CORPUS.read_text(encoding="utf-8").splitlines() if line]
    for path in sorted(_SEEDS.glob("*.txt")):
        texts += [s.text for s in split_sentences(path.read_text(encoding="utf-8"))]
    if not texts:
        raise FileNotFoundError("no benchmark sentences: run from a source checkout (training/data/libya, seeds/)")
    return [texts[i % len(texts)] for i in range(count)]


def random_models(size: str, workdir: Path, base_tokenizer_dir: str | None) -> tuple[str, str]:
    """Randomly initialised tagger and classifier directories of AraBERT-base size (speed only)."""
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.labels import bio_labels
    from libya_nlp.classifier_model import LibyaClassifierModel

    if size != "arabert-base":
        raise ValueError(f"unknown model size {size!r}")
    tokenizer = AutoTokenizer.from_pretrained(base_tokenizer_dir)
    shape = dict(vocab_size=64000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512)
    labels = bio_labels()
    tagger = BertForTokenClassification(BertConfig(**shape, id2label=dict(enumerate(labels)),
                                                   label2id={l: i for i, l in enumerate(labels)}))
    classifier = LibyaClassifierModel(LibyaClassifierConfig(encoder=BertConfig(**shape).to_dict()))
    paths = []
    for name, model in (("tagger", tagger), ("classifier", classifier)):
        path = workdir / name
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
        paths.append(str(path))
    return paths[0], paths[1]


def run(tagger: str | None, classifier: str | None, *, device: str | None, sentences: int, batch_size: int,
        size: str = "default", repeats: int = 1, precision: str = "auto") -> str:
    """Measure and return the markdown table."""
    from transformers.utils import logging as hf_logging

    from libya_nlp.annotator import Annotator
    from libya_nlp.checkpoints import resolve_checkpoint
    from libya_nlp.precision import resolve_device

    hf_logging.set_verbosity_error()
    resolved = resolve_device(device)
    texts = benchmark_sentences(sentences)
    with tempfile.TemporaryDirectory() as workdir:
        if size != "default":
            tagger, classifier = random_models(size, Path(workdir), resolve_checkpoint(tagger, "tagger"))
        annotator = Annotator(tagger=tagger, classifier=classifier, device=resolved, precision=precision)
        tagger_flops = _flops_per_sequence(annotator.tagger.model)
        classifier_flops = _flops_per_sequence(annotator.classifier.model)
        tokens = _token_counts(annotator, texts)
        annotator.annotate_batch(texts[: 2 * batch_size], batch_size=batch_size)  # warm-up
        ours = _best(lambda: annotator.annotate_batch(texts, batch_size=batch_size), resolved, repeats)
        wall, inside = _forward_time(annotator, texts, batch_size, resolved)
        ours_name = "int8" if precision == "int8" else _dtype_name(annotator.dtype)
        rows = [Row(f"libya_nlp annotate_batch, {ours_name}", "entities + request types + stance",
                    ours, len(texts), tokens["tagger"] + tokens["classifier"],
                    sum(tagger_flops(n) for n in tokens["tagger_lengths"])
                    + sum(classifier_flops(n) for n in tokens["classifier_lengths"]))]
        dtypes = [torch.float32] + ([annotator.dtype] if annotator.dtype != torch.float32 else [])
        for dtype in dtypes:
            rows.append(_hf_token_pipeline(annotator.tagger_name, texts, batch_size, resolved, dtype, repeats,
                                           tokens, tagger_flops))
        for dtype in dtypes:
            rows.append(_hf_classifier_loop(annotator.classifier_name, annotator.classifier.max_length, texts,
                                            batch_size, resolved, dtype, repeats, tokens, classifier_flops))
        peak = measured_matmul_rate(resolved) if resolved.type == "cuda" else None
    header = ["method", "does", "sentences/s", "tokens/s", "vs HF pipeline fp32"] + (["model FLOP utilisation"] if peak else [])
    baseline = rows[1].sentences / rows[1].seconds
    lines = [
        f"Device: {_device_name(resolved)}; models: {size if size != 'default' else 'default (embedded)'}; "
        f"{len(texts)} sentences; batch size {batch_size}; best of {repeats}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row.cells(baseline, peak)) + " |" for row in rows],
    ]
    lines += ["", f"Overhead of annotate_batch: {wall:.2f} s end to end over {inside:.2f} s inside the two models' "
                  f"forward passes on its own padded batches = {wall / inside:.2f} (target <= 1.25)."]
    if peak:
        lines += ["", f"Measured bf16 matrix-multiply rate: {peak / 1e12:.0f} TFLOP/s."]
    return "\n".join(lines)


def _forward_time(annotator: Any, texts: list[str], batch_size: int, device: torch.device) -> tuple[float, float]:
    """(wall seconds of one ``annotate_batch``, seconds spent inside the tagger's and classifier's
    ``forward`` during it): their ratio is what sentence splitting, tokenisation, batching, decoding,
    actor linking and events cost on top of the models."""
    inside = 0.0
    started: list[float] = []

    def before(*_: Any) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        nonlocal inside
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        inside += time.perf_counter() - started.pop()

    models = [annotator.tagger.model, annotator.classifier.model]
    handles = [h for m in models for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    try:
        wall = _best(lambda: annotator.annotate_batch(texts, batch_size=batch_size), device, 1)
    finally:
        for handle in handles:
            handle.remove()
    return wall, inside


def _hf_token_pipeline(source: str, texts: list[str], batch_size: int, device: torch.device, dtype: torch.dtype,
                       repeats: int, tokens: dict, flops: Callable[[int], float]) -> Row:
    """The stock pipeline over the same tagger weights (loaded by libya_nlp, which also reads the
    int8 storage of the embedded defaults), in ``dtype``."""
    from transformers import pipeline

    from libya_nlp.checkpoints import load_tagger

    model, tokenizer, _ = load_tagger(source)
    pipe = pipeline("token-classification", model=model.to(dtype), tokenizer=tokenizer, aggregation_strategy="simple",
                    device=device, batch_size=batch_size)
    list(pipe(texts[: 2 * batch_size]))
    seconds = _best(lambda: list(pipe(texts)), device, repeats)
    return Row(f"HF pipeline (token-classification, simple), {_dtype_name(dtype)}", "entities only", seconds,
               len(texts), tokens["pipeline"], sum(flops(n) for n in tokens["pipeline_lengths"]))


def _hf_classifier_loop(source: str, max_length: int, texts: list[str], batch_size: int, device: torch.device,
                        dtype: torch.dtype, repeats: int, tokens: dict, flops: Callable[[int], float]) -> Row:
    """A straightforward loop: AutoModel, tokenizer with padding, batches in input order."""
    from libya_nlp.checkpoints import load_classifier

    model, tokenizer, _ = load_classifier(source)
    model = model.to(dtype).to(device).eval()

    def loop() -> None:
        with torch.inference_mode():
            for first in range(0, len(texts), batch_size):
                batch = texts[first : first + batch_size]
                inputs = tokenizer([DEFAULT_STANCE_TARGET] * len(batch), batch, padding=True, truncation=True,
                                   max_length=max_length, return_tensors="pt").to(device)
                out = model(**inputs)
                out.request_logits.float().sigmoid().cpu(), out.stance_logits.float().softmax(-1).cpu()

    loop()
    seconds = _best(loop, device, repeats)
    return Row(f"HF AutoModel loop (same classifier), {_dtype_name(dtype)}", "request types + stance", seconds,
               len(texts), tokens["classifier"], sum(flops(n) for n in tokens["classifier_lengths"]))


def _dtype_name(dtype: torch.dtype) -> str:
    return {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype))


def _token_counts(annotator: Any, texts: list[str]) -> dict[str, Any]:
    from libya_nlp.segmentation import split_sentences, tokenize

    words = [[t.text for t in s.tokens] for text in texts for s in split_sentences(text)]
    tagger_lengths = [len(w["input_ids"]) for w in annotator.tagger.prepare(words).windows]
    target = [t.text for t in tokenize(DEFAULT_STANCE_TARGET)]
    classifier_lengths = [len(w["input_ids"]) for w in annotator.classifier.prepare(words, target=target).windows]
    pipeline_lengths = [len(ids) for ids in annotator.tagger.tokenizer(texts)["input_ids"]]
    return {"tagger": sum(tagger_lengths), "classifier": sum(classifier_lengths), "pipeline": sum(pipeline_lengths),
            "tagger_lengths": tagger_lengths, "classifier_lengths": classifier_lengths,
            "pipeline_lengths": pipeline_lengths}


def _flops_per_sequence(model: Any) -> Callable[[int], float]:
    """Forward FLOPs of a BERT-style encoder for a sequence of n tokens (matmuls only)."""
    config = model.config
    encoder = config.encoder if isinstance(getattr(config, "encoder", None), dict) else config.to_dict()
    hidden, layers = encoder["hidden_size"], encoder["num_hidden_layers"]
    intermediate = encoder["intermediate_size"]
    per_token = layers * (2 * 4 * hidden * hidden + 2 * 2 * hidden * intermediate)
    return lambda n: per_token * n + layers * 4 * n * n * hidden


def measured_matmul_rate(device: torch.device, size: int = 8192, repeats: int = 20) -> float:
    """FLOP/s of a large bf16 matrix multiply on ``device`` (the reference for utilisation)."""
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    torch.cuda.synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def _best(function: Callable[[], Any], device: torch.device, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    return min(times)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="libya-nlp benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA if available)")
    parser.add_argument("--size", choices=["default", "arabert-base"], default="default",
                        help="models: the given/default checkpoints, or random AraBERT-base-sized ones")
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs; the best is reported")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="libya_nlp's precision (the HF baselines run in fp32 and in the same dtype)")
    parser.add_argument("--tagger", default=None, help="tagger checkpoint (default: embedded)")
    parser.add_argument("--classifier", default=None, help="classifier checkpoint (default: embedded)")
    args = parser.parse_args(argv)
    print(run(args.tagger, args.classifier, device=args.device, sentences=args.sentences,
              batch_size=args.batch_size, size=args.size, repeats=args.repeats, precision=args.precision))
    return 0


if __name__ == "__main__":
    sys.exit(main())
