"""``annotate`` and ``annotate_batch``: entities with actor ids, request types, stance and events.

An :class:`Annotator` loads the tagger and the classifier once and runs the stages of
:mod:`libya_nlp.stages` in order. Texts are split into sentences; the sentences of many
documents are pooled and tokenised (in a worker thread, while the models run on the previous
chunk, where that does not take the models' cores), and each model runs on full,
length-sorted batches.

>>> from libya_nlp import annotate
>>> text = "طلب فائز السراج من الجزائر تنسيقا أمنيا."
>>> all(text[e.start:e.end] == e.text for e in annotate(text, device="cpu").entities)
True
"""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from libya_nlp.actors import ActorRegistry
from libya_nlp.checkpoints import load_for_inference
from libya_nlp.classifier import SentenceClassifier
from libya_nlp.event_model import load_event_finder
from libya_nlp.labels import DEFAULT_STANCE_TARGET, GNA_TARGET, HAFTAR_TARGET
from libya_nlp.output import Annotation, Entity, SentenceAnnotation
from libya_nlp.precision import prepare_model, resolve_device, resolve_dtype
from libya_nlp.segmentation import iter_sentences, split_sentences, tokenize
from libya_nlp.stages import Chunk, SentenceResult, Stage, default_stages, entities_in, is_coded
from libya_nlp.tagger import EntityTagger

ModelSource = str | os.PathLike[str] | None


