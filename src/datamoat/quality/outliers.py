"""``outliers``: texts far from every other text (kNN cosine distance on TF-IDF).

Each text becomes an L2-normalised TF-IDF vector of word 1-2 grams (sublinear tf; rare words
are kept, since they are what makes a text unusual), so the dot product of two rows is their
cosine similarity. A row's outlier distance is the mean cosine distance to its ``k`` nearest
other rows, found by blocked sparse matrix products against a reference set (all rows, or a
seeded sample of ``reference_size`` rows when there are more; a row never counts as its own
neighbour). 3k rows take well under a second, 10k about two; the reference cap bounds larger
inputs to O(rows x reference_size).

Threshold (robust): a row is an outlier when its distance is above
``median + z * 1.4826 * MAD`` of all distances (``z`` default 3.0; distances are bounded
by 1, so the textbook 3.5 flags almost nothing). ``score`` is one minus the row's distance
percentile (the farthest row scores 0, the closest 1), so it ranks rows by how unusual they
are; ``knn_distance`` holds the distance itself and ``nearest`` the row id of the nearest
neighbour.

Null and blank texts are not judged: ``is_issue`` false, ``score`` null.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role

BLOCK_ROWS = 512  # x reference_size dense similarities per block: ~80 MB at 20k references


def embed(texts: list[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF vectors of word 1-2 grams (sublinear tf), float32 CSR."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return (
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
            .fit_transform(texts)
            .tocsr()
        )
    except ValueError:  # no words at all
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)


def knn_distances(
    vectors: sp.csr_matrix, *, k: int, reference: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(mean cosine distance to the k nearest reference rows, index of the nearest one).

    vectors: L2-normalised rows (sparse). reference: indices of the rows to search (default
    all); a row is never its own neighbour.
    """
    n = vectors.shape[0]
    ref_idx = np.arange(n) if reference is None else np.asarray(reference)
    ref_t = vectors[ref_idx].T.tocsr()
    k = max(1, min(k, len(ref_idx) - 1))
    mean_dist = np.zeros(n)
    nearest = np.zeros(n, dtype=np.int64)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(n, start + BLOCK_ROWS)
        sims = np.asarray((vectors[start:stop] @ ref_t).todense())
        own = np.flatnonzero((ref_idx >= start) & (ref_idx < stop))
        sims[ref_idx[own] - start, own] = -np.inf  # not its own neighbour
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        mean_dist[start:stop] = 1.0 - np.clip(top_sims, 0.0, 1.0).mean(axis=1)
        nearest[start:stop] = ref_idx[top[np.arange(stop - start), top_sims.argmax(axis=1)]]
    return mean_dist, nearest


def robust_threshold(values: np.ndarray, z: float) -> float:
    """``median + z * 1.4826 * MAD`` of ``values`` (the MAD floored at 1e-6)."""
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    return median + z * 1.4826 * max(mad, 1e-6)


@register_check
class Outliers(Check):
    """Flag texts whose k nearest neighbours are unusually far away.

    column: the text column; None means the ``text`` role column.
    k: neighbours averaged. z: robust z-score cut-off.
    reference_size: at most this many rows (a seeded sample) are searched as neighbours.
    seed: seed of the reference sample.
    """

    name = "outliers"
    max_rows = 20_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text",)

    def __init__(
        self,
        *,
        column: str | None = None,
        k: int = 10,
        z: float = 3.0,
        reference_size: int = 20_000,
        seed: int = 0,
    ) -> None:
        for param, value, low in (("k", k, 1), ("reference_size", reference_size, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise DatamoatError(
                    f"check 'outliers': {param} must be a whole number >= {low}, got {value!r}."
                )
        if not z > 0:
            raise DatamoatError(f"check 'outliers': z must be positive, got {z!r}.")
        self.column = column
        self.k = k
        self.z = z
        self.reference_size = reference_size
        self.seed = seed

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Outlier flags, ``knn_distance`` and ``nearest`` per row."""
        column = self.column or require_role(self.name, roles, "text", table)
        texts = table.column(column).to_pylist()
        row_ids = table.column(ROW_ID_COLUMN)
        idx = np.array([i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()], dtype=np.int64)
        n = table.num_rows
        is_issue = np.zeros(n, dtype=bool)
        score = np.full(n, np.nan)
        dist_col = np.full(n, np.nan)
        nearest_col: list[str | None] = [None] * n
        summary: dict[str, Any] = {"column": column, "judged": int(len(idx))}
        if len(idx) > 2:
            vectors = embed([texts[i] for i in idx])
            reference = None
            if len(idx) > self.reference_size:
                rng = np.random.default_rng(self.seed)
                reference = np.sort(rng.choice(len(idx), self.reference_size, replace=False))
            dist, nearest = knn_distances(vectors, k=self.k, reference=reference)
            threshold = robust_threshold(dist, self.z)
            ranks = dist.argsort(kind="stable").argsort(kind="stable")
            is_issue[idx] = dist > threshold
            score[idx] = 1.0 - ranks / max(1, len(idx) - 1)
            dist_col[idx] = dist
            ids = row_ids.to_pylist()
            for row, near in zip(idx, nearest, strict=True):
                nearest_col[row] = ids[idx[near]]
            summary.update(
                {
                    "threshold": threshold,
                    "median_distance": float(np.median(dist)),
                    "max_distance": float(dist.max()),
                }
            )
        issues = issue_table(
            row_ids,
            is_issue,
            score,
            knn_distance=pa.array(dist_col, pa.float64(), from_pandas=True),
            nearest=pa.array(nearest_col, pa.string()),
        )
        return CheckResult(self.name, issues, summary)
