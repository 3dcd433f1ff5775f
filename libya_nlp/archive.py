"""Batch jobs over archives: reading documents, writing JSON lines, resuming after a kill.

Inputs are ``.txt`` files (one document each, id = the file name) or ``.jsonl`` files with
``{"id", "text"}`` per line, read lazily. A malformed line becomes an error record that names
its file and line. Output lines are written and flushed as chunks finish; ``--resume`` reads
what an earlier run wrote, drops a half-written last line, and skips what is done.

>>> record = Document("a.txt", "نص")
>>> record.id
'a.txt'
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Document:
    """A document to annotate."""

    id: str
    text: str


@dataclass(frozen=True)
class BadRecord:
    """An input line that cannot be annotated, with where it is and why."""

    file: str
    line: int
    error: str
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id} if self.id is not None else {}
        record.update({"file": self.file, "line": self.line, "error": self.error})
        return record

    @property
    def key(self) -> str:
        return line_key(self.file, self.line)


def check_inputs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Check that every input exists and is ``.txt`` or ``.jsonl``; raise ``ValueError`` naming the first bad one."""
    checked = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise ValueError(f"input {path} does not exist or is not a file")
        if path.suffix not in (".txt", ".jsonl", ".parquet") and not path.name.endswith(".jsonl.gz"):
            raise ValueError(f"input {path}: expected a .txt file (one document), .jsonl / .jsonl.gz "
                             "(one {id, text} a line) or .parquet (columns id and text)")
        if path.suffix == ".parquet":
            _check_parquet(path)
        checked.append(path)
    return checked


def read_documents(paths: Iterable[Path]) -> Iterator[Document | BadRecord]:
    """Yield documents and bad records from ``.txt`` and ``.jsonl`` inputs, lazily, in order.

    A repeated id is a bad record: ids key the output and ``--resume``.
    """
    seen: dict[str, str] = {}
    for path in paths:
        for number, item in read_file(path):
            if isinstance(item, Document):
                where = f"{path}:{number}" if number else str(path)
                if item.id in seen:
                    yield BadRecord(str(path), number, f"duplicate id {item.id!r} (first at {seen[item.id]})", item.id)
                    continue
                seen[item.id] = where
            yield item


def _check_parquet(path: Path) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"input {path}: reading Parquet needs pyarrow (pip install 'libya-nlp[datasets]')") from None
    names = pq.ParquetFile(path).schema_arrow.names
    missing = [name for name in ("id", "text") if name not in names]
    if missing:
        raise ValueError(f"input {path}: no column {', '.join(missing)} (it has {', '.join(names)}); "
                         "a Parquet input needs columns id and text")


def _read_parquet(path: Path) -> Iterator[tuple[int, Document | BadRecord]]:
    """(row number from 1, item) pairs, read a batch of rows at a time."""
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(columns=["id", "text"], batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            doc_id, text = row["id"], row["text"]
            if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or str(doc_id) == "":
                yield number, BadRecord(str(path), number, 'missing or invalid "id" (a non-empty string or integer)')
            elif not isinstance(text, str):
                yield number, BadRecord(str(path), number, f'"text" must be a string, got {type(text).__name__}',
                                        str(doc_id))
            else:
                yield number, Document(str(doc_id), text)


def read_file(path: Path) -> Iterator[tuple[int, Document | BadRecord]]:
    """(line number, item) pairs; a .txt file is one document at line 0; a Parquet row counts as a line."""
    if path.suffix == ".parquet":
        yield from _read_parquet(path)
        return
    if path.suffix == ".txt":
        try:
            # the file's own text: CRLF stays CRLF, so offsets index the file as it is on disk
            with open(path, encoding="utf-8", newline="") as handle:
                yield 0, Document(path.name, handle.read())
        except UnicodeDecodeError as error:
            yield 0, BadRecord(str(path), 0, f"not UTF-8 text: {error}", path.name)
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM (Windows editors write one)
                raw = raw[3:]
            if raw.strip():
                yield number, _parse_line(path, number, raw)


def _parse_line(path: Path, number: int, raw: bytes) -> Document | BadRecord:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return BadRecord(str(path), number, f"not UTF-8: {error}")
    except json.JSONDecodeError as error:
        return BadRecord(str(path), number, f"not valid JSON: {error.msg} at column {error.colno}")
    if not isinstance(record, dict):
        return BadRecord(str(path), number, 'expected a JSON object {"id": ..., "text": ...}')
    doc_id = record.get("id")
    if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool) or str(doc_id) == "":
        return BadRecord(str(path), number, 'missing or invalid "id" (a non-empty string or integer)')
    text = record.get("text")
    if not isinstance(text, str):
        return BadRecord(str(path), number, f'"text" must be a string, got {type(text).__name__}', str(doc_id))
    return Document(str(doc_id), text)