class Annotator:
    """Loads the tagger and the classifier once and annotates texts with them.

    Args:
        tagger: a token-classification checkpoint (directory or hub name); ``None`` for the
            embedded default.
        classifier: a :class:`~libya_nlp.classifier_model.LibyaClassifierModel` checkpoint; ``None``
            for the embedded default.
        events: the events model (requester and addressee of each request): ``None`` for the
            embedded default, ``"rules"`` for the rule baseline, or a directory with ``events.json``.
        actors: an actor registry YAML of the shape of ``libya_nlp/resources/actors.yaml`` (your
            own copy with more ids or aliases); ``None`` for the shipped one.
        device: "cpu", "cuda", "cuda:1", or ``None`` for CUDA when available.
        stance_target: the actor stance is read toward, unless a call names another: Arabic
            text, or a registry id (``"LBY-LNA"``), read as the name the classifier was trained
            with (``خليفة حفتر``) or the registry's Arabic name.
        precision: "auto" (bf16 on CUDA and on CPUs with native bf16, else fp32), "fp32", "bf16",
            or "int8" (CPU: linear layers quantised dynamically).
        skip_non_arabic: give sentences without a single Arabic letter (English captions and
            credits, page furniture) no entities, no request types and stance ``none``.
            Sentences without any letter (punctuation, numbers) get that treatment always.
        gate_stance: a stance toward a target the sentence does not name (by the registry's names
            for it, its leaders and bodies) becomes ``none``, the model's reading kept as
            ``stance_model`` (:mod:`libya_nlp.stance_gate`); ``False`` keeps every model stance.
        runtime: "auto" runs local BERT checkpoints (the defaults, the library's own training
            output) on the torch-only modules of :mod:`libya_nlp.lite_models`, which start seconds
            faster, and anything else with transformers; "lite" or "transformers" forces one
            (:func:`~libya_nlp.checkpoints.load_for_inference`).

    >>> annotator = Annotator(device="cpu")  # the embedded defaults; or tagger=DIR, classifier=DIR
    >>> [len(a.sentences) for a in annotator.annotate_batch(["قال السراج. وأضاف.", "عنوان"], batch_size=64)]
    [2, 1]
    """

    def __init__(
        self,
        tagger: ModelSource = None,
        classifier: ModelSource = None,
        *,
        events: ModelSource = None,
        actors: ModelSource = None,
        device: str | torch.device | None = None,
        stance_target: str = DEFAULT_STANCE_TARGET,
        precision: str = "auto",
        skip_non_arabic: bool = False,
        gate_stance: bool = True,
        runtime: str = "auto",
    ) -> None:
        self.skip_non_arabic = skip_non_arabic
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(self.device, precision)
        self.registry = ActorRegistry.load(actors)
        self.stance_target = self._target(stance_target)
        tagger_model, tagger_tokenizer, self.tagger_name = load_for_inference("tagger", tagger, runtime)
        classifier_model, classifier_tokenizer, self.classifier_name = load_for_inference(
            "classifier", classifier, runtime)
        self.tagger = EntityTagger(prepare_model(tagger_model, self.device, precision), tagger_tokenizer)
        self.classifier = SentenceClassifier(prepare_model(classifier_model, self.device, precision),
                                             classifier_tokenizer)
        self.event_finder = load_event_finder(events, self.registry)
        self.stages: list[Stage] = default_stages(self.tagger, self.classifier, self.registry, self.event_finder,
                                                   gate_stance=gate_stance)

    def annotate(self, text: str, *, stance_target: str | None = None) -> Annotation:
        """Annotate one text.

        >>> annotator = Annotator(device="cpu")
        >>> annotator.annotate("رحب الاتحاد الأوروبي بحكومة الوفاق.").sentences[0].stance.label in ("favor", "against", "none")
        True
        """
        _check_text(text)
        return self.annotate_batch([text], stance_target=stance_target)[0]

    def annotate_batch(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        stance_target: str | None = None,
    ) -> list[Annotation]:
        """Annotate many texts; the result has one :class:`Annotation` per text, in order.

        >>> annotator = Annotator(device="cpu")
        >>> len(annotator.annotate_batch(["نص أول.", "نص ثان."], show_progress_bar=False))
        2
        """
        if isinstance(texts, str) or not isinstance(texts, Iterable):
            raise TypeError("annotate_batch() takes a list of str; use annotate() for a single text")
        texts = list(texts)
        for index, text in enumerate(texts):
            _check_text(text, index)
        with tqdm(total=len(texts), unit="doc", disable=not show_progress_bar) as progress:
            results: list[Annotation] = []
            for annotations in self.iter_annotate(texts, batch_size=batch_size, stance_target=stance_target):
                results.extend(annotations)
                progress.update(len(annotations))
        return results

    def iter_annotate(
        self, texts: Iterable[str], *, batch_size: int = 32, stance_target: str | None = None,
        on_sentences: Callable[[int], None] | None = None,
    ) -> Iterator[list[Annotation]]:
        """Annotate a stream of texts, yielding the annotations of the documents each chunk finishes,
        in input order.

        Memory stays bounded by the batch, not by the documents: a chunk holds about
        ``16 * batch_size`` sentences, pooled across short documents or cut out of a long one
        (whose sentences are found window by window), and at most one more chunk is prepared
        ahead. A long document's annotation comes out with the chunk that finishes it;
        ``on_sentences(n)`` is called after every chunk with the number of sentences it annotated
        (progress inside long documents).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        target = self.stance_target if stance_target is None else self._target(stance_target)
        target_words = [token.text for token in tokenize(target)]
        documents: deque[_Document] = deque()
        with (ThreadPoolExecutor(max_workers=1) if self._overlap_preparation() else _InlineExecutor()) as worker:
            pending = None
            for items in _sentence_chunks(texts, documents, self.skip_non_arabic, budget=16 * batch_size):
                ready = pending
                pending = worker.submit(self._prepare, items, target, target_words)
                if ready is not None:
                    self._run(ready.result(), batch_size, on_sentences)
                    finished = self._finished(documents)
                    if finished:
                        yield finished
            if pending is not None:
                self._run(pending.result(), batch_size, on_sentences)
            finished = self._finished(documents)
            if finished:
                yield finished

    def add_stage(self, stage: Stage) -> None:
        """Run ``stage`` after the others (see :mod:`libya_nlp.stages`); its ``result.extra``
        fields appear in each sentence of the output.

        >>> class Words:
        ...     name = "words"
        ...     def prepare(self, chunk): return None
        ...     def run(self, chunk, prepared, batch_size):
        ...         for _, result in chunk.sentences(): result.extra["word_count"] = len(result.words)
        >>> annotator = Annotator(device="cpu")
        >>> annotator.add_stage(Words())
        >>> annotator.annotate("طلب السراج دعما.").to_dict()["sentences"][0]["word_count"]
        4
        """
        if any(existing.name == stage.name for existing in self.stages):
            raise ValueError(f"a stage named {stage.name!r} is already in the pipeline")
        self.stages.append(stage)

    def annotate_dataset(self, dataset: Any, *, text_column: str = "text", batch_size: int = 32) -> Any:
        """A ``datasets.Dataset``/``IterableDataset`` with an ``annotation`` column (JSON strings);
        see :func:`libya_nlp.integrations.datasets.annotate_dataset`."""
        from libya_nlp.integrations.datasets import annotate_dataset

        return annotate_dataset(dataset, text_column=text_column, batch_size=batch_size, annotator=self)

    def _overlap_preparation(self) -> bool:
        """Prepare the next chunk in a thread when that does not take cores from the model:
        on CUDA, or on a CPU with more cores than torch's threads."""
        return self.device.type == "cuda" or (os.cpu_count() or 1) > torch.get_num_threads()

    def _target(self, target: Any) -> str:
        return self.registry.target_text(_check_target(target), known=(GNA_TARGET, HAFTAR_TARGET))

    def _prepare(self, items: list[tuple[str, SentenceResult]], target: str, target_words: list[str]) -> Chunk:
        chunk = Chunk(items, target, target_words)
        chunk.prepared = {stage.name: stage.prepare(chunk) for stage in self.stages}
        return chunk

    def _run(self, chunk: Chunk, batch_size: int, on_sentences: Callable[[int], None] | None = None) -> None:
        for stage in self.stages:
            stage.run(chunk, chunk.prepared.pop(stage.name), batch_size)
        for _, result in chunk.items:
            result.owner.remaining -= 1
        if on_sentences is not None:
            on_sentences(len(chunk.items))

    def _finished(self, documents: deque[_Document]) -> list[Annotation]:
        """Pop the leading documents whose every sentence has been through all stages."""
        model = {"tagger": self.tagger_name, "classifier": self.classifier_name,
                 "events": getattr(self.event_finder, "source", self.event_finder.name)}
        out = []
        while documents and documents[0].split and not documents[0].remaining:
            doc = documents.popleft()
            out.append(Annotation(text=doc.text, entities=[e for r in doc.results for e in r.entities],
                                  sentences=[SentenceAnnotation(start=r.sentence.start, end=r.sentence.end,
                                                                text=r.sentence.text, request_types=r.request_types,
                                                                stance=r.stance, events=r.events, extra=r.extra)
                                             for r in doc.results],
                                  model=model))
        return out


