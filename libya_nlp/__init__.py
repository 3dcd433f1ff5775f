"""libya_nlp: who is named, who asks whom for what, and who stands with whom, in Arabic news about Libya.

>>> from libya_nlp import annotate
>>> sorted(annotate("طلب فائز السراج من الجزائر تنسيقا أمنيا.", device="cpu").to_dict())
['entities', 'model', 'sentences', 'text']

Heavy modules (torch, transformers) load on first use, so ``import libya_nlp`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "annotate": "libya_nlp.annotator",
    "annotate_batch": "libya_nlp.annotator",
    "Annotator": "libya_nlp.annotator",
    "Annotation": "libya_nlp.output",
    "Entity": "libya_nlp.output",
    "SentenceAnnotation": "libya_nlp.output",
    "CheckpointError": "libya_nlp.checkpoints",
    "LibyaClassifierConfig": "libya_nlp.classifier_config",
    "LibyaClassifierModel": "libya_nlp.classifier_model",
    "normalize": "libya_nlp.normalization",
    "tokenize": "libya_nlp.segmentation",
    "split_sentences": "libya_nlp.segmentation",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from libya_nlp.annotator import Annotator, annotate, annotate_batch
    from libya_nlp.checkpoints import CheckpointError
    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.classifier_model import LibyaClassifierModel
    from libya_nlp.normalization import normalize
    from libya_nlp.output import Annotation, Entity, SentenceAnnotation
    from libya_nlp.segmentation import split_sentences, tokenize


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'libya_nlp' has no attribute {name!r}")
