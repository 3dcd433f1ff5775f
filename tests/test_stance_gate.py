"""The stance gate: a stance toward a target that the sentence does not name becomes none."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from libya_nlp import Annotator
from libya_nlp.actors import ActorRegistry
from libya_nlp.output import Stance
from libya_nlp.stance_gate import TargetMentionGate

SCHEMA = json.loads(resources.files("libya_nlp").joinpath("resources", "annotation.schema.json").read_text())
NAMED = "رحب الاتحاد الأوروبي بقرارات المجلس الرئاسي في طرابلس."
YEMENI = "أشاد الأمين العام بالدور الفاعل لحكومة الوفاق اليمنية في عدن."  # Yemen's accord government
OTHER = "رحب الاتحاد الأوروبي بالخطوة التي اتخذتها الحكومة التونسية."


class AlwaysFavor:
    """Stands in for the classifier stage: every sentence favors the target with p = 0.9."""

    name = "requests_and_stance"

    def prepare(self, chunk):
        return None

    def run(self, chunk, prepared, batch_size):
        for _, result in chunk.sentences():
            result.stance = Stance(chunk.target, "favor", 0.9)


def _annotator(tiny_tagger_dir, tiny_classifier_dir, **options):
    annotator = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32",
                          **options)
    annotator.stages = [AlwaysFavor() if s.name == "requests_and_stance" else s for s in annotator.stages]
    return annotator


def test_a_stance_stands_only_where_the_sentence_names_the_target(tiny_tagger_dir, tiny_classifier_dir):
    gated = _annotator(tiny_tagger_dir, tiny_classifier_dir)
    assert [s.name for s in gated.stages].index("stance_gate") == [s.name for s in gated.stages].index("actors") + 1
    named, yemeni, other = (a.to_dict()["sentences"][0] for a in gated.annotate_batch([NAMED, YEMENI, OTHER]))
    assert named["stance"]["label"] == "favor" and "stance_model" not in named
    assert yemeni["stance"]["label"] == "none"  # a name another country's demonym qualifies is not the GNA
    assert other["stance"] == {"target": "حكومة الوفاق الوطني", "label": "none", "score": 0.1}
    assert other["stance_model"] == {"label": "favor", "score": 0.9, "gated": "the sentence does not name the target"}
    haftar = gated.annotate(NAMED, stance_target="LBY-LNA").to_dict()["sentences"][0]
    assert haftar["stance"]["label"] == "none"  # the GNA is named, not Haftar
    tunisia = gated.annotate(OTHER, stance_target="الحكومة التونسية").to_dict()["sentences"][0]
    assert tunisia["stance"]["label"] == "favor"  # a body word and a demonym name a state (TUN)
    assert gated.annotate(NAMED, stance_target="الحكومة التونسية").to_dict()["sentences"][0]["stance"]["label"] == "none"
    unknown = gated.annotate(OTHER, stance_target="فريق كرة القدم").to_dict()["sentences"][0]
    assert unknown["stance"]["label"] == "favor"  # a target the registry does not know is never gated
    for annotation in gated.annotate_batch([NAMED, OTHER]):
        jsonschema.validate(annotation.to_dict(), SCHEMA)


def test_gate_stance_false_keeps_every_model_stance(tiny_tagger_dir, tiny_classifier_dir):
    plain = _annotator(tiny_tagger_dir, tiny_classifier_dir, gate_stance=False)
    assert "stance_gate" not in [s.name for s in plain.stages]
    assert plain.annotate(OTHER).to_dict()["sentences"][0]["stance"]["label"] == "favor"


def test_an_entity_resolved_to_the_target_counts_as_naming_it():
    gate = TargetMentionGate(ActorRegistry.load())
    words = "رفض البرلمان منح الثقة للحكومة".split()
    assert not gate.keeps(words, "حكومة الوفاق الوطني")
    assert gate.keeps(words, "حكومة الوفاق الوطني", mentions=[("البرلمان", None), ("للحكومة", "LBY-GNA")])
    assert gate.keeps("قصفت قوات حفتر المطار".split(), "خليفة حفتر")
    assert not gate.keeps("قصفت الطائرات المطار".split(), "خليفة حفتر")


def test_a_homonym_names_the_target_only_in_a_document_that_names_its_country():
    gate = TargetMentionGate(ActorRegistry.load())
    club = "تعادل الوفاق مع المريخ في الدوري".split()
    assert not gate.keeps(club, "LBY-GNA")  # bare الوفاق, nothing Libyan
    assert not gate.keeps(club, "LBY-GNA", mentions=[("الوفاق", "LBY-GNA")])  # the linker's reading of it alone
    assert gate.keeps(club, "LBY-GNA", document="قالت مصادر ليبية إن... " + " ".join(club))  # a demonym
    assert gate.keeps(club, "LBY-GNA", document="وصل وفد مجلس النواب. " + " ".join(club))  # a Libyan body
    assert not gate.keeps(club, "LBY-GNA", document="قالت مصادر يمنية إن... " + " ".join(club))
    lamp = "قام وأطفأ السراج".split()
    assert not gate.keeps(lamp, "LBY-GNA")
    assert gate.keeps(lamp, "LBY-GNA", document="التقى فايز السراج السفير. " + " ".join(lamp))
    assert gate.keeps("رحبت إيطاليا بحكومة الوفاق".split(), "LBY-GNA")  # حكومة الوفاق is a name of its own
    assert gate.keeps("قال السراج".split(), "LBY-GNA", mentions=[("فايز السراج", "LBY-GNA")])


def test_a_shared_name_does_not_name_the_target_in_a_document_about_a_state_that_shared_it():
    gate = TargetMentionGate(ActorRegistry.load())
    sentence = "أشاد المبعوث بأداء حكومة الوفاق الوطني".split()
    assert gate.keeps(sentence, "LBY-GNA")  # alone: the GNA
    assert not gate.keeps(sentence, "LBY-GNA", document="في صنعاء اليمنية، " + " ".join(sentence))
    assert not gate.keeps(sentence, "LBY-GNA", mentions=[("حكومة الوفاق الوطني", "LBY-GNA")],
                          document="زار الوفد رام الله. " + " ".join(sentence))
    assert gate.keeps(sentence, "LBY-GNA", document="في صنعاء وطرابلس الليبية، " + " ".join(sentence))


def test_a_name_inside_another_actors_longer_name_does_not_name_the_target():
    gate = TargetMentionGate(ActorRegistry.load())
    assert not gate.keeps("رفض برلمان طرابلس غير المعترف به الاتفاق".split(), "LBY-GNA")  # the congress, not the GNA
    assert gate.keeps("قصفت قوات حفتر طرابلس".split(), "LBY-GNA")  # the seat still names it where Libya is named


def test_a_seat_names_the_target_only_in_a_text_that_names_its_country():
    registry = ActorRegistry.load()
    gate = TargetMentionGate(registry)
    lebanon = "لماذا طرابلس غائبة عنها مشاريع الدولة اللبنانية مع العلم ان الرئيس ميقاتي هو ابن طرابلس ؟".split()
    assert not gate.keeps(lebanon, "LBY-GNA")  # Lebanon's Tripoli: the city alone does not make the text Libyan
    assert not gate.keeps("وشن التنظيم هجمات على سفارات في طرابلس".split(), "LBY-GNA")
    assert gate.keeps("وشن التنظيم هجمات على سفارات في طرابلس".split(), "LBY-GNA",
                      document="عاد الهدوء إلى ليبيا. وشن التنظيم هجمات على سفارات في طرابلس")
    assert gate.keeps(lebanon, "LBY-GNA", mentions=[("طرابلس", "LBY-GNA")])  # where the linker says it stands for it
    assert registry.in_context("LBY-GNA", "homonym", "التقى الوفد في طرابلس") is None
    assert registry.in_context("LBY-GNA", "homonym", "التقى الوفد في طرابلس الليبية") == "LBY-GNA"


def test_the_stage_reads_homonyms_against_the_whole_document(tiny_tagger_dir, tiny_classifier_dir):
    gated = _annotator(tiny_tagger_dir, tiny_classifier_dir)
    alone, in_libya = gated.annotate_batch(["تعادل الوفاق مع المريخ.", "التقى المبعوث مجلس النواب في طبرق. ودعا الوفاق إلى الحوار."])
    assert alone.to_dict()["sentences"][0]["stance"]["label"] == "none"
    assert in_libya.to_dict()["sentences"][1]["stance"]["label"] == "favor"


def test_a_homonym_must_be_one_of_the_actors_names(tmp_path):
    bad = tmp_path / "actors.yaml"
    bad.write_text("version: 1\nactors:\n  - {id: LBY, kind: state, name_en: Libya, names_ar: [ليبيا], homonyms_ar: [الوفاق]}\n",
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"actors\.yaml: homonyms_ar 'الوفاق' of LBY"):
        ActorRegistry.load(bad)
