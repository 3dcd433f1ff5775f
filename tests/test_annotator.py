import json
from importlib import resources

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import seed_texts
from libya_nlp import Annotator, annotate, annotate_batch
from libya_nlp.actors import ActorRegistry
from libya_nlp.checkpoints import default_model_dir
from libya_nlp.labels import ENTITY_TYPES, HAFTAR_TARGET, REQUEST_TYPES, STANCE_LABELS

ANNOTATION_SCHEMA = json.loads(resources.files("libya_nlp").joinpath("resources", "annotation.schema.json").read_text())

arabic_words = st.sampled_from(["طلب", "السراج", "فائز", "حكومة", "الوفاق", "ليبيا", "والجزائر", "داعش", "من", "قالَ",
                                "ليـــبيا", "٢٠١١م", "&amp;", "<b>", "\u200f", "\u00a0", "😀", "«", "»", ".", "،", "\n"])
texts = st.one_of(st.text(max_size=80), st.lists(st.one_of(arabic_words, st.text(max_size=3)), max_size=40).map(" ".join),
                  st.lists(st.one_of(arabic_words, st.text(max_size=3)), max_size=40).map("".join))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_offsets_always_index_the_original_text(annotator, text):
    result = annotator.annotate(text).to_dict()
    assert result["text"] == text
    for entity in result["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["text"] != ""
        assert entity["text"].strip() == entity["text"]
    for sentence in result["sentences"]:
        assert text[sentence["start"]:sentence["end"]] == sentence["text"]


def test_seed_articles_give_the_json_of_the_contract(annotator, tiny_tagger_dir, tiny_classifier_dir):
    results = annotator.annotate_batch(seed_texts())
    for text, result in zip(seed_texts(), results):
        data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
        assert set(data) == {"text", "entities", "sentences", "model"}
        assert data["text"] == text
        assert data["model"] == {"tagger": str(tiny_tagger_dir), "classifier": str(tiny_classifier_dir),
                                 "events": str(default_model_dir("events"))}
        assert data["entities"], "the biased test tagger finds entities"
        jsonschema.validate(data, ANNOTATION_SCHEMA)
        for entity in data["entities"]:
            assert set(entity) == {"start", "end", "text", "label", "score", "actor"}
            assert entity["actor"] is None or entity["actor"] in ActorRegistry.load()
            assert entity["label"] in ENTITY_TYPES and 0 <= entity["score"] <= 1
            assert text[entity["start"]:entity["end"]] == entity["text"]
        for sentence in data["sentences"]:
            assert set(sentence) - {"stance_model"} == {"start", "end", "text", "request_types", "stance", "events"}
            if "stance_model" in sentence:  # the gate's record of a stance it turned into none
                assert sentence["stance"]["label"] == "none" and sentence["stance_model"]["label"] != "none"
            assert {e["type"] for e in sentence["events"]} == {r["label"] for r in sentence["request_types"]}
            assert all(r["label"] in REQUEST_TYPES for r in sentence["request_types"])
            assert sentence["stance"]["target"] == "حكومة الوفاق الوطني"
            assert sentence["stance"]["label"] in STANCE_LABELS
    assert [len(r.sentences) for r in results] == [7, 13, 19]


def test_batch_equals_one_by_one(annotator):
    docs = seed_texts() + ["", "عنوان بلا نقطة", "جملة قصيرة. " * 50]
    batch = [a.to_dict() for a in annotator.annotate_batch(docs, batch_size=3)]
    single = [annotator.annotate(doc).to_dict() for doc in docs]
    assert batch == single


def test_module_functions_reuse_a_cached_annotator(tiny_tagger_dir, tiny_classifier_dir):
    text = seed_texts()[1]
    first = annotate(text, tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu",
                     stance_target=HAFTAR_TARGET)
    [second] = annotate_batch([text], tagger=str(tiny_tagger_dir), classifier=str(tiny_classifier_dir), device="cpu",
                              stance_target=HAFTAR_TARGET)
    assert first.to_dict() == second.to_dict()
    assert first.sentences[0].stance.target == HAFTAR_TARGET


def test_type_errors(annotator):
    with pytest.raises(TypeError, match="str"):
        annotator.annotate(b"bytes")
    with pytest.raises(TypeError, match="list of str"):
        annotator.annotate_batch("one string")
    with pytest.raises(TypeError, match="item 1"):
        annotator.annotate_batch(["ok", None])
    with pytest.raises(TypeError):
        annotate(42)
    with pytest.raises(TypeError, match="stance_target"):
        annotator.annotate("نص", stance_target="")


def test_bad_device_is_a_clear_error(tiny_tagger_dir, tiny_classifier_dir):
    with pytest.raises(ValueError, match="device"):
        Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="tpu")


