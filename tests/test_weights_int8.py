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


def test_scales_are_per_group_of_columns_and_rowwise_files_still_load():
    """One scale per 128 columns: a row with one large weight no longer flattens the rest of it
    (the row-wise v1 layout cost the default tagger 0.005 of ANERcorp F1); v1 files still read."""
    torch.manual_seed(0)
    matrix = torch.randn(16, 256) * 0.02
    matrix[:, 0] = 1.0  # an outlier in the first group of every row
    stored = weights_int8.quantize({"w": matrix})
    assert stored["w" + weights_int8._SCALE].shape == (16, 2)
    restored = weights_int8.dequantize(stored)["w"]
    second = (restored[:, 128:] - matrix[:, 128:]).abs().max()
    assert second <= matrix[:, 128:].abs().max() / 127  # the outlier-free group keeps its own fine step
    scale = matrix.abs().amax(dim=1, keepdim=True) / 127.0  # a v1 file: one scale per row
    v1 = {"w": torch.round(matrix / scale).to(torch.int8), "w" + weights_int8._SCALE: scale.half()}
    torch.testing.assert_close(weights_int8.dequantize(v1)["w"], matrix, atol=float(scale.max()), rtol=0)
    assert (weights_int8.dequantize(v1)["w"][:, 128:] - matrix[:, 128:]).abs().max() > second * 4


def test_a_width_the_group_does_not_divide_keeps_one_scale_per_row():
    matrix = torch.randn(64, 100)
    stored = weights_int8.quantize({"w": matrix})
    assert stored["w" + weights_int8._SCALE].shape == (64, 1)
    torch.testing.assert_close(weights_int8.dequantize(stored)["w"], matrix, atol=float(matrix.abs().max()) / 127,
                               rtol=0)
