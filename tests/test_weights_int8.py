"""Checkpoints stored as int8 rows load through the same loaders and give nearly the same outputs."""

import shutil

import pytest
import torch

from libya_nlp import weights_int8
from libya_nlp.checkpoints import CheckpointError, load_classifier, load_tagger


def _compact_copy(source, target, loader):
    shutil.copytree(source, target, dirs_exist_ok=True)
    model = loader(source)[0]
    (target / "model.safetensors").unlink()
    weights_int8.save_int8(model, target)
    return model


def test_int8_tagger_and_classifier_load_and_agree(tmp_path, tiny_tagger_dir, tiny_classifier_dir):
    ids = torch.tensor([[2, 40, 41, 42, 43, 3]])
    for source, loader, head in ((tiny_tagger_dir, load_tagger, "logits"),
                                 (tiny_classifier_dir, load_classifier, "request_logits")):
        target = tmp_path / source.name
        original = _compact_copy(source, target, loader)
        compact, tokenizer, _ = loader(target)
        assert tokenizer.is_fast and next(compact.parameters()).dtype == torch.float32
        with torch.inference_mode():
            before, after = getattr(original(input_ids=ids), head), getattr(compact(input_ids=ids), head)
        assert torch.allclose(before, after, atol=2e-2), (before - after).abs().max()
        assert not torch.equal(before, after)  # really the rounded weights
        stored = weights_int8.load_int8(target / weights_int8.FILENAME)
        assert len(stored) >= len(original.state_dict()) - 1  # every weight is stored (position ids may be a buffer)


def test_large_matrices_are_stored_as_int8_rows(tmp_path, tiny_tagger_dir):
    from safetensors.torch import load_file

    model = load_tagger(tiny_tagger_dir)[0]
    [path] = weights_int8.save_int8(model, tmp_path)
    stored = load_file(str(path))
    embeddings = "bert.embeddings.word_embeddings.weight"
    assert stored[embeddings].dtype == torch.int8 and stored[embeddings + ".__scale__"].shape == (model.config.vocab_size, 1)
    assert stored["classifier.bias"].dtype == torch.float16
    quantized = sum(t.numel() for n, t in stored.items() if t.dtype == torch.int8)
    assert quantized >= 0.5 * sum(p.numel() for p in model.parameters())


def test_a_compact_checkpoint_that_does_not_fit_its_config_is_named(tmp_path, tiny_tagger_dir):
    target = tmp_path / "tagger"
    _compact_copy(tiny_tagger_dir, target, load_tagger)
    config = (target / "config.json").read_text()
    (target / "config.json").write_text(config.replace('"num_hidden_layers": 2', '"num_hidden_layers": 3'))
    with pytest.raises(CheckpointError, match="int8 weights in .* do not fit the tagger config"):
        load_tagger(target)


def test_large_weights_are_sharded_and_load_back_whole(tmp_path, tiny_tagger_dir):
    target = tmp_path / "tagger"
    shutil.copytree(tiny_tagger_dir, target)
    (target / "model.safetensors").unlink()
    model = load_tagger(tiny_tagger_dir)[0]
    paths = weights_int8.save_int8(model, target, max_shard_bytes=20_000)
    assert len(paths) > 2 and all(p.stat().st_size < 40_000 for p in paths)
    assert [p.name for p in paths][0].startswith("model.int8-00001-of-")
    compact = load_tagger(target)[0].state_dict()
    whole = weights_int8.dequantize(weights_int8.quantize(model.state_dict()))
    assert all(torch.equal(compact[k], whole[k]) for k in whole)
    weights_int8.save_int8(model, target)  # saving again as one file removes the shards
    assert [p.name for p in weights_int8.files_in(target)] == ["model.int8.safetensors"]
    assert not list(target.glob("model.int8-*"))
