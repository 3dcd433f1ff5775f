import pytest

from training.conll import TaggedSentence, chunk_sentence, read_conll
from training.errors import DataError


def test_reads_anercorp_format_and_maps_pers(tmp_path):
    path = tmp_path / "aner.txt"
    path.write_text("فرانكفورت B-LOC\n(د O\nب O\nأ) O\nقال O\nبرند B-PERS\nجوتشولك I-PERS\n. O\n\n"
                    "في O\nألمانيا B-LOC\n\n\n", encoding="utf-8")
    first, second = read_conll(path)
    assert first.words == ["فرانكفورت", "(", "د", "ب", "أ", ")", "قال", "برند", "جوتشولك", "."]
    assert first.tags == ["B-LOC", "O", "O", "O", "O", "O", "O", "B-PER", "I-PER", "O"]
    assert (second.words, second.tags) == (["في", "ألمانيا"], ["O", "B-LOC"])


def test_bad_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("قال O\nبرند B-PERSON\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: unknown tag 'B-PERSON'"):
        read_conll(path)
    path.write_text("قال O\nوحده\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: expected 'TOKEN TAG'"):
        read_conll(path)
    with pytest.raises(DataError, match="no such file"):
        read_conll(tmp_path / "missing.txt")


def test_long_sentences_are_split_for_the_model():
    sentence = TaggedSentence([f"w{i}" for i in range(250)], ["O"] * 99 + ["B-ORG", "I-ORG"] + ["O"] * 149)
    pieces = chunk_sentence(sentence, 100)
    assert [len(p.words) for p in pieces] == [100, 100, 50]
    assert pieces[1].tags[0] == "B-ORG" and sum(len(p.words) for p in pieces) == 250