@dataclass
class _Document:
    text: str
    results: list[SentenceResult] = field(default_factory=list)
    split: bool = False  # every sentence of the text has been found
    remaining: int = 0  # sentences found but not yet through every stage


def _sentence_chunks(texts: Iterable[str], documents: deque[_Document], skip_non_arabic: bool,
                     budget: int) -> Iterator[list[tuple[str, SentenceResult]]]:
    """Groups of about ``budget`` sentences across and within documents; each document read is
    appended to ``documents`` (in order) as its sentences are found."""
    items: list[tuple[str, SentenceResult]] = []
    for text in texts:
        doc = _Document(text)
        documents.append(doc)
        for sentence in iter_sentences(text):
            result = SentenceResult(sentence, is_coded(sentence.text, skip_non_arabic), owner=doc)
            doc.results.append(result)
            doc.remaining += 1
            items.append((text, result))
            if len(items) >= budget:
                yield items
                items = []
        doc.split = True
    if items:
        yield items


def find_entities(tagger: EntityTagger, texts: Sequence[str], *, batch_size: int = 32) -> list[list[Entity]]:
    """Entities only, through the same sentence split and tagger as :meth:`Annotator.annotate_batch`.

    >>> texts = ["طلب فائز السراج دعما.", "وصل الوفد إلى طرابلس."]
    >>> [all(t[e.start:e.end] == e.text for e in found) for t, found in
    ...  zip(texts, find_entities(Annotator(device="cpu").tagger, texts))]
    [True, True]
    """
    docs = [split_sentences(text) for text in texts]
    spans = iter(tagger.tag([[t.text for t in s.tokens] for doc in docs for s in doc], batch_size=batch_size))
    return [[entity for sentence in doc for entity in entities_in(text, sentence, next(spans))]
            for text, doc in zip(texts, docs)]


