"""Locality-sensitive hashing of MinHash signatures: band keys and candidate pairs.

The signature (from :class:`datamoat.quality.minhash.MinHasher`) is cut into ``bands`` bands
of ``rows`` values; each band is hashed to a ``uint64`` key (:func:`band_keys`, salted by the
band number and, optionally, by a group code so only rows of the same group can collide). All
keys of a band are sorted once; equal keys give candidate pairs (:func:`candidate_pairs`).

The band/row split is chosen for recall: with exact verification
(:mod:`datamoat.quality.near_dup_verify`) a false candidate only costs time, a missed one is
lost, so :func:`lsh_params` takes the split with the fewest expected false candidates among
those that make a pair *at* the threshold a candidate with probability >= ``min_recall``
(:data:`MIN_RECALL`). Cost: a sort of ``docs x bands`` keys.
"""

from __future__ import annotations

import numpy as np

from datamoat.quality.minhash import mix64

MIN_RECALL = 0.98
MAX_GROUP = 64
"""LSH buckets with more members than this link each member to the bucket's first one only
(instead of all pairs), so one huge bucket cannot blow up the candidate count."""

_U64 = np.uint64


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


def bucket_pairs(
    keys: np.ndarray, docs: np.ndarray, max_group: int = MAX_GROUP
) -> tuple[np.ndarray, np.ndarray]:
    """Document pairs ``(i, j)``, ``i < j``, that share a key of one band (may repeat a pair).

    keys: one uint64 key per entry (one band's keys); docs: the document index of each entry.
    Buckets (equal keys) with up to ``max_group`` members give all their pairs, larger ones a
    star around their smallest document. Only needs whole buckets, so a caller may split the
    entries by key (e.g. hash-partition them across machines) and call this per part.
    """
    docs = np.asarray(docs, dtype=np.int64)
    order = np.argsort(keys)
    sk = keys[order]
    dup = sk[1:] == sk[:-1]
    if not dup.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
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
    return i[keep], j[keep]


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
        i, j = bucket_pairs(by_band[band][docs], docs, max_group)
        if len(i):
            codes.append(i * np.int64(n) + j)
    if not codes:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    code = np.unique(np.concatenate(codes))
    return code // n, code % n
