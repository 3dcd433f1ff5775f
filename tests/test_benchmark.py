from libya_nlp.benchmark import benchmark_sentences
from libya_nlp.cli import main


def test_sentences_come_from_the_repository():
    sentences = benchmark_sentences(600)
    assert len(sentences) == 600 and all(isinstance(s, str) and s for s in sentences)


def test_benchmark_prints_a_markdown_table(tiny_tagger_dir, tiny_classifier_dir, capsys):
    code = main(["benchmark", "--device", "cpu", "--sentences", "24", "--batch-size", "8", "--repeats", "1",
                 "--tagger", str(tiny_tagger_dir), "--classifier", str(tiny_classifier_dir)])
    assert code == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0].startswith("| method | does | sentences/s | tokens/s | vs HF pipeline fp32")
    methods = [row.split("|")[1].strip() for row in table[2:]]
    assert methods[0].startswith("libya_nlp annotate_batch")
    assert any(m.startswith("HF pipeline (token-classification, simple), fp32") for m in methods)
    assert any(m.startswith("HF AutoModel loop") for m in methods)
    fp32_row = next(row for row in table[2:] if "HF pipeline" in row and "fp32" in row)
    assert fp32_row.rstrip(" |").endswith("1.00x")


def test_the_overhead_over_the_models_forward_passes_is_measured(tiny_tagger_dir, tiny_classifier_dir, capsys):
    import re

    main(["benchmark", "--device", "cpu", "--sentences", "96", "--batch-size", "8", "--repeats", "1",
          "--tagger", str(tiny_tagger_dir), "--classifier", str(tiny_classifier_dir)])
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Overhead"))
    wall, inside, ratio = map(float, re.findall(r"(\d+\.\d+)", line)[:3])
    # the seconds are printed to 0.01 s: the ratio must lie within what that rounding allows
    assert 0 < inside <= wall and (wall - 0.005) / (inside + 0.005) - 0.01 <= ratio <= (wall + 0.005) / (inside - 0.005) + 0.01
