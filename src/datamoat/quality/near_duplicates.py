"""``near_duplicates``: rows whose text is nearly the same as an earlier row's text.

Similarity is the Jaccard similarity of the sets of word ``shingle``-grams (lower-cased
``\\w+`` words, see :mod:`datamoat.quality.minhash`). Candidates come from MinHash LSH;
every candidate pair is then verified with the *exact* shingle Jaccard, so a reported pair
really is at least ``threshold`` similar (the MinHash estimate only decides what to look at).
Verified pairs are joined into clusters transitively (A~B and B~C puts A, B, C in one
cluster, even if A and C are less similar); the representative of a cluster is its earliest
row (input order).

Exact duplicates are left to the ``exact_duplicates`` check: rows are first grouped by their
normalised text (the same ``ignore_whitespace`` / ``ignore_case`` / ``within`` options, with
the same defaults, as that check), only the first row of each text takes part, and only
those first rows can be flagged here. A copy of a clustered text gets the cluster id but is
not an issue of this check (it is one of ``exact_duplicates``). So, run with the same
options, the two checks flag disjoint rows, and together every row of a cluster but one.

Per row: ``cluster`` (the representative's row number in the input, or null), ``duplicate_of``
(the representative's ``_dm_row_id`` for flagged rows), ``similarity`` (exact Jaccard with the
representative, for flagged rows; may be below ``threshold`` for a transitive member) and
``score`` = 1 - similarity for flagged rows, 1 otherwise.

Threshold: the default 0.7 was tuned on ``datamoat demo-data`` with seed 7 (its near duplicates
have Jaccard 0.70-0.95 by construction; lower thresholds mostly add the many naturally similar
template-built tickets). On that kind of data, ``within="customer_id"`` (resubmissions come
from the same customer) removes almost all of those look-alikes.

Summary: ``near_duplicates`` (rows flagged), ``clusters``, ``largest_cluster`` (rows, exact
copies included), ``threshold``, the LSH ``bands`` x ``rows_per_band`` and the candidate / verified
pair counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check
from datamoat.quality.duplicates import exact_groups, group_codes, text_column
from datamoat.quality.minhash import DEFAULT_NUM_PERM, DEFAULT_SHINGLE
from datamoat.quality.near_dup_verify import find_near_duplicates

DEFAULT_THRESHOLD = 0.7


def check_params(name: str, threshold: Any, num_perm: Any, shingle: Any) -> None:
    """Raise DatamoatError for a threshold outside (0, 1], or a bad num_perm / shingle size."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        raise DatamoatError(f"check {name!r}: threshold must be a number in (0, 1], got {threshold!r}.")
    if isinstance(num_perm, bool) or not isinstance(num_perm, int) or num_perm < 8:
        raise DatamoatError(f"check {name!r}: num_perm must be a whole number >= 8, got {num_perm!r}.")
    if isinstance(shingle, bool) or not isinstance(shingle, int) or not 1 <= shingle <= 8:
        raise DatamoatError(f"check {name!r}: shingle must be a whole number from 1 to 8, got {shingle!r}.")


@register_check
class NearDuplicates(Check):
    """Cluster rows with nearly the same text; flag all but the earliest of each cluster.

    column: the text column; None means the ``text`` role column.
    threshold: minimum word-shingle Jaccard similarity of a near-duplicate pair.
    num_perm: MinHash permutations (more: fewer missed pairs near the threshold, slower).
    shingle: words per shingle.
    ignore_whitespace, ignore_case: how texts are normalised to set exact copies aside.
    within: compare only rows with the same value in this column (None: all rows).
    """

    name = "near_duplicates"
    needs = ("text",)

    def __init__(
        self,
        *,
        column: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle: int = DEFAULT_SHINGLE,
        ignore_whitespace: bool = True,
        ignore_case: bool = True,
        within: str | None = None,
    ) -> None:
        check_params(self.name, threshold, num_perm, shingle)
        self.column = column
        self.threshold = float(threshold)
        self.num_perm = num_perm
        self.shingle = shingle
        self.ignore_whitespace = ignore_whitespace
        self.ignore_case = ignore_case
        self.within = within

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Clusters, representatives and similarities per row; cluster counts in the summary."""
        values = text_column(self.name, self.column, roles, table)
        groups = group_codes(self.name, self.within, table)
        codes, firsts = exact_groups(
            values, ignore_whitespace=self.ignore_whitespace, ignore_case=self.ignore_case, groups=groups
        )
        n = table.num_rows
        found = find_near_duplicates(
            values.take(pa.array(firsts, pa.int64())),
            threshold=self.threshold,
            num_perm=self.num_perm,
            shingle=self.shingle,
            groups=None if groups is None else groups[firsts],
        )
        # back from unique texts to rows: a text's cluster is its representative text's first row
        cluster = np.full(n, -1, dtype=np.int64)
        valid = codes >= 0
        text_cluster = np.where(found.cluster >= 0, firsts[np.maximum(found.cluster, 0)], -1)
        cluster[valid] = text_cluster[codes[valid]]
        is_first = np.zeros(n, dtype=bool)
        is_first[firsts] = True
        flagged = is_first & (cluster >= 0) & (cluster != np.arange(n))
        similarity = np.full(n, np.nan)
        similarity[firsts] = found.similarity
        similarity[~flagged] = np.nan

        ids = table.column(ROW_ID_COLUMN).combine_chunks().cast(pa.string())
        null_str = pa.scalar(None, pa.string())
        dup_of = pc.if_else(pa.array(flagged), ids.take(pa.array(np.maximum(cluster, 0))), null_str)
        in_cluster = cluster >= 0
        sizes = np.bincount(cluster[in_cluster], minlength=n) if n else np.zeros(0, np.int64)
        issues = issue_table(
            ids,
            flagged,
            np.where(flagged, 1.0 - np.nan_to_num(similarity, nan=0.0), 1.0),
            cluster=pa.array(cluster, pa.int64(), mask=~in_cluster),
            duplicate_of=dup_of,
            similarity=pa.array(similarity, pa.float64(), mask=~flagged),
        )
        summary: dict[str, Any] = {
            "near_duplicates": int(flagged.sum()),
            "clusters": int((sizes > 1).sum()),
            "largest_cluster": int(sizes.max()) if len(sizes) else 0,
            "rows_in_clusters": int(in_cluster.sum()),
            "threshold": self.threshold,
            "within": self.within,
            **found.stats,
        }
        return CheckResult(self.name, issues, summary)
