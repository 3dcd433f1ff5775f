"""The offline-backbone pipeline on CPU in seconds: raw text -> packed corpus -> MLM -> fine-tuning."""

import gzip
import json

import torch
import yaml

from conftest import ROOT
from training.pretrain import mask_whole_words
from training.pretraining_data import load_packed, raw_text_folders
from training.train import main as train_main


def make_raw_data(root):
    news = root / "news"
    news.mkdir(parents=True)
    (news / "README.md").write_text("# Test news: raw MSA text for pretraining\n", encoding="utf-8")
    lines = (ROOT / "training" / "data" / "libya" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines[:400]]
    with gzip.open(news / "articles.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i in range(0, len(texts), 5):
            handle.write(json.dumps({"text": " ".join(texts[i : i + 5])}, ensure_ascii=False) + "\n")
    labelled = root / "ner"
    labelled.mkdir()
    (labelled / "README.md").write_text("# A labelled NER corpus\n", encoding="utf-8")
    (labelled / "x.jsonl.gz").write_bytes(gzip.compress(b'{"text": "must not be read"}\n'))


def test_raw_text_folders_are_chosen_by_their_readme(tmp_path):
    make_raw_data(tmp_path)
    assert [p.name for p in raw_text_folders(tmp_path)] == ["news"]


def test_pretrain_then_fine_tune_on_cpu(tmp_path):
    make_raw_data(tmp_path / "data")
    config = {
        "task": "pretrain", "output_dir": str(tmp_path / "backbone"), "seed": 3,
        "data": {"train": [{"path": str(tmp_path / "data"), "format": "raw", "licence": "test text"}]},
        "pretrain": {"packed_corpus": str(tmp_path / "packed"), "vocab_size": 400, "hidden_size": 32,
                     "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
                     "sequence_length": 32, "dev_sequences": 8, "max_minutes": 5},
        "training": {"batch_size": 8, "eval_batch_size": 8, "learning_rate": 2.0e-3, "max_steps": 12,
                     "logging_steps": 3, "warmup_ratio": 0.1},
    }
    path = tmp_path / "pretrain.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert train_main([str(path)]) == 0
    packed = load_packed(tmp_path / "packed")
    assert packed.dtype.name == "uint16" and packed.shape[1] == 32
    meta = json.loads((tmp_path / "packed" / "corpus.json").read_text())
    assert list(meta["per_folder"]) == ["news"] and meta["articles"] == 80
    metrics = json.loads((tmp_path / "backbone" / "metrics.json").read_text())
    assert metrics["steps"] == 12 and metrics["evaluation"]["held_out_sequences"]["mlm_loss"] > 0
    losses = [entry["loss"] for entry in metrics["train_log"]]
    assert losses[-1] < losses[0]
    assert json.loads((tmp_path / "backbone" / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]

    code = train_main([str(ROOT / "configs" / "tagger_smoke.yaml"), "--set", f"output_dir={tmp_path / 'tagger'}",
                       "--set", f"backbone={tmp_path / 'backbone'}", "--set", "scratch=null",
                       "--set", "training.epochs=1"])
    assert code == 0
    card = (tmp_path / "tagger" / "README.md").read_text(encoding="utf-8")
    assert f"Initialised from: {tmp_path / 'backbone'}" in card
    # The card carries its backbone's pretraining data, licence and held-out score, not just a path.
    backbone_section = card.split("## Backbone")[1].split("##")[0]
    assert "test text" in backbone_section and "12 steps" in backbone_section
    assert f"masked-LM loss {metrics['evaluation']['held_out_sequences']['mlm_loss']:.3f}" in backbone_section
    assert "12 steps" in (tmp_path / "backbone" / "README.md").read_text(encoding="utf-8")


def test_whole_words_are_masked_together():
    generator = torch.Generator().manual_seed(0)
    ids = torch.arange(5, 45).reshape(2, 20)
    continuation = torch.zeros(50, dtype=torch.bool)
    continuation[6::3] = True  # every third id continues the word before it
    inputs, labels = mask_whole_words(ids, continuation, special_ids=[0], mask_id=1, vocab_size=50,
                                      probability=0.4, generator=generator)
    chosen = labels != -100
    pieces = continuation[ids]
    # a continuation piece is chosen exactly when the piece before it is
    assert torch.equal(chosen[:, 1:][pieces[:, 1:]], chosen[:, :-1][pieces[:, 1:]])
    assert 0 < chosen.float().mean() < 0.8
    assert torch.equal(inputs[~chosen], ids[~chosen])
