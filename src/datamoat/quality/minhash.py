"""Vectorised MinHash signatures of short texts: word hashes, word shingles, :class:`MinHasher`.

The whole pipeline works on flat numpy arrays (no Python loop per document); the LSH index
over the signatures is :mod:`datamoat.quality.lsh`, the exact verification and clustering of
its candidates :mod:`datamoat.quality.near_dup_verify`.

1. **Words** (:func:`word_hashes`): texts are lower-cased (``pyarrow.compute.utf8_lower``) and
   split into words with the RE2 pattern :data:`NON_WORD` - the complement of
   ``[\\p{L}\\p{N}_]``, which matches what Python's ``re`` calls ``\\w`` for practically all
   text (letters, digits, underscore). Each distinct word is hashed once, from its UTF-8
   bytes, with a polynomial hash mod 2^64 finished by the splitmix64 mixer: a pure function
   of the bytes, so hashes are the same on every run, process and machine (no salted
   ``hash()``, no dependency on a library's internal hash).
2. **Shingles** (:func:`shingle_hashes`): word ``k``-grams, each hashed by combining the ``k``
   word hashes with fixed odd multipliers (order matters) and mixing. A text with fewer than
   ``k`` words (but at least one) is one shingle made of all its words; a text without words
   has no shingles and never matches anything.
3. **Signatures** (:class:`MinHasher`): ``num_perm`` hash functions ``h_i(x) = (a_i x + b_i)
   mod 2^64 >> 32`` (multiply-add-shift; fixed odd ``a_i`` from a seeded generator) applied
   to all shingles of a chunk at once; ``np.minimum.reduceat`` takes the per-document
   minimum. Signatures are ``uint32``: 4 x ``num_perm`` bytes per document.

Costs: time is ``O(shingles x num_perm)`` for the signatures; memory per chunk is bounded by
``chunk_shingles x num_perm x 8`` bytes.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.text_limits import truncate_array

NON_WORD = r"[^\p{L}\p{N}_]+"
"""RE2 pattern of the separators between words (what is not a letter, digit or underscore)."""

DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE = 3
DEFAULT_SEED = 20240601

_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_WORD_BASE = _U64(0x100000001B3)  # odd multiplier of the polynomial byte hash
_SHINGLE_MULT = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x87C37B91114253D5,
        0x4CF5AD432745937F,
    ],
    dtype=np.uint64,
)
_LEN_SALT = _U64(0x2545F4914F6CDD1D)
_EMPTY = np.uint32(0xFFFFFFFF)


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser applied element-wise to a uint64 array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    x = (x ^ (x >> _U64(30))) * _M1
    x = (x ^ (x >> _U64(27))) * _M2
    return x ^ (x >> _U64(31))


def _as_string_array(texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    """``texts`` as one ``string`` Arrow array (nulls kept)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.string())
    elif not isinstance(texts, pa.Array):
        texts = pa.array(list(texts), pa.string())
    if pa.types.is_null(texts.type) or pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.string())
    if not pa.types.is_string(texts.type):
        raise TypeError(f"expected text, got an array of {texts.type}")
    return texts


def _string_hashes(words: pa.Array) -> np.ndarray:
    """Stable uint64 hash of each (non-null) string of ``words``, from its UTF-8 bytes."""
    words = words.cast(pa.string())
    n = len(words)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    offsets = np.frombuffer(words.buffers()[1], dtype=np.int32, count=words.offset + n + 1)[words.offset :]
    data_buf = words.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    start, stop = int(offsets[0]), int(offsets[-1])
    data = data[start:stop].astype(np.uint64)
    lengths = np.diff(offsets).astype(np.int64)
    starts = offsets[:-1].astype(np.int64) - start
    if len(data) == 0:
        return mix64(lengths.astype(np.uint64) * _LEN_SALT)
    # position of each byte inside its string, then byte * BASE^position summed per string
    pos = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths)
    max_len = int(lengths.max())
    powers = np.empty(max_len, dtype=np.uint64)
    powers[0] = 1
    filled = 1
    while filled < max_len:  # BASE^i mod 2^64, doubling the filled prefix each round
        step = min(filled, max_len - filled)
        base_pow = powers[filled - 1 : filled] * _WORD_BASE  # BASE^filled (1-element array: wraps)
        powers[filled : filled + step] = powers[:step] * base_pow
        filled += step
    terms = (data + _U64(1)) * powers[pos]
    nonempty = lengths > 0
    sums = np.zeros(n, dtype=np.uint64)
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(terms, starts[nonempty])
    return mix64(sums ^ (lengths.astype(np.uint64) * _LEN_SALT))


