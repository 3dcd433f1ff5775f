import pytest

from training.config import DataSource
from training.conll import TaggedSentence
from training.corpus import read_corpus
from training.sources import LoadedSource, mix_by_weight, split_dev_by_document
from training.tagger_training import _hold_out

from conftest import ROOT


def test_weights_repeat_and_sample():
    items = list(range(10))
    assert mix_by_weight(items, 1.0, seed=0) == items
    assert sorted(mix_by_weight(items, 2.0, seed=0)) == sorted(items * 2)
    mixed = mix_by_weight(items, 0.5, seed=0)
    assert len(mixed) == 5 and len(set(mixed)) == 5
    assert mix_by_weight(items, 0.5, seed=0) == mixed  # seeded


def test_dev_split_is_by_document():
    records = read_corpus(ROOT / "training" / "data" / "libya" / "dev.jsonl")
    keep, held = split_dev_by_document(records, 0.2, seed=1)
    assert {r.doc_id for r in keep}.isdisjoint({r.doc_id for r in held})
    assert len(keep) + len(held) == len(records)
    assert 0.1 < len({r.doc_id for r in held}) / len({r.doc_id for r in records}) < 0.3


def test_conll_hold_out_takes_whole_blocks():
    sentences = [TaggedSentence([f"w{i}"], ["O"]) for i in range(200)]
    keep, held = _hold_out(LoadedSource(DataSource(path="x", format="conll"), sentences), 0.1, seed=0)
    assert len(keep) + len(held) == 200 and 10 <= len(held) <= 30
    positions = sorted(int(s.words[0][1:]) for s in held)
    assert all(b - a == 1 for block in (positions[:25],) for a, b in zip(block, block[1:]))


def test_missing_anercorp_says_where_it_comes_from_and_how_to_point_at_it(tmp_path):
    from training.config import DataSource
    from training.errors import DataError
    from training.sources import load_source

    source = DataSource(path="../shared/data/anercorp_camel/ANERCorp_CamelLab_train.txt", format="conll")
    with pytest.raises(DataError) as error:
        load_source(source, tmp_path)
    message = str(error.value)
    assert "ANERCorp_CamelLab_train.txt" in message and "CAMeL Lab" in message and "research use" in message
    assert "--set 'data.train=[{path: /your/copy, format: conll}]'" in message
