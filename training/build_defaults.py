"""Rebuild the embedded default models: ``python -m training.build_defaults``.

Steps: pretrain the mini backbone (``configs/pretrain_mini.yaml``), fine-tune the tagger and the
classifier (``configs/tagger_mini.yaml``, ``configs/classifier_mini.yaml``), score the tagger on
the ANERcorp test split through the public ``annotate()`` path and record it in its card, then copy
both checkpoints into ``libya_nlp/models/default/``. Selection uses dev sets only.

On one GPU the configs as written take about half an hour. On a CPU, shrink pretraining:
    python -m training.build_defaults --pretrain-set training.batch_size=64 \\
        --pretrain-set training.max_steps=6000 --pretrain-set pretrain.max_minutes=150 \\
        --pretrain-set pretrain.cpu_bf16=true
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from libya_nlp.checkpoints import default_model_dir
from training.config import load_config
from training.evaluate import main as evaluate_main
from training.train import main as train_main

_ANERCORP_TEST = "../shared/data/anercorp_camel/ANERCorp_CamelLab_test.txt"
_SHIPPED = ("config.json", "model.safetensors", "model.safetensors.index.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "README.md", "metrics.json",
            "training_config.yaml")
MAX_TOTAL_BYTES = 60_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.build_defaults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-pretrain", action="store_true", help="reuse the backbone already in runs/")
    parser.add_argument("--pretrain-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--tagger-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--classifier-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--anercorp-test", default=_ANERCORP_TEST, help="reported, never used for selection")
    parser.add_argument("--no-install", action="store_true", help="leave libya_nlp/models/default alone")
    args = parser.parse_args(argv)

    def sets(values: list[str]) -> list[str]:
        return [item for value in values for item in ("--set", value)]

    if not args.skip_pretrain and train_main(["configs/pretrain_mini.yaml", *sets(args.pretrain_set)]):
        return 1
    for kind, overrides in (("tagger", args.tagger_set), ("classifier", args.classifier_set)):
        if train_main([f"configs/{kind}_mini.yaml", *sets(overrides)]):
            return 1
    tagger_dir = Path(load_config("configs/tagger_mini.yaml", args.tagger_set).output_dir)
    classifier_dir = Path(load_config("configs/classifier_mini.yaml", args.classifier_set).output_dir)
    if Path(args.anercorp_test).is_file():
        code = evaluate_main([str(tagger_dir), "--data", args.anercorp_test, "--out", str(tagger_dir / "eval"),
                              "--record-as", "anercorp_test"])
        if code:
            return code
    else:
        print(f"build_defaults: {args.anercorp_test} not found; the tagger card has no ANERcorp test score",
              file=sys.stderr)
    if not args.no_install:
        install(tagger_dir, classifier_dir)
    return 0


def install(tagger_dir: Path, classifier_dir: Path) -> None:
    """Copy the shipped files of both checkpoints into the package, checking the size budget."""
    total = 0
    for kind, source in (("tagger", tagger_dir), ("classifier", classifier_dir)):
        target = default_model_dir(kind)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if path.name in _SHIPPED or (path.name.startswith("model-") and path.suffix == ".safetensors"):
                shutil.copy2(path, target / path.name)
                total += path.stat().st_size
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"the default models take {total / 1e6:.1f} MB, over the {MAX_TOTAL_BYTES / 1e6:.0f} MB budget")
    print(f"installed the default models ({total / 1e6:.1f} MB) into {default_model_dir('tagger').parent}")


if __name__ == "__main__":
    sys.exit(main())
