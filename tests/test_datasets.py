"""annotate_dataset over Hugging Face datasets: the same annotations as annotate_batch, lazy and flat in memory when streaming."""

from __future__ import annotations

import json

import psutil
import pytest
from datasets import Dataset, IterableDataset

from conftest import seed_texts
from libya_nlp import Annotator
from libya_nlp.integrations.datasets import annotate_dataset


@pytest.fixture(scope="module")
def fp32_annotator(tiny_tagger_dir, tiny_classifier_dir):
    return Annotator(tagger=tiny_tagger_dir, classifier=tiny_classifier_dir, events="rules", device="cpu",
                     precision="fp32")


def test_a_dataset_gets_the_annotations_of_annotate_batch(fp32_annotator):
    texts = seed_texts() + ["", "طلب السراج دعما."]
    done = fp32_annotator.annotate_dataset(Dataset.from_dict({"id": list(range(len(texts))), "body": texts}),
                                           text_column="body", batch_size=2)
    assert done.column_names == ["id", "body", "annotation"]
    expected = [a.to_dict() for a in fp32_annotator.annotate_batch(texts)]
    assert [json.loads(row) for row in done["annotation"]] == expected


def test_bad_columns_are_named(fp32_annotator):
    with pytest.raises(KeyError, match="no column 'text'"):
        annotate_dataset(Dataset.from_dict({"body": ["x"]}), annotator=fp32_annotator)
    with pytest.raises(TypeError, match="row 1"):
        annotate_dataset(Dataset.from_dict({"text": ["نص", None]}), annotator=fp32_annotator)


def test_streaming_twenty_thousand_texts_keeps_memory_flat(fp32_annotator):
    def rows():
        for i in range(20_000):
            yield {"id": i, "text": f"طلب السراج من الجزائر دعما رقم {i}."}

    stream = annotate_dataset(IterableDataset.from_generator(rows), annotator=fp32_annotator, batch_size=64)
    process = psutil.Process()
    seen = 0
    for row in stream:
        if seen == 2_000:
            after_warmup = process.memory_info().rss
        assert json.loads(row["annotation"])["text"] == row["text"]
        seen += 1
    grown = process.memory_info().rss - after_warmup
    assert seen == 20_000
    assert grown < 150 * 2**20, f"resident memory grew by {grown / 2**20:.0f} MiB over 18,000 streamed rows"
