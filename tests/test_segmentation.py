from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SEEDS
from libya_nlp.segmentation import split_sentences, tokenize


def test_clitics_stay_in_the_word_and_punctuation_splits():
    tokens = tokenize("طلب السراج، من ”داعش” والجزائر (تونس).")
    assert [t.text for t in tokens] == ["طلب", "السراج", "،", "من", "”", "داعش", "”", "والجزائر", "(", "تونس", ")", "."]


def test_token_offsets_point_into_the_original():
    text = "وَالجزائرُ، تونس"
    assert [(t.text, text[t.start:t.end]) for t in tokenize(text)] == [
        ("والجزائر", "وَالجزائرُ"), ("،", "،"), ("تونس", "تونس")]


def test_sentences_end_at_marks_and_line_breaks():
    text = "ليبيا: حكومة الوفاق تطلب مساعدة\nوقال إن «الطلب جاء متأخرا.» ثم غادر! هل يعود؟"
    assert [s.text for s in split_sentences(text)] == [
        "ليبيا: حكومة الوفاق تطلب مساعدة", "وقال إن «الطلب جاء متأخرا.»", "ثم غادر!", "هل يعود؟"]


def test_abbreviations_and_decimals_do_not_end_sentences():
    assert len(split_sentences("قال د. محمد إن النمو بلغ 3.5 في المئة.")) == 1


def test_seed_articles_split_into_the_expected_sentences():
    counts = [len(split_sentences(path.read_text(encoding="utf-8"))) for path in SEEDS]
    assert counts == [7, 13, 19]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_sentences_cover_their_tokens_in_order(text):
    sentences = split_sentences(text)
    tokens = [t for s in sentences for t in s.tokens]
    assert tokens == tokenize(text)
    for sentence in sentences:
        assert sentence.text == text[sentence.start:sentence.end]
        assert sentence.tokens[0].start == sentence.start and sentence.tokens[-1].end == sentence.end


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["قال السراج", ".", "؟", "!", " ", "\n", "د.", "3.5", "«نعم.»", "&amp;", "<b>",
                                 "حَفْتَر", "…", "U.S.", "x"]), max_size=60).map("".join),
       st.integers(min_value=1, max_value=40))
def test_windowed_sentences_equal_the_whole_split(text, window):
    from libya_nlp.segmentation import iter_sentences

    assert list(iter_sentences(text, window=window)) == split_sentences(text)
