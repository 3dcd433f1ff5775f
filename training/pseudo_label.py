"""Self-training data for the tagger: raw news sentences labelled by a trained tagger, as CoNLL.

``python -m training.pseudo_label --tagger DIR --out runs/pseudo.conll [--data ../shared/data]
[--sentences 6000] [--min-prob 0.9] [--seed 5] [--exclude FILE ...]``

Sentences (8-50 words) are drawn from a random share of the articles of every raw-text folder
(:func:`training.pretraining_data.raw_text_folders`), tagged through the same sentence split and
tokenisation as ``annotate()``, and kept only when the tagger is confident about every word
(the probability of each word's label at least ``min_prob``). The output is a CoNLL file that a
tagger config can list as a ``format: conll`` source. The raw news is research-only: write the
file under ``runs/``, never into the repository. Sentences that also occur in an ``--exclude``
CoNLL file (e.g. the ANERcorp test split) are skipped, so that no evaluation sentence leaks in.

>>> confident(["O", "B-PER", "I-PER"], [0.99, 0.95, 0.91], 0.9), confident(["O", "B-PER"], [0.99, 0.6], 0.9)
(True, False)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from libya_nlp.segmentation import split_sentences
from libya_nlp.tagger import EntityTagger
from training.conll import read_conll
from training.errors import DataError
from training.pretraining_data import iter_articles, raw_text_folders


def confident(tags: Sequence[str], probs: Sequence[float], min_prob: float) -> bool:
    """Whether every word's label has at least ``min_prob``."""
    return len(tags) > 0 and min(probs) >= min_prob


def candidate_sentences(folder: Path, *, article_share: float, seed: int, exclude: set[str],
                        min_words: int = 8, max_words: int = 50) -> Iterator[list[str]]:
    """Word lists of distinct sentences from a random ``article_share`` of one raw-news folder's articles."""
    rng = random.Random(f"{seed}:{folder.name}")
    seen: set[str] = set()
    for article in iter_articles(folder):
        if rng.random() >= article_share:
            continue
        for sentence in split_sentences(article):
            words = [token.text for token in sentence.tokens]
            key = " ".join(words)
            if min_words <= len(words) <= max_words and key not in seen and key not in exclude:
                seen.add(key)
                yield words


def pseudo_label(tagger: EntityTagger, data: Path, *, sentences: int, min_prob: float = 0.9, seed: int = 5,
                 article_share: float = 0.05, exclude: set[str] | None = None, batch_size: int = 64,
                 pool_factor: int = 3) -> tuple[list[tuple[list[str], list[str]]], dict[str, Any]]:
    """Up to ``sentences`` confidently tagged sentences, and counts of what was read and kept.

    ``pool_factor`` times as many candidates are tagged as are wanted, the same number from each
    raw-text folder; the confident ones are then sampled down to ``sentences`` with ``seed``.
    """
    folders = raw_text_folders(data)
    if not folders:
        raise DataError(f"no raw-text folders under {data} (a folder qualifies when its README.md title says 'raw')")
    quota = math.ceil(sentences * pool_factor / len(folders))
    pool: list[list[str]] = []
    for folder in folders:
        for count, words in enumerate(candidate_sentences(folder, article_share=article_share, seed=seed,
                                                          exclude=exclude or set())):
            if count >= quota:
                break
            pool.append(words)
    kept: list[tuple[list[str], list[str]]] = []
    for start in range(0, len(pool), 512):
        chunk = pool[start : start + 512]
        labels, probs = tagger.word_labels(tagger.prepare(chunk), batch_size=batch_size)
        kept += [(w, t) for w, t, p in zip(chunk, labels, probs) if confident(t, p, min_prob)]
    random.Random(seed).shuffle(kept)
    kept = kept[:sentences]
    entities = Counter(tag[2:] for _, tags in kept for tag in tags if tag.startswith("B-"))
    return kept, {"tagged": len(pool), "confident": len(kept), "min_prob": min_prob, "seed": seed,
                  "entities": dict(sorted(entities.items()))}


def write_conll(path: Path, sentences: Sequence[tuple[list[str], list[str]]]) -> None:
    """Write ``token tag`` lines with a blank line after each sentence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for words, tags in sentences:
            for word, tag in zip(words, tags):
                out.write(f"{word} {tag}\n")
            out.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pseudo_label", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tagger", required=True, help="the tagger checkpoint that labels")
    parser.add_argument("--out", type=Path, required=True, help="CoNLL file to write (under runs/)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--sentences", type=int, default=6000)
    parser.add_argument("--min-prob", type=float, default=0.9)
    parser.add_argument("--article-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--exclude", type=Path, action="append", default=[], help="CoNLL file whose sentences to skip")
    options = parser.parse_args(argv)
    from libya_nlp.checkpoints import CheckpointError, load_tagger

    try:
        exclude = {" ".join(s.words) for path in options.exclude for s in read_conll(path)}
        model, tokenizer, _ = load_tagger(options.tagger)
        kept, counts = pseudo_label(EntityTagger(model.eval(), tokenizer), options.data, sentences=options.sentences,
                                    min_prob=options.min_prob, seed=options.seed,
                                    article_share=options.article_share, exclude=exclude)
    except (DataError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_conll(options.out, kept)
    counts["tagger"] = options.tagger
    options.out.with_suffix(".json").write_text(json.dumps(counts, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(counts, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
