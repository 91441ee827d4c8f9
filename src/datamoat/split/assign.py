"""Leakage-free, stratified train / valid / test splits.

:func:`split_table` gives every row of a table one of ``"train"``, ``"valid"`` or ``"test"``:

1. **A given split.** If the roles name a ``split`` column, its values are used as given:
   ``train``/``training`` -> train, ``valid``/``validation``/``val``/``dev`` -> valid,
   ``test``/``testing`` -> test (case-insensitive, surrounding blanks ignored). Rows with
   another or a missing value are assigned by the rules below.
2. **Leakage groups.** Rows that must not straddle splits are joined into one *component*
   (the union, by connected components, of):

   * rows with the same ``group`` role value (null values join nothing);
   * exact duplicates: with a ``text`` role, the same text after whitespace collapsing and
     lower-casing (as :mod:`datamoat.quality.duplicates` and
     :func:`datamoat.quality.leakage.leakage_between` compare); null / blank texts join
     nothing. Without a ``text`` role (tabular data), rows equal in every column except
     ``_dm_row_id`` and the ``id``, ``split``, ``label`` and ``group`` role columns (so the
     same features with a different label still count as one row);
   * near duplicates (text only): the same cluster of
     :func:`datamoat.quality.near_dup_verify.find_near_duplicates` at ``near_dup_threshold``.

   A component with some given-split rows takes the most common given split of those rows
   (ties: train, then valid, then test) for its unassigned rows; given values are never
   changed (if the given split itself straddles a component, :func:`split_report` shows it).
3. **Stratified assignment** of the remaining (free) components, in the proportions
   ``1 - test_size - valid_size`` / ``valid_size`` / ``test_size`` of the free rows. Each
   component is stratified by its majority ``label`` (ties: the smallest label; nulls are a
   class of their own; no label role: one stratum). Each stratum gets target counts per
   split - its share of each split's overall target, rounded so that the stratum sizes and
   the split totals both add up - and then:

   * components with more than one row, largest first (equal sizes in a seeded random
     order), each go to the split furthest below its target (ties: train, valid, test);
   * single rows are shuffled (seeded) and fill the remaining shortfalls exactly.

   **Tiny classes**: a stratum always keeps at least one row's target in train (a class with
   one row - or one component - goes to train; a class of two rows gets one in train and one
   in the split with the largest rounding remainder). A class smaller than ``1 / test_size``
   rows may therefore have no test rows; the split totals can drift by one row per such class.

   The result is a pure function of the table, the roles and the parameters: the same
   ``seed`` gives the same split; another seed gives another.

:func:`split_report` counts rows and classes per split and checks for leakage (exact and near
duplicate pairs and groups across splits). :func:`leakage_between_tables` reports the
overlap between a training collection and a user-provided test collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.duplicate_rows import row_keys
from datamoat.quality.duplicates import exact_groups, normalise
from datamoat.quality.leakage import leakage_between
from datamoat.quality.near_dup_verify import connected_clusters, find_near_duplicates

SPLITS: tuple[str, str, str] = ("train", "valid", "test")
"""The split names, in index order (0 = train, 1 = valid, 2 = test)."""

SPLIT_ALIASES: dict[str, int] = {
    "train": 0,
    "training": 0,
    "valid": 1,
    "validation": 1,
    "val": 1,
    "dev": 1,
    "test": 2,
    "testing": 2,
}
"""Accepted values of a given ``split`` column (lower-cased, stripped) and their split index."""

DEFAULT_NEAR_DUP_THRESHOLD = 0.7


# --------------------------------------------------------------------------------------------
# inputs


def _column(table: pa.Table, name: str, role: str) -> pa.Array:
    if name not in table.column_names:
        raise DatamoatError(f"split: no column {name!r} for role {role!r} in the data.")
    col = table.column(name)
    return col.combine_chunks() if col.num_chunks else pa.array([], col.type)


def _text_array(table: pa.Table, roles: ColumnRoles) -> pa.Array | None:
    name = roles.get("text")
    if name is None:
        return None
    values = _column(table, name, "text")
    if pa.types.is_null(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    if not pa.types.is_string(values.type):
        raise DatamoatError(f"split: text column {name!r} holds {values.type}, not text.")
    return values


def _value_codes(values: pa.Array) -> np.ndarray:
    """int64 code per row of ``values`` (equal values share a code), -1 for nulls."""
    series = values.to_pandas()
    try:
        codes, _ = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, structs): compare their text form
        codes, _ = pd.factorize(series.map(lambda v: None if v is None else repr(v)), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def _given_split(table: pa.Table, roles: ColumnRoles) -> np.ndarray:
    """Split index per row from the ``split`` role column, -1 where none or unrecognised."""
    n = table.num_rows
    name = roles.get("split")
    if name is None:
        return np.full(n, -1, dtype=np.int64)
    values = _column(table, name, "split").cast(pa.string())
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values)).to_pandas()
    mapped = lowered.map(SPLIT_ALIASES)
    return mapped.fillna(-1).to_numpy().astype(np.int64)


def _tabular_key_columns(table: pa.Table, roles: ColumnRoles) -> list[str]:
    skip = {ROW_ID_COLUMN} | {roles.single[r] for r in ("id", "split", "label", "group") if r in roles.single}
    return [c for c in table.column_names if c not in skip]


def _tabular_duplicate_codes(table: pa.Table, roles: ColumnRoles) -> np.ndarray:
    """Code per row shared by rows equal in every feature column (see the module docstring)."""
    n = table.num_rows
    cols = _tabular_key_columns(table, roles)
    if not cols or n == 0:
        return np.full(n, -1, dtype=np.int64)
    codes, _ = pd.factorize(row_keys(table.select(cols)))
    return np.asarray(codes, dtype=np.int64)


def _label_codes(table: pa.Table, roles: ColumnRoles) -> tuple[np.ndarray, list[Any]] | None:
    """(code per row, label value per code) of the label role; nulls get their own code."""
    name = roles.get("label")
    if name is None:
        return None
    series = _column(table, name, "label").to_pandas()
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), list(uniques)


# --------------------------------------------------------------------------------------------
# components


def _edges_from_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges linking every row with a code >= 0 to the first row with the same code."""
    rows = np.flatnonzero(codes >= 0)
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    _, first, inverse = np.unique(codes[rows], return_index=True, return_inverse=True)
    anchor = rows[first][inverse]
    keep = anchor != rows
    return rows[keep], anchor[keep]


