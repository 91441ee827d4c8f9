"""Why a table model predicted what it did for one row: a signed weight per feature.

Method ``"reference-occlusion"``: each feature of the row in turn is replaced by its typical
training value (``trainer.reference_``: the median of a numeric column, the most frequent real
category of a categorical one), and its weight is ``p(label | row) - p(label | row with that
feature replaced)``, in probability units. A positive weight means the row's value pushed the
prediction towards the label, compared with a typical value; a feature whose value is already
the typical one weighs 0. All variants go through one ``predict_proba`` call.

SHAP's TreeExplainer is not used: it reads HistGradientBoosting's categorical splits as numeric
thresholds, and it does not cover the linear model; occlusion works the same for every tabular
model, ensembles of them included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version import Version
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.evaluation.explain import BAR_WIDTH
from datamoat.models.trainers.contract import SYSTEM_PREFIX, Trainer


def tabular_parts(trainer: Trainer) -> tuple[list[str], dict[str, Any]]:
    """(feature columns, typical value per feature) of a tabular model or of an ensemble of them.

    DatamoatError when the model has no table features, or was saved before typical values
    were kept (retrain it).
    """
    members = [trainer, *(getattr(trainer, "model_", None) if isinstance(getattr(trainer, "model_", None), list)
                          else [])]
    features: list[str] = []
    reference: dict[str, Any] = {}
    for m in members:
        for c in getattr(m, "feature_columns_", []) or []:
            if c not in features:
                features.append(c)
        for c, v in (getattr(m, "reference_", None) or {}).items():
            reference.setdefault(c, v)
    if not features:
        raise DatamoatError(f"explain: trainer {trainer.kind!r} has no table features to weigh.")
    if any(c not in reference for c in features):
        raise DatamoatError(
            f"explain: this {trainer.kind!r} model was saved without typical feature values; retrain it to explain rows."
        )
    return features, reference


def explain_row(
    trainer: Trainer, row: dict[str, Any], *, top_k: int = 10, label: str | None = None
) -> dict[str, Any]:
    """Per-feature weights for a fitted tabular ``trainer``'s prediction on one ``row``.

    row: {column: value}; features it lacks count as missing (listed in ``"absent"``), other
    keys are ignored. top_k: how many features go to ``"features"`` (largest ``|weight|``
    first). label: the class to explain (default: the predicted one). Returns::

        {"label": str, "score": float,          # the label and its probability for the row
         "method": "reference-occlusion",
         "features": [{"feature", "value", "reference", "weight"}, ...],   # top_k by |weight|
         "all_features": [...same keys, in the model's feature order...],
         "absent": [features the row did not give]}

    DatamoatError for a model without table features, a row that is not a dict, an unknown
    label or a bad top_k.
    """
    trainer._check_fitted()
    if not isinstance(row, dict) or not row:
        raise DatamoatError("explain: the row must be a non-empty JSON object of column values.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise DatamoatError(f"explain: top_k={top_k!r} must be a positive integer.")
    classes = [str(c) for c in trainer.classes_]
    if label is not None and str(label) not in classes:
        raise DatamoatError(
            f"explain: label {label!r} is not one of the model's classes ({', '.join(map(repr, classes))})."
        )
    features, reference = tabular_parts(trainer)
    absent = [c for c in features if c not in row]
    base = {c: row.get(c) for c in features}
    variants = [base] + [{**base, c: reference[c]} for c in features]
    proba = trainer.predict_proba(pd.DataFrame(variants, columns=features, dtype=object))
    index = int(np.argmax(proba[0])) if label is None else classes.index(str(label))
    score = float(proba[0, index])
    all_features = [
        {"feature": c, "value": _plain(base[c]), "reference": reference[c],
         "weight": 0.0 if _same(base[c], reference[c]) else score - float(proba[i, index])}
        for i, c in enumerate(features, start=1)
    ]
    top = sorted(all_features, key=lambda f: -abs(f["weight"]))[:top_k]
    return {"label": classes[index], "score": score, "method": "reference-occlusion", "features": top,
            "all_features": all_features, "absent": absent}


def row_by_id(version: Version, row_id: str) -> dict[str, Any]:
    """The row of ``version`` whose ``_dm_row_id`` or ``id`` role column is ``row_id``, as {column: value}
    without system columns; NotFoundError naming the version when no row has that id."""
    df = version.to_pandas()
    for column in [ROW_ID_COLUMN, *version.roles.columns("id")]:
        if column in df.columns:
            hit = df[df[column].astype(str) == str(row_id)]
            if len(hit):
                row = hit.iloc[0]
                return {str(c): _plain(row[c]) for c in df.columns if not str(c).startswith(SYSTEM_PREFIX)}
    raise NotFoundError(f"{version.ref} has no row with id {row_id!r} (looked in {ROW_ID_COLUMN} and the id column).")


def _plain(value: Any) -> Any:
    """A JSON-ready cell: NaN / NA as None, numpy scalars as Python ones."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _same(value: Any, reference: Any) -> bool:
    """True when the row's value is the typical one (numbers compared as numbers)."""
    value = _plain(value)
    if value is None or reference is None:
        return value is None and reference is None
    try:
        return float(value) == float(reference)
    except (TypeError, ValueError):
        return str(value) == str(reference)


def format_row_explanation(result: dict[str, Any]) -> str:
    """A plain-text rendering of :func:`explain_row`'s result for the terminal: the label line, then
    one line per top feature (value, typical value, signed weight and a bar as in text explanations)."""
    lines = [f"label {result['label']!r} (p={result['score']:.3f}); method {result['method']} (probability; "
             "weight = p(label) minus p(label) with the feature at its typical training value)"]
    feats = result.get("features") or []
    biggest = max((abs(f["weight"]) for f in feats), default=0.0) or 1.0
    width = max((len(str(f["feature"])) for f in feats), default=0)
    for f in feats:
        n = round(abs(f["weight"]) / biggest * BAR_WIDTH)
        left = ("-" * n if f["weight"] < 0 else "").rjust(BAR_WIDTH)
        right = "+" * n if f["weight"] > 0 else ""
        shown = f"{_short(f['value'])} (typical {_short(f['reference'])})"
        lines.append(f"  {f['feature']:<{width}}  {f['weight']:+.4f}  {left}|{right:<{BAR_WIDTH}}  {shown}")
    if result.get("absent"):
        lines.append(f"  not in the row (treated as missing): {', '.join(result['absent'])}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."
