"""Global feature importance of a table model: how much the test score drops when a feature is shuffled.

:func:`feature_importance` runs scikit-learn's ``permutation_importance`` on (at most
:data:`MAX_ROWS` of) the test rows, with a fixed seed, scoring macro F1 (the metric that stays
honest on imbalanced labels). Each feature also gets its share of missing values in those rows
and the missing markers it holds (``"unknown"``, ``"n/a"`` ...), which ``tabular-linear``
imputes as missing and ``tabular`` keeps as a category.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.inspection import permutation_importance

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.explain_tabular import tabular_parts
from datamoat.models.evaluation.metrics import METRICS, metric_value
from datamoat.models.trainers.contract import Trainer
from datamoat.quality.missing import marker_counts

MAX_ROWS = 2000
"""Most test rows shuffled (a random sample with the seed beyond that); keeps it to seconds."""
REPEATS = 5
"""Shuffles per feature; the importance is their mean drop, ``std`` their spread."""
def _score(metric: str) -> Any:
    def score(trainer: Trainer, X: pd.DataFrame, y: np.ndarray) -> float:
        return metric_value(y, trainer.predict(X), metric)

    return score


def feature_importance(
    trainer: Trainer,
    test: pd.DataFrame,
    *,
    metric: str = "macro_f1",
    max_rows: int = MAX_ROWS,
    repeats: int = REPEATS,
    seed: int = 0,
) -> dict[str, Any]:
    """Permutation importance of a fitted tabular ``trainer``'s features on ``test`` rows.

    test: rows with the feature columns and the label column (rows without a label are left
    out). Returns::

        {"method": "permutation", "metric": str, "baseline": float,   # the unshuffled score
         "rows": int, "repeats": int, "seed": int,
         "features": [{"feature", "importance", "std",                 # mean / std drop in the metric
                       "missing": float,                               # share of null cells
                       "markers": {value: cells}}, ...]}               # most important first

    DatamoatError for a model without table features, no labelled rows or a bad metric.
    """
    if metric not in METRICS:
        raise DatamoatError(f"feature importance: metric {metric!r} is not one of {', '.join(METRICS)}.")
    features, _ = tabular_parts(trainer)
    label = trainer.label_column
    rows = test[test[label].notna()] if label in test.columns else test.iloc[0:0]
    if len(rows) == 0:
        raise DatamoatError(f"feature importance: the test rows have no {label!r} labels to score against.")
    if len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=seed)
    X = rows[features].reset_index(drop=True)
    y = rows[label].astype(str).to_numpy(dtype=object)
    scorer = _score(metric)
    result = permutation_importance(trainer, X, y, scoring=scorer, n_repeats=repeats, random_state=seed)
    out = []
    for i, c in enumerate(features):
        cells = X[c]
        strings = cells.astype(object).where(cells.notna(), None)
        markers = marker_counts(pa.array(strings.map(lambda v: v if v is None else str(v)).to_numpy(dtype=object),
                                         pa.string())) if cells.dtype == object else {}
        out.append({"feature": c, "importance": float(result.importances_mean[i]),
                    "std": float(result.importances_std[i]), "missing": float(cells.isna().mean()),
                    "markers": markers})
    out.sort(key=lambda f: (-f["importance"], f["feature"]))
    return {"method": "permutation", "metric": metric, "baseline": scorer(trainer, X, y), "rows": len(X),
            "repeats": repeats, "seed": seed, "features": out}
