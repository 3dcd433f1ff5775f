"""Train a checkpoint from a YAML config: ``python -m training.train CONFIG.yaml [--set key=value ...]``.

The config's ``task`` picks what is trained: ``tagger``, ``classifier`` or ``pretrain``.
Relative data paths resolve from the current directory (run from the repository root).
Several GPUs: ``accelerate launch -m training.train CONFIG.yaml``.

Examples:
    python -m training.train configs/tagger_smoke.yaml --set output_dir=/tmp/t
    python -m training.train configs/tagger_arabert.yaml --set training.epochs=2 --set seed=7
    python -m training.train configs/tagger_mini.yaml --resume   # after a kill
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.config import ConfigError, load_config
from training.conll import DataError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path, help="YAML config (see configs/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, dotted for sections (training.epochs=2); repeatable")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in OUTPUT_DIR/checkpoints (after a kill)")
    parser.add_argument("--overwrite", action="store_true",
                        help="train into a non-empty OUTPUT_DIR, replacing the checkpoint there")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
        root = Path.cwd()
        output = Path(config.output_dir)
        if output.is_dir() and any(output.iterdir()) and not (args.resume or args.overwrite):
            raise ConfigError(f"output_dir {output} is not empty: pass --resume to continue its run, --overwrite "
                              "to replace it, or --set output_dir=NEW_DIR")
        if config.task == "tagger":
            from training.tagger_training import train_tagger

            metrics = train_tagger(config, root, resume=args.resume)
        elif config.task == "classifier":
            from training.classifier_training import train_classifier

            metrics = train_classifier(config, root, resume=args.resume)
        else:
            if args.resume:
                raise ConfigError(f"{args.config}: --resume is for tagger and classifier runs; pretraining "
                                  "saves every `save_every_minutes` and restarts from its config")
            from training.pretrain import pretrain

            metrics = pretrain(config, root)
    except (ConfigError, DataError) as error:
        print(f"training.train: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"output_dir": config.output_dir, "evaluation": _headline(metrics)}, ensure_ascii=False))
    return 0


def _headline(metrics: dict) -> dict:
    out = {}
    for split, scores in metrics.get("evaluation", {}).items():
        if "entities" in scores:
            out[split] = {"entity_f1": scores["entities"]["f1"]}
        elif "request_types" in scores:
            out[split] = {"request_micro_f1": scores["request_types"]["micro_f1"],
                          "stance_macro_f1": {t: s["macro_f1"] for t, s in scores["stance"].items()}}
        else:
            out[split] = scores
    return out


if __name__ == "__main__":
    sys.exit(main())
