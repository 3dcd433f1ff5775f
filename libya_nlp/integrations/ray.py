"""Annotate across machines with Ray Data (extra ``[ray]``: ``pip install 'libya-nlp[ray]'``).

Two ways in:

* :class:`AnnotateBatch`, a callable class for ``ray.data.Dataset.map_batches``: each Ray
  worker loads one :class:`~libya_nlp.annotator.Annotator` and adds an ``annotation`` column
  (the JSON of ``Annotation.to_dict()``, as in :mod:`libya_nlp.integrations.datasets`) to every
  batch, keeping the other columns. :func:`annotate_ray` wraps the call for a dataset you
  already have (``ray.data.read_parquet("s3://...")``).
* :func:`annotate_files`, behind ``libya-nlp annotate --engine ray IN... -o OUT_DIR``: the inputs
  of ``annotate`` (.txt, .jsonl, .jsonl.gz, .parquet) are read by Ray tasks with the same reader
  as the single-process path (a malformed line becomes an error row naming its file and line),
  annotated by ``--workers`` actors and written as Parquet or JSONL files into ``OUT_DIR``.

Every output row carries ``id``, ``file``, ``line``, ``error`` and ``annotation``. Rows come out
in no particular order: sort by ``file`` and ``line`` for input order. With ``resume=True``
(``--resume``) the ids (and ``file:line`` of error rows without an id) already in ``OUT_DIR`` are
skipped, so a run killed anywhere, workers or driver, is finished by running it again; a
file left half-written by the kill is removed first and its rows are redone. The folder holds a
``_libya_nlp_run.json`` that marks it as this engine's; a non-empty folder without it is refused.

    import ray, ray.data
    from libya_nlp.integrations.ray import annotate_ray
    ray.init(address="auto")
    annotate_ray(ray.data.read_parquet("archive/"), workers=8, gpus_per_worker=1).write_parquet("out/")
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from libya_nlp.archive import BadRecord, drop_torn_tail, line_key, read_documents, read_file

ANNOTATION_COLUMN = "annotation"
OUTPUT_COLUMNS = ("id", "file", "line", "error", ANNOTATION_COLUMN)
OUTPUT_FORMATS = ("parquet", "jsonl")
_ROWS_PER_BLOCK = 1024
_INPUT_SCHEMA = pa.schema([("id", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                          ("text", pa.string()), ("error", pa.string())])


class AnnotateBatch:
    """One Annotator per Ray worker; ``__call__`` annotates a batch of rows.

    Rows whose ``error`` column (when the batch has one) is set are passed through with no
    annotation; every other row needs a ``str`` in ``text_column``.

    >>> annotate = AnnotateBatch(device="cpu")
    >>> out = annotate({"id": ["a"], "text": ["طلب السراج دعما."]})
    >>> json.loads(out["annotation"][0])["sentences"][0]["text"]
    'طلب السراج دعما.'
    """

    def __init__(self, *, text_column: str = "text", batch_size: int = 32, threads: int | None = None,
                 drop_columns: tuple[str, ...] = (), **annotator_options: Any) -> None:
        import torch

        from libya_nlp.annotator import Annotator

        if threads is not None:
            torch.set_num_threads(threads)  # the worker's share of the node's cores, not all of them
        self.text_column = text_column
        self.batch_size = batch_size
        self.drop_columns = drop_columns
        self.annotator = Annotator(**annotator_options)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.text_column not in batch:
            raise KeyError(f"the dataset has no column {self.text_column!r} (it has {sorted(batch)}); "
                           "pass text_column=")
        texts = list(batch[self.text_column])
        errors = list(batch["error"]) if "error" in batch else [None] * len(texts)
        todo = [index for index, error in enumerate(errors) if error is None]
        for index in todo:
            if not isinstance(texts[index], str):
                raise TypeError(f"column {self.text_column!r} holds a {type(texts[index]).__name__} in this "
                                f"batch (row {index} of it); every row needs a str")
        results = self.annotator.annotate_batch([texts[i] for i in todo], batch_size=self.batch_size)
        annotations: list[str | None] = [None] * len(texts)
        for index, result in zip(todo, results):
            annotations[index] = json.dumps(result.to_dict(), ensure_ascii=False)
        kept = {name: values for name, values in batch.items() if name not in self.drop_columns}
        return {**kept, ANNOTATION_COLUMN: annotations}


def annotate_ray(dataset: Any, *, text_column: str = "text", workers: int = 1, gpus_per_worker: float = 0,
                 cpus_per_worker: float = 1, batch_size: int = 32, drop_columns: tuple[str, ...] = (),
                 **annotator_options: Any) -> Any:
    """``dataset`` (a ``ray.data.Dataset``) with an ``annotation`` column, computed by ``workers``
    Ray actors that each hold an Annotator (on a GPU each when ``gpus_per_worker`` is 1).

    Nothing runs until the result is consumed (``write_parquet``, ``iter_rows`` ...).
    """
    if ANNOTATION_COLUMN in (dataset.columns() or []):
        raise ValueError(f"the dataset already has an {ANNOTATION_COLUMN!r} column; remove or rename it first")
    if gpus_per_worker:
        annotator_options.setdefault("device", "cuda")
    else:
        annotator_options.setdefault("device", "cpu")
    return dataset.map_batches(
        AnnotateBatch,
        fn_constructor_kwargs={"text_column": text_column, "batch_size": batch_size,
                               "threads": max(1, int(cpus_per_worker)), "drop_columns": drop_columns,
                               **annotator_options},
        batch_size=16 * batch_size, concurrency=workers, num_cpus=cpus_per_worker, num_gpus=gpus_per_worker,
        batch_format="default")


def annotate_files(paths: list[Path], out_dir: Path, *, resume: bool = False, output_format: str = "parquet",
                   max_doc_chars: int | None = None, workers: int = 1, gpus_per_worker: float = 0,
                   cpus_per_worker: float = 1, batch_size: int = 32, **annotator_options: Any) -> dict[str, int]:
    """Annotate the documents of ``paths`` into files in ``out_dir``; ``ray.init`` must have run.

    Returns counts: ``written`` (rows this run), ``skipped`` (already in ``out_dir``), ``errors``
    (error rows this run). Input ids must be unique: a repeated id becomes an error row (the
    first occurrence, in input order, is annotated), as in the single-process path.
    """
    import ray.data

    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output format {output_format!r}: choose one of {', '.join(OUTPUT_FORMATS)}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"-o {out_dir} is a file: the Ray engine writes a folder of {output_format} files")
    done = _check_folder(out_dir, output_format, resume)
    paths = [p.resolve() for p in paths]  # read tasks run in other working directories, on other nodes
    duplicates = _duplicate_lines(paths)
    source = _DocumentSource([str(p) for p in paths], done, duplicates, max_doc_chars)
    # reading and writing are light next to the models: they take no CPU slot, so that `workers`
    # Annotators on as many cores never starve them (which deadlocks a full cluster)
    dataset = ray.data.read_datasource(source, ray_remote_args={"num_cpus": 0})
    annotated = annotate_ray(dataset, workers=workers, gpus_per_worker=gpus_per_worker,
                             cpus_per_worker=cpus_per_worker, batch_size=batch_size, drop_columns=("text",),
                             **annotator_options)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).write_text(json.dumps({"format": output_format}) + "\n", encoding="utf-8")
    if output_format == "parquet":
        annotated.write_parquet(str(out_dir), ray_remote_args={"num_cpus": 0})
    else:
        annotated.write_json(str(out_dir), ray_remote_args={"num_cpus": 0}, force_ascii=False)
    written = errors = 0
    for row in _iter_output_rows(out_dir, columns=("id", "file", "line", "error")):
        errors += row["error"] is not None  # all of them, as the single-process path reports them on resume
        written += _row_key(row) not in done
    return {"written": written, "skipped": len(done), "errors": errors}


MANIFEST = "_libya_nlp_run.json"


def _check_folder(out_dir: Path, output_format: str, resume: bool) -> set[str]:
    """What a run may do with ``out_dir``: start in an empty (or new) folder, or, with ``resume``,
    continue a folder this engine wrote in the same format; returns the keys already there."""
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return set()
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        raise ValueError(f"{out_dir} is not empty and is not a folder `annotate --engine ray` wrote: "
                         "choose an empty folder for the output")
    if not resume:
        raise ValueError(f"{out_dir} holds the output of an earlier run: add --resume to continue it, "
                         "or choose an empty folder")
    recorded = json.loads(manifest.read_text(encoding="utf-8")).get("format")
    if recorded != output_format:
        raise ValueError(f"{out_dir} holds {recorded} files: resume with --output-format {recorded}")
    return completed_keys(out_dir)


def output_files(out_dir: Path) -> list[Path]:
    """The data files a run wrote into ``out_dir`` (Parquet or JSON lines), in name order."""
    if not out_dir.is_dir():
        return []
    return sorted(p for p in out_dir.iterdir()
                  if p.is_file() and p.suffix in (".parquet", ".json", ".jsonl") and p.name != MANIFEST)


def completed_keys(out_dir: Path) -> set[str]:
    """Keys of the rows already in ``out_dir``. A Parquet file a kill left without its footer is
    removed and a JSON-lines file's torn last line is cut (each with a warning): their rows are redone.
    A readable file without the engine's columns is refused, never removed."""
    keys: set[str] = set()
    for path in output_files(out_dir):
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            try:
                names = pq.read_schema(path).names
            except Exception as error:  # noqa: BLE001 - pyarrow raises several kinds for a torn file
                print(f"libya-nlp: {path}: not a complete Parquet file ({error}); removed, its rows are redone",
                      file=sys.stderr)
                path.unlink()
                continue
            _check_columns(path, names)
        else:
            drop_torn_tail(path)
        keys.update(_row_key(row) for row in _file_rows(path, ("id", "file", "line", "error")))
    return keys