def leakage_components(
    table: pa.Table, roles: ColumnRoles, *, near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD
) -> np.ndarray:
    """Component id per row (0..k-1, in order of first row): rows that must share a split.

    The union of group-role values, exact duplicates and (for text) near-duplicate clusters;
    ``near_dup_threshold=None`` leaves near duplicates out.
    """
    n = table.num_rows
    code_sets: list[np.ndarray] = []
    group = roles.get("group")
    if group is not None:
        code_sets.append(_value_codes(_column(table, group, "group")))
    texts = _text_array(table, roles)
    if texts is not None:
        exact, _ = exact_groups(texts, ignore_whitespace=True, ignore_case=True)
        code_sets.append(exact)
        if near_dup_threshold is not None and n > 1:
            code_sets.append(find_near_duplicates(texts, threshold=near_dup_threshold).cluster)
    else:
        code_sets.append(_tabular_duplicate_codes(table, roles))
    ei, ej = [], []
    for codes in code_sets:
        i, j = _edges_from_codes(np.asarray(codes, dtype=np.int64))
        ei.append(i)
        ej.append(j)
    i = np.concatenate(ei) if ei else np.empty(0, np.int64)
    j = np.concatenate(ej) if ej else np.empty(0, np.int64)
    labels = connected_clusters(n, i, j)
    _, comp = np.unique(labels, return_inverse=True)  # labels are first rows: order kept
    return comp.astype(np.int64)


