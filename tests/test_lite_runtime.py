"""The torch-only runtime (libya_nlp.lite_models, lite_tokenizer) computes what transformers computes,
and annotate() with the embedded defaults does not import transformers' modeling code."""

import json
import shutil
import subprocess
import sys

import pytest
import torch

from libya_nlp import weights_int8
from libya_nlp.checkpoints import CheckpointError, default_model_dir, load_classifier, load_for_inference, load_tagger
from libya_nlp.lite_tokenizer import LiteTokenizer

@pytest.fixture(scope="module")
def lite_dirs(tmp_path_factory, tiny_tagger_dir, tiny_classifier_dir, tiny_tokenizer):
    """The tiny checkpoints with their tokenizer saved as transformers' TokenizersBackend (what
    training.import_backbone saves; the tiny BertTokenizer is one the lite runtime leaves to transformers)."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tiny_tokenizer.backend_tokenizer, pad_token="[PAD]",
                                        unk_token="[UNK]", model_max_length=128)
    dirs = {}
    for kind, source in (("tagger", tiny_tagger_dir), ("classifier", tiny_classifier_dir)):
        dirs[kind] = tmp_path_factory.mktemp(f"lite_{kind}")
        shutil.copytree(source, dirs[kind], dirs_exist_ok=True)
        tokenizer.save_pretrained(dirs[kind])
    return dirs


WORDS = [["طلب", "فائز", "السراج", "من", "الجزائر", "تنسيقا", "أمنيا"] * 6, ["عنوان"], ["حكومة", "الوفاق", "الوطني"]]


def _padded_batch(tokenizer):
    encoding = tokenizer(WORDS, is_split_into_words=True, truncation=True, max_length=24, stride=4,
                         return_overflowing_tokens=True)
    width = max(map(len, encoding["input_ids"]))
    ids = torch.full((len(encoding["input_ids"]), width), tokenizer.pad_token_id or 0)
    mask = torch.zeros_like(ids)
    for row, window in enumerate(encoding["input_ids"]):
        ids[row, :len(window)] = torch.tensor(window)
        mask[row, :len(window)] = 1
    return ids, mask


@pytest.mark.parametrize("kind", ["tagger", "classifier"])
def test_lite_models_give_the_transformers_logits(kind, lite_dirs):
    source = lite_dirs[kind]
    reference, reference_tokenizer, _ = (load_tagger if kind == "tagger" else load_classifier)(source)
    lite, tokenizer, _ = load_for_inference(kind, source, runtime="lite")
    assert type(lite).__module__ == "libya_nlp.lite_models"
    ids, mask = _padded_batch(reference_tokenizer)
    assert torch.equal(ids, _padded_batch(tokenizer)[0])
    with torch.inference_mode():
        expected, got = reference(input_ids=ids, attention_mask=mask), lite(input_ids=ids, attention_mask=mask)
    for head in (["logits"] if kind == "tagger" else ["request_logits", "stance_logits"]):
        real = mask.bool() if kind == "tagger" else slice(None)  # padded positions may differ; they are cut off
        assert torch.allclose(getattr(expected, head)[real], getattr(got, head)[real], atol=1e-5), head


def test_lite_classifier_with_mean_pooling_standardisation_and_ngrams(tmp_path, lite_dirs):
    from conftest import tiny_bert_config

    from libya_nlp.classifier_config import LibyaClassifierConfig
    from libya_nlp.classifier_model import LibyaClassifierModel

    torch.manual_seed(3)
    vocab = json.loads((lite_dirs["classifier"] / "config.json").read_text())["encoder"]["vocab_size"]
    config = LibyaClassifierConfig(encoder=tiny_bert_config(vocab, hidden_act="relu").to_dict(),
                                   pooling="mean", pooled_mean=[0.1] * 32, pooled_std=[0.5] * 32,
                                   request_ngram_buckets=64, request_ngram_blend=0.3)
    model = LibyaClassifierModel(config)
    with torch.no_grad():
        model.request_ngrams.weight.normal_()
    model.save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(lite_dirs["classifier"] / name, tmp_path / name)
    reference, tokenizer, _ = load_classifier(tmp_path)
    lite, _, _ = load_for_inference("classifier", tmp_path, runtime="lite")
    ids, mask = _padded_batch(tokenizer)
    with torch.inference_mode():
        expected, got = reference(input_ids=ids, attention_mask=mask), lite(input_ids=ids, attention_mask=mask)
    assert torch.allclose(expected.request_logits, got.request_logits, atol=1e-5)
    assert torch.allclose(expected.stance_logits, got.stance_logits, atol=1e-5)
    texts = ["طلب السراج دعما", "عنوان"]
    assert (reference.request_ngrams.probabilities(texts) == lite.request_ngrams.probabilities(texts)).all()


def test_lite_reads_int8_weights_like_the_transformers_loader(tmp_path, lite_dirs):
    target = tmp_path / "tagger"
    shutil.copytree(lite_dirs["tagger"], target)
    (target / "model.safetensors").unlink()
    weights_int8.save_int8(load_tagger(lite_dirs["tagger"])[0], target)
    reference, tokenizer, _ = load_tagger(target)
    lite, _, _ = load_for_inference("tagger", target)
    assert type(lite).__module__ == "libya_nlp.lite_models"
    ids, mask = _padded_batch(tokenizer)
    with torch.inference_mode():
        assert torch.allclose(reference(input_ids=ids, attention_mask=mask).logits[mask.bool()],
                              lite(input_ids=ids, attention_mask=mask).logits[mask.bool()], atol=1e-5)


@pytest.mark.parametrize("directory", ["default", "tiny"])
def test_lite_tokenizer_answers_like_the_transformers_one(directory, lite_dirs):
    from transformers import AutoTokenizer

    path = default_model_dir("classifier") if directory == "default" else lite_dirs["tagger"]
    reference, lite = AutoTokenizer.from_pretrained(path), LiteTokenizer.from_directory(path)
    assert (lite.pad_token_id, lite.model_max_length) == (reference.pad_token_id, reference.model_max_length)
    target = ["حكومة", "الوفاق", "الوطني"]
    assert lite(target, is_split_into_words=True)["input_ids"] == reference(target, is_split_into_words=True)["input_ids"]
    calls = [
        dict(text=WORDS, is_split_into_words=True, truncation=True, max_length=16, stride=3,
             return_overflowing_tokens=True, return_attention_mask=True),
        dict(text=[target] * len(WORDS), text_pair=WORDS, is_split_into_words=True, truncation="only_second",
             max_length=20, stride=4, return_overflowing_tokens=True, return_attention_mask=True),
    ]
    for call in calls:
        expected, got = reference(**call), lite(**call)
        assert dict(expected) == dict(got)
        assert [expected.word_ids(w) for w in range(len(expected["input_ids"]))] == \
            [got.word_ids(w) for w in range(len(got["input_ids"]))]
    assert len(got["input_ids"]) > len(WORDS)  # the long sentence really overflowed into several windows


def test_annotate_is_the_same_on_both_runtimes():
    from libya_nlp import Annotator
    from conftest import seed_texts

    texts = seed_texts()[:2]
    outputs = [[a.to_dict() for a in Annotator(device="cpu", precision="fp32", runtime=runtime).annotate_batch(texts)]
               for runtime in ("lite", "transformers")]
    assert json.dumps(outputs[0], sort_keys=True) == json.dumps(outputs[1], sort_keys=True)


def test_other_architectures_fall_back_to_transformers_or_are_refused(tmp_path, lite_dirs, tiny_tagger_dir):
    assert type(load_for_inference("tagger", tiny_tagger_dir)[0]).__module__.startswith("transformers")  # BertTokenizer
    target = tmp_path / "tagger"
    shutil.copytree(lite_dirs["tagger"], target)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "hidden_act": "gelu_new"}))
    assert type(load_for_inference("tagger", target)[0]).__module__.startswith("transformers")
    with pytest.raises(CheckpointError, match="cannot run without transformers .*hidden_act 'gelu_new'"):
        load_for_inference("tagger", target, runtime="lite")
    with pytest.raises(ValueError, match="runtime must be one of"):
        load_for_inference("tagger", target, runtime="onnx")


def test_lite_weights_that_do_not_fit_the_config_are_named(tmp_path, lite_dirs):
    target = tmp_path / "tagger"
    shutil.copytree(lite_dirs["tagger"], target)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match="weights in .* do not fit its tagger config: missing"):
        load_for_inference("tagger", target, runtime="lite")


def test_annotating_with_the_defaults_does_not_import_transformers_modeling():
    code = ("import sys; from libya_nlp import annotate; annotate('طلب السراج من الجزائر تنسيقا أمنيا.', device='cpu'); "
            "print(sorted(m for m in sys.modules if m.startswith('transformers')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout[-500:]