def annotate(
    text: str,
    *,
    tagger: ModelSource = None,
    classifier: ModelSource = None,
    events: ModelSource = None,
    stance_target: str = DEFAULT_STANCE_TARGET,
    device: str | torch.device | None = None,
    precision: str = "auto",
    skip_non_arabic: bool = False,
) -> Annotation:
    """Annotate one Arabic text: entities, and each sentence's request types and stance.

    Models load once and are reused by later calls with the same arguments. The keywords are
    those of :class:`Annotator`.

    >>> from libya_nlp import annotate
    >>> result = annotate("طلب رئيس المجلس الرئاسي فائز السراج من الجزائر تنسيقا أمنيا.", device="cpu")
    >>> {e.label for e in result.entities} <= {"PER", "ORG", "LOC", "MISC"}
    True
    """
    _check_text(text)
    annotator = _cached_annotator(tagger, classifier, device, precision, skip_non_arabic, events)
    return annotator.annotate(text, stance_target=stance_target)


def annotate_batch(
    texts: Sequence[str],
    *,
    tagger: ModelSource = None,
    classifier: ModelSource = None,
    events: ModelSource = None,
    stance_target: str = DEFAULT_STANCE_TARGET,
    device: str | torch.device | None = None,
    batch_size: int = 32,
    show_progress_bar: bool = False,
    precision: str = "auto",
    skip_non_arabic: bool = False,
) -> list[Annotation]:
    """Annotate many texts at once (pooled, batched); what :func:`annotate` gives on each (bit for bit in fp32).

    >>> from libya_nlp import annotate_batch
    >>> [len(a.sentences) for a in annotate_batch(["جملة. وجملة.", "عنوان"], device="cpu")]
    [2, 1]
    """
    annotator = _cached_annotator(tagger, classifier, device, precision, skip_non_arabic, events)
    return annotator.annotate_batch(texts, batch_size=batch_size, show_progress_bar=show_progress_bar,
                                    stance_target=stance_target)


def _cached_annotator(tagger: ModelSource, classifier: ModelSource, device: str | torch.device | None,
                      precision: str = "auto", skip_non_arabic: bool = False, events: ModelSource = None) -> Annotator:
    key = (
        None if tagger is None else os.fspath(tagger),
        None if classifier is None else os.fspath(classifier),
        None if device is None else str(device),
        precision,
        skip_non_arabic,
        None if events is None else os.fspath(events),
    )
    return _load_annotator(*key)


@functools.lru_cache(maxsize=4)
def _load_annotator(tagger: str | None, classifier: str | None, device: str | None, precision: str,
                    skip_non_arabic: bool, events: str | None) -> Annotator:
    return Annotator(tagger=tagger, classifier=classifier, events=events, device=device, precision=precision,
                     skip_non_arabic=skip_non_arabic)


class _InlineExecutor:
    """Runs submitted work at once, with the interface of a ThreadPoolExecutor."""

    def __enter__(self) -> _InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, function: Any, *args: Any) -> Future:
        future: Future = Future()
        future.set_result(function(*args))
        return future


def _check_text(text: Any, index: int | None = None) -> None:
    if not isinstance(text, str):
        where = "" if index is None else f" (item {index})"
        raise TypeError(f"expected a str to annotate{where}, got {type(text).__name__}")


def _check_target(target: Any) -> str:
    if not isinstance(target, str) or not target.strip():
        raise TypeError(f"stance_target must be a non-empty str, got {target!r}")
    return target
