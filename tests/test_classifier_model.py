import json

import pytest
import torch
from transformers import AutoConfig, AutoModel, BertConfig, BertModel

from conftest import ROOT, tiny_bert_config
from libya_nlp.classifier_config import LibyaClassifierConfig
from libya_nlp.labels import REQUEST_TYPES, STANCE_LABELS
from libya_nlp.classifier_model import LibyaClassifierModel


def test_save_and_load_round_trip_keeps_heads_thresholds_and_outputs(tmp_path):
    torch.manual_seed(0)
    config = LibyaClassifierConfig(encoder=tiny_bert_config(60).to_dict(),
                                   request_thresholds={"arms_embargo": 0.35, "mediation": 0.6})
    model = LibyaClassifierModel(config).eval()
    inputs = {"input_ids": torch.tensor([[2, 7, 9, 3, 11, 12, 3]]), "token_type_ids": torch.tensor([[0, 0, 0, 0, 1, 1, 1]])}
    before = model(**inputs)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not list(tmp_path.glob("*.bin"))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "libya_sentence_classifier"
    assert saved["request_types"] == list(REQUEST_TYPES) and saved["stance_labels"] == list(STANCE_LABELS)

    loaded = AutoModel.from_pretrained(tmp_path, use_safetensors=True).eval()
    assert isinstance(loaded, LibyaClassifierModel)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), LibyaClassifierConfig)
    assert loaded.config.request_thresholds["arms_embargo"] == 0.35
    assert loaded.config.request_thresholds["security_cooperation"] == 0.5
    after = loaded(**inputs)
    torch.testing.assert_close(before.request_logits, after.request_logits)
    torch.testing.assert_close(before.stance_logits, after.stance_logits)


def test_loss_combines_both_heads_and_ignores_missing_stance():
    torch.manual_seed(0)
    model = LibyaClassifierModel(LibyaClassifierConfig(encoder=tiny_bert_config(60).to_dict()))
    ids = torch.tensor([[2, 7, 3], [2, 8, 3]])
    requests = torch.zeros(2, len(REQUEST_TYPES))
    only_requests = model(input_ids=ids, request_labels=requests).loss
    both = model(input_ids=ids, request_labels=requests, stance_labels=torch.tensor([0, -100])).loss
    assert both > only_requests > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"request_thresholds": {"unknown": 0.5}}, "unknown request types"),
    ({"request_thresholds": {"mediation": 1.5}}, "must lie in"),
    ({"stance_labels": ["favor", "favor"]}, "distinct"),
    ({"encoder": {"hidden_size": 8}}, "model_type"),
])
def test_config_rejects_bad_label_settings(kwargs, message):
    settings = {"encoder": BertConfig(hidden_size=8, num_attention_heads=2).to_dict(), **kwargs}
    with pytest.raises(ValueError, match=message):
        LibyaClassifierConfig(**settings)


def test_fine_tuning_starts_in_fp32_from_an_fp16_backbone(tmp_path):
    # The shipped defaults are stored in fp16; a classifier or tagger started from one must not train in fp16.
    from training.config import load_config
    from training.tagger_training import _make_model

    BertModel(tiny_bert_config(60)).half().save_pretrained(tmp_path)
    assert LibyaClassifierModel.from_encoder(str(tmp_path)).dtype == torch.float32
    config = load_config(ROOT / "configs" / "tagger_smoke.yaml", [f"backbone={tmp_path}", "scratch=null"])
    assert _make_model(config, ["O", "B-PER", "I-PER"], vocab_size=0).dtype == torch.float32


def test_loading_in_bf16_casts_encoder_and_heads_alike(tmp_path):
    # A classifier built by from_encoder() records the encoder's fp32 dtype; loading the whole model
    # in another dtype must still give one dtype throughout (else the heads get bf16 input as fp32).
    BertModel(tiny_bert_config(60)).save_pretrained(tmp_path / "backbone")
    LibyaClassifierModel.from_encoder(str(tmp_path / "backbone")).save_pretrained(tmp_path / "classifier")
    model = AutoModel.from_pretrained(tmp_path / "classifier", dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([[2, 5, 7, 3]]))
    assert out.request_logits.dtype == torch.bfloat16
