"""Vectorised MinHash + LSH for short texts, with exact verification of the candidates.

The whole pipeline works on flat numpy arrays (no Python loop per document):

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
4. **LSH** (:func:`lsh_params`, :func:`band_keys`, :func:`candidate_pairs`): the signature is
   cut into ``bands`` bands of ``rows`` values; each band is hashed to a ``uint64`` key
   (salted by the band number and, optionally, by a group code so only rows of the same group
   can collide). All keys are sorted once; equal keys give candidate pairs.
5. **Verification** (:func:`jaccard_pairs`): every candidate pair gets its *exact* Jaccard
   similarity of the shingle-hash sets (not the MinHash estimate), so precision is not left
   to chance; pairs below the threshold are dropped.
6. **Clusters** (:func:`connected_clusters`): connected components of the verified pairs
   (union-find by min-label propagation with pointer jumping). Each cluster's
   representative is its earliest document (the smallest index).

The band/row split is chosen for recall: with exact verification a false candidate only
costs time, a missed one is lost, so :func:`lsh_params` takes the split with the fewest
expected false candidates among those that make a pair *at* the threshold a candidate with
probability >= ``min_recall`` (0.98).

Costs: time is ``O(shingles x num_perm)`` for the signatures, plus a sort of ``docs x
bands`` keys; memory per chunk is bounded by ``chunk_shingles x num_perm x 8`` bytes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NON_WORD = r"[^\p{L}\p{N}_]+"
"""RE2 pattern of the separators between words (what is not a letter, digit or underscore)."""

DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE = 3
DEFAULT_SEED = 20240601
MIN_RECALL = 0.98
MAX_GROUP = 64
"""LSH buckets with more members than this link each member to the bucket's first one only
(instead of all pairs), so one huge bucket cannot blow up the candidate count."""

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
    """Hash the words of each text.

    Returns ``(hashes, offsets)``: ``hashes`` (uint64) holds every word of every text in
    order; the words of text ``d`` are ``hashes[offsets[d]:offsets[d + 1]]``. Null texts have
    no words.
    """
    arr = _as_string_array(texts)
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
    appears more than once (MinHash and :func:`jaccard_pairs` treat them as a set).
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


def collision_probability(bands: int, rows: int, s: float | np.ndarray) -> float | np.ndarray:
    """Probability that two documents with Jaccard ``s`` share at least one band."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


