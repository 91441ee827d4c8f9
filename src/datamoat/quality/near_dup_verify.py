"""Near-duplicate texts: MinHash LSH candidates verified by exact Jaccard, then clustered.

1. **Candidates**: shingles and signatures from :mod:`datamoat.quality.minhash`, band keys
   and candidate pairs from :mod:`datamoat.quality.lsh`.
2. **Verification** (:func:`jaccard_pairs`): every candidate pair gets its *exact* Jaccard
   similarity of the shingle-hash sets (not the MinHash estimate), so precision is not left
   to chance; pairs below the threshold are dropped.
3. **Clusters** (:func:`connected_clusters`): connected components of the verified pairs
   (union-find by min-label propagation with pointer jumping). Each cluster's
   representative is its earliest document (the smallest index).

:func:`find_near_duplicates` runs all of it; :func:`verify_and_cluster` the last two steps
for callers that build their own candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from datamoat.quality.lsh import band_keys, candidate_pairs, lsh_params
from datamoat.quality.minhash import (
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE,
    MinHasher,
    shingle_hashes,
)


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
    similarity: exact Jaccard with the representative for non-representative members, NaN else.
    pairs: the verified pairs ``(i, j, jaccard)`` with ``i < j``.
    """

    cluster: np.ndarray
    similarity: np.ndarray
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]
    stats: dict[str, int | float] = field(default_factory=dict)

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
    return verify_and_cluster(n, sh, off, ci, cj, threshold, {"bands": bands, "rows_per_band": rows})


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
