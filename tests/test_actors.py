"""Actor linking (ANNOTATION.md §6, GUIDELINES §5): clitics, persons, places, demonyms, never a guess."""

from __future__ import annotations

import pytest

from libya_nlp.actors import ActorRegistry, normalize_alias


@pytest.fixture(scope="module")
def registry() -> ActorRegistry:
    return ActorRegistry.load()


@pytest.mark.parametrize(("surface", "label", "expected"), [
    ("والجزائر", "LOC", "DZA"),                        # conjunction
    ("لحكومة الوفاق الوطني", "ORG", "LBY-GNA"),          # preposition on a multi-word name
    ("بالسراج", "PER", "LBY-GNA"),                      # preposition + article kept
    ("السراج", "PER", "LBY-GNA"),                       # partial name of a listed person
    ("فايز السراج", "PER", "LBY-GNA"),                  # spelling variant folded (ي/ئ)
    ("«ستولتنبرغ»", "PER", "NATO"),                      # quotes dropped
    ("وللأمم المتحدة", "ORG", "UN"),                     # لل read as ال
    ("الخارجية الأمريكية", "ORG", "USA"),                # demonym on a body word
    ("وزارة الداخلية بحكومة الوفاق", "ORG", "LBY-GNA"),  # a registry name inside an ORG span
    ("المشير خليفة حفتر", "PER", "LBY-LNA"),            # a title before the name
    ("واشنطن", "LOC", "USA"),                           # a capital standing for the state
    ("سرت", "LOC", None),                               # only a place
    ("الجيش الليبي", "ORG", None),                      # ambiguous: never resolved alone
    ("عمر المختار", "PER", None),                       # not in the registry: not guessed
    ("وزارة الداخلية", "ORG", None),                    # a body word without its state
])
def test_resolves_mentions_as_the_guidelines_say(registry, surface, label, expected):
    assert registry.resolve(surface, label) == expected


def test_a_place_after_a_locative_word_is_only_a_place(registry):
    assert registry.resolve("ليبيا", "LOC", before="تدهور الوضع في ") is None
    assert registry.resolve("بليبيا", "LOC") is None
    assert registry.resolve("ليبيا", "LOC", before="طلبت ") == "LBY"
    assert registry.resolve("طرابلس", "LOC", before="الهجوم على جنوب ") is None
    assert registry.resolve("القاهرة", "LOC", before="وفي ") is None          # a clitic on the locative word
    assert registry.resolve("وبريطانيا", "LOC") == "GBR"                     # the ب of the name is no clitic
    assert registry.resolve("فيينا", "LOC", before="استضافة العاصمة النمساوية ") is None
    assert registry.resolve("طرابلس", "ORG") == "LBY-GNA" and registry.resolve("طرابلس", "LOC") is None
    # an ORG span is never a mere place
    assert registry.resolve("ليبيا", "ORG", before="في ") == "LBY"


def test_a_single_word_seat_inside_a_longer_span_is_not_the_body(registry):
    assert registry.resolve("جامعة طرابلس", "ORG") is None


def test_the_key_ignores_marks_tatweel_and_alef_forms():
    assert normalize_alias("الإمـــارات") == normalize_alias("الامارات")
    assert normalize_alias("حَفْتَر") == "حفتر"


def test_stance_target_ids_become_the_trained_name(registry):
    known = ("حكومة الوفاق الوطني", "خليفة حفتر")
    assert registry.target_text("LBY-LNA", known=known) == "خليفة حفتر"
    assert registry.target_text("LBY-GNA", known=known) == "حكومة الوفاق الوطني"
    assert registry.target_text("TUR", known=known) == registry.get("TUR").name_ar
    assert registry.target_text("مجلس النواب", known=known) == "مجلس النواب"


def test_unknown_id_names_the_registry(registry):
    with pytest.raises(KeyError, match="actors.yaml"):
        registry.get("XXX")


