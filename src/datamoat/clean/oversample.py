"""SMOTE-style oversampling of the minority classes of a training table (imbalanced-learn).

:func:`oversample_minority` brings every class up to the largest class's count with synthetic
rows that interpolate between a row and one of its ``k`` nearest neighbours of the same class
(imbalanced-learn's ``SMOTE`` for numeric features, ``SMOTENC`` for numeric + categorical,
``SMOTEN`` for categorical only). Feature columns are the ones the caller names (training
passes the tabular trainers' features: no ``id`` / ``*_id`` columns), by default every column
but the label and the ``_dm_`` system columns; integer columns are rounded back to integers, categorical values are
always values the class already holds.

Rows with a missing numeric value or a missing label are not used to make synthetic rows
(SMOTE cannot interpolate a gap); a class with fewer than two such rows gets none and is
reported with why. imbalanced-learn does not say which row a synthetic one came from, so
:data:`~datamoat.clean.augment.SYNTHETIC_OF_COLUMN` names the nearest real row of its class
(one of the two it lies between). Applied to training rows only, like :mod:`datamoat.clean.augment`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datamoat.clean.augment import SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN, Augmented, row_ids, with_provenance
from datamoat.errors import DatamoatError

METHOD = "smote"
DEFAULT_NEIGHBOURS = 5


def feature_columns(frame: pd.DataFrame, label_column: str,
                    features: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature columns: ``features``, or all but the label and ``_dm_``
    columns; booleans count as categorical."""
    numeric, categorical = [], []
    for column in frame.columns if features is None else features:
        if column == label_column or str(column).startswith("_dm_"):
            continue
        dtype = frame[column].dtype
        is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        (numeric if is_number else categorical).append(column)
    return numeric, categorical


def oversample_minority(
    frame: pd.DataFrame, *, label_column: str, features: list[str] | None = None,
    k_neighbors: int = DEFAULT_NEIGHBOURS, seed: int = 0,
) -> Augmented:
    """Synthetic rows that bring each smaller class up to the largest class's row count.

    frame: training rows (``_dm_row_id`` as a column or the index). features: the columns
    SMOTE interpolates (default: all but the label and ``_dm_`` columns); other columns of a
    synthetic row are copied from its nearest real row. k_neighbors: neighbours
    SMOTE interpolates towards (fewer when a class is smaller). seed: the same frame and seed
    give the same rows. Returns :class:`~datamoat.clean.augment.Augmented` (method ``smote``).
    """
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    if label_column not in frame.columns:
        raise DatamoatError(f"oversampling: no column {label_column!r} in the training rows.")
    numeric, categorical = feature_columns(frame, label_column, features)
    if not numeric and not categorical:
        raise DatamoatError("oversampling: the training rows have no feature column besides the label.")
    ids = row_ids(frame)
    usable = (frame[label_column].notna() & frame[numeric].notna().all(axis=1)).to_numpy()
    labels = frame[label_column].astype(str).to_numpy()
    counts = pd.Series(labels[usable]).value_counts()
    top = int(counts.max()) if len(counts) else 0
    left_out = {str(c): "fewer than two rows with every numeric value present; SMOTE needs two to interpolate"
                for c, n in counts.items() if n < 2 and n < top}
    strategy = {str(c): top for c, n in counts.items() if 2 <= n < top}
    empty = Augmented(rows=with_provenance(frame, [], [], ids), method=METHOD, left_out=left_out)
    if not strategy:
        return empty
    k = min(k_neighbors, min(int(counts[c]) for c in strategy) - 1)
    positions = np.flatnonzero(usable)
    codes: dict[str, np.ndarray] = {}
    uniques: dict[str, pd.Index] = {}
    for column in categorical:
        codes[column], uniques[column] = pd.factorize(frame[column].iloc[positions], use_na_sentinel=True)
    x = np.column_stack([frame[c].iloc[positions].to_numpy(dtype=float) for c in numeric]
                        + [codes[c] for c in categorical])
    cat_index = list(range(len(numeric), len(numeric) + len(categorical)))
    if not categorical:
        sampler = SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
    elif not numeric:
        sampler = SMOTEN(sampling_strategy=strategy, k_neighbors=k, random_state=seed)
    else:
        sampler = SMOTENC(cat_index, sampling_strategy=strategy, k_neighbors=k, random_state=seed)
    x_all, y_all = sampler.fit_resample(x, labels[positions])
    new_x, new_y = x_all[len(x):], np.asarray(y_all[len(x):]).astype(str)
    nearest = _nearest_parents(x, labels[positions], new_x, new_y, len(numeric))
    rows = with_provenance(frame, [int(positions[j]) for j in nearest], [METHOD] * len(new_y), ids)
    for j, column in enumerate(numeric):
        values = new_x[:, j].astype(float)
        if pd.api.types.is_integer_dtype(frame[column].dtype):
            values = np.round(values).astype(frame[column].dtype)
        rows[column] = values
    for j, column in enumerate(categorical, start=len(numeric)):
        picked = new_x[:, j].astype(int)
        rows[column] = [None if p < 0 else uniques[column][p] for p in picked]
    rows[label_column] = pd.Series(new_y, index=rows.index).astype(frame[label_column].dtype, errors="ignore")
    added = {str(c): int(n) for c, n in pd.Series(new_y).value_counts().items()}
    return Augmented(rows=rows, method=METHOD, added=added, left_out=left_out)


def _nearest_parents(x: np.ndarray, y: np.ndarray, new_x: np.ndarray, new_y: np.ndarray, n_numeric: int) -> list[int]:
    """For each synthetic row, the position in ``x`` of the nearest real row of its class
    (standardised numeric distance plus one per differing categorical value)."""
    scale = x[:, :n_numeric].std(axis=0)
    scale[scale == 0] = 1.0
    out = np.zeros(len(new_y), dtype=int)
    for label in np.unique(new_y):
        real = np.flatnonzero(y == label)
        synthetic = np.flatnonzero(new_y == label)
        for start in range(0, len(synthetic), 1024):  # bounded memory: 1024 x class size at a time
            chunk = synthetic[start:start + 1024]
            num = ((new_x[chunk, None, :n_numeric] - x[None, real, :n_numeric]) / scale) ** 2
            cat = new_x[chunk, None, n_numeric:] != x[None, real, n_numeric:]
            out[chunk] = real[(num.sum(axis=2) + cat.sum(axis=2)).argmin(axis=1)]
    return out.tolist()


__all__ = ["METHOD", "SYNTHETIC_COLUMN", "SYNTHETIC_OF_COLUMN", "feature_columns", "oversample_minority"]
