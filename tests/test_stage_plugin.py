"""A new capability is one new stage plus one registration line: a toy stage that counts the
entities of each sentence shows up in annotate()'s JSON, which still meets the schema."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from conftest import seed_texts
from libya_nlp import Annotator

SCHEMA = json.loads(resources.files("libya_nlp").joinpath("resources", "annotation.schema.json").read_text())


class EntityCount:
    """Counts each sentence's entities by label, reading what the entity stage wrote."""

    name = "entity_count"

    def prepare(self, chunk):
        return None

    def run(self, chunk, prepared, batch_size):
        for _, result in chunk.sentences():
            counts: dict[str, int] = {}
            for entity in result.entities:
                counts[entity.label] = counts.get(entity.label, 0) + 1
            result.extra["entity_count"] = counts


@pytest.fixture()
def counting(tiny_tagger_dir, tiny_classifier_dir):
    annotator = Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, device="cpu", precision="fp32")
    annotator.add_stage(EntityCount())  # the one registration line
    return annotator


def test_a_toy_stage_writes_its_field_into_every_sentence(counting, annotator):
    for with_stage, without in zip(counting.annotate_batch(seed_texts()), annotator.annotate_batch(seed_texts())):
        data = with_stage.to_dict()
        jsonschema.validate(data, SCHEMA)
        for sentence, plain in zip(data["sentences"], without.to_dict()["sentences"]):
            inside = [e for e in data["entities"] if sentence["start"] <= e["start"] < sentence["end"]]
            expected = {label: sum(e["label"] == label for e in inside) for label in {e["label"] for e in inside}}
            assert sentence.pop("entity_count") == expected
            assert sentence == plain  # nothing else changed
    assert any(s.to_dict()["sentences"][0]["entity_count"] for s in counting.annotate_batch(seed_texts()))


def test_a_stage_name_is_used_once_and_core_fields_are_not_overwritten(counting):
    with pytest.raises(ValueError, match="already in the pipeline"):
        counting.add_stage(EntityCount())

    class Clobber:
        name = "clobber"

        def prepare(self, chunk):
            return None

        def run(self, chunk, prepared, batch_size):
            for _, result in chunk.sentences():
                result.extra["stance"] = "mine"

    counting.add_stage(Clobber())
    with pytest.raises(ValueError, match="core output already has"):
        counting.annotate("طلب السراج دعما.").to_dict()