def word_hashes(texts: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Hash the words of each text's first :data:`~datamoat.data.text_limits.MAX_TEXT_CHARS` characters.

    Returns ``(hashes, offsets)``: ``hashes`` (uint64) holds every word of every text in
    order; the words of text ``d`` are ``hashes[offsets[d]:offsets[d + 1]]``. Null texts have
    no words. Texts are cut first: signatures cost ``words x permutations`` memory, so a 1 MB
    cell would take ~1 GB; near duplicates of long texts are judged on their beginnings.
    """
    arr = truncate_array(_as_string_array(texts))
    n = len(arr)
    if n == 0:
        return np.empty(0, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    parts = pc.split_pattern_regex(pc.utf8_lower(arr), NON_WORD)
    counts = pc.fill_null(pc.list_value_length(parts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(parts)
    keep = pc.greater(pc.binary_length(flat), 0)
    keep_np = keep.to_numpy(zero_copy_only=False)
    doc_of = np.repeat(np.arange(n, dtype=np.int64), counts)
    kept_counts = np.bincount(doc_of[keep_np], minlength=n).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(kept_counts, out=offsets[1:])
    words = pc.filter(flat, keep)
    if len(words) == 0:
        return np.empty(0, dtype=np.uint64), offsets
    encoded = pc.dictionary_encode(words)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    vocab_hashes = _string_hashes(encoded.dictionary)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return vocab_hashes[indices], offsets


SHINGLE_CHUNK_TEXTS = 100_000


def shingle_hashes(
    texts: pa.Array | pa.ChunkedArray | Sequence[str | None], k: int = DEFAULT_SHINGLE
) -> tuple[np.ndarray, np.ndarray]:
    """Hash the word ``k``-shingles of each text.

    Returns ``(hashes, offsets)`` like :func:`word_hashes`; a text with 1..k-1 words has one
    shingle (all its words), a text without words none. A shingle repeated inside a text
    appears more than once (MinHash and
    :func:`datamoat.quality.near_dup_verify.jaccard_pairs` treat them as a set).
    """
    if not 1 <= k <= len(_SHINGLE_MULT):
        raise ValueError(f"shingle size must be between 1 and {len(_SHINGLE_MULT)}, got {k}")
    if not isinstance(texts, pa.Array | pa.ChunkedArray):
        texts = pa.array(list(texts), pa.string())
    n = len(texts)
    if n <= SHINGLE_CHUNK_TEXTS:
        words, woff = word_hashes(texts)
        return shingles_from_words(words, woff, k)
    # Tokenising builds large temporary lists of words: do it a chunk of texts at a time
    # (measured: 1M texts peaked 1.1 GB above the input in one go).
    parts, offsets, base = [], [np.zeros(1, dtype=np.int64)], 0
    for start in range(0, n, SHINGLE_CHUNK_TEXTS):
        words, woff = word_hashes(texts.slice(start, SHINGLE_CHUNK_TEXTS))
        sh, off = shingles_from_words(words, woff, k)
        parts.append(sh)
        offsets.append(off[1:] + base)
        base += int(off[-1])
    return np.concatenate(parts), np.concatenate(offsets)


def shingles_from_words(words: np.ndarray, woff: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes from word hashes (see :func:`shingle_hashes`)."""
    n = len(woff) - 1
    counts = np.diff(woff)
    n_sh = np.where(counts >= k, counts - k + 1, np.minimum(counts, 1))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_sh, out=offsets[1:])
    if offsets[-1] == 0:
        return np.empty(0, dtype=np.uint64), offsets
    # long texts: one shingle per start position j with j + k <= end of its text
    long_docs = counts >= k
    starts = np.repeat(woff[:-1][long_docs], n_sh[long_docs])
    within = np.arange(len(starts), dtype=np.int64) - np.repeat(
        np.cumsum(n_sh[long_docs]) - n_sh[long_docs], n_sh[long_docs]
    )
    pos = starts + within
    acc = np.zeros(len(pos), dtype=np.uint64)
    for i in range(k):
        acc += words[pos + i] * _SHINGLE_MULT[i]
    acc += np.array([k], dtype=np.uint64) * _LEN_SALT
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    long_slots = np.repeat(offsets[:-1][long_docs], n_sh[long_docs]) + within
    out[long_slots] = mix64(acc)
    # short texts (1..k-1 words): one shingle of all words
    short_docs = np.flatnonzero((counts > 0) & (counts < k))
    if len(short_docs):
        sacc = np.zeros(len(short_docs), dtype=np.uint64)
        for i in range(k - 1):
            has = counts[short_docs] > i
            idx = woff[short_docs[has]] + i
            sacc[has] += words[idx] * _SHINGLE_MULT[i]
        sacc += counts[short_docs].astype(np.uint64) * _LEN_SALT
        out[offsets[short_docs]] = mix64(sacc)
    return out, offsets