def test_html_view_marks_entities(annotator):
    html = annotator.annotate(seed_texts()[0]).to_html()
    assert html.startswith('<div dir="rtl"') and "<mark" in html


def test_html_view_shows_labels_visibly_keeps_line_breaks_and_makes_a_page():
    from html.parser import HTMLParser

    from libya_nlp.output import Annotation, Entity, Event, LabelScore, Role, SentenceAnnotation, Stance

    text = "طلب السراج من الجزائر دعما.\nورحبت أنقرة."
    first, second = text.index("."), len(text)
    result = Annotation(text, [Entity(4, 10, "السراج", "PER", 0.9, "LBY-GNA"), Entity(14, 21, "الجزائر", "LOC", 0.8, "DZA")],
                        [SentenceAnnotation(0, first + 1, text[:first + 1], [LabelScore("military_aid", 0.91)],
                                            Stance("حكومة الوفاق الوطني", "none", 0.9),
                                            [Event("military_aid", 0.8, Role("LBY-GNA", 4, 10, "السراج"),
                                                   Role("DZA", 14, 21, "الجزائر"))]),
                         SentenceAnnotation(first + 2, second, text[first + 2:], [],
                                            Stance("حكومة الوفاق الوطني", "favor", 0.7))])

    class Text(HTMLParser):  # what a reader sees: the text nodes, not attributes or tooltips
        def __init__(self):
            super().__init__()
            self.seen = []

        def handle_data(self, data):
            self.seen.append(data)

    page = result.to_html(full_page=True)
    reader = Text()
    reader.feed(page)
    visible = "".join(reader.seen)
    assert "military_aid 0.91" in visible and "LBY-GNA → DZA: military_aid" in visible
    assert "حكومة الوفاق الوطني: favor 0.70" in visible and "PER · LBY-GNA" in visible
    assert "legend" in page and "<br>" in page  # the paragraph break survives
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and 'lang="ar" dir="rtl"' in page


def test_words_the_tokenizer_drops_are_outside_entities(annotator):
    # NFKC turns U+00A8 into a lone combining mark, which WordPiece drops: no subword, label O
    for text in ["¨", "طلب ¨ السراج", "\u0301\u0301"]:
        result = annotator.annotate(text)
        assert all(text[e.start:e.end] == e.text for e in result.entities)


def test_streaming_reads_ahead_by_a_bounded_amount(annotator):
    consumed = 0

    def endless():
        nonlocal consumed
        while True:
            consumed += 1
            yield "طلب السراج من الجزائر دعما."

    stream = annotator.iter_annotate(endless(), batch_size=4)
    first = next(stream)
    assert first and consumed <= 3 * 16 * 4, "memory stays flat: at most a few chunks are read ahead"
    second = next(stream)
    assert len(second) == len(first)


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_reduced_precisions_agree_with_fp32_on_the_seeds(tiny_tagger_dir, tiny_classifier_dir, precision):
    import torch

    reference = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32")
    other = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision=precision)
    if precision == "int8":
        assert any(type(m).__module__.startswith("torch.ao") for m in other.tagger.model.modules())
    else:
        assert next(other.tagger.model.parameters()).dtype == torch.bfloat16
    a = [[(e.start, e.end, e.label) for e in r.entities] for r in reference.annotate_batch(seed_texts())]
    b = [[(e.start, e.end, e.label) for e in r.entities] for r in other.annotate_batch(seed_texts())]
    same = sum(len(set(x) & set(y)) for x, y in zip(a, b)) / max(1, sum(len(x) for x in a))
    assert same > 0.9