def test_a_bad_registry_file_names_itself(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("actors: {", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.yaml"):
        ActorRegistry.load(path)


def test_a_family_name_inside_another_persons_name_is_not_that_person(registry):
    assert registry.resolve("عائشة القذافي", "PER") is None                 # not listed: not Muammar
    assert registry.resolve("الرئيس حفتر", "PER") == "LBY-LNA"


def test_latin_mentions_and_english_locatives(registry):
    assert registry.resolve("NATO", "ORG") == "NATO"
    assert registry.resolve("Libya", "LOC", before="the UN envoy for ") is None


def test_an_annotator_can_use_its_own_registry(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    import yaml

    from libya_nlp import Annotator
    from libya_nlp.checkpoints import default_model_dir

    data = yaml.safe_load((default_model_dir("tagger").parents[2] / "resources" / "actors.yaml").read_text(encoding="utf-8"))
    data["actors"].append({"id": "LBY-ZAW", "kind": "council", "country": "LBY", "name_en": "Zawiya council",
                           "names_ar": ["مجلس الزاوية"]})
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    annotator = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, actors=path, device="cpu")
    assert annotator.registry.resolve("ومجلس الزاوية", "ORG") == "LBY-ZAW"
    assert ActorRegistry.load().resolve("ومجلس الزاوية", "ORG") is None


@pytest.mark.parametrize(("surface", "after", "expected"), [
    ("حكومة الوفاق الوطني اليمنية", "", "YEM"),          # the demonym inside the span: Yemen's government
    ("حكومة الوفاق الوطني", " الفلسطينية في غزة", "PSE"),  # ... or just after it
    ("المجلس الرئاسي اليمني", "", "YEM"),
    ("حكومة الوفاق الوطني الليبية", "", "LBY-GNA"),      # its own country's demonym: still the GNA
    ("حكومة الوفاق الوطني", " والتركية", "LBY-GNA"),      # with a clitic the adjective starts something new
])
def test_a_name_that_another_countrys_demonym_qualifies_is_that_country(registry, surface, after, expected):
    assert registry.resolve(surface, "ORG", after=after) == expected


def test_a_foreign_qualifier_makes_a_person_or_place_name_nothing(registry):
    assert registry.resolve("حكومة الوفاق", "MISC", after=" اليمنية") is None
    assert registry.resolve("رجب طيب أردوغان", "PER", after=" والروسي بوتين") == "TUR"


def test_a_homonym_inside_a_longer_span_is_not_the_actor(registry):
    assert registry.resolve("جمعية الوفاق", "ORG") is None        # Bahrain's Wefaq society
    assert registry.resolve("نادي الوفاق", "ORG") is None         # a football club
    assert registry.resolve("الرئيس السراج", "PER") == "LBY-GNA"  # titles around it: still the person
    assert registry.resolve("بالوفاق", "ORG") == "LBY-GNA"         # the whole span, no document asked


def test_a_homonym_resolves_only_in_a_document_that_names_its_country(registry):
    assert registry.resolve("الوفاق", "ORG", document="تعادل الوفاق مع المحرق في الدوري.") is None
    assert registry.resolve("الوفاق", "ORG", document="التقى وفد مجلس النواب وفد الوفاق.") == "LBY-GNA"
    assert registry.resolve("حكومة الوفاق", "ORG", document="رحبت إيطاليا بحكومة الوفاق.") == "LBY-GNA"  # not a homonym


def test_a_shared_name_in_a_document_about_a_state_that_shared_it_is_that_states(registry):
    yemen = "أعلن رئيس الوزراء اليمني تشكيل حكومة الوفاق الوطني في صنعاء."
    assert registry.resolve("حكومة الوفاق الوطني", "ORG", document=yemen) == "YEM"
    assert registry.resolve("حكومة الوفاق", "MISC", document=yemen) is None  # only a body becomes the state
    gaza = "وصل وفد من رام الله لتسلم مهام حكومة الوفاق في قطاع غزة."
    assert registry.resolve("حكومة الوفاق", "ORG", document=gaza) == "PSE"
    # Libya named by a name of its own or a demonym: the GNA, whatever else the document names
    both = "بحث المبعوث الأممي إلى اليمن مع حكومة الوفاق الوطني الوضع في طرابلس وسرت الليبية."
    assert registry.resolve("حكومة الوفاق الوطني", "ORG", document=both) == "LBY-GNA"
    # no state that shares the name: the GNA, in a document or alone
    assert registry.resolve("حكومة الوفاق الوطني", "ORG", document="رحبت إيطاليا بحكومة الوفاق الوطني.") == "LBY-GNA"
    assert registry.resolve("حكومة الوفاق الوطني", "ORG") == "LBY-GNA"
    # two states that share it and nothing Libyan: neither can be told, so nothing
    assert registry.resolve("حكومة الوفاق", "ORG", document="قارن الكاتب بين اليمن وفلسطين وحكومة الوفاق.") is None


def test_a_given_away_shared_name_does_not_name_libya_for_a_homonym(registry):
    yemen = "شكلت حكومة الوفاق الوطني في اليمن وقال المجلس الرئاسي إنه يرحب."
    assert registry.resolve("المجلس الرئاسي", "ORG", document=yemen) is None
    assert registry.resolve("المجلس الرئاسي", "ORG", document="رحب المجلس الرئاسي بحكومة الوفاق الوطني.") == "LBY-GNA"


def test_a_shared_name_must_be_one_of_the_actors_names_and_share_with_known_ids(tmp_path):
    entry = "version: 1\nactors:\n  - {id: LBY, kind: state, name_en: Libya, names_ar: [ليبيا], shared_ar: {names: [%s], with: [%s]}}\n"
    (tmp_path / "name.yaml").write_text(entry % ("الوفاق", "LBY"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"name\.yaml: shared_ar name 'الوفاق' of LBY"):
        ActorRegistry.load(tmp_path / "name.yaml")
    (tmp_path / "state.yaml").write_text(entry % ("ليبيا", "YEM"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"state\.yaml: shared_ar of LBY names 'YEM', which is not an id"):
        ActorRegistry.load(tmp_path / "state.yaml")


def test_the_actor_stage_reads_the_next_word_and_the_document():
    from libya_nlp.output import Entity
    from libya_nlp.segmentation import split_sentences
    from libya_nlp.stages import ActorStage, Chunk, SentenceResult

    def linked(text: str, surface: str) -> str | None:
        sentence = split_sentences(text)[-1]
        start = text.index(surface, sentence.start)
        result = SentenceResult(sentence, True, [Entity(start, start + len(surface), surface, "ORG", 0.9)])
        ActorStage().run(Chunk([(text, result)], "حكومة الوفاق الوطني", []), None, 1)
        return result.entities[0].actor

    assert linked("رحبت حكومة الوفاق الوطني الفلسطينية بالقرار.", "حكومة الوفاق الوطني") == "PSE"
    assert linked("تعادل الوفاق مع المحرق.", "الوفاق") is None
    assert linked("وصل وفد ليبي إلى جنيف. وقال الوفاق إنه يرحب.", "الوفاق") == "LBY-GNA"
    assert linked("زار الوفد صنعاء اليمنية. والتقى حكومة الوفاق الوطني.", "حكومة الوفاق الوطني") == "YEM"
