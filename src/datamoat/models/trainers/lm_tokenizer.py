"""Tokenizers of the from-scratch language model, trained on the training documents only.

Two kinds, chosen by :func:`choose_tokenizer_kind` from the size of the training text:

- ``"char"``: one token per character seen in training (plus ``<|endoftext|>`` and
  ``<|unk|>`` for characters never seen). Tiny corpora have too little text to learn useful
  merges, and a character vocabulary keeps the output layer small.
- ``"bpe"``: byte-level BPE (the GPT-2 scheme, trained with the ``tokenizers`` library): every
  byte string is representable, so no text is unknown; the vocabulary grows with the corpus
  (:func:`bpe_vocab_size`).

Both are wrapped as a :class:`transformers.PreTrainedTokenizerFast`, so ``save_pretrained``
writes ``tokenizer.json`` next to the model and plain ``AutoTokenizer.from_pretrained`` reads
it back without datamoat. ``<|endoftext|>`` separates documents (it is the eos, bos and pad
token).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datamoat.errors import DatamoatError

EOS = "<|endoftext|>"
UNK = "<|unk|>"
CHAR_MAX_CHARS = 2_000_000
"""Training text up to this many characters gets a character tokenizer, longer text byte-level
BPE. Tiny Shakespeare (1.0 M training characters) is character-level, like the usual baselines."""
TOKENIZER_KINDS = ("auto", "char", "bpe")


def choose_tokenizer_kind(n_chars: int, kind: str = "auto") -> tuple[str, str]:
    """(``"char"`` or ``"bpe"``, one sentence why) for ``n_chars`` characters of training text."""
    if kind not in TOKENIZER_KINDS:
        raise DatamoatError(f"tokenizer {kind!r} is not known; use {', '.join(TOKENIZER_KINDS)}.")
    if kind != "auto":
        return kind, f"tokenizer: {kind} (asked for)"
    if n_chars <= CHAR_MAX_CHARS:
        return "char", (f"tokenizer: characters, because the training text has {n_chars:,} characters "
                        f"(at most {CHAR_MAX_CHARS:,}: too little to learn BPE merges well)")
    return "bpe", (f"tokenizer: byte-level BPE with {bpe_vocab_size(n_chars):,} tokens, because the training text "
                   f"has {n_chars:,} characters (more than {CHAR_MAX_CHARS:,})")


def bpe_vocab_size(n_chars: int) -> int:
    """BPE vocabulary for ``n_chars`` training characters: 4,096 up to 20 M, 8,192 up to 200 M,
    then 16,384 (a small model's output layer stays a modest share of its weights)."""
    if n_chars <= 20_000_000:
        return 4096
    return 8192 if n_chars <= 200_000_000 else 16384


def train_tokenizer(texts: Sequence[str], kind: str) -> Any:
    """A ``PreTrainedTokenizerFast`` of ``kind`` (``"char"`` / ``"bpe"``) trained on ``texts``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if kind == "char":
        chars = sorted(set().union(*map(set, texts)))
        vocab = {EOS: 0, UNK: 1, **{c: i + 2 for i, c in enumerate(chars)}}
        tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
        tok.decoder = decoders.Fuse()
        specials = {"unk_token": UNK}
    elif kind == "bpe":
        n_chars = sum(len(t) for t in texts)
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=bpe_vocab_size(n_chars), special_tokens=[EOS], show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
        specials = {}
    else:
        raise DatamoatError(f"tokenizer {kind!r} is not known; use char or bpe.")
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS, pad_token=EOS,
                                   model_max_length=1 << 30, **specials)
