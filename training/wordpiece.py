"""Training a WordPiece vocabulary on normalised Arabic text with ``tokenizers``.

>>> tokenizer = train_wordpiece(["طلب السراج من الجزائر تنسيقا أمنيا"] * 3, vocab_size=120)
>>> tokenizer.tokenize("السراج")
['السراج']
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import BertTokenizerFast

from libya_nlp.normalization import normalize_text

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(
    texts: Iterable[str], *, vocab_size: int, model_max_length: int = 512, min_frequency: int = 2
) -> BertTokenizerFast:
    """Train a BERT WordPiece tokenizer on ``texts`` (normalised here as at inference).

    The tokenizer lower-cases Latin and keeps Arabic letters as they are (no accent
    stripping, which would remove hamza from alef).
    """
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
        continuing_subword_prefix="##",
    )
    backend.train_from_iterator((normalize_text(text) for text in texts), trainer)
    return BertTokenizerFast(
        tokenizer_object=backend, model_max_length=model_max_length, do_lower_case=True,
        unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
    )