def completed_keys(output: Path, *, repair: bool = True) -> set[str]:
    """Ids (and ``file:line`` keys of error records) already in ``output``.

    With ``repair`` (the file is this process's own), a torn last line (a run killed mid-write)
    is cut off, and a line that is not UTF-8 JSON (bytes of two writers interleaved) is dropped
    from the file with a warning naming its line, so that its document is annotated again.
    Without ``repair`` (another process may be writing the file) both are skipped.
    """
    if not output.exists():
        return set()
    if repair:
        drop_torn_tail(output)
    done: set[str] = set()
    bad: list[int] = []
    with open(output, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n") and not repair:
                break
            try:
                done.add(record_key(json.loads(raw.decode("utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
                bad.append(number)
    if bad and repair:
        for number in bad:
            print(f"libya-nlp: {output}:{number}: not a complete JSON record; dropped, its document is redone",
                  file=sys.stderr)
        _drop_lines(output, set(bad))
    return done


def _drop_lines(output: Path, numbers: set[int]) -> None:
    temporary = output.with_name(output.name + ".repairing")
    with open(output, "rb") as source, open(temporary, "wb") as target:
        for number, raw in enumerate(source, start=1):
            if number not in numbers:
                target.write(raw)
    os.replace(temporary, output)


def record_key(record: dict[str, Any]) -> str:
    """What identifies an output line: the document id (also of a document refused as too long),
    or ``file:line`` for the error record of an input line that had no usable id."""
    return line_key(record["file"], record["line"]) if "error" in record and "file" in record else str(record["id"])


def line_key(file: str, line: int) -> str:
    """An error record's identity: the resolved path, however the command line spelled it."""
    return f"{Path(file).resolve()}:{line}"


def part_path(output: Path, rank: int, world: int) -> Path:
    """Where process ``rank`` of ``world`` writes its share of ``output``."""
    return output.with_name(f"{output.name}.part-{rank:05d}-of-{world:05d}")


def part_files(output: Path) -> list[Path]:
    """Part files of ``output`` left by this or an earlier multi-process run, in name order."""
    pattern = re.compile(re.escape(output.name) + r"\.part-\d{5}-of-\d{5}")
    return sorted(p for p in output.parent.glob(f"{output.name}.part-*-of-*") if pattern.fullmatch(p.name))


def manifest_path(output: Path) -> Path:
    """Where a multi-process run records its identity beside its part files."""
    return output.with_name(f"{output.name}.run.json")


def run_identity(inputs: list[Path], world: int) -> dict[str, Any]:
    """What makes part files belong to one run: the resolved inputs (with their sizes) and the world size."""
    return {"inputs": [{"path": str(p.resolve()), "bytes": p.stat().st_size} for p in inputs], "world": world}


def check_parts(output: Path, identity: dict[str, Any], resume: bool) -> None:
    """Refuse part files of another run (other inputs or process count), or any when not resuming.

    Raises ``ValueError`` with what to do; returns when there are none or they are this run's.
    """
    parts = part_files(output)
    if not parts:
        return
    manifest = manifest_path(output)
    recorded = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else None
    names = ", ".join(p.name for p in parts[:3]) + (" ..." if len(parts) > 3 else "")
    if recorded != identity:
        raise ValueError(f"{names} beside {output} belong to another run ({'other inputs or process count' if recorded else 'no record of their run'}); "
                         "remove them, or rerun the command that wrote them with --resume")
    if not resume:
        raise ValueError(f"{names} beside {output} are the parts of an unfinished run of this command: "
                         "add --resume to continue it, or remove them to start over")


def merge_parts(output: Path, world: int | None = None) -> int:
    """Fold the part files (of ``world`` processes, when given) into ``output`` without repeating a
    key; returns the lines added. Written to a temporary file and renamed, so a kill during the
    merge loses nothing; the run's manifest goes with the parts.
    """
    parts = [p for p in part_files(output) if world is None or p.name.endswith(f"-of-{world:05d}")]
    if not parts:
        return 0
    temporary = output.with_name(output.name + ".merging")
    seen: set[str] = set()
    added = 0
    with open(temporary, "w", encoding="utf-8") as merged:
        for source in ([output] if output.exists() else []) + parts:
            with open(source, encoding="utf-8") as handle:
                for line in handle:
                    if not line.endswith("\n"):
                        break  # torn tail of a killed writer
                    key = record_key(json.loads(line))
                    if key not in seen:
                        seen.add(key)
                        merged.write(line)
                        added += source != output
    os.replace(temporary, output)
    for part in parts:
        part.unlink()
    manifest_path(output).unlink(missing_ok=True)
    return added


def drop_torn_tail(output: Path) -> None:
    """Cut a last line that was written only in part (no newline) when a run was killed."""
    with open(output, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return
        position = size
        block = 1 << 16
        while position > 0:  # find the last newline
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            position = start
        handle.truncate(0)


def write_record(handle: IO[str], record: dict[str, Any]) -> None:
    """Write one JSON line (not flushed; the caller flushes after each chunk)."""
    handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def jsonl_to_parquet(records: Path, output: Path, rows_per_group: int = 4096) -> int:
    """Write the JSON-lines output ``records`` as Parquet (needs pyarrow), one row per record with
    the columns of the Ray engine's output: ``id``, ``file``, ``line``, ``error`` and ``annotation``
    (the JSON of ``Annotation.to_dict()``, ``json.loads`` gives it back). Returns the rows written.
    Written to a temporary file and renamed, so ``output`` is never half a file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                        ("error", pa.string()), ("annotation", pa.string())])
    temporary = output.with_name(output.name + ".writing")
    count = 0
    with pq.ParquetWriter(temporary, schema) as writer, open(records, encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = []
        for line in handle:
            record = json.loads(line)
            doc_id = record.pop("id", None)
            row = {"id": None if doc_id is None else str(doc_id), "file": record.get("file"),
                   "line": record.get("line"), "error": record.get("error"), "annotation": None}
            if "error" not in record:
                row["annotation"] = json.dumps(record, ensure_ascii=False)
            rows.append(row)
            if len(rows) == rows_per_group:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    os.replace(temporary, output)
    return count
