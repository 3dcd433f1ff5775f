import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, seed_texts
from libya_nlp.cli import main


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@pytest.fixture()
def corpus(tmp_path):
    texts = seed_texts()
    records = [{"id": f"doc-{i:03d}", "text": texts[i % 3] if i % 2 else f"خبر رقم {i}. طلب السراج دعما."}
               for i in range(40)]
    path = tmp_path / "in.jsonl"
    write_jsonl(path, records)
    return path, records


def read_out(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def models(tiny_tagger_dir, tiny_classifier_dir):
    # fp32: these tests compare runs whose batches hold different documents. The random tiny models
    # score labels nearly evenly, and CPU bf16 kernels round differently for different batch shapes.
    return ["--tagger", str(tiny_tagger_dir), "--classifier", str(tiny_classifier_dir), "--device", "cpu",
            "--precision", "fp32"]


def test_txt_and_jsonl_inputs(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir):
    path, records = corpus
    out = tmp_path / "out.jsonl"
    seed = ROOT / "seeds" / "000_37a64e389b6f10d7.txt"
    assert main(["annotate", str(seed), str(path), "-o", str(out), "--batch-size", "4",
                 *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    rows = read_out(out)
    assert [r["id"] for r in rows] == [seed.name] + [r["id"] for r in records]
    assert rows[0]["text"] == seed.read_text(encoding="utf-8")
    assert all(set(r) == {"id", "text", "entities", "sentences", "model"} for r in rows)


def test_resume_after_a_torn_write_loses_and_repeats_nothing(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir):
    path, records = corpus
    full = tmp_path / "full.jsonl"
    assert main(["annotate", str(path), "-o", str(full), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    lines = full.read_text(encoding="utf-8").splitlines(keepends=True)
    partial = tmp_path / "partial.jsonl"
    partial.write_text("".join(lines[:13]) + lines[13][:57], encoding="utf-8")  # killed mid-line
    assert main(["annotate", str(path), "-o", str(partial), "--resume",
                 *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert read_out(partial) == read_out(full)


def test_existing_output_needs_resume(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir, capsys):
    path, _ = corpus
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "x"}\n')
    with pytest.raises(SystemExit):
        main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)])
    assert "--resume" in capsys.readouterr().err


def test_killed_process_resumes_without_loss_or_duplicates(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    texts = seed_texts()
    records = [{"id": f"k{i}", "text": texts[i % 3]} for i in range(240)]
    path = tmp_path / "big.jsonl"
    write_jsonl(path, records)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "libya_nlp.cli", "annotate", str(path), "-o", str(out), "--batch-size", "2",
               *models(tiny_tagger_dir, tiny_classifier_dir)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 30_000):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = len(out.read_text(encoding="utf-8").splitlines())
    assert 0 < written_before < len(records), "the kill should land mid-run"
    subprocess.run(command + ["--resume"], cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
    ids = [r["id"] for r in read_out(out)]
    assert sorted(ids) == sorted(r["id"] for r in records)
    assert len(ids) == len(set(ids))


def test_malformed_lines_are_reported_and_the_rest_processed(tmp_path, tiny_tagger_dir, tiny_classifier_dir, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "text": "طلب السراج دعما."}, ensure_ascii=False),
        '{"id": "b", "text": "unterminated',
        json.dumps({"id": "c"}),
        "",
        json.dumps({"text": "بلا معرف"}, ensure_ascii=False),
        json.dumps({"id": "a", "text": "مكرر"}, ensure_ascii=False),
        json.dumps({"id": 7, "text": "رقم معرف"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)])
    assert code == 1
    err = capsys.readouterr().err
    for line in (2, 3, 5, 6):
        assert f"{path}:{line}:" in err
    rows = read_out(out)
    assert sorted(r["id"] for r in rows if "error" not in r) == ["7", "a"]
    errors = {r["line"]: r for r in rows if "error" in r}
    assert set(errors) == {2, 3, 5, 6}
    assert errors[3]["id"] == "c" and "text" in errors[3]["error"]
    assert "duplicate" in errors[6]["error"]
    # resuming rewrites nothing and still reports the failure
    assert main(["annotate", str(path), "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    assert read_out(out) == rows
    # ... however the input path is spelled
    relative = os.path.relpath(path)
    assert main(["annotate", relative, "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    assert read_out(out) == rows


def test_stdout_and_missing_input(tmp_path, tiny_tagger_dir, tiny_classifier_dir, capsys):
    seed = ROOT / "seeds" / "001_2d2d4f8ae176f14c.txt"
    assert main(["annotate", str(seed), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["id"] == seed.name
    with pytest.raises(SystemExit):
        main(["annotate", str(tmp_path / "missing.txt")])
    assert "does not exist" in capsys.readouterr().err


def launch_two(arguments):
    """Two CPU processes under accelerate (torchrun underneath, gloo backend)."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--num_cpu_threads_per_process", "1", "-m", "libya_nlp.cli", "annotate", *arguments]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "MASTER_PORT": "29517"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_two_processes_shard_the_documents_and_merge(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir):
    path, records = corpus
    out = tmp_path / "out.jsonl"
    result = launch_two([str(path), "-o", str(out), "--batch-size", "4", *models(tiny_tagger_dir, tiny_classifier_dir)])
    assert result.returncode == 0, result.stderr[-2000:]
    ids = [r["id"] for r in read_out(out)]
    expected = [r["id"] for r in records]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    assert ids == expected[0::2] + expected[1::2], "rank 0 took the even documents, rank 1 the odd ones"
    assert not list(tmp_path.glob("out.jsonl.part-*"))


def test_two_processes_resume_from_part_files(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir):
    path, records = corpus
    reference = tmp_path / "reference.jsonl"
    assert main(["annotate", str(path), "-o", str(reference), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    lines = reference.read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    # a killed two-process run: rank 0 had written 3 of its documents and half of a 4th, rank 1 two
    (tmp_path / "out.jsonl.part-00000-of-00002").write_text("".join(lines[0:6:2]) + lines[6][:40], encoding="utf-8")
    (tmp_path / "out.jsonl.part-00001-of-00002").write_text("".join(lines[1:4:2]), encoding="utf-8")
    from libya_nlp.archive import manifest_path, run_identity

    manifest_path(out).write_text(json.dumps(run_identity([path], 2)), encoding="utf-8")  # what rank 0 wrote
    result = launch_two([str(path), "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = read_out(out)
    assert len(rows) == len(records) == len({r["id"] for r in rows})
    assert sorted(rows, key=lambda r: r["id"]) == sorted(read_out(reference), key=lambda r: r["id"])


def test_a_bom_and_crlf_keep_the_files_own_text(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": "طلب السراج دعما."}, ensure_ascii=False)
                      .encode("utf-8") + b"\n")
    txt = tmp_path / "crlf.txt"
    txt.write_bytes("طلب السراج دعما.\r\nوأكد الوزير ذلك في طرابلس.\r\n".encode("utf-8"))
    out = tmp_path / "out.jsonl"
    assert main(["annotate", str(jsonl), str(txt), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    rows = {r["id"]: r for r in read_out(out)}
    assert set(rows) == {"a", "crlf.txt"} and "error" not in rows["a"]
    file_text = txt.read_bytes().decode("utf-8")
    assert rows["crlf.txt"]["text"] == file_text
    for sentence in rows["crlf.txt"]["sentences"]:
        assert file_text[sentence["start"]:sentence["end"]] == sentence["text"]


def test_output_paths_are_checked_before_the_models_load(tmp_path, corpus, capsys):
    path, _ = corpus
    for output, message in ((tmp_path, "is a directory"), (path, "is also an input")):
        with pytest.raises(SystemExit) as exit_:
            main(["annotate", str(path), "-o", str(output), "--resume", "--tagger", "/no/such/model"])
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root may write anywhere
            with pytest.raises(SystemExit) as exit_:
                main(["annotate", str(path), "-o", str(locked / "out.jsonl"), "--tagger", "/no/such/model"])
            assert exit_.value.code == 2 and "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_a_closed_pipe_ends_quietly(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir):
    path, _ = corpus
    command = [sys.executable, "-m", "libya_nlp.cli", "annotate", str(path), "--batch-size", "2",
               *models(tiny_tagger_dir, tiny_classifier_dir)]
    producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
    first = producer.stdout.readline()
    producer.stdout.close()  # what `| head -1` does
    _, err = producer.communicate(timeout=120)
    assert json.loads(first)["id"] == "doc-000"
    assert b"Traceback" not in err and producer.returncode == 0, err.decode()[-1500:]


def test_part_files_of_another_run_are_refused_not_merged(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir,
                                                          capsys):
    path, _ = corpus
    out = tmp_path / "out.jsonl"
    stale = tmp_path / "out.jsonl.part-00001-of-00002"
    stale.write_text(json.dumps({"id": "from-another-run", "text": "x", "entities": [], "sentences": []}) + "\n",
                     encoding="utf-8")
    for extra in ([], ["--resume"]):
        assert main(["annotate", str(path), "-o", str(out), *extra, *models(tiny_tagger_dir, tiny_classifier_dir)]) == 2
        assert "belong to another run" in capsys.readouterr().err
    assert not out.exists() and stale.exists()


def test_a_second_run_on_the_same_output_stops_at_once(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir, capsys):
    import fcntl

    path, _ = corpus
    out = tmp_path / "out.jsonl"
    with open(tmp_path / "out.jsonl.lock", "w") as held:  # what a running `libya-nlp annotate -o out.jsonl` holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 2
        assert "another run is writing" in capsys.readouterr().err
    assert not out.exists()
    assert main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert not (tmp_path / "out.jsonl.lock").exists()


def test_resume_drops_an_undecodable_line_names_it_and_redoes_its_document(tmp_path, corpus, tiny_tagger_dir,
                                                                           tiny_classifier_dir, capsys):
    path, records = corpus
    out = tmp_path / "out.jsonl"
    assert main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    reference = read_out(out)
    lines = out.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4][:30] + b"\xa7\xff" + lines[5][10:]  # two writers' bytes interleaved
    del lines[5]
    out.write_bytes(b"".join(lines))
    assert main(["annotate", str(path), "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert f"{out}:5: not a complete JSON record" in capsys.readouterr().err
    rows = read_out(out)
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in records)
    assert sorted(rows, key=lambda r: r["id"]) == sorted(reference, key=lambda r: r["id"])


def test_events_command_writes_one_row_per_event_from_text_or_annotations(tmp_path, tiny_tagger_dir,
                                                                          tiny_classifier_dir, capsys):
    import csv

    from libya_nlp.event_table import COLUMNS

    docs = tmp_path / "docs.jsonl"
    write_jsonl(docs, [{"id": "a", "text": seed_texts()[0]}, {"id": "b", "text": "جملة بلا طلب."}])
    direct = tmp_path / "direct.csv"
    assert main(["events", str(docs), "-o", str(direct), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    annotated = tmp_path / "annotated.jsonl"
    assert main(["annotate", str(docs), "-o", str(annotated), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    expected = sum(len(s["events"]) for record in read_out(annotated) for s in record["sentences"])
    assert expected > 0, "the biased test classifier finds requests, so there are events"
    again = tmp_path / "again.csv"
    assert main(["events", str(annotated), "-o", str(again)]) == 0  # no model needed
    with open(direct, encoding="utf-8") as a, open(again, encoding="utf-8") as b:
        rows, rows_again = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert rows == rows_again and len(rows) == expected
    assert tuple(rows[0]) == COLUMNS and {r["doc_id"] for r in rows} <= {"a", "b"}
    assert f"{expected} events written" in capsys.readouterr().err


def test_events_command_refuses_an_unknown_output_kind(tmp_path, capsys):
    docs = tmp_path / "docs.jsonl"
    write_jsonl(docs, [{"id": "a", "text": "نص."}])
    with pytest.raises(SystemExit):
        main(["events", str(docs), "-o", str(tmp_path / "events.xlsx")])
    assert "name a .csv or .parquet file" in capsys.readouterr().err


def test_max_doc_chars_writes_an_error_record_instead(tmp_path, tiny_tagger_dir, tiny_classifier_dir, capsys):
    docs = tmp_path / "docs.jsonl"
    write_jsonl(docs, [{"id": "short", "text": "طلب السراج دعما."}, {"id": "long", "text": "قال السراج. " * 200}])
    out = tmp_path / "out.jsonl"
    assert main(["annotate", str(docs), "-o", str(out), "--max-doc-chars", "1000",
                 *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    rows = {r["id"]: r for r in read_out(out)}
    assert "sentences" in rows["short"] and "over --max-doc-chars 1,000" in rows["long"]["error"]
    assert "long: document has 2,400 characters" in capsys.readouterr().err
    # a resumed run counts the error record as done: nothing is written twice
    assert main(["annotate", str(docs), "-o", str(out), "--max-doc-chars", "1000", "--resume",
                 *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert sorted(r["id"] for r in read_out(out)) == ["long", "short"]


def test_gzipped_jsonl_inputs_are_read(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    import gzip

    path = tmp_path / "archive.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i in range(3):
            handle.write(json.dumps({"id": f"g{i}", "text": f"طلب السراج دعما {i}."}, ensure_ascii=False) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert [r["id"] for r in read_out(out)] == ["g0", "g1", "g2"]


def test_parquet_inputs_are_read_and_bad_rows_named(tmp_path, tiny_tagger_dir, tiny_classifier_dir, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "archive.parquet"
    pq.write_table(pa.table({"id": ["p0", "p1", "p2"], "text": ["طلب السراج دعما.", None, "نص ثالث."],
                             "date": ["2019-04-04"] * 3}), path)
    out = tmp_path / "out.jsonl"
    assert main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    rows = {r["id"]: r for r in read_out(out)}
    assert "sentences" in rows["p0"] and "sentences" in rows["p2"] and rows["p1"]["line"] == 2
    assert "archive.parquet:2" in capsys.readouterr().err
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "wrong.parquet")
    with pytest.raises(SystemExit):
        main(["annotate", str(tmp_path / "wrong.parquet"), "-o", str(tmp_path / "o2.jsonl")])
    assert "no column id, text" in capsys.readouterr().err


def test_parquet_output_holds_the_jsonl_records_and_resumes(tmp_path, corpus, tiny_tagger_dir, tiny_classifier_dir,
                                                           capsys):
    import pyarrow.parquet as pq

    path, records = corpus
    write_jsonl(path, records + [{"id": "", "text": "بلا معرف"}])
    reference = tmp_path / "ref.jsonl"
    assert main(["annotate", str(path), "-o", str(reference), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    out = tmp_path / "out.parquet"
    work = tmp_path / "out.parquet.jsonl"
    work.write_text("".join(reference.read_text(encoding="utf-8").splitlines(keepends=True)[:7]), encoding="utf-8")
    # as if killed after 7 documents: --resume continues the working file, then writes the Parquet file
    assert main(["annotate", str(path), "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)]) == 1
    assert not work.exists()
    rows = pq.read_table(out).to_pylist()
    assert pq.read_schema(out).names == ["id", "file", "line", "error", "annotation"]
    expected = read_out(reference)
    assert [row["id"] for row in rows] == [record.get("id") for record in expected]
    good = [(row, record) for row, record in zip(rows, expected) if "error" not in record]
    assert len(good) == len(records) and all(json.loads(row["annotation"]) == {
        key: value for key, value in record.items() if key != "id"} for row, record in good)
    [bad] = [row for row in rows if row["error"] is not None]
    assert bad["annotation"] is None and bad["line"] == 41 and '"id"' in bad["error"]
    assert main(["annotate", str(path), "-o", str(out), "--resume", *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    assert "is complete" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["annotate", str(path), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)])


def test_events_parquet_equals_the_csv(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    import csv

    import pyarrow.parquet as pq

    docs = tmp_path / "docs.jsonl"
    write_jsonl(docs, [{"id": "a", "text": seed_texts()[0]}, {"id": "b", "text": seed_texts()[1]}])
    table, sheet = tmp_path / "events.parquet", tmp_path / "events.csv"
    for out in (table, sheet):
        assert main(["events", str(docs), "-o", str(out), *models(tiny_tagger_dir, tiny_classifier_dir)]) == 0
    with open(sheet, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parquet_rows = pq.read_table(table).to_pylist()
    assert len(parquet_rows) == len(rows) > 0
    # CSV writes None as an empty field and numbers as their str()
    assert [{key: "" if value is None else str(value) for key, value in row.items()} for row in parquet_rows] == rows
