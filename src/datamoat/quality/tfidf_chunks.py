"""TF-IDF counted chunk by chunk: scikit-learn's ``TfidfVectorizer`` matrix, built from independent per-chunk counts.

Why not ``TfidfVectorizer.fit_transform`` itself: it analyses every text in one process, and
the analysis (word and character n-grams, Python-level string work) is most of its cost (100k
short texts: ~25 s on one core). Here the analysis is split in two parts:

* :func:`count_chunk` (one chunk of texts, any process): scikit-learn's n-grams counted with the
  chunk's own vocabulary; returns the chunk's terms and its count matrix. Chunks are
  independent, so they run on joblib or Ray workers.
* :func:`plan_columns` (the caller's process): the vocabulary is the sorted union of the
  chunks' terms; document frequencies and total counts are sums over chunks; ``min_df`` and
  ``max_features`` select terms exactly as scikit-learn does (most frequent by total count,
  its ``argsort`` on the same float32 array for ties).
* :func:`weigh_chunk` (per chunk, any process again): sublinear tf, smoothed idf and L2 row
  normalisation of the chunk's rows in the global columns.

The result is the same matrix (to float rounding: float64 here) as
``TfidfVectorizer(analyzer=..., ngram_range=..., sublinear_tf=True, min_df=..., max_features=...)``
on all texts at once, whatever the chunking; a test compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp


@dataclass(frozen=True)
class NgramSpec:
    """What one vectorizer counts: ``analyzer`` ("word" or "char_wb"), ``ngram_range``, and the
    most terms kept (``max_features``, None for all)."""

    analyzer: str
    ngram_range: tuple[int, int]
    max_features: int | None = None


@dataclass
class ChunkCounts:
    """One chunk's counts: ``terms`` (distinct Arrow strings, any order) and ``counts`` (CSR,
    rows x len(terms), int32 occurrences of each term in each text)."""

    terms: pa.Array
    counts: sp.csr_matrix


def count_chunk(spec: NgramSpec, texts: Sequence[str]) -> ChunkCounts:
    """Count ``spec``'s n-grams in ``texts`` with the chunk's own vocabulary (terms in the order
    first seen); a chunk with no term at all gives an empty one.

    The n-grams are scikit-learn's (``CountVectorizer(...).build_analyzer()``: lower-cased, its
    token pattern, its ``char_wb`` padding); the counting is Arrow's hash encoding and a numpy
    sort instead of ``CountVectorizer.fit_transform``, whose per-n-gram dict updates and
    vocabulary sorting (done again, globally, by :func:`plan_columns`) cost more than the
    analysis itself.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    analyze = CountVectorizer(analyzer=spec.analyzer, ngram_range=spec.ngram_range).build_analyzer()
    grams = [analyze(text) for text in texts]
    n = len(grams)
    lengths = np.fromiter((len(g) for g in grams), dtype=np.int64, count=n)
    if not lengths.sum():
        return ChunkCounts(pa.array([], pa.string()), sp.csr_matrix((n, 0), dtype=np.int32))
    encoded = pc.dictionary_encode(pa.array(list(chain.from_iterable(grams)), pa.string()))
    terms = encoded.dictionary
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    keys, counts = np.unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * len(terms) + codes, return_counts=True)
    rows, cols = np.divmod(keys, len(terms))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return ChunkCounts(terms, sp.csr_matrix((counts.astype(np.int32), cols, indptr), shape=(n, len(terms))))


@dataclass
class ChunkPlan:
    """How to weigh the chunks' counts (from :func:`plan_columns`): per chunk the global column of
    each of its terms (-1: not kept), the idf of each kept column, and ``sublinear[tf - 1] =
    1 + log tf`` (one table for every chunk: np.log's vectorised and scalar paths can differ in
    the last bit by an element's position in its array, which would make the matrix depend on
    the chunking; a lookup, and IEEE's exact * / sqrt, do not)."""

    columns: list[np.ndarray]
    idf: np.ndarray
    sublinear: np.ndarray