def _check_columns(path: Path, names: list[str]) -> None:
    missing = [name for name in OUTPUT_COLUMNS if name not in names]
    if missing:
        raise ValueError(f"{path} has no column {', '.join(missing)}: it is not this engine's output; "
                         "move it out of the output folder")


def _row_key(row: dict[str, Any]) -> str:
    """An output row's identity for ``--resume``: the document id of an annotated row, else (an
    error row) ``file:line``, as the reader computes it for the same input line."""
    if row.get("error") is None and row.get("id") is not None:
        return str(row["id"])
    return line_key(row["file"], row["line"])


def _file_rows(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    if path.suffix == ".parquet":
        yield from _parquet_rows(path, columns)
        return
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict) or any(name not in record for name in columns):
                raise ValueError(f"{path}:{number}: not a row of this engine's output; move the file out of "
                                 "the output folder")
            yield {name: record[name] for name in columns}


def _iter_output_rows(out_dir: Path, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for path in output_files(out_dir):
        yield from _file_rows(path, columns)


def _parquet_rows(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    yield from pq.read_table(path, columns=list(columns)).to_pylist()


def _duplicate_lines(paths: list[Path]) -> dict[str, str]:
    """``file:line`` keys of the rows whose id an earlier row already has, with the message of
    their error row; read in the driver, in input order (ids only are kept)."""
    return {item.key: item.error for item in read_documents(paths)
            if isinstance(item, BadRecord) and item.error.startswith("duplicate id")}


def _document_rows(path: str, done: set[str], duplicates: dict[str, str],
                   max_doc_chars: int | None) -> Iterator[dict[str, Any]]:
    """The rows of one input file that are not done yet: a document, or an error naming its line."""
    for number, item in read_file(Path(path)):
        if isinstance(item, BadRecord):
            row = {"id": item.id, "file": path, "line": number, "text": None, "error": item.error}
        elif line_key(path, number) in duplicates:
            row = {"id": None, "file": path, "line": number, "text": None,
                   "error": duplicates[line_key(path, number)]}
        elif max_doc_chars and len(item.text) > max_doc_chars:
            row = {"id": item.id, "file": path, "line": number, "text": None,
                   "error": (f"document has {len(item.text):,} characters, over --max-doc-chars "
                             f"{max_doc_chars:,}: split it, or raise the limit")}
        else:
            row = {"id": item.id, "file": path, "line": number, "text": item.text, "error": None}
        if _row_key(row) not in done:
            yield row


class _DocumentSource(Datasource):
    """The inputs of ``annotate`` as a Ray datasource: one read task per file, rows in blocks of 1,024."""

    def __init__(self, paths: list[str], done: set[str], duplicates: dict[str, str],
                 max_doc_chars: int | None) -> None:
        self.paths, self.done, self.duplicates, self.max_doc_chars = paths, done, duplicates, max_doc_chars

    def estimate_inmemory_data_size(self) -> int | None:
        return sum(Path(p).stat().st_size for p in self.paths)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        tasks = []
        for path in self.paths:
            def read(path: str = path) -> Iterator[Any]:
                rows: list[dict[str, Any]] = []
                for row in _document_rows(path, self.done, self.duplicates, self.max_doc_chars):
                    rows.append(row)
                    if len(rows) == _ROWS_PER_BLOCK:
                        yield pa.Table.from_pylist(rows, schema=_INPUT_SCHEMA)
                        rows = []
                if rows:
                    yield pa.Table.from_pylist(rows, schema=_INPUT_SCHEMA)

            metadata = BlockMetadata(num_rows=None, size_bytes=Path(path).stat().st_size, exec_stats=None,
                                     input_files=(path,))
            tasks.append(ReadTask(read, metadata, schema=_INPUT_SCHEMA))
        return tasks
