"""The registry of training tasks: a config's ``task:`` names one of them.

A task is a module with a ``train(config, root, resume)`` function and a one-line headline of
its metrics for the console; the registry also says what its config needs, how its checkpoints
are recognised, loaded and evaluated, and how its model card says to use it. ``train``,
``evaluate``, the config checks and the model cards ask here; a new task is one entry here and
its own module.

>>> sorted(TASKS)
['classifier', 'events', 'pretrain', 'tagger']
>>> TASKS["events"].resumable
False
>>> task_of_model_type("libya_sentence_classifier"), task_of_model_type("bert")
('classifier', 'tagger')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    """Where a task's training function lives and what its console headline reports."""

    name: str
    function: str  # "module:function"
    resumable: bool
    headline: Callable[[dict[str, Any]], dict[str, Any]]
    needs_model: bool = False  # its config sets exactly one of backbone / scratch
    needs_train_data: bool = False  # its config lists at least one data.train source
    loader: str | None = None  # "module:function" loading its checkpoint: (model, tokenizer, info)
    evaluator: str | None = None  # "module:function(args, device) -> (metrics, confusions)" for training.evaluate
    model_type: str | None = None  # config.json model_type of its checkpoints; None: any token classifier
    use_as: str = "annotate"  # the card's usage: "annotate" (annotate(text, NAME=DIR)) or "backbone"
    pipeline_tag: str = ""  # the Hugging Face card's pipeline_tag

    def train(self, config: Any, root: Any, resume: bool = False) -> dict[str, Any]:
        return _resolve(self.function)(config, root, resume=resume)

    def load(self, model_dir: Any) -> Any:
        """Its checkpoint at ``model_dir``, loaded as inference loads it."""
        if self.loader is None:
            raise ValueError(f"task {self.name!r} has no transformers checkpoint to load")
        return _resolve(self.loader)(model_dir)

    def evaluate(self, args: Any, device: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.evaluator is None:
            raise ValueError(f"training.evaluate does not score task {self.name!r}; see its own evaluation")
        return _resolve(self.evaluator)(args, device)


def _resolve(path: str) -> Callable[..., Any]:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def task_of_model_type(model_type: str | None) -> str:
    """The task whose checkpoints have this ``config.json`` model_type (a plain token classifier
    of any architecture is a tagger)."""
    for task in TASKS.values():
        if task.model_type is not None and task.model_type == model_type:
            return task.name
    return next(task.name for task in TASKS.values() if task.loader and task.model_type is None)


def _entities(scores: dict[str, Any]) -> dict[str, Any]:
    return {"entity_f1": scores["entities"]["f1"]}


def _classifier(scores: dict[str, Any]) -> dict[str, Any]:
    return {"request_micro_f1": scores["request_types"]["micro_f1"],
            "stance_macro_f1": {t: s["macro_f1"] for t, s in scores.get("stance", {}).items()}}


def _events(scores: dict[str, Any]) -> dict[str, Any]:
    return {"triple_f1": scores["gold_actors"]["f1"], "triple_f1_rules": scores["rules_gold_actors"]["f1"],
            "actor_accuracy": scores["actor_linking"]["accuracy"]}


def _as_is(scores: dict[str, Any]) -> dict[str, Any]:
    return scores


TASKS: dict[str, Task] = {
    task.name: task for task in (
        Task("tagger", "training.tagger_training:train_tagger", True, _entities, needs_model=True,
             needs_train_data=True, loader="libya_nlp.checkpoints:load_tagger",
             evaluator="training.evaluate:evaluate_tagger_files", pipeline_tag="token-classification"),
        Task("classifier", "training.classifier_training:train_classifier", True, _classifier, needs_model=True,
             needs_train_data=True, loader="libya_nlp.checkpoints:load_classifier",
             evaluator="training.evaluate:evaluate_classifier_files", model_type="libya_sentence_classifier",
             pipeline_tag="text-classification"),
        Task("pretrain", "training.pretrain:pretrain_task", False, _as_is, use_as="backbone", pipeline_tag="fill-mask"),
        Task("events", "training.event_training:train_events", False, _events, needs_train_data=True),
    )
}
