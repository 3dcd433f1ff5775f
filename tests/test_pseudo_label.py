"""training.pseudo_label: raw news sentences labelled by a tagger, kept only where it is confident."""

from __future__ import annotations

import gzip
import json

import pytest

from training.conll import read_conll
from training.pseudo_label import main, pseudo_label, write_conll

SENTENCES = ["وصل رئيس المجلس الرئاسي فائز السراج إلى الجزائر مساء أمس في زيارة رسمية",
             "وبحث الجانبان سبل تعزيز التعاون الأمني بين البلدين في مواجهة الإرهاب",
             "وقال المتحدث إن الوفد سيعود إلى طرابلس بعد انتهاء المحادثات في العاصمة",
             "جملة قصيرة جدا"]


@pytest.fixture()
def raw_news(tmp_path):
    for name in ("news_a", "news_b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "README.md").write_text("# raw MSA news text\n", encoding="utf-8")
        with gzip.open(folder / "x.jsonl.gz", "wt", encoding="utf-8") as out:
            for sentence in SENTENCES:
                out.write(json.dumps({"text": sentence + "."}, ensure_ascii=False) + "\n")
    return tmp_path


def _tagger(path):
    from libya_nlp.checkpoints import load_tagger
    from libya_nlp.tagger import EntityTagger

    model, tokenizer, _ = load_tagger(path)
    return EntityTagger(model.eval(), tokenizer)


def test_confident_sentences_are_kept_once_and_short_or_excluded_ones_never(raw_news, tiny_tagger_dir):
    tagger = _tagger(tiny_tagger_dir)
    kept, counts = pseudo_label(tagger, raw_news, sentences=10, min_prob=0.0, article_share=1.0,
                                exclude={" ".join(SENTENCES[2].split()) + " ."})
    texts = sorted(" ".join(words) for words, _ in kept)
    # each folder gives its distinct sentences; the 3-word one is too short and the excluded one is skipped
    assert counts["tagged"] == 4 and len(kept) == 4
    assert sorted(set(texts)) == sorted(" ".join(s.split()) + " ." for s in SENTENCES[:2])
    assert all(len(words) == len(tags) for words, tags in kept)
    none, counts = pseudo_label(tagger, raw_news, sentences=10, min_prob=1.01, article_share=1.0)
    assert none == [] and counts["tagged"] == 6


def test_the_written_conll_reads_back_as_training_data(tmp_path):
    sentences = [(["وصل", "السراج", "."], ["O", "B-PER", "O"]), (["في", "طرابلس"], ["O", "B-LOC"])]
    write_conll(tmp_path / "p.conll", sentences)
    assert [(s.words, s.tags) for s in read_conll(tmp_path / "p.conll")] == [(w, t) for w, t in sentences]


def test_the_command_names_a_missing_data_folder(tmp_path, tiny_tagger_dir, capsys):
    assert main(["--tagger", str(tiny_tagger_dir), "--out", str(tmp_path / "p.conll"),
                 "--data", str(tmp_path / "none")]) == 2
    assert "no raw-text folders under" in capsys.readouterr().err
