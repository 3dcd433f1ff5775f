"""The ``libya-nlp`` command line.

    libya-nlp annotate seeds/000_37a64e389b6f10d7.txt
    libya-nlp annotate archive.jsonl -o out.jsonl --batch-size 64 --resume
    libya-nlp events archive.jsonl -o events.csv          # one row per event (also .parquet)
    libya-nlp events out.jsonl -o events.csv              # from annotations already made
    libya-nlp train configs/tagger_smoke.yaml --set output_dir=/tmp/t
    libya-nlp benchmark --device cpu --sentences 512
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from libya_nlp.labels import DEFAULT_STANCE_TARGET, PRECISIONS

_ANNOTATE_HELP = """\
Annotate documents: entities with actor ids, request types, stance and events, one JSON line
per document ({"id": ..., then the fields of Annotation.to_dict()}).

INPUT is a .txt file (one document; its id is the file name), a .jsonl (or .jsonl.gz) file
with {"id": ..., "text": ...} on each line, or a .parquet file with columns id and text. Results are written as each batch finishes, to
OUT.jsonl or to standard output. With -o OUT.parquet they go to OUT.parquet.jsonl as they finish,
and OUT.parquet (columns id, file, line, error, annotation as a JSON string) is written at the end. A malformed input line is reported on stderr with its
file and line number and written as an {"id"/"file", "line", "error"} record; the rest is
processed and the exit code is 1 at the end.

With --resume, ids already in OUT.jsonl are skipped, so a killed run can be started again
with the same command and finishes without losing or repeating a document.

Several processes (GPUs): accelerate launch -m libya_nlp.cli annotate IN.jsonl -o OUT.jsonl
Each process takes every N-th document and writes OUT.jsonl.part-RANK-of-N; the parts are merged
into OUT.jsonl at the end (a killed run resumes from the parts with --resume).

Several machines (Ray, extra [ray]): libya-nlp annotate --engine ray --address auto --workers 8
--gpus-per-worker 1 IN... -o OUT_DIR writes Parquet (or --output-format jsonl) files into OUT_DIR,
one row per document with columns id, file, line, error, annotation (a JSON string), in no
particular order (sort by file and line). Inputs must be visible to every node at the same path.
"""


_EVENTS_HELP = """\
Write one row per event (requester -> addressee : request type) as CSV, or Parquet when OUT ends
in .parquet (needs pyarrow). Columns: doc_id, sentence_index, sentence, type, cameo, score,
requester_id, requester_name, requester_text, addressee_id, addressee_name, addressee_text.

