"""Train a checkpoint from a YAML config: ``python -m training.train CONFIG.yaml [--set key=value ...]``.

The config's ``task`` picks what is trained: one of :data:`training.tasks.TASKS` (``tagger``,
``classifier``, ``events``, ``pretrain``).
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
from training.errors import DataError
from training.tasks import TASKS


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
        task = TASKS[config.task]
        if args.resume and not task.resumable:
            raise ConfigError(f"{args.config}: --resume is not supported for task {config.task!r}; run it again")
        if config.soup_seeds:
            from training.soup import train_soup

            metrics = train_soup(config, root, resume=args.resume)
        else:
            metrics = task.train(config, root, resume=args.resume)
    except (ConfigError, DataError) as error:
        print(f"training.train: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"output_dir": config.output_dir, "evaluation": _headline(metrics)}, ensure_ascii=False))
    return 0


def _headline(metrics: dict) -> dict:
    headline = TASKS.get(metrics.get("task", ""), TASKS["pretrain"]).headline
    return {split: headline(scores) for split, scores in metrics.get("evaluation", {}).items()}


if __name__ == "__main__":
    sys.exit(main())
