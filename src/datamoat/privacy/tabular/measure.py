"""Measure a table's anonymity: k-anonymity, l-diversity, t-closeness and information loss.

An *equivalence class* is a set of rows with the same values in every quasi-identifier (QI)
column (a missing value counts as a value of its own). For a table with QI columns ``QI`` and
sensitive columns ``S``:

k-anonymity
    ``k`` is the size of the smallest equivalence class; every row is indistinguishable from
    at least ``k - 1`` others by its QIs. The full distribution (class size -> number of
    classes) is reported too.
l-diversity (per sensitive column)
    *distinct*: the fewest distinct sensitive values in any class. *entropy*: the smallest
    ``exp(H)`` over the classes, where ``H = -sum p log p`` is the entropy of the class's
    sensitive values (a class is entropy-l-diverse when ``exp(H) >= l``).
t-closeness (per sensitive column)
    The largest Earth Mover's Distance between a class's sensitive distribution and the
    whole table's. Numeric columns use the *ordered distance* (the distinct values sorted,
    neighbours ``1 / (m - 1)`` apart: ``EMD = sum_i |cumsum(p - q)_i| / (m - 1)``);
    other columns the *equal distance* (every two values 1 apart: ``EMD = 1/2 sum |p - q|``,
    the total variation distance). Both lie in [0, 1].
Information loss
    *Discernibility metric* ``DM = sum_E |E|^2 + suppressed * N`` (N = rows before
    suppression: a suppressed row is indistinguishable from all of them); *average class size
    metric* ``C_avg = (rows / classes) / k`` (1 is ideal); and the number of suppressed rows.

Everything is vectorised: classes come from ``pandas.groupby(...).ngroup()``, per-class counts
from ``numpy.bincount`` over integer codes. The same kernels (:func:`combine_codes`,
:func:`class_diversity`, :func:`class_closeness`) serve the anonymisation search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError

_DENSE_CELLS = 4_000_000
"""Largest classes x values block materialised at once for the ordered EMD."""


@dataclass(frozen=True)
class AnonymityMetrics:
    """What :func:`measure` found; all fields are JSON-ready (see :meth:`to_dict`).

    rows: rows measured (the released rows, suppressed ones not included).
    classes: number of equivalence classes.
    k: size of the smallest class (0 for an empty table).
    class_sizes: class size -> number of classes with that size.
    l_distinct / l_entropy / t: per sensitive column (see the module docstring).
    discernibility: the discernibility metric (suppressed rows cost N each).
    c_avg: average equivalence class size metric, ``(rows / classes) / k_target``.
    suppressed: rows suppressed before this table (as told by the caller).
    """

    rows: int
    quasi_identifiers: list[str]
    sensitive: list[str]
    classes: int
    k: int
    class_sizes: dict[int, int]
    l_distinct: dict[str, int] = field(default_factory=dict)
    l_entropy: dict[str, float] = field(default_factory=dict)
    t: dict[str, float] = field(default_factory=dict)
    discernibility: int = 0
    c_avg: float | None = None
    suppressed: int = 0

    @property
    def l(self) -> int | None:  # noqa: E743 - the literature's name
        """The smallest distinct l over the sensitive columns (None without sensitive columns)."""
        return min(self.l_distinct.values()) if self.l_distinct else None

    @property
    def t_max(self) -> float | None:
        """The largest t over the sensitive columns (None without sensitive columns)."""
        return max(self.t.values()) if self.t else None

    def rows_below(self, k: int) -> int:
        """Rows in classes smaller than ``k`` (what k-anonymity at ``k`` would have to suppress)."""
        return sum(size * count for size, count in self.class_sizes.items() if size < k)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (class size keys become strings)."""
        data = asdict(self)
        data["class_sizes"] = {str(s): c for s, c in sorted(self.class_sizes.items())}
        data["l"] = self.l
        data["t_max"] = self.t_max
        return data


# --- kernels ---------------------------------------------------------------------------------


def combine_codes(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, int]:
    """Group ids ``0..g-1`` for the rows' combinations of non-negative integer codes.

    Returns (ids as int64 array, g). Codes are folded pairwise into one int64 key and
    re-factorised whenever the key space would overflow.
    """
    if not codes:
        raise ValueError("combine_codes needs at least one code array")
    key = np.asarray(codes[0], dtype=np.int64)
    span = int(key.max()) + 1 if len(key) else 1
    for more in codes[1:]:
        more = np.asarray(more, dtype=np.int64)
        width = int(more.max()) + 1 if len(more) else 1
        if span * width >= 2**62:
            key, uniques = pd.factorize(key)
            span = len(uniques)
        key = key * width + more
        span *= width
    ids, uniques = pd.factorize(key)
    return ids.astype(np.int64, copy=False), len(uniques)


def value_codes(values: pd.Series) -> tuple[np.ndarray, int, bool]:
    """Integer codes for a sensitive column: (codes, number of distinct values, ordered).

    Numeric columns (not bool) are ordered: codes follow the sorted distinct values. Missing
    values get a code of their own (last, for ordered columns).
    """
    ordered = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
    codes, uniques = pd.factorize(values, sort=ordered, use_na_sentinel=True)
    m = len(uniques)
    if (codes < 0).any():
        codes = np.where(codes < 0, m, codes)
        m += 1
    return codes.astype(np.int64, copy=False), max(m, 1), ordered


