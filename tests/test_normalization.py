import re

from hypothesis import given, settings
from hypothesis import strategies as st

from libya_nlp.normalization import normalize, normalize_text


def spans_of_words(text):
    n = normalize(text)
    return [(m.group(), text[slice(*n.to_original(m.start(), m.end()))]) for m in re.finditer(r"\S+", n.text)]


def test_tashkeel_and_tatweel_are_removed_and_absorbed_by_their_letter():
    text = "قالَ السرّاجُ ليـــبيا"
    assert normalize_text(text) == "قال السراج ليبيا"
    assert spans_of_words(text) == [("قال", "قالَ"), ("السراج", "السرّاجُ"), ("ليبيا", "ليـــبيا")]


def test_html_entities_are_decoded_and_tags_become_spaces():
    text = "<p>طرابلس&nbsp;&amp;&#1576;نغازي</p>"
    n = normalize(text)
    assert n.text.split() == ["طرابلس", "&", "بنغازي"]
    assert spans_of_words(text) == [("طرابلس", "طرابلس"), ("&", "&amp;"), ("بنغازي", "&#1576;نغازي")]


def test_unknown_entity_is_kept_as_text():
    assert normalize_text("a&bogus;b").split() == ["a", "&", "bogus", ";", "b"]


def test_hindi_and_persian_digits_become_ascii_and_split_from_letters():
    assert normalize_text("عام ٢٠١١م و۱۹۶۹") == "عام 2011 م و 1969"
    assert spans_of_words("٢٠١١م") == [("2011", "٢٠١١"), ("م", "م")]


def test_punctuation_is_spaced_but_numbers_keep_their_separators():
    assert normalize_text("قال:«نعم»،3.5%") == "قال : « نعم » ، 3.5 %"


def test_three_or_more_repeats_are_kept_twice_and_digits_are_not_touched():
    assert normalize_text("جمييييل!!!! 1111") == "جمييل ! ! 1111"
    assert spans_of_words("!!!!") == [("!", "!"), ("!", "!!!")]


def test_invisible_and_odd_spaces():
    text = "\u200fليبيا\u00a0\u200bتونس\u200e\x07مصر\ufeff"
    assert normalize_text(text).split() == ["ليبيا", "تونس", "مصر"]
    assert [orig for _, orig in spans_of_words(text)] == ["ليبيا", "تونس", "مصر"]


def test_emoji_and_presentation_forms():
    assert spans_of_words("👍🏽ﻻ") == [("👍", "👍"), ("🏽", "🏽"), ("لا", "ﻻ")]


def test_latin_is_lowercased():
    assert normalize_text("UNSMIL") == "unsmil"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_map_is_monotonic_and_inside_the_original(text):
    n = normalize(text)
    assert len(n.starts) == len(n.ends) == len(n.text)
    assert all(0 <= s < e <= len(text) for s, e in zip(n.starts, n.ends))
    assert n.starts == sorted(n.starts)
    for match in re.finditer(r"\S+", n.text):
        start, end = n.to_original(match.start(), match.end())
        assert text[start:end].strip() == text[start:end] != ""