# --------------------------------------------------------------------------------------------
# assignment


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Non-negative integers proportional to ``weights`` that add up to ``total``."""
    weights = np.asarray(weights, dtype=np.float64)
    out = np.zeros(len(weights), dtype=np.int64)
    if total <= 0 or weights.sum() <= 0:
        return out
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    rest = total - int(out.sum())
    if rest > 0:
        order = np.lexsort((np.arange(len(weights)), -(exact - out)))  # ties: earlier split
        out[order[:rest]] += 1
    return out


def _stratum_targets(sizes: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Target rows per (stratum, split): rows add up per stratum; columns match the overall
    targets where rounding allows; every non-empty stratum keeps at least one train row."""
    n_strata = len(sizes)
    totals = _largest_remainder(int(sizes.sum()), fractions)
    exact = sizes[:, None] * fractions[None, :]
    targets = np.floor(exact).astype(np.int64)
    need_row = sizes - targets.sum(axis=1)
    need_col = totals - targets.sum(axis=0)
    remainder = exact - targets
    # hand out the leftover units: largest remainders first, where both sides still need one
    cells = np.lexsort(
        (np.tile(np.arange(3), n_strata), np.repeat(np.arange(n_strata), 3), -remainder.ravel())
    )
    for cell in cells:
        s, k = divmod(int(cell), 3)
        if need_row[s] > 0 and need_col[k] > 0:
            targets[s, k] += 1
            need_row[s] -= 1
            need_col[k] -= 1
    for s in np.flatnonzero(need_row > 0):  # rounding left a stratum short: best remaining
        for _ in range(int(need_row[s])):
            k = int(np.argmax(need_col * 10.0 + remainder[s]))
            targets[s, k] += 1
            need_col[k] -= 1
    if fractions[0] > 0:
        short = (targets[:, 0] == 0) & (sizes > 0)
        for s in np.flatnonzero(short):  # tiny class: move one row's target to train
            k = 1 + int(np.argmax(targets[s, 1:]))
            targets[s, k] -= 1
            targets[s, 0] += 1
    return targets