def class_diversity(
    ids: np.ndarray, n_classes: int, s_codes: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per class: (number of distinct sensitive values, exp(entropy) of the sensitive values)."""
    if n_classes == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    pairs, counts = np.unique(ids * m + s_codes, return_counts=True)
    pair_class = pairs // m
    distinct = np.bincount(pair_class, minlength=n_classes)
    sizes = np.bincount(ids, minlength=n_classes).astype(float)
    p = counts / sizes[pair_class]
    entropy = np.bincount(pair_class, weights=-p * np.log(p), minlength=n_classes)
    return distinct, np.exp(entropy)


def class_closeness(
    ids: np.ndarray, n_classes: int, s_codes: np.ndarray, m: int, ordered: bool, q: np.ndarray | None = None
) -> np.ndarray:
    """Per class: EMD between the class's sensitive distribution and ``q`` (default: the table's).

    ordered: ordered distance over the codes' order (numeric columns); else equal distance.
    """
    if n_classes == 0:
        return np.zeros(0)
    if q is None:
        q = np.bincount(s_codes, minlength=m) / max(len(s_codes), 1)
    sizes = np.bincount(ids, minlength=n_classes).astype(float)
    if not ordered or m < 2:
        pairs, counts = np.unique(ids * m + s_codes, return_counts=True)
        pair_class, pair_value = pairs // m, pairs % m
        p = counts / sizes[pair_class]
        # 1/2 sum_v |p_v - q_v| = 1/2 (1 + sum_{v in class} (|p_v - q_v| - q_v))
        present = np.bincount(
            pair_class, weights=np.abs(p - q[pair_value]) - q[pair_value], minlength=n_classes
        )
        return np.clip(0.5 * (1.0 + present), 0.0, 1.0)
    out = np.empty(n_classes)
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes.astype(np.int64))])
    block = max(1, _DENSE_CELLS // m)
    for c0 in range(0, n_classes, block):
        c1 = min(n_classes, c0 + block)
        rows = order[starts[c0] : starts[c1]]
        local = ids[rows] - c0
        dense = np.bincount(local * m + s_codes[rows], minlength=(c1 - c0) * m).reshape(c1 - c0, m)
        diff = dense / sizes[c0:c1, None] - q[None, :]
        out[c0:c1] = np.abs(np.cumsum(diff, axis=1)[:, :-1]).sum(axis=1) / (m - 1)
    return out


def discernibility(sizes: np.ndarray, suppressed: int, total_rows: int) -> int:
    """``sum |E|^2 + suppressed * total_rows`` (total_rows: rows before suppression)."""
    return int(np.sum(sizes.astype(np.int64) ** 2)) + int(suppressed) * int(total_rows)


# --- the public measure ------------------------------------------------------------------------


def require_columns(df: pd.DataFrame, qi: list[str], sens: list[str], task: str) -> None:
    """DatamoatError unless ``qi`` is not empty and every ``qi``/``sens`` column is in ``df``.

    task: what needs the columns, for the message (``"anonymisation"``).
    """
    if not qi:
        raise DatamoatError(f"{task} needs at least one quasi-identifier column.")
    missing = [c for c in qi + sens if c not in df.columns]
    if missing:
        raise DatamoatError(
            f"no column {missing[0]!r} in the table; the columns are: {', '.join(map(str, df.columns))}."
        )


def measure(
    df: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] = (),
    *,
    k: int | None = None,
    suppressed: int = 0,
) -> AnonymityMetrics:
    """Measure the anonymity of ``df`` over its ``quasi_identifiers`` and ``sensitive`` columns.

    k: the target k for ``C_avg`` (default: the achieved k).
    suppressed: rows already removed from ``df`` by suppression (they enter the discernibility
        metric as ``suppressed * (len(df) + suppressed)``).
    Raises DatamoatError for a missing column or no quasi-identifiers.
    """
    qi = list(quasi_identifiers)
    sens = list(sensitive)
    require_columns(df, qi, sens, "measuring anonymity")
    n = len(df)
    if n == 0:
        return AnonymityMetrics(
            0,
            qi,
            sens,
            0,
            0,
            {},
            {s: 0 for s in sens},
            {s: 0.0 for s in sens},
            {s: 0.0 for s in sens},
            discernibility(np.zeros(0), suppressed, suppressed),
            None,
            suppressed,
        )
    ids = df.groupby(qi, dropna=False, sort=False).ngroup().to_numpy(dtype=np.int64)
    n_classes = int(ids.max()) + 1
    sizes = np.bincount(ids, minlength=n_classes)
    size_values, size_counts = np.unique(sizes, return_counts=True)
    achieved = int(sizes.min())
    l_distinct: dict[str, int] = {}
    l_entropy: dict[str, float] = {}
    t: dict[str, float] = {}
    for column in sens:
        codes, m, ordered = value_codes(df[column])
        distinct, entropy = class_diversity(ids, n_classes, codes, m)
        l_distinct[column] = int(distinct.min())
        l_entropy[column] = float(entropy.min())
        t[column] = float(class_closeness(ids, n_classes, codes, m, ordered).max())
    target = k or achieved
    return AnonymityMetrics(
        rows=n,
        quasi_identifiers=qi,
        sensitive=sens,
        classes=n_classes,
        k=achieved,
        class_sizes={int(s): int(c) for s, c in zip(size_values, size_counts, strict=True)},
        l_distinct=l_distinct,
        l_entropy=l_entropy,
        t=t,
        discernibility=discernibility(sizes, suppressed, n + suppressed),
        c_avg=float(n / n_classes / target),
        suppressed=int(suppressed),
    )
