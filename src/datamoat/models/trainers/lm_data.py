"""Documents -> token ids for causal language models: the training stream and scoring blocks.

Training reads one stream: every document's tokens preceded by ``<|endoftext|>`` (so the
model learns where documents start), concatenated; a batch is random windows of ``context + 1``
tokens of it (:func:`random_windows`). Scoring (validation loss, per-document loss, bits per
character) never mixes documents: each document, preceded by ``<|endoftext|>``, is cut into
non-overlapping blocks of at most ``context`` predictions (:func:`document_blocks`); each
block's first prediction sees only the block's first token, as in the random windows of
training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError

IGNORE = -100
"""Label of padding positions (no loss)."""


def clean_documents(texts: Sequence[Any], what: str) -> list[str]:
    """The documents of ``texts`` that hold any non-blank text (strings; missing values dropped).

    DatamoatError naming ``what`` when none is left (an empty corpus).
    """
    docs = [t for t in texts if isinstance(t, str) and t.strip()]
    if not docs:
        raise DatamoatError(f"{what} has no text: {len(texts)} document(s), all empty or missing.")
    return docs


def char_table(tokenizer: Any) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(sorted code points, their ids, the unknown id) when ``tokenizer`` is a character
    tokenizer (a WordLevel model whose tokens are single characters besides the specials),
    else None."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or type(backend.model).__name__ != "WordLevel" or tokenizer.unk_token_id is None:
        return None
    specials = set(tokenizer.all_special_tokens)
    pairs = [(tok, i) for tok, i in tokenizer.get_vocab().items() if tok not in specials]
    if not pairs or any(len(tok) != 1 for tok, _ in pairs):
        return None
    pairs.sort(key=lambda p: ord(p[0]))
    points = np.array([ord(t) for t, _ in pairs], dtype=np.int64)
    return points, np.array([i for _, i in pairs], dtype=np.int32), int(tokenizer.unk_token_id)


def encode_documents(tokenizer: Any, texts: Sequence[str]) -> list[np.ndarray]:
    """Token ids per document (int32 arrays), without special tokens.

    A character tokenizer's ids are looked up with numpy (the same ids as calling the
    tokenizer, about 100x faster on a megabyte of text than one pre-token per character).
    """
    table = char_table(tokenizer)
    if table is None:
        enc = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [np.asarray(ids, dtype=np.int32) for ids in enc]
    points, ids, unk = table
    out = []
    for text in texts:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        pos = np.clip(np.searchsorted(points, codes), 0, len(points) - 1)
        out.append(np.where(points[pos] == codes, ids[pos], unk).astype(np.int32))
    return out


def token_stream(docs: Sequence[np.ndarray], eos_id: int) -> np.ndarray:
    """``[eos] + doc`` for every document, concatenated (int32, 1-D)."""
    parts: list[np.ndarray] = []
    for ids in docs:
        parts.append(np.array([eos_id], dtype=np.int32))
        parts.append(ids)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def check_stream(stream: np.ndarray, context: int, what: str) -> None:
    """DatamoatError when ``stream`` is shorter than one training window (``context + 1`` tokens)."""
    if len(stream) < context + 1:
        raise DatamoatError(
            f"{what} is {len(stream):,} tokens long (document separators included), shorter than one "
            f"context window of {context + 1:,} tokens; give more text or a smaller context."
        )


def random_windows(stream: np.ndarray, context: int, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (batch_size, context) int64: random windows of ``stream`` and the
    same windows shifted by one token."""
    starts = rng.integers(0, len(stream) - context, size=batch_size)
    offsets = np.arange(context + 1)
    windows = stream[starts[:, None] + offsets[None, :]].astype(np.int64)
    return windows[:, :-1], windows[:, 1:]


@dataclass
class Blocks:
    """Scoring blocks of documents.

    inputs / targets: (n_blocks, context) int64 (targets ``IGNORE`` on padding); doc: (n_blocks,)
    index of the document each block belongs to; n_docs: the number of documents.
    """

    inputs: np.ndarray
    targets: np.ndarray
    doc: np.ndarray
    n_docs: int

    def take(self, index: np.ndarray) -> Blocks:
        """The blocks at ``index`` (same ``n_docs``)."""
        return Blocks(self.inputs[index], self.targets[index], self.doc[index], self.n_docs)


def document_blocks(docs: Sequence[np.ndarray], eos_id: int, context: int) -> Blocks:
    """Each document as ``[eos] + ids`` cut into blocks predicting at most ``context`` tokens.

    Every token of every document is predicted exactly once (the leading eos is only context).
    """
    inputs, targets, owner = [], [], []
    for d, ids in enumerate(docs):
        seq = np.concatenate([np.array([eos_id], dtype=np.int64), ids.astype(np.int64)])
        for start in range(0, len(seq) - 1, context):
            x = seq[start : start + context]
            y = seq[start + 1 : start + context + 1]
            pad = context - len(y)
            inputs.append(np.pad(x[: len(y)], (0, pad), constant_values=eos_id))
            targets.append(np.pad(y, (0, pad), constant_values=IGNORE))
            owner.append(d)
    if not inputs:
        empty = np.zeros((0, context), dtype=np.int64)
        return Blocks(empty, empty.copy(), np.zeros(0, dtype=np.int64), len(docs))
    return Blocks(np.stack(inputs), np.stack(targets), np.asarray(owner, dtype=np.int64), len(docs))