def test_unknown_precision_is_an_error(tiny_tagger_dir, tiny_classifier_dir):
    with pytest.raises(ValueError, match="precision"):
        Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp8")


def test_sentences_without_letters_are_never_coded(annotator):
    result = annotator.annotate("طلب السراج دعما عسكريا من تركيا. !!! ... 2019 - 3")
    assert len(result.sentences) >= 2
    for sentence in result.sentences[1:]:
        assert sentence.request_types == [] and sentence.stance.label == "none"


def test_skip_non_arabic_drops_captions_and_credits(tiny_tagger_dir, tiny_classifier_dir):
    from libya_nlp import Annotator

    text = "طلب السراج دعما عسكريا من تركيا.\nPhoto: Fayez al-Sarraj asks Turkey for military aid. Reuters"
    keep = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32")
    skip = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32",
                     skip_non_arabic=True)
    kept, skipped = keep.annotate(text), skip.annotate(text)
    caption = len(text.split("\n")[0]) + 1
    assert any(e.start >= caption for e in kept.entities)  # the random tiny tagger tags something there
    assert not any(e.start >= caption for e in skipped.entities)
    assert skipped.sentences[-1].request_types == [] and skipped.sentences[-1].stance.label == "none"
    assert [e for e in kept.entities if e.start < caption] == [e for e in skipped.entities if e.start < caption]


def test_annotate_takes_precision(tiny_tagger_dir, tiny_classifier_dir, annotator):
    from libya_nlp import annotate, annotate_batch

    text = "طلب السراج دعما عسكريا من تركيا."
    one = annotate(text, tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32")
    assert one.to_dict() == annotator.annotate(text).to_dict()
    many = annotate_batch([text], tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu",
                          precision="int8")
    assert many[0].text == text
    with pytest.raises(ValueError, match="precision"):
        annotate(text, tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp8")


def test_a_long_one_line_document_goes_through_in_bounded_chunks(annotator, monkeypatch):
    long_text = " ".join(seed_texts()).replace("\n", " ") * 6
    sizes = []
    prepare = Annotator._prepare

    def counting(self, items, *args):
        sizes.append(len(items))
        return prepare(self, items, *args)

    monkeypatch.setattr(Annotator, "_prepare", counting)
    small = annotator.annotate_batch([long_text, "قصير."], batch_size=2)
    assert len(sizes) > 5 and max(sizes) <= 16 * 2  # the document was cut into chunks of the batch's size
    sizes.clear()
    whole = annotator.annotate_batch([long_text, "قصير."], batch_size=64)
    assert [a.to_dict() for a in small] == [a.to_dict() for a in whole]
    assert len(small[0].sentences) > 100


def test_many_one_sentence_documents_are_pooled_into_full_chunks(annotator, monkeypatch):
    sizes = []
    prepare = Annotator._prepare
    monkeypatch.setattr(Annotator, "_prepare", lambda self, items, *a: (sizes.append(len(items)), prepare(self, items, *a))[1])
    docs = [f"طلب السراج من الجزائر دعما رقم {i}." for i in range(150)]
    results = annotator.annotate_batch(docs, batch_size=4)
    assert sizes == [64, 64, 22]  # 16 * batch_size sentences per chunk, across documents
    assert [r.text for r in results] == docs


def test_progress_is_reported_in_sentences_inside_a_long_document(annotator):
    long_text = " ".join(seed_texts()).replace("\n", " ") * 3
    seen = []
    results = [a for chunk in annotator.iter_annotate([long_text], batch_size=2, on_sentences=seen.append)
               for a in chunk]
    assert len(seen) > 3 and sum(seen) == len(results[0].sentences)  # many reports before the one document ends
