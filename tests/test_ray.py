"""Ray Data: a local instance with 2 CPU workers annotates every id exactly once, as annotate_batch
does in fp32, and a killed run finishes with --resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the [ray] extra is part of [dev]; install it to run these tests")

from libya_nlp import Annotator  # noqa: E402
from libya_nlp.cli import main  # noqa: E402
from libya_nlp.integrations.ray import annotate_files, completed_keys, output_files  # noqa: E402

DOCS = 300


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[list[Path], dict[str, str]]:
    folder = tmp_path_factory.mktemp("archive")
    texts = {f"doc-{i:04d}": f"طلب فائز السراج من الجزائر دعما أمنيا رقم {i}. ورحبت روما بذلك." for i in range(DOCS)}
    ids = list(texts)
    first, second = folder / "a.jsonl", folder / "b.jsonl"
    first.write_text("".join(json.dumps({"id": i, "text": texts[i]}, ensure_ascii=False) + "\n"
                             for i in ids[:DOCS // 2]) + "{not json\n", encoding="utf-8")
    second.write_text("".join(json.dumps({"id": i, "text": texts[i]}, ensure_ascii=False) + "\n"
                              for i in ids[DOCS // 2:]) + json.dumps({"id": ids[0], "text": "مكرر"}) + "\n",
                      encoding="utf-8")
    return [first, second], texts


@pytest.fixture(scope="module")
def options(tiny_tagger_dir, tiny_classifier_dir) -> dict:
    return {"tagger": str(tiny_tagger_dir), "classifier": str(tiny_classifier_dir), "events": "rules",
            "precision": "fp32"}


def _rows(out_dir: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return [row for path in output_files(out_dir) for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def first_run(local_ray, archive, options, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ray") / "out"
    return out, annotate_files(archive[0], out, workers=2, batch_size=4, **options)


def test_every_id_once_with_the_annotations_of_annotate_batch(first_run, archive, options):
    paths, texts = archive
    out, counts = first_run
    rows = _rows(out)
    good = [row for row in rows if row["error"] is None]
    assert sorted(row["id"] for row in good) == sorted(texts)
    errors = sorted((Path(row["file"]).name, row["line"], row["error"].split(" (")[0]) for row in rows
                    if row["error"] is not None)
    assert errors == [("a.jsonl", DOCS // 2 + 1, "not valid JSON: Expecting property name enclosed in double quotes at column 2"),
                      ("b.jsonl", DOCS // 2 + 1, "duplicate id 'doc-0000'")]
    assert counts == {"written": DOCS + 2, "skipped": 0, "errors": 2}
    annotator = Annotator(device="cpu", **options)
    some = sorted(good, key=lambda row: row["id"])[::37]
    expected = annotator.annotate_batch([texts[row["id"]] for row in some])
    assert [json.loads(row["annotation"]) for row in some] == [a.to_dict() for a in expected]


def test_a_killed_run_finishes_with_resume(first_run, archive, options, tmp_path):
    paths, texts = archive
    out = tmp_path / "out"
    shutil.copytree(first_run[0], out)
    files = output_files(out)
    assert len(files) >= 2
    files[0].unlink()  # as if its writer had died before writing it
    files[1].write_bytes(files[1].read_bytes()[:100])  # torn mid-write
    with pytest.raises(ValueError, match="add --resume"):
        annotate_files(paths, out, workers=2, **options)
    left = completed_keys(out)  # removes the torn file
    counts = annotate_files(paths, out, resume=True, workers=2, batch_size=16, **options)
    rows = _rows(out)
    keys = [row["id"] or f"{row['file']}:{row['line']}" for row in rows]
    assert len(keys) == len(set(keys)) == DOCS + 2
    assert counts["skipped"] == len(left) and counts["written"] == DOCS + 2 - len(left) > 0


def test_the_cli_engine_writes_jsonl_files(local_ray, options, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": f"رحبت روما بحكومة الوفاق {i}."}, ensure_ascii=False)
                              + "\n" for i in range(20)) + "[1]\n", encoding="utf-8")
    out = tmp_path / "cli"
    command = ["annotate", "--engine", "ray", "--workers", "2", "--output-format", "jsonl",
               "--tagger", options["tagger"], "--classifier", options["classifier"], "--events", "rules",
               "--precision", "fp32", str(source), "-o", str(out)]
    assert main(command) == 1  # one error row
    records = [json.loads(line) for path in output_files(out) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in records if r["error"] is None) == sorted(f"d{i}" for i in range(20))
    assert [r["line"] for r in records if r["error"] is not None] == [21]
    assert "21 rows written" in capsys.readouterr().err
    assert main(command + ["--resume"]) == 1  # the error row is still there, as the local path reports it
    assert "0 rows written" in capsys.readouterr().err


def test_a_folder_that_is_not_the_engines_is_refused_untouched(local_ray, options, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "نص."}) + "\n", encoding="utf-8")
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["x"], "text": ["y"]}), folder / "mine.parquet")
    for extra in ([], ["--resume"]):
        assert main(["annotate", "--engine", "ray", "--tagger", options["tagger"], "--classifier", options["classifier"],
                     str(source), "-o", str(folder), *extra]) == 2
        assert "is not a folder `annotate --engine ray` wrote" in capsys.readouterr().err
    assert (folder / "mine.parquet").is_file()


def test_bad_model_options_fail_in_the_driver_with_a_message(local_ray, tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "نص."}) + "\n", encoding="utf-8")
    assert main(["annotate", "--engine", "ray", "--tagger", str(tmp_path / "nowhere"), str(source),
                 "-o", str(tmp_path / "out")]) == 2
    assert "nowhere" in capsys.readouterr().err