class MinHasher:
    """``num_perm`` fixed hash functions; :meth:`signatures` gives uint32 MinHash signatures.

    The functions depend only on ``num_perm`` and ``seed``, so signatures are reproducible.
    threads: threads used for large inputs (numpy releases the GIL); None = CPUs, at most 8.
    """

    def __init__(
        self, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED, threads: int | None = None
    ):
        if num_perm < 1:
            raise ValueError(f"num_perm must be at least 1, got {num_perm}")
        self.num_perm = num_perm
        self.seed = seed
        self.threads = threads if threads is not None else min(8, os.cpu_count() or 1)
        # parameters from a splitmix64 sequence: the same on every numpy version and machine
        counter = np.arange(1, 2 * num_perm + 1, dtype=np.uint64) * _U64(0x9E3779B97F4A7C15)
        stream = mix64(counter + mix64(np.array([seed], dtype=np.uint64)))
        self.a = stream[:num_perm] | _U64(1)
        self.b = stream[num_perm:]

    def signatures(
        self, shingles: np.ndarray, offsets: np.ndarray, chunk_shingles: int = 1 << 13
    ) -> np.ndarray:
        """(docs, num_perm) uint32 signatures; a document without shingles gets all 0xFFFFFFFF.

        The result is a transposed view of a (num_perm, docs) C-ordered array, so that one
        permutation's values over all documents are contiguous (what :func:`band_keys` reads).
        """
        n = len(offsets) - 1
        out = np.full((self.num_perm, n), _EMPTY, dtype=np.uint32)
        docs = np.flatnonzero(np.diff(offsets) > 0)
        if len(docs) == 0:
            return out.T
        # chunks of whole documents, about chunk_shingles shingles each (small chunks stay in cache)
        ends = offsets[docs + 1]
        cuts = np.searchsorted(
            ends, np.arange(chunk_shingles, int(ends[-1]) + chunk_shingles, chunk_shingles)
        )
        bounds = np.unique(np.concatenate([[0], np.minimum(cuts + 1, len(docs)), [len(docs)]]))
        spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
        a = self.a[:, None]
        b = self.b[:, None]

        def work(group: list[tuple[int, int]]) -> None:
            for lo, hi in group:
                chunk_docs = docs[lo:hi]
                first = int(offsets[chunk_docs[0]])
                last = int(offsets[chunk_docs[-1] + 1])
                h = a * shingles[first:last]
                h += b
                # the top 32 bits of the minimum are the minimum of the top 32 bits
                mins = (np.minimum.reduceat(h, offsets[chunk_docs] - first, axis=1) >> _U64(32)).astype(
                    np.uint32
                )
                if chunk_docs[-1] - chunk_docs[0] + 1 == len(chunk_docs):
                    out[:, chunk_docs[0] : chunk_docs[-1] + 1] = mins
                else:
                    out[:, chunk_docs] = mins

        threads = min(self.threads, len(spans))
        if threads > 1:
            groups = [spans[t::threads] for t in range(threads)]
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(work, groups))
        else:
            work(spans)
        return out.T
