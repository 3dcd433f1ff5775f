"""The registry of training tasks: a config's ``task:`` names one of them.

A task is a module with a ``train(config, root, resume)`` function and a one-line headline of
its metrics for the console. A new task is one entry here and its own module.

>>> sorted(TASKS)
['classifier', 'events', 'pretrain', 'tagger']
>>> TASKS["events"].resumable
False
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

    def train(self, config: Any, root: Any, resume: bool = False) -> dict[str, Any]:
        module, _, function = self.function.partition(":")
        return getattr(importlib.import_module(module), function)(config, root, resume=resume)


def _entities(scores: dict[str, Any]) -> dict[str, Any]:
    return {"entity_f1": scores["entities"]["f1"]}


def _classifier(scores: dict[str, Any]) -> dict[str, Any]:
    return {"request_micro_f1": scores["request_types"]["micro_f1"],
            "stance_macro_f1": {t: s["macro_f1"] for t, s in scores["stance"].items()}}


def _events(scores: dict[str, Any]) -> dict[str, Any]:
    return {"triple_f1": scores["gold_actors"]["f1"], "triple_f1_rules": scores["rules_gold_actors"]["f1"],
            "actor_accuracy": scores["actor_linking"]["accuracy"]}


def _as_is(scores: dict[str, Any]) -> dict[str, Any]:
    return scores


TASKS: dict[str, Task] = {
    task.name: task for task in (
        Task("tagger", "training.tagger_training:train_tagger", True, _entities),
        Task("classifier", "training.classifier_training:train_classifier", True, _classifier),
        Task("pretrain", "training.pretrain:pretrain_task", False, _as_is),
        Task("events", "training.event_training:train_events", False, _events),
    )
}
