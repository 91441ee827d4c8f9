"""``split_leakage``: evaluation rows whose text is (nearly) the same as a training row's.

A test or validation row that also appears in the training data - identical, or with a few
words changed - inflates evaluation scores. :func:`leakage_between` finds, for each text of
one collection (``test``), the most similar text of another (``train``) with word-shingle
Jaccard >= ``threshold`` (MinHash LSH candidates, exact Jaccard verification, as in
:mod:`datamoat.quality.near_dup_verify`); texts that are identical after whitespace collapsing and
lower-casing always match (similarity 1.0), even when they have no words.

The ``split_leakage`` check uses the ``split`` role column: rows whose split value is in
``train_values`` ("train" by default; compared case-insensitively) are training rows; every
other row with a non-null split is an evaluation row and is flagged when it matches a
training row. Per row: ``leaks_from`` (the matching training row's ``_dm_row_id``, the most
similar, earliest on ties), ``similarity`` and ``score`` = 1 - similarity for flagged rows.
Summary: ``leaked`` rows, ``by_split`` counts, ``exact`` (similarity 1) and ``threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role
from datamoat.quality.duplicates import normalise, text_column
from datamoat.quality.lsh import band_keys, candidate_pairs, lsh_params
from datamoat.quality.minhash import DEFAULT_NUM_PERM, DEFAULT_SHINGLE, MinHasher, shingle_hashes
from datamoat.quality.near_dup_verify import jaccard_pairs
from datamoat.quality.near_duplicates import DEFAULT_THRESHOLD, check_params


@dataclass
class Leakage:
    """Per test text: ``match`` (index of the most similar train text, -1 if none) and ``similarity``."""

    match: np.ndarray
    similarity: np.ndarray

    @property
    def leaked(self) -> np.ndarray:
        return self.match >= 0


def _texts(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    return values.cast(pa.string())


def leakage_between(
    train_texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    test_texts: pa.Array | pa.ChunkedArray | Sequence[str | None],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    num_perm: int = DEFAULT_NUM_PERM,
    shingle: int = DEFAULT_SHINGLE,
) -> Leakage:
    """For each test text, the most similar train text at Jaccard >= ``threshold`` (or none).

    Null and blank texts never match.
    """
    train, test = _texts(train_texts), _texts(test_texts)
    n_train, n_test = len(train), len(test)
    both = pa.concat_arrays([train, test]) if n_train + n_test else pa.array([], pa.string())
    match = np.full(n_test, -1, dtype=np.int64)
    similarity = np.full(n_test, np.nan)
    if n_train == 0 or n_test == 0:
        return Leakage(match, similarity)

    # identical (normalised) texts: exact matches, whatever their words
    norm = normalise(both, ignore_whitespace=True, ignore_case=True)
    blank = pc.fill_null(pc.equal(pc.utf8_length(norm), 0), True).to_numpy(zero_copy_only=False)
    codes, _ = pd.factorize(np.asarray(pc.fill_null(norm, "").to_numpy(zero_copy_only=False), dtype=object))
    codes = np.where(np.asarray(blank, dtype=bool), -1, codes)
    train_codes = codes[:n_train]
    first_train = pd.Series(np.arange(n_train)).groupby(train_codes).min()
    first_train = first_train[first_train.index >= 0]
    test_codes = codes[n_train:]
    hit = np.isin(test_codes, first_train.index.to_numpy()) & (test_codes >= 0)
    match[hit] = first_train.reindex(test_codes[hit]).to_numpy()
    similarity[hit] = 1.0

    # near matches: LSH over both collections, keep only train-test candidate pairs
    sh, off = shingle_hashes(both, shingle)
    valid = np.diff(off) > 0
    sigs = MinHasher(num_perm).signatures(sh, off)
    bands, rows = lsh_params(threshold, num_perm)
    ci, cj = candidate_pairs(band_keys(sigs, bands, rows), valid)
    cross = (ci < n_train) & (cj >= n_train)
    ci, cj = ci[cross], cj[cross]
    sim = jaccard_pairs(sh, off, ci, cj)
    ok = sim >= threshold - 1e-12
    ci, cj, sim = ci[ok], cj[ok] - n_train, sim[ok]
    if len(ci):
        # best train row per test row: highest similarity, then earliest train row
        order = np.lexsort((ci, -sim, cj))
        cj_s, ci_s, sim_s = cj[order], ci[order], sim[order]
        first = np.ones(len(cj_s), dtype=bool)
        first[1:] = cj_s[1:] != cj_s[:-1]
        tests, trains, sims = cj_s[first], ci_s[first], sim_s[first]
        better = ~hit[tests]  # an identical text (similarity 1.0) already wins
        match[tests[better]] = trains[better]
        similarity[tests[better]] = sims[better]
    return Leakage(match, similarity)


@register_check
class SplitLeakage(Check):
    """Flag evaluation rows (split not in ``train_values``) that (nearly) repeat a training row.

    column: the text column; None means the ``text`` role column.
    split_column: the split column; None means the ``split`` role column.
    train_values: split values that mark training rows (case-insensitive).
    threshold, num_perm, shingle: as for ``near_duplicates``.
    """

    name = "split_leakage"
    needs = ("text", "split")

    def __init__(
        self,
        *,
        column: str | None = None,
        split_column: str | None = None,
        train_values: list[str] | tuple[str, ...] = ("train",),
        threshold: float = DEFAULT_THRESHOLD,
        num_perm: int = DEFAULT_NUM_PERM,
        shingle: int = DEFAULT_SHINGLE,
    ) -> None:
        check_params(self.name, threshold, num_perm, shingle)
        if isinstance(train_values, str):
            train_values = [train_values]
        if not train_values or not all(isinstance(v, str) for v in train_values):
            raise DatamoatError(f"check {self.name!r}: train_values must be a list of split names.")
        self.column = column
        self.split_column = split_column
        self.train_values = list(train_values)
        self.threshold = float(threshold)
        self.num_perm = num_perm
        self.shingle = shingle

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """``leaks_from`` and ``similarity`` per evaluation row; per-split counts in the summary."""
        texts = text_column(self.name, self.column, roles, table)
        split_name = self.split_column or require_role(self.name, roles, "split", table)
        if split_name not in table.column_names:
            raise DatamoatError(f"check {self.name!r}: no column {split_name!r} in the data.")
        split = table.column(split_name).cast(pa.string()).to_pandas()
        lowered = split.str.lower()
        is_train = lowered.isin([v.lower() for v in self.train_values]).to_numpy()
        is_eval = (~is_train) & split.notna().to_numpy()
        train_rows, eval_rows = np.flatnonzero(is_train), np.flatnonzero(is_eval)
        found = leakage_between(
            texts.take(pa.array(train_rows, pa.int64())),
            texts.take(pa.array(eval_rows, pa.int64())),
            self.threshold,
            num_perm=self.num_perm,
            shingle=self.shingle,
        )
        n = table.num_rows
        leaked = np.zeros(n, dtype=bool)
        source = np.zeros(n, dtype=np.int64)
        similarity = np.full(n, np.nan)
        rows = eval_rows[found.leaked]
        leaked[rows] = True
        source[rows] = train_rows[found.match[found.leaked]]
        similarity[rows] = found.similarity[found.leaked]
        ids = table.column(ROW_ID_COLUMN).combine_chunks().cast(pa.string())
        leaks_from = pc.if_else(pa.array(leaked), ids.take(pa.array(source)), pa.scalar(None, pa.string()))
        issues = issue_table(
            ids,
            leaked,
            np.where(leaked, 1.0 - np.nan_to_num(similarity, nan=0.0), 1.0),
            leaks_from=leaks_from,
            similarity=pa.array(similarity, pa.float64(), mask=~leaked),
        )
        by_split: dict[str, Any] = {}
        for value in pd.unique(split[is_eval]):
            in_split = is_eval & (split == value).to_numpy()
            by_split[str(value)] = {"rows": int(in_split.sum()), "leaked": int((leaked & in_split).sum())}
        summary: dict[str, Any] = {
            "leaked": int(leaked.sum()),
            "train_rows": int(len(train_rows)),
            "eval_rows": int(len(eval_rows)),
            "by_split": by_split,
            "exact": int((similarity[leaked] >= 1.0).sum()),
            "threshold": self.threshold,
        }
        return CheckResult(self.name, issues, summary)