def lsh_params(threshold: float, num_perm: int, min_recall: float = MIN_RECALL) -> tuple[int, int]:
    """``(bands, rows)`` for an LSH index that feeds an exact verification at ``threshold``.

    Among the splits with ``bands * rows <= num_perm`` whose collision probability at
    ``threshold`` is at least ``min_recall``, the one with the smallest false-positive area
    (the integral of the collision probability below the threshold); if none reaches
    ``min_recall``, the split with the highest collision probability at the threshold.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    xs = np.linspace(0.0, threshold, 201)
    best: tuple[float, int, int] | None = None
    fallback: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        p_at = float(collision_probability(bands, rows, threshold))
        if fallback is None or p_at > fallback[0]:
            fallback = (p_at, bands, rows)
        if p_at < min_recall:
            continue
        fp_area = float(np.trapezoid(collision_probability(bands, rows, xs), xs))
        if best is None or fp_area < best[0]:
            best = (fp_area, bands, rows)
    chosen = best if best is not None else fallback
    assert chosen is not None
    return chosen[1], chosen[2]


def band_keys(signatures: np.ndarray, bands: int, rows: int, groups: np.ndarray | None = None) -> np.ndarray:
    """(docs, bands) uint64 keys: band ``i`` of each signature hashed, salted by ``i`` and group.

    groups: optional uint64 (or int) code per document; documents with different codes get
        different keys (up to 64-bit collisions), so only same-group documents pair up.
    The result is a transposed view of a (bands, docs) array (one band contiguous).
    """
    n = signatures.shape[0]
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values per signature")
    by_perm = signatures.T  # (num_perm, docs); contiguous rows for MinHasher output
    mult = mix64(np.arange(1, rows + 1, dtype=np.uint64) + _U64(0x51ED27)) | _U64(1)
    band_salt = mix64(np.arange(1, bands + 1, dtype=np.uint64))
    keys = np.empty((bands, n), dtype=np.uint64)
    salt = None if groups is None else mix64(np.asarray(groups).astype(np.uint64) ^ _U64(0x6A09E667F3BCC909))
    for i in range(bands):
        acc = keys[i]
        np.multiply(by_perm[i * rows], mult[0], out=acc, dtype=np.uint64, casting="unsafe")
        for r in range(1, rows):
            acc += by_perm[i * rows + r].astype(np.uint64) * mult[r]
        acc ^= band_salt[i]
        if salt is not None:
            acc ^= salt
        keys[i] = mix64(acc)
    return keys.T


def _pairs_in_runs(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (p, q) position pairs, p < q, inside each run [start, start + size)."""
    if len(sizes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    member = np.repeat(starts, sizes) + (
        np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    )
    run_end = np.repeat(starts + sizes, sizes)
    partners = run_end - member - 1  # how many later members each member pairs with
    first = np.repeat(member, partners)
    offset = np.arange(int(partners.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(partners) - partners, partners
    )
    return first, first + 1 + offset


def candidate_pairs(
    keys: np.ndarray, valid: np.ndarray | None = None, max_group: int = MAX_GROUP
) -> tuple[np.ndarray, np.ndarray]:
    """Unique document pairs ``(i, j)``, ``i < j``, that share at least one band key.

    keys: (docs, bands) from :func:`band_keys`. valid: bool per document; invalid documents
    (no shingles) never pair. Buckets larger than ``max_group`` are linked as a star around
    their smallest document index (see :data:`MAX_GROUP`). The result does not depend on the
    order the sort leaves equal keys in.
    """
    n, bands = keys.shape
    docs = np.arange(n, dtype=np.int64) if valid is None else np.flatnonzero(valid)
    if len(docs) < 2 or bands == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    by_band = keys.T
    codes: list[np.ndarray] = []
    for band in range(bands):
        k = by_band[band][docs]
        order = np.argsort(k)
        sk = k[order]
        dup = sk[1:] == sk[:-1]
        if not dup.any():
            continue
        so = docs[order]
        change = np.flatnonzero(~dup) + 1
        run_starts = np.concatenate([[0], change]).astype(np.int64)
        run_sizes = np.diff(np.concatenate([run_starts, [len(sk)]])).astype(np.int64)
        small = (run_sizes >= 2) & (run_sizes <= max_group)
        p, q = _pairs_in_runs(run_starts[small], run_sizes[small])
        a, b = so[p], so[q]
        big = np.flatnonzero(run_sizes > max_group)
        if len(big):
            hubs = np.minimum.reduceat(so, run_starts)[big]  # smallest doc of each big bucket
            sizes = run_sizes[big]
            member_pos = np.repeat(run_starts[big], sizes) + (
                np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            )
            a = np.concatenate([a, np.repeat(hubs, sizes)])
            b = np.concatenate([b, so[member_pos]])
        i, j = np.minimum(a, b), np.maximum(a, b)
        keep = i != j
        codes.append(i[keep] * np.int64(n) + j[keep])
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code = np.unique(np.concatenate(codes))
    return code // n, code % n


def _gather(values: np.ndarray, offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values of ``docs`` concatenated, number of values of each doc)."""
    lengths = (offsets[docs + 1] - offsets[docs]).astype(np.int64)
    total = int(lengths.sum())
    idx = np.repeat(offsets[docs] - (np.cumsum(lengths) - lengths), lengths) + np.arange(
        total, dtype=np.int64
    )
    return values[idx], lengths


def jaccard_pairs(
    shingles: np.ndarray,
    offsets: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    other: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Exact Jaccard similarity of the shingle sets of documents ``i[p]`` and ``j[p]``.

    other: ``(shingles, offsets)`` where ``j`` indexes into (another collection); default the
    same collection as ``i``. Two documents without shingles have similarity 0.
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    m = len(i)
    if m == 0:
        return np.empty(0, dtype=np.float64)
    osh, ooff = other if other is not None else (shingles, offsets)
    ha, la = _gather(shingles, offsets, i)
    hb, lb = _gather(osh, ooff, j)
    pair = np.concatenate(
        [np.repeat(np.arange(m, dtype=np.int64), la), np.repeat(np.arange(m, dtype=np.int64), lb)]
    )
    side = np.concatenate([np.zeros(len(ha), np.int8), np.ones(len(hb), np.int8)])
    h = np.concatenate([ha, hb])
    order = np.lexsort((side, h, pair))
    pair, side, h = pair[order], side[order], h[order]
    if len(h) == 0:
        return np.zeros(m, dtype=np.float64)
    new_item = np.ones(len(h), dtype=bool)  # first of each distinct (pair, shingle, side)
    new_item[1:] = (pair[1:] != pair[:-1]) | (h[1:] != h[:-1]) | (side[1:] != side[:-1])
    pair, side, h = pair[new_item], side[new_item], h[new_item]
    new_sh = np.ones(len(h), dtype=bool)  # first of each distinct (pair, shingle)
    new_sh[1:] = (pair[1:] != pair[:-1]) | (h[1:] != h[:-1])
    union = np.bincount(pair[new_sh], minlength=m)
    both = ~new_sh  # a second entry for the same (pair, shingle): the other side has it too
    inter = np.bincount(pair[both], minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return sim.astype(np.float64)


def connected_clusters(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Label of each of ``n`` documents: the smallest index in its connected component.

    Union-find on the edges ``(i[p], j[p])`` done as min-label propagation with pointer jumping,
    vectorised over all edges; a document without edges is its own label.
    """
    labels = np.arange(n, dtype=np.int64)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    if len(i) == 0:
        return labels
    while True:
        li, lj = labels[i], labels[j]
        low = np.minimum(li, lj)
        before = labels.copy()
        np.minimum.at(labels, li, low)  # hook the roots onto the smaller label
        np.minimum.at(labels, lj, low)
        np.minimum.at(labels, i, low)
        np.minimum.at(labels, j, low)
        while True:  # pointer jumping until every label is a root
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


@dataclass
class NearDuplicates:
    """What :func:`find_near_duplicates` found, per document (index = input position).

    cluster: label of the document's cluster (the smallest index in it), -1 if it is in none.
    representative: same as ``cluster`` (the earliest document), kept for readability.
    similarity: exact Jaccard with the representative for non-representative members, NaN else.
    pairs: the verified pairs ``(i, j, jaccard)`` with ``i < j``.
    """

    cluster: np.ndarray
    similarity: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]
    stats: dict[str, int | float] = field(default_factory=dict)

    @property
    def representative(self) -> np.ndarray:
        return self.cluster

    def is_duplicate(self) -> np.ndarray:
        """True for cluster members that are not the representative."""
        return (self.cluster >= 0) & (self.cluster != np.arange(len(self.cluster)))


SIGNATURE_CHUNK_DOCS = 100_000


def find_near_duplicates(
    texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    *,
    threshold: float = 0.7,
    num_perm: int = DEFAULT_NUM_PERM,
    shingle: int = DEFAULT_SHINGLE,
    groups: np.ndarray | None = None,
    seed: int = DEFAULT_SEED,
    threads: int | None = None,
) -> NearDuplicates:
    """Cluster texts whose word-shingle Jaccard similarity is at least ``threshold``.

    Candidates come from MinHash LSH; every candidate is verified with the exact Jaccard of
    the shingle sets. groups: optional integer code per text; only texts with the same code
    are compared. Texts without words (null, empty, punctuation only) are never clustered.
    """
    sh, off = shingle_hashes(texts, shingle)
    n = len(off) - 1
    valid = np.diff(off) > 0
    hasher = MinHasher(num_perm, seed, threads)
    bands, rows = lsh_params(threshold, num_perm)
    # Signatures are made and reduced to band keys a chunk of documents at a time: a full
    # (1M x 128) uint32 signature matrix alone would be 512 MB; the keys are 8 bytes per band.
    keys_by_band = np.empty((bands, n), dtype=np.uint64)
    for start in range(0, n, SIGNATURE_CHUNK_DOCS):
        stop = min(n, start + SIGNATURE_CHUNK_DOCS)
        sub_off = off[start : stop + 1] - off[start]
        sigs = hasher.signatures(sh[off[start] : off[stop]], sub_off)
        sub_groups = None if groups is None else np.asarray(groups)[start:stop]
        keys_by_band[:, start:stop] = band_keys(sigs, bands, rows, sub_groups).T
    keys = keys_by_band.T
    ci, cj = candidate_pairs(keys, valid)
    return verify_and_cluster(n, sh, off, ci, cj, threshold, {"bands": bands, "rows": rows})


def verify_and_cluster(
    n: int,
    sh: np.ndarray,
    off: np.ndarray,
    ci: np.ndarray,
    cj: np.ndarray,
    threshold: float,
    stats: dict[str, int | float],
) -> NearDuplicates:
    """Verify candidate pairs exactly, cluster, and measure each member against its representative."""
    sim = jaccard_pairs(sh, off, ci, cj)
    ok = sim >= threshold - 1e-12
    vi, vj, vs = ci[ok], cj[ok], sim[ok]
    labels = connected_clusters(n, vi, vj)
    in_pair = np.zeros(n, dtype=bool)
    in_pair[vi] = True
    in_pair[vj] = True
    cluster = np.where(in_pair, labels, -1)
    similarity = np.full(n, np.nan)
    members = np.flatnonzero(in_pair & (labels != np.arange(n)))
    if len(members):
        similarity[members] = jaccard_pairs(sh, off, labels[members], members)
    stats = {**stats, "candidate_pairs": int(len(ci)), "verified_pairs": int(len(vi))}
    return NearDuplicates(cluster, similarity, (vi, vj, vs), stats)


def exact_jaccard(a: str, b: str, k: int = DEFAULT_SHINGLE) -> float:
    """Exact shingle Jaccard of two texts (the reference the vectorised code is tested against)."""
    sh, off = shingle_hashes([a, b], k)
    return float(jaccard_pairs(sh, off, np.array([0]), np.array([1]))[0])


def signature_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity of two signatures (share of equal values)."""
    if sig_a.shape != sig_b.shape:
        raise ValueError("signatures of different lengths")
    return float(np.mean(sig_a == sig_b)) if sig_a.size else math.nan