INPUT is what `annotate` reads (.txt, or .jsonl with id and text: annotated here), or a JSONL file
that `annotate` wrote (records with "sentences": read as they are, no model runs).
"""


def _model_options(command: argparse.ArgumentParser) -> None:
    """The options that choose and run the models, shared by ``annotate`` and ``events``."""
    command.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                         help="windows per model call; a sentence is one window unless longer than the model takes (default: 32)")
    command.add_argument("--device", default=None, metavar="D", help="cpu, cuda, cuda:1 (default: CUDA if available)")
    command.add_argument("--stance-target", default=DEFAULT_STANCE_TARGET, metavar="T",
                         help=f"actor to read stance toward, as text or a registry id (default: {DEFAULT_STANCE_TARGET})")
    command.add_argument("--tagger", default=None, metavar="DIR", help="tagger checkpoint (default: embedded)")
    command.add_argument("--classifier", default=None, metavar="DIR", help="classifier checkpoint (default: embedded)")
    command.add_argument("--events", dest="events_model", default=None, metavar="DIR",
                         help="events model folder, or 'rules' for the rule baseline (default: embedded)")
    command.add_argument("--precision", default="auto", choices=PRECISIONS,
                         help="auto: bf16 on CUDA and on CPUs with native bf16, else fp32; int8: CPU, quantised")
    command.add_argument("--skip-non-arabic", action="store_true",
                         help="code nothing in sentences without an Arabic letter (English captions, credits)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``libya-nlp``; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("train", "benchmark"):  # their own parsers read everything after the name
        return _train(argv[1:]) if argv[0] == "train" else _benchmark(argv[1:])
    parser = argparse.ArgumentParser(prog="libya-nlp", description="Arabic news about Libya: entities and actor ids, "
                                     "requests, stance, events (requester -> addressee : type).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    annotate = commands.add_parser("annotate", help="annotate .txt/.jsonl documents to JSON lines (entities, actors, requests, stance, events)",
                                   description=_ANNOTATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    annotate.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt or .jsonl files")
    annotate.add_argument("-o", "--output", type=Path, metavar="OUT.jsonl",
                          help="output file (default: stdout); OUT.parquet writes Parquet (columns id, file, line, "
                               "error, annotation), with --engine ray a folder")
    annotate.add_argument("--resume", action="store_true", help="continue OUT.jsonl, skipping ids already in it")
    annotate.add_argument("--max-doc-chars", type=_positive_int, default=None, metavar="N",
                          help="write an error record instead of annotating a document longer than N characters "
                               "(long documents are streamed in bounded memory either way)")
    _model_options(annotate)
    scale = annotate.add_argument_group("Ray engine (--engine ray, extra [ray])")
    scale.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: this process (or accelerate's); ray: Ray Data workers, -o names a folder")
    scale.add_argument("--address", default=None, metavar="A",
                       help="Ray cluster to join ('auto': the one this machine belongs to; default: start a local one)")
    scale.add_argument("--workers", type=_positive_int, default=1, metavar="N", help="Annotators, one per Ray actor (default: 1)")
    scale.add_argument("--gpus-per-worker", type=float, default=0, metavar="G", help="GPUs per worker (default: 0, CPU)")
    scale.add_argument("--cpus-per-worker", type=float, default=1, metavar="C",
                       help="CPU cores per worker; torch uses as many threads (default: 1)")
    scale.add_argument("--output-format", choices=("parquet", "jsonl"), default="parquet",
                       help="files written into OUT_DIR (default: parquet)")

    events = commands.add_parser("events", help="one CSV/Parquet row per event (requester -> addressee : type)",
                                 description=_EVENTS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    events.add_argument("inputs", nargs="+", metavar="INPUT", help=".txt or .jsonl files, or annotate's output")
    events.add_argument("-o", "--output", type=Path, metavar="OUT.csv", help="OUT.csv or OUT.parquet (default: CSV on stdout)")
    _model_options(events)

    commands.add_parser("benchmark", help="sentences/s of annotate_batch against Hugging Face pipelines",
                        add_help=False).add_argument("args", nargs=argparse.REMAINDER)
    train = commands.add_parser("train", help="train a checkpoint from a YAML config (python -m training.train)",
                                add_help=False)
    train.add_argument("args", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    try:
        return _events(args, parser) if args.command == "events" else _annotate(args, parser)
    except BrokenPipeError:  # stdout closed early (`| head -1`): end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        where = " with --resume" if args.output is not None and args.command == "annotate" else ""
        print(f"libya-nlp: interrupted; what was written is complete, run the same command{where} to continue",
              file=sys.stderr)
        return 130


def _annotate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from libya_nlp.archive import check_inputs

    if args.engine == "ray":
        return _annotate_ray(args, parser)
    final = None  # -o OUT.parquet: JSON lines go to OUT.parquet.jsonl (resumable), converted at the end
    if args.output is not None and args.output.suffix == ".parquet":
        final, args.output = args.output, args.output.with_name(args.output.name + ".jsonl")
        try:
            import pyarrow.parquet  # noqa: F401 - needed at the end; say so before the run, not after it
        except ImportError:
            parser.error(f"-o {final}: writing Parquet needs pyarrow (pip install 'libya-nlp[datasets]')")
        if final.exists() and not args.resume:
            parser.error(f"{final} exists: remove it to start over")
        if final.exists() and not args.output.exists():
            print(f"libya-nlp: {final} is complete; nothing to resume", file=sys.stderr)
            return 0
    rank, world, local_rank = _process_layout()
    if args.resume and args.output is None:
        parser.error("--resume needs -o OUT.jsonl")
    if world > 1 and args.output is None:
        parser.error("several processes need -o OUT.jsonl (each writes a part, merged at the end)")
    if args.output is not None and args.output.is_dir():
        parser.error(f"-o {args.output} is a directory: name an output file, e.g. -o {args.output / 'annotated.jsonl'}")
    if args.output is not None and args.output.exists() and args.output.stat().st_size and not args.resume:
        parser.error(f"{args.output} exists: add --resume to continue it, or remove it to start over")
    try:
        paths = check_inputs(args.inputs)
    except ValueError as error:
        parser.error(str(error))
    if args.output is not None:
        same = [p for p in paths if p.resolve() == args.output.resolve()]
        if same:
            parser.error(f"-o {args.output} is also an input: write the annotations to another file")
        folder = args.output.resolve().parent
        probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), folder)
        if not os.access(probe, os.W_OK):
            parser.error(f"cannot write {args.output}: {probe} is not writable; choose another -o")
    state = None
    if world > 1:
        from accelerate import PartialState

        state = PartialState(cpu=args.device == "cpu" or not _cuda_available())  # gloo on CPU, nccl on GPUs
        rank, world, local_rank = state.process_index, state.num_processes, state.local_process_index
    from libya_nlp.checkpoints import CheckpointError

    try:
        annotator = _make_annotator(args, _process_device(args.device, local_rank, world))
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"libya-nlp: {error}", file=sys.stderr)
        return 2
    if args.output is None:
        return _annotate_to(sys.stdout, paths, annotator, args, done=set(), shard=(0, 1))
    from libya_nlp.archive import (check_parts, completed_keys, manifest_path, merge_parts, part_files, part_path,
                                 run_identity)

    target = args.output if world == 1 else part_path(args.output, rank, world)
    identity = run_identity(paths, world)
    locks = [_lock_for(path) for path in dict.fromkeys([target] + ([args.output] if rank == 0 else []))]
    try:
        if any(lock is None for lock in locks):
            print(f"libya-nlp: another run is writing {args.output}; wait for it to end (or stop it), then --resume",
                  file=sys.stderr)
            return 2
        try:
            check_parts(args.output, identity, args.resume)
            done: set[str] = set()
            if args.resume:
                done |= completed_keys(target)
                for other in [args.output, *part_files(args.output)]:
                    if other != target:
                        done |= completed_keys(other, repair=False)
        except ValueError as error:
            print(f"libya-nlp: {error}", file=sys.stderr)
            return 2
        if state is not None:
            state.wait_for_everyone()  # every process has read what is done before anyone writes
        if world > 1 and rank == 0:
            manifest_path(args.output).write_text(json.dumps(identity), encoding="utf-8")
        with open(target, "a" if args.resume else "w", encoding="utf-8") as handle:
            code = _annotate_to(handle, paths, annotator, args, done, shard=(rank, world))
        if state is not None:
            state.wait_for_everyone()
        if rank == 0 and world > 1:
            merge_parts(args.output, world)
        if rank == 0 and final is not None:
            from libya_nlp.archive import jsonl_to_parquet

            rows = jsonl_to_parquet(args.output, final)
            args.output.unlink()
            print(f"libya-nlp: {rows} rows written to {final}", file=sys.stderr)
        return code
    finally:
        for lock in locks:
            if lock is not None:
                Path(lock.name).unlink(missing_ok=True)
                lock.close()


def _annotate_ray(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``annotate --engine ray``: Ray Data reads, annotates with ``--workers`` actors, writes ``-o OUT_DIR``."""
    from libya_nlp.archive import check_inputs

    if args.output is None:
        parser.error("--engine ray needs -o OUT_DIR (a folder for the Parquet or JSONL files)")
    try:
        paths = check_inputs(args.inputs)
        import ray

        from libya_nlp.integrations.ray import annotate_files
    except ImportError as error:
        print(f"libya-nlp: --engine ray needs Ray Data (pip install 'libya-nlp[ray]'): {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        parser.error(str(error))
    from libya_nlp.checkpoints import CheckpointError

    try:  # bad model options fail here with a message, not inside a Ray actor
        _make_annotator(args, "cpu")
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"libya-nlp: {error}", file=sys.stderr)
        return 2
    if not ray.is_initialized():
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    try:
        counts = annotate_files(paths, args.output, resume=args.resume, output_format=args.output_format,
                                max_doc_chars=args.max_doc_chars, workers=args.workers,
                                gpus_per_worker=args.gpus_per_worker, cpus_per_worker=args.cpus_per_worker,
                                batch_size=args.batch_size, tagger=args.tagger, classifier=args.classifier,
                                events=args.events_model, stance_target=args.stance_target,
                                precision=args.precision, skip_non_arabic=args.skip_non_arabic,
                                **({"device": args.device} if args.device else {}))
    except ValueError as error:
        print(f"libya-nlp: {error}", file=sys.stderr)
        return 2
    print(f"libya-nlp: {counts['written']} rows written to {args.output} ({counts['errors']} error rows, "
          f"{counts['skipped']} already there)", file=sys.stderr)
    return 1 if counts["errors"] else 0