def _assign_free(
    free_comps: np.ndarray,
    comp_size: np.ndarray,
    comp_stratum: np.ndarray,
    fractions: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Split index per component in ``free_comps`` (stratified greedy, see the module doc)."""
    out = np.full(len(comp_size), -1, dtype=np.int64)
    if len(free_comps) == 0:
        return out
    tiebreak = rng.random(len(comp_size))
    strata, stratum_of = np.unique(comp_stratum[free_comps], return_inverse=True)
    sizes = np.bincount(stratum_of, weights=comp_size[free_comps], minlength=len(strata)).astype(np.int64)
    targets = _stratum_targets(sizes, fractions)
    for s in range(len(strata)):
        members = free_comps[stratum_of == s]
        filled = np.zeros(3, dtype=np.int64)
        big = members[comp_size[members] > 1]
        big = big[np.lexsort((tiebreak[big], -comp_size[big]))]
        for c in big:
            k = int(np.argmax(targets[s] - filled))  # ties: train, valid, test
            out[c] = k
            filled[k] += comp_size[c]
        singles = members[comp_size[members] == 1]
        if len(singles):
            singles = singles[np.argsort(tiebreak[singles], kind="stable")]
            counts = _largest_remainder(len(singles), np.clip(targets[s] - filled, 0, None))
            if counts.sum() == 0:  # every split met its target: follow the overall fractions
                counts = _largest_remainder(len(singles), fractions)
            out[singles] = np.repeat(np.arange(3), counts)
    return out


def split_fractions(test_size: float, valid_size: float) -> np.ndarray:
    """``[train, valid, test]`` shares (float64, sum 1) from the test and validation shares.

    DatamoatError (one sentence) when a share is outside [0, 1) or the two leave nothing to
    train on; callers check their shares with it before writing anything.
    """
    for name, value in (("test_size", test_size), ("valid_size", valid_size)):
        if not 0.0 <= float(value) < 1.0:
            raise DatamoatError(f"split: {name} must be in [0, 1), got {value!r}.")
    train = 1.0 - float(test_size) - float(valid_size)
    if train <= 0.0:
        raise DatamoatError(
            f"split: test_size + valid_size must be below 1 (got {test_size} + {valid_size}); "
            "nothing would be left to train on."
        )
    return np.array([train, float(valid_size), float(test_size)])


def split_indices(
    table: pa.Table,
    roles: ColumnRoles,
    *,
    test_size: float = 0.2,
    valid_size: float = 0.1,
    seed: int = 0,
    near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
) -> np.ndarray:
    """Like :func:`split_table`, as an int8 numpy array (0 = train, 1 = valid, 2 = test)."""
    fractions = split_fractions(test_size, valid_size)
    n = table.num_rows
    if n == 0:
        return np.empty(0, dtype=np.int8)
    given = _given_split(table, roles)
    if (given >= 0).all():
        return given.astype(np.int8)
    comp = leakage_components(table, roles, near_dup_threshold=near_dup_threshold)
    n_comp = int(comp.max()) + 1
    comp_size = np.bincount(comp, minlength=n_comp)

    # components holding given-split rows: the most common given split (ties: train first)
    fixed = given >= 0
    votes = np.zeros((n_comp, 3), dtype=np.int64)
    np.add.at(votes, (comp[fixed], given[fixed]), 1)
    comp_split = np.where(votes.sum(axis=1) > 0, np.argmax(votes, axis=1), -1)

    # majority label per component (ties: smallest label code)
    labels = _label_codes(table, roles)
    if labels is None:
        comp_stratum = np.zeros(n_comp, dtype=np.int64)
    else:
        codes = labels[0]
        pair_counts = pd.Series(1, index=pd.MultiIndex.from_arrays([comp, codes])).groupby(level=[0, 1]).sum()
        frame = pair_counts.rename("count").reset_index()
        frame.columns = ["comp", "label", "count"]
        frame = frame.sort_values(["comp", "count", "label"], ascending=[True, False, True])
        best = frame.drop_duplicates("comp")
        comp_stratum = np.zeros(n_comp, dtype=np.int64)
        comp_stratum[best["comp"].to_numpy()] = best["label"].to_numpy()

    free = np.flatnonzero(comp_split < 0)
    rng = np.random.default_rng(seed)
    assigned = _assign_free(free, comp_size, comp_stratum, fractions, rng)
    comp_split = np.where(comp_split < 0, assigned, comp_split)
    out = np.where(fixed, given, comp_split[comp])
    return out.astype(np.int8)


def split_table(
    table: pa.Table,
    roles: ColumnRoles,
    *,
    test_size: float = 0.2,
    valid_size: float = 0.1,
    seed: int = 0,
    near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
) -> pa.Array:
    """``"train"`` / ``"valid"`` / ``"test"`` per row of ``table``, in row order.

    test_size, valid_size: shares of the rows to assign (train gets the rest; ``valid_size=0``
    makes no validation rows). seed: the random seed (same seed, same split).
    near_dup_threshold: word-shingle Jaccard at which two texts count as near duplicates
    (``None``: exact duplicates and groups only). See the module docstring for the rules.
    """
    idx = split_indices(
        table,
        roles,
        test_size=test_size,
        valid_size=valid_size,
        seed=seed,
        near_dup_threshold=near_dup_threshold,
    )
    names = pa.array(list(SPLITS), pa.string())
    return names.take(pa.array(idx.astype(np.int64)))


# --------------------------------------------------------------------------------------------
# reports


def _split_codes(splits: pa.Array | pa.ChunkedArray | Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    if isinstance(splits, pa.ChunkedArray | pa.Array):
        values = pd.Series(splits.to_pylist(), dtype=object)
    else:
        values = pd.Series(list(splits), dtype=object)
    if len(values) != n:
        raise DatamoatError(f"split report: {len(values)} split labels for a table of {n} rows.")
    lowered = values.map(lambda v: None if v is None else str(v).strip().lower())
    return lowered.map(SPLIT_ALIASES).fillna(-1).to_numpy().astype(np.int64)


def _cross_pairs(codes: np.ndarray, split: np.ndarray) -> int:
    """Pairs of rows with the same code (>= 0) in different splits (rows without a split skipped)."""
    ok = (codes >= 0) & (split >= 0)
    if not ok.any():
        return 0
    counts = pd.crosstab(codes[ok], split[ok]).to_numpy().astype(np.int64)
    total = counts.sum(axis=1)
    return int(((total * total - (counts * counts).sum(axis=1)) // 2).sum())


def split_report(
    splits: pa.Array | pa.ChunkedArray | Sequence[str] | np.ndarray,
    table: pa.Table,
    roles: ColumnRoles,
    *,
    near_dup_threshold: float | None = DEFAULT_NEAR_DUP_THRESHOLD,
) -> dict[str, Any]:
    """Rows and classes per split, and a leakage check.

    Returns ``{"rows": {split: n}, "fractions": {split: share}, "classes": {split: {label: n}}``
    (only with a label role; null labels under ``None``), ``"leakage": {...}}`` where leakage
    has ``exact_pairs`` (pairs of rows with the same normalised text - or, without a text role,
    the same feature values - in different splits), ``near_pairs`` (verified near-duplicate
    pairs in different splits that are not exact duplicates; text only), ``groups_straddling``
    (group-role values found in more than one split) and ``clean`` (all three are 0).
    Split labels are read like a given split column (``"validation"`` counts as valid); rows
    with another label count under ``"other"`` and in no leakage pair.
    """
    n = table.num_rows
    split = _split_codes(splits, n)
    names = [*SPLITS, "other"]
    idx = np.where(split >= 0, split, 3)
    rows_per = np.bincount(idx, minlength=4)
    report: dict[str, Any] = {
        "rows": {SPLITS[k]: int(rows_per[k]) for k in range(3)},
        "fractions": {SPLITS[k]: (float(rows_per[k] / n) if n else 0.0) for k in range(3)},
    }
    if rows_per[3]:
        report["rows"]["other"] = int(rows_per[3])
    labels = _label_codes(table, roles)
    if labels is not None:
        codes, values = labels
        classes: dict[str, dict[Any, int]] = {}
        for k in range(4):
            if k == 3 and not rows_per[3]:
                continue
            counts = np.bincount(codes[idx == k], minlength=len(values))
            classes[names[k]] = {
                (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)): int(c)
                for v, c in zip(values, counts, strict=True)
            }
        report["classes"] = classes

    texts = _text_array(table, roles)
    near_pairs = 0
    if texts is not None:
        exact, _ = exact_groups(texts, ignore_whitespace=True, ignore_case=True)
        exact_pairs = _cross_pairs(exact, split)
        if near_dup_threshold is not None and n > 1:
            vi, vj, _ = find_near_duplicates(texts, threshold=near_dup_threshold).pairs
            across = (split[vi] >= 0) & (split[vj] >= 0) & (split[vi] != split[vj])
            not_exact = (exact[vi] < 0) | (exact[vi] != exact[vj])
            near_pairs = int((across & not_exact).sum())
    else:
        exact_pairs = _cross_pairs(_tabular_duplicate_codes(table, roles), split)
    straddling = 0
    group = roles.get("group")
    if group is not None:
        gcodes = _value_codes(_column(table, group, "group"))
        ok = (gcodes >= 0) & (split >= 0)
        if ok.any():
            per_group = pd.Series(split[ok]).groupby(gcodes[ok]).nunique()
            straddling = int((per_group > 1).sum())
    report["leakage"] = {
        "exact_pairs": exact_pairs,
        "near_pairs": near_pairs,
        "groups_straddling": straddling,
        "clean": exact_pairs == 0 and near_pairs == 0 and straddling == 0,
    }
    return report


def leakage_between_tables(
    train_texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    test_texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    threshold: float = DEFAULT_NEAR_DUP_THRESHOLD,
) -> dict[str, Any]:
    """Overlap between training texts and a user-provided test collection.

    Uses :func:`datamoat.quality.leakage.leakage_between`: each test text is matched to its
    most similar training text with word-shingle Jaccard >= ``threshold``. Returns
    ``train_rows``, ``test_rows``, ``leaked`` (test texts with a match), ``exact`` (the match
    is the same text after whitespace collapsing and lower-casing), ``near`` (the others),
    ``share`` (leaked / test rows), ``threshold``, and per leaked test text (in test order)
    ``leaked_rows`` (its index), ``matched_train_rows`` and ``similarity``.
    """
    train = _as_strings(train_texts)
    test = _as_strings(test_texts)
    found = leakage_between(train, test, threshold)
    rows = np.flatnonzero(found.leaked)
    matches = found.match[rows]
    exact = np.zeros(len(rows), dtype=bool)
    if len(rows):
        norm_test = normalise(test.take(pa.array(rows)), ignore_whitespace=True, ignore_case=True)
        norm_train = normalise(train.take(pa.array(matches)), ignore_whitespace=True, ignore_case=True)
        exact = pc.fill_null(pc.equal(norm_test, norm_train), False).to_numpy(zero_copy_only=False)
        exact = np.asarray(exact, dtype=bool)
    n_test = len(test)
    return {
        "train_rows": len(train),
        "test_rows": n_test,
        "leaked": int(len(rows)),
        "exact": int(exact.sum()),
        "near": int(len(rows) - exact.sum()),
        "share": float(len(rows) / n_test) if n_test else 0.0,
        "threshold": float(threshold),
        "leaked_rows": rows.tolist(),
        "matched_train_rows": matches.tolist(),
        "similarity": found.similarity[rows].tolist(),
    }


def _as_strings(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    return values.cast(pa.string())
