"""Mention replacement (training/augment.py) and its use by the tagger's data loading."""

from pathlib import Path

from training.augment import mentions, swap_mentions
from training.config import config_from_dict
from training.conll import TaggedSentence

SENTENCES = [
    TaggedSentence(["زار", "فائز", "السراج", "روما", "أمس"], ["O", "B-PER", "I-PER", "B-LOC", "O"]),
    TaggedSentence(["قال", "حفتر", "في", "بنغازي"], ["O", "B-PER", "O", "B-LOC"]),
    TaggedSentence(["أعلنت", "الأمم", "المتحدة"], ["O", "B-ORG", "I-ORG"]),
    TaggedSentence(["رحبت", "البعثة"], ["O", "B-ORG"]),
    TaggedSentence(["لا", "شيء", "هنا"], ["O", "O", "O"]),
]


def _valid_iob2(tags):
    return all(not tag.startswith("I-") or (i and tags[i - 1][2:] == tag[2:] and tags[i - 1] != "O")
               for i, tag in enumerate(tags))


def test_swapped_sentences_keep_contexts_types_and_aligned_tags():
    before = [(list(s.words), list(s.tags)) for s in SENTENCES]
    new = swap_mentions(SENTENCES, copies=3.0, seed=1)
    assert [(s.words, s.tags) for s in SENTENCES] == before  # the input is not changed
    assert len(new) == 3 * 4  # the sentence naming nothing is not copied
    pool = {kind: {tuple(s.words[a:b]) for s in SENTENCES for a, b, k in mentions(s) if k == kind}
            for kind in ("PER", "LOC", "ORG")}
    changed = 0
    for sentence in new:
        assert len(sentence.words) == len(sentence.tags) and _valid_iob2(sentence.tags)
        source = next(s for s in SENTENCES if [t[2:] for t in s.tags if t.startswith("B-")]
                      == [t[2:] for t in sentence.tags if t.startswith("B-")] and s.words[0] == sentence.words[0])
        assert [w for w, t in zip(sentence.words, sentence.tags) if t == "O"] == \
            [w for w, t in zip(source.words, source.tags) if t == "O"]  # the context is kept word for word
        for a, b, kind in mentions(sentence):
            assert tuple(sentence.words[a:b]) in pool[kind]
        changed += sentence.words != source.words
    assert changed == len(new)  # every type has two mentions, so every copy differs from its source


def test_fractional_copies_and_seeds():
    assert len(swap_mentions(SENTENCES, copies=0.5, seed=0)) == 2
    assert swap_mentions(SENTENCES, 2.0, seed=5) == swap_mentions(SENTENCES, 2.0, seed=5)
    assert swap_mentions(SENTENCES, 2.0, seed=5) != swap_mentions(SENTENCES, 2.0, seed=6)


def test_tagger_data_gets_the_swapped_copies(tmp_path: Path):
    from training.tagger_training import load_data

    conll = tmp_path / "a.txt"
    conll.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(s.words, s.tags)) for s in SENTENCES) + "\n",
                     encoding="utf-8")
    base = {"task": "tagger", "output_dir": str(tmp_path / "out"), "backbone": "x",
            "data": {"train": [{"path": str(conll), "format": "conll"}]}}
    plain, _, _ = load_data(config_from_dict(base), tmp_path)
    base["data"]["train"][0]["mention_swap"] = 1.0
    swapped, _, rows = load_data(config_from_dict(base), tmp_path)
    assert len(plain) == 5 and len(swapped) == 5 + 4
    assert rows["train"][0]["mention_swapped"] == 4
