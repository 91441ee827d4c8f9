"""Deduplication steps: ``exact_dedup`` and ``near_dedup`` (both global).

``exact_dedup``
    Keep the first row of each group of rows with the same (normalised) text; later copies get
    reason ``"exact duplicate"`` and stats column ``_dm_dup_of`` (the kept row's id). Texts are
    normalised as in the ``exact_duplicates`` check (:func:`datamoat.quality.duplicates.normalise`)
    and, as there, null, empty and whitespace-only texts are never duplicates. Texts are hashed
    to 64-bit ints; only the hashes of duplicated texts and their first row ids are kept (the
    machinery is :class:`~datamoat.clean.first_copy.FirstCopyDedup`, shared with the
    whole-row ``duplicate_rows`` step of :mod:`datamoat.clean.row_dedup`).

``near_dedup``
    Keep one row per cluster of near-duplicate texts, as follows.

Texts are clustered as in the ``near_duplicates`` check (word-shingle Jaccard >= ``threshold``,
MinHash LSH candidates verified with the exact Jaccard, transitive clusters; see
:mod:`datamoat.quality.minhash`). The earliest row of each cluster (stream order) is kept; the
others get the drop reason ``"near duplicate"`` and the stats column ``_dm_near_dup_of`` (the
kept row's ``_dm_row_id``). Exact copies are near duplicates with similarity 1, so they are
dropped too (run ``exact_dedup`` first to have them recorded as exact duplicates instead).
Null texts and texts without words are kept and never clustered.

How fit works (two passes over the input; batches may be read more than once):

1. per batch: shingle hashes -> MinHash signatures -> LSH band keys. Only the band keys are
   kept (``bands`` x 8 bytes per row, e.g. 25 x 8 = 200 bytes with the defaults; the
   ``num_perm`` x 4-byte signatures of a batch are dropped once its keys are made), plus the
   row ids. The candidate pairs then come from one sort of the keys per band.
2. per batch: the shingles of rows that are in a candidate pair are kept (usually a small
   share of the rows); the candidates are verified with the exact Jaccard, clustered, and
   the ids of the rows to drop are kept with their representative's id.

Needs unique ``_dm_row_id`` values (rows to drop are found by id in :meth:`NearDedup.apply`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.clean.first_copy import FirstCopyDedup
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline.registry import register
from datamoat.pipeline.step import (
    add_reasons,
    as_text,
    bad_param,
    check_bool,
    check_column_name,
    check_int,
    require_column,
    require_row_ids,
    set_column,
)
from datamoat.pipeline.text_step import TextColumnStep
from datamoat.quality.duplicates import normalise
from datamoat.quality.lsh import band_keys, bucket_pairs, candidate_pairs, lsh_params
from datamoat.quality.minhash import DEFAULT_NUM_PERM, DEFAULT_SHINGLE, MinHasher, shingle_hashes
from datamoat.quality.missing import missing_mask
from datamoat.quality.near_dup_verify import connected_clusters, jaccard_pairs

NEAR_DUP_OF_COLUMN = "_dm_near_dup_of"
NEAR_DUPLICATE_REASON = "near duplicate"


@register
class ExactDedup(FirstCopyDedup, TextColumnStep):
    """Keep the first row of each set of rows with the same text (global step).

    column: the text column; None means the ``text`` role column.
    ignore_case: compare texts lower-cased.
    ignore_whitespace: compare texts with whitespace runs collapsed and ends stripped.
    Null, empty and whitespace-only texts are never duplicates (as in the ``exact_duplicates``
    check; they are ``drop_missing``'s business). Needs unique ``_dm_row_id`` values: the first row of a
    group is told apart from its copies by its row id (see :mod:`datamoat.clean.first_copy`).

    Memory: fit keeps one uint64 per input row while it runs, then one uint64 hash and the
    first row id per duplicated text. Two different texts share a 64-bit hash with
    probability about n^2 / 2^65 for n distinct texts (negligible below ~10^8 texts).
    """

    name = "exact_dedup"
    kind = "global"
    compared = "text"

    def __init__(
        self, *, column: str | None = None, ignore_case: bool = False, ignore_whitespace: bool = False
    ) -> None:
        TextColumnStep.__init__(self, column=column)
        self.ignore_case = check_bool(self.name, "ignore_case", ignore_case)
        self.ignore_whitespace = check_bool(self.name, "ignore_whitespace", ignore_whitespace)
        self._init_state()

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text column; StepError if absent, not text, or no ``_dm_row_id`` column."""
        TextColumnStep.bind(self, roles, schema)
        require_row_ids(self.name, schema, "to tell copies apart")

    def _hashes(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """(uint64 hash of each row's normalised text, bool array: text is not null or blank)."""
        values = normalise(
            as_text(batch.column(self._resolved)),
            ignore_whitespace=self.ignore_whitespace,
            ignore_case=self.ignore_case,
        )
        valid = ~missing_mask(values)  # null, empty and whitespace-only texts take no part
        texts = pc.fill_null(values, "").to_numpy(zero_copy_only=False)
        if len(texts) == 0:
            return np.empty(0, dtype=np.uint64), valid
        return pd.util.hash_array(texts.astype(object, copy=False), categorize=False), valid


@register
class NearDedup(TextColumnStep):
    """Drop near-duplicate texts, keeping the earliest row of each cluster (global step).

    column: the text column; None means the ``text`` role column.
    threshold: minimum word-shingle Jaccard similarity (0 < threshold <= 1).
    num_perm: MinHash permutations (at least 8).
    shingle: words per shingle (1 to 8).
    within: optional column; only rows with the same value there are compared.
    """

    name = "near_dedup"
    kind = "global"

    def __init__(
        self,
        *,
        column: str | None = None,
        threshold: float = 0.7,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle: int = DEFAULT_SHINGLE,
        within: str | None = None,
    ) -> None:
        super().__init__(column=column)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
            raise bad_param(self.name, "threshold", f"must be a number in (0, 1], got {threshold!r}")
        self.threshold = threshold
        self.num_perm = check_int(self.name, "num_perm", num_perm, minimum=8, optional=False)
        self.shingle = check_int(self.name, "shingle", shingle, minimum=1, optional=False)
        if self.shingle is not None and self.shingle > 8:
            raise bad_param(self.name, "shingle", f"must be at most 8, got {shingle}")
        self.within = check_column_name(self.name, "within", within)
        self._drop_ids = pa.array([], pa.string())
        self._keep_ids = pa.array([], pa.string())

    def bind(self, roles: ColumnRoles, schema: pa.Schema) -> None:
        """Resolve the text (and ``within``) column; StepError if absent or no row ids."""
        super().bind(roles, schema)
        if self.within is not None:
            require_column(self.name, schema, self.within, roles, "group")
        require_row_ids(self.name, schema, "to tell rows apart")

    def _groups(self, batch: pa.RecordBatch) -> np.ndarray | None:
        if self.within is None:
            return None
        values = pc.fill_null(batch.column(self.within).cast(pa.string()), "\x00null")  # nulls: one group
        return pd.util.hash_array(
            np.asarray(values.to_numpy(zero_copy_only=False), dtype=object), categorize=False
        )

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Find the clusters (two passes, see the module docstring)."""
        assert self.num_perm is not None and self.shingle is not None
        hasher = MinHasher(self.num_perm)
        bands, rows = lsh_params(float(self.threshold), self.num_perm)
        keys: list[np.ndarray] = []
        valid: list[np.ndarray] = []
        ids: list[pa.Array] = []
        for batch in batches:
            sh, off = shingle_hashes(as_text(batch.column(self._resolved)), self.shingle)
            sigs = hasher.signatures(sh, off)
            keys.append(np.ascontiguousarray(band_keys(sigs, bands, rows, self._groups(batch))))
            valid.append(np.diff(off) > 0)
            ids.append(batch.column(ROW_ID_COLUMN).cast(pa.string()))
        n = sum(len(v) for v in valid)
        if n == 0:
            return
        all_keys = np.concatenate(keys) if keys else np.empty((0, bands), np.uint64)
        del keys
        ci, cj = candidate_pairs(all_keys, np.concatenate(valid))
        del all_keys
        if len(ci) == 0:
            return
        # pass 2: shingles of the rows that take part in a candidate pair
        involved = np.unique(np.concatenate([ci, cj]))
        local = np.full(n, -1, dtype=np.int64)
        local[involved] = np.arange(len(involved))
        parts: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        start = 0
        for batch in batches:
            size = batch.num_rows
            mine = involved[(involved >= start) & (involved < start + size)] - start
            if len(mine):
                texts = as_text(batch.column(self._resolved)).take(pa.array(mine, pa.int64()))
                sh, off = shingle_hashes(texts, self.shingle)
                parts.append(sh)
                counts.append(np.diff(off))
            start += size
        sh = np.concatenate(parts)
        off = np.zeros(len(involved) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(counts), out=off[1:])
        li, lj = local[ci], local[cj]
        ok = self.cluster_verify(sh, off, li, lj)
        all_ids = pa.concat_arrays(ids)
        if pc.count_distinct(all_ids).as_py() != len(all_ids):
            raise StepError(f"step {self.name!r}: {ROW_ID_COLUMN} values must be unique to deduplicate.")
        self.cluster_set(all_ids.take(pa.array(involved, pa.int64())), li[ok], lj[ok])

    # --- distributed fit (pipeline.fit_hooks.ClusterFit): the same stages, split up ----------

    def cluster_entries(self, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row position, band, LSH band key) of every band of every row with words in ``batch``."""
        assert self.num_perm is not None and self.shingle is not None
        bands, rows = lsh_params(float(self.threshold), self.num_perm)
        sh, off = shingle_hashes(as_text(batch.column(self._resolved)), self.shingle)
        keys = band_keys(MinHasher(self.num_perm).signatures(sh, off), bands, rows, self._groups(batch))
        valid = np.flatnonzero(np.diff(off) > 0)
        return (
            np.repeat(valid, bands),
            np.tile(np.arange(bands, dtype=np.int64), len(valid)),
            np.ascontiguousarray(keys[valid]).ravel(),
        )

    def cluster_pairs(self, band: np.ndarray, key: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs of rows sharing a band key, band by band (as :func:`candidate_pairs`)."""
        found = [bucket_pairs(key[band == b], docs[band == b]) for b in np.unique(band)]
        if not found:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def cluster_payload(self, batch: pa.RecordBatch, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes, shingles per row) of ``rows`` of ``batch``."""
        assert self.shingle is not None
        texts = as_text(batch.column(self._resolved)).take(pa.array(rows, pa.int64()))
        sh, off = shingle_hashes(texts, self.shingle)
        return sh, np.diff(off)

    def cluster_verify(self, values: np.ndarray, offsets: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Exact shingle Jaccard of each pair >= ``threshold``."""
        return jaccard_pairs(values, offsets, i, j) >= float(self.threshold) - 1e-12

    def cluster_set(self, ids: pa.Array, i: np.ndarray, j: np.ndarray) -> None:
        """Connected components of the verified pairs; the earliest row of each cluster is kept."""
        n = len(ids)
        labels = connected_clusters(n, i, j)
        in_pair = np.zeros(n, dtype=bool)
        in_pair[i] = True
        in_pair[j] = True
        dup = in_pair & (labels != np.arange(n))
        ids = ids.cast(pa.string())
        if n and pc.count_distinct(ids).as_py() != n:
            raise StepError(f"step {self.name!r}: {ROW_ID_COLUMN} values must be unique to deduplicate.")
        self._drop_ids = ids.take(pa.array(np.flatnonzero(dup), pa.int64()))
        self._keep_ids = ids.take(pa.array(labels[dup], pa.int64()))

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Mark rows to drop with ``"near duplicate"``; ``_dm_near_dup_of`` = the kept row's id."""
        null = pa.scalar(None, pa.string())
        if len(self._drop_ids) == 0:
            nulls = pa.nulls(batch.num_rows, pa.string())
            return add_reasons(set_column(batch, NEAR_DUP_OF_COLUMN, nulls), nulls)
        ids = batch.column(ROW_ID_COLUMN).cast(pa.string())
        pos = pc.index_in(ids, value_set=self._drop_ids)
        kept_of = self._keep_ids.take(pos)
        is_dup = pc.is_valid(pos)
        reasons = pc.if_else(is_dup, pa.scalar(NEAR_DUPLICATE_REASON), null)
        return add_reasons(set_column(batch, NEAR_DUP_OF_COLUMN, kept_of.cast(pa.string())), reasons)