def _make_annotator(args: argparse.Namespace, device: str | None) -> object:
    from libya_nlp.annotator import Annotator

    return Annotator(tagger=args.tagger, classifier=args.classifier, events=args.events_model, device=device,
                     stance_target=args.stance_target, precision=args.precision, skip_non_arabic=args.skip_non_arabic)


def _events(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``libya-nlp events``: annotate (or read annotations) and write one row per event."""
    from libya_nlp.archive import BadRecord, check_inputs, read_documents
    from libya_nlp.checkpoints import CheckpointError
    from libya_nlp.event_table import event_rows, write_rows

    if args.output is not None and args.output.suffix not in (".csv", ".parquet"):
        parser.error(f"-o {args.output}: name a .csv or .parquet file")
    try:
        paths = check_inputs(args.inputs)
    except ValueError as error:
        parser.error(str(error))
    annotated = [p for p in paths if _is_annotation_file(p)]
    raw = [p for p in paths if p not in annotated]
    bad = 0
    annotator = None
    if raw:
        try:
            annotator = _make_annotator(args, args.device)
        except (CheckpointError, ValueError, FileNotFoundError) as error:
            print(f"libya-nlp: {error}", file=sys.stderr)
            return 2

    def rows() -> Iterator[dict]:
        nonlocal bad
        for path in annotated:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if "error" in record:
                        continue
                    yield from event_rows(str(record.get("id", f"{path.name}:{number}")), record)
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    bad += 1
                    print(f"libya-nlp: {path}:{number}: not an annotation record ({error})", file=sys.stderr)
        if annotator is None:
            return
        ids: deque[str] = deque()

        def texts() -> Iterator[str]:
            nonlocal bad
            for item in read_documents(raw):
                if isinstance(item, BadRecord):
                    bad += 1
                    print(f"libya-nlp: {item.file}:{item.line}: {item.error}", file=sys.stderr)
                else:
                    ids.append(item.id)
                    yield item.text

        for annotations in annotator.iter_annotate(texts(), batch_size=args.batch_size):  # type: ignore[attr-defined]
            for annotation in annotations:
                yield from event_rows(ids.popleft(), annotation.to_dict())

    try:
        count = write_rows(rows(), args.output, sys.stdout)
    except ValueError as error:
        print(f"libya-nlp: {error}", file=sys.stderr)
        return 2
    if args.output is not None:
        print(f"libya-nlp: {count} events written to {args.output}", file=sys.stderr)
    return 1 if bad else 0


def _is_annotation_file(path: Path) -> bool:
    """A JSONL file whose first record has the ``sentences`` of ``annotate``'s output."""
    if path.suffix != ".jsonl":
        return False
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    return "sentences" in json.loads(line)
                except json.JSONDecodeError:
                    return False
    return False


def _lock_for(output: Path) -> IO[str] | None:
    """Hold ``OUTPUT.lock`` exclusively (an advisory lock, released when the run ends); ``None``
    when another process holds it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    handle = open(output.with_name(output.name + ".lock"), "w")  # noqa: SIM115 - held for the whole run
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not POSIX: no lock
        pass
    except OSError:
        handle.close()
        return None
    return handle


def _annotate_to(handle: IO[str], paths: list[Path], annotator: object, args: argparse.Namespace,
                 done: set[str], shard: tuple[int, int]) -> int:
    from tqdm.auto import tqdm

    from libya_nlp.archive import BadRecord, read_documents, write_record

    rank, world = shard
    pending: deque[str] = deque()
    bad = 0

    def texts() -> Iterator[str]:
        nonlocal bad
        for index, item in enumerate(read_documents(paths)):
            if index % world != rank:
                continue
            if isinstance(item, BadRecord):
                bad += 1
                print(f"libya-nlp: {item.file}:{item.line}: {item.error}", file=sys.stderr)
                if item.key not in done:
                    write_record(handle, item.to_dict())
            elif item.id not in done:
                if args.max_doc_chars and len(item.text) > args.max_doc_chars:
                    bad += 1
                    message = (f"document has {len(item.text):,} characters, over --max-doc-chars "
                               f"{args.max_doc_chars:,}: split it, or raise the limit")
                    print(f"libya-nlp: {item.id}: {message}", file=sys.stderr)
                    write_record(handle, {"id": item.id, "error": message})
                    continue
                pending.append(item.id)
                yield item.text

    started = time.perf_counter()
    documents = 0
    show = sys.stderr.isatty() and rank == 0
    with tqdm(unit="sent", file=sys.stderr, disable=not show, dynamic_ncols=True) as progress:
        def advance(sentences: int) -> None:  # after every chunk, also inside a long document
            progress.update(sentences)
            progress.set_postfix(docs=documents, sent_per_s=f"{progress.n / (time.perf_counter() - started):.1f}")

        for annotations in annotator.iter_annotate(texts(), batch_size=args.batch_size,  # type: ignore[attr-defined]
                                                   on_sentences=advance):
            for annotation in annotations:
                write_record(handle, {"id": pending.popleft(), **annotation.to_dict()})
            documents += len(annotations)
            handle.flush()
    handle.flush()
    return 1 if bad else 0


def _process_layout() -> tuple[int, int, int]:
    """(rank, world size, local rank) from the launcher's environment (accelerate launch, torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def _process_device(device: str | None, local_rank: int, world: int) -> str | None:
    """With several processes on CUDA, each takes its own GPU."""
    if world > 1 and (device == "cuda" or (device is None and _cuda_available())):
        return f"cuda:{local_rank}"
    return device


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _train(argv: list[str]) -> int:
    try:
        from training.train import main as train_main
    except ImportError as error:
        print(f"libya-nlp train needs the training package and its extras (pip install -e '.[train]'): {error}",
              file=sys.stderr)
        return 2
    return train_main(argv)


def _benchmark(argv: list[str]) -> int:
    from libya_nlp.benchmark import main as benchmark_main

    return benchmark_main(argv)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


if __name__ == "__main__":
    sys.exit(main())