def plan_columns(chunks: Sequence[ChunkCounts], *, min_df: int, max_features: int | None) -> ChunkPlan | None:
    """The vocabulary of all chunks (the sorted union of their terms), ``min_df`` and
    ``max_features`` applied as scikit-learn does; None when no term is left (no term at all,
    or none in ``min_df`` texts)."""
    rows = sum(c.counts.shape[0] for c in chunks)
    if not any(len(c.terms) for c in chunks):
        return None
    inverse, size = _sorted_codes(pa.chunked_array([c.terms for c in chunks], pa.string()))
    bounds = np.cumsum([0, *(len(c.terms) for c in chunks)])
    df = np.zeros(size, np.int64)
    tf = np.zeros(size, np.int64)
    for chunk, start, end in zip(chunks, bounds[:-1], bounds[1:], strict=True):
        where = inverse[start:end]  # the chunk's terms are distinct: plain += is exact
        df[where] += np.bincount(chunk.counts.indices, minlength=len(where))
        tf[where] += np.bincount(chunk.counts.indices, weights=chunk.counts.data, minlength=len(where)).astype(np.int64)
    keep = df >= min_df
    if max_features is not None and keep.sum() > max_features:
        # scikit-learn's _limit_features: the same float32 totals and argsort, so ties break alike
        totals = tf.astype(np.float32)
        chosen = (-totals[keep]).argsort()[:max_features]
        limited = np.zeros(size, dtype=bool)
        limited[np.flatnonzero(keep)[chosen]] = True
        keep = limited
    if not keep.any():
        return None
    column = np.where(keep, np.cumsum(keep) - 1, -1)
    most = max((int(c.counts.data.max()) for c in chunks if c.counts.nnz), default=1)
    return ChunkPlan(
        columns=[column[inverse[start:end]] for start, end in zip(bounds[:-1], bounds[1:], strict=True)],
        idf=np.log((rows + 1) / (df[keep] + 1.0)) + 1.0,
        sublinear=np.log(np.arange(1, most + 1, dtype=np.float64)) + 1.0,
    )


def _sorted_codes(terms: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Each term's position in the sorted distinct terms, and how many there are (what
    ``np.unique(..., return_inverse=True)`` gives, in Arrow's C++: UTF-8 byte order is code
    point order, the order of Python's ``sorted`` and scikit-learn's vocabulary)."""
    encoded = pc.dictionary_encode(terms).combine_chunks()
    distinct = encoded.dictionary
    order = pc.sort_indices(distinct).to_numpy()
    rank = np.empty(len(distinct), np.int64)
    rank[order] = np.arange(len(distinct))
    return rank[encoded.indices.to_numpy(zero_copy_only=False)], len(distinct)


def weigh_chunk(chunk: ChunkCounts, column: np.ndarray, idf: np.ndarray, sublinear: np.ndarray) -> sp.csr_matrix:
    """The chunk's TF-IDF rows (float64 CSR, len(idf) columns): its terms moved to their global
    columns (``column[local]``, -1 = dropped), weight ``(1 + log tf) * idf``, indices sorted,
    each row L2-normalised. Any process may run it (a :class:`ChunkPlan`'s parts are small)."""
    counts = chunk.counts
    n = counts.shape[0]
    if counts.nnz == 0:
        return sp.csr_matrix((n, len(idf)))
    cols = column[counts.indices]
    kept = cols >= 0
    row_of = np.repeat(np.arange(n), np.diff(counts.indptr))[kept]
    cols = cols[kept]
    values = sublinear[counts.data[kept] - 1] * idf[cols]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n), out=indptr[1:])
    matrix = sp.csr_matrix((values, cols, indptr), shape=(n, len(idf)))
    matrix.sort_indices()  # global term order first: the norms below then sum in an order no chunk changes
    row_of = np.repeat(np.arange(n), np.diff(matrix.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=matrix.data * matrix.data, minlength=n))
    matrix.data /= np.where(norms > 0, norms, 1.0)[row_of]
    return matrix
