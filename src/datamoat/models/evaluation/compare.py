"""Compare two fitted models on the same frozen test set, with significance tests.

Both models predict the same rows; each gets accuracy and macro-F1 with bootstrap intervals,
and their difference is tested twice: McNemar's test (on the rows where exactly one model is
right) and a paired bootstrap of the accuracy difference. A winner is named only when both say
the difference is real at level ``alpha``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.metrics import bootstrap_ci, metric_value
from datamoat.models.evaluation.report import fig_html, write_html_and_json
from datamoat.models.evaluation.significance import mcnemar_test, paired_bootstrap_test
from datamoat.models.trainers.contract import Trainer, as_frame, label_strings, require_columns


def _scores(trainer: Trainer, y: np.ndarray, pred: np.ndarray, n_boot: int, seed: int, alpha: float) -> dict:
    known = set(trainer.classes_)
    acc_ci = bootstrap_ci(y, pred, "accuracy", n_boot=n_boot, alpha=alpha, seed=seed)
    f1_ci = bootstrap_ci(y, pred, "macro_f1", n_boot=n_boot, alpha=alpha, seed=seed)
    return {
        "kind": trainer.kind,
        "accuracy": metric_value(y, pred, "accuracy"),
        "accuracy_ci": [acc_ci[0], acc_ci[1]],
        "macro_f1": metric_value(y, pred, "macro_f1"),
        "macro_f1_ci": [f1_ci[0], f1_ci[1]],
        "unseen_labels": int(sum(1 for v in y if v not in known)),
    }


def compare_models(
    a: Trainer,
    b: Trainer,
    test: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Score fitted models ``a`` and ``b`` on ``test`` and test whether one is really better.

    Parameters
    ----------
    a, b:
        Fitted trainers with the same label column (their classes may differ; a test label a
        model never saw counts as its error).
    test:
        The frozen test table: both models' features and the label column.
    n_boot, seed:
        Bootstrap resamples and seed (the same rows are resampled for both models).
    alpha:
        Significance level; intervals cover ``1 - alpha``.

    Returns
    -------
    A JSON-ready dict::

        {"rows": int, "label_column": str, "alpha": float, "n_boot": int, "seed": int,
         "a": {"kind", "accuracy", "accuracy_ci", "macro_f1", "macro_f1_ci", "unseen_labels"},
         "b": {...same...},
         "accuracy_difference": float,         # accuracy(b) - accuracy(a)
         "mcnemar": {...},                     # significance.mcnemar_test
         "bootstrap": {...},                   # significance.paired_bootstrap_test on accuracy
         "agreement": {"both_right", "only_a_right", "only_b_right", "both_wrong": int},
         "disagreements": int,                 # rows where the two predictions differ
         "significant": bool, "winner": "a" | "b" | None}

    ``significant`` is true when McNemar's p-value is below ``alpha`` and the bootstrap
    interval of the accuracy difference excludes 0; ``winner`` is then the more accurate model,
    else None.
    """
    if not 0.0 < alpha < 1.0:
        raise DatamoatError(f"model comparison: alpha={alpha!r} must be between 0 and 1.")
    if a.label_column != b.label_column:
        raise DatamoatError(
            f"model comparison: the models predict different label columns ({a.label_column!r} and "
            f"{b.label_column!r}); compare models of the same label."
        )
    df = as_frame(test, "test data")
    if len(df) == 0:
        raise DatamoatError("test data has no rows.")
    require_columns(df, [a.label_column], "test data")
    y = label_strings(df[a.label_column], a.label_column, "test data")
    pred_a = a.predict(df)
    pred_b = b.predict(df)
    mcnemar = mcnemar_test(y, pred_a, pred_b)
    boot = paired_bootstrap_test(y, pred_a, pred_b, "accuracy", n_boot=n_boot, alpha=alpha, seed=seed)
    ok_a, ok_b = pred_a == y, pred_b == y
    significant = bool(mcnemar["p_value"] < alpha and (boot["ci_low"] > 0 or boot["ci_high"] < 0))
    diff = boot["difference"]
    return {
        "rows": int(len(y)),
        "label_column": a.label_column,
        "alpha": alpha,
        "n_boot": int(n_boot),
        "seed": int(seed),
        "a": _scores(a, y, pred_a, n_boot, seed, alpha),
        "b": _scores(b, y, pred_b, n_boot, seed, alpha),
        "accuracy_difference": diff,
        "mcnemar": mcnemar,
        "bootstrap": boot,
        "agreement": {
            "both_right": int(np.sum(ok_a & ok_b)),
            "only_a_right": int(np.sum(ok_a & ~ok_b)),
            "only_b_right": int(np.sum(~ok_a & ok_b)),
            "both_wrong": int(np.sum(~ok_a & ~ok_b)),
        },
        "disagreements": int(np.sum(pred_a != pred_b)),
        "significant": significant,
        "winner": ("b" if diff > 0 else "a") if significant else None,
    }


def comparison_figure(result: dict[str, Any], names: tuple[str, str]) -> go.Figure:
    """Grouped bars of both models' accuracy and macro-F1 with their interval as error bars."""
    fig = go.Figure()
    metrics = [("accuracy", "accuracy"), ("macro_f1", "macro F1")]
    level = round(100 * (1 - result.get("alpha", 0.05)))
    for key, name, color in zip(("a", "b"), names, ("#9aa5b8", "#4c78a8"), strict=True):
        m = result[key]
        values = [m[k] for k, _ in metrics]
        fig.add_trace(
            go.Bar(
                x=[label for _, label in metrics],
                y=values,
                name=name,
                text=[f"{v:.3f}" for v in values],
                textposition="inside",
                insidetextanchor="start",
                marker={"color": color},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [m[f"{k}_ci"][1] - m[k] for k, _ in metrics],
                    "arrayminus": [m[k] - m[f"{k}_ci"][0] for k, _ in metrics],
                },
            )
        )
    fig.update_layout(
        title=f"Scores (error bars: {level}% bootstrap interval)",
        barmode="group",
        yaxis={"title": "score", "range": [0, 1.05]},
    )
    return fig


def write_comparison_report(result: dict[str, Any], path: Path, *, names: tuple[str, str]) -> Path:
    """Write a :func:`compare_models` result as an offline HTML page and a JSON file.

    ``names`` labels models ``a`` and ``b``. The JSON (same stem, ``.json``) is ``result`` plus
    ``"names"``. Returns the HTML path.
    """
    if not isinstance(result, dict) or not {"a", "b", "mcnemar", "bootstrap"} <= set(result):
        raise DatamoatError("comparison report: the result must be a dict from compare_models().")
    if len(names) != 2:
        raise DatamoatError(f"comparison report: names must be two model names, got {len(names)}.")
    names = (str(names[0]), str(names[1]))
    winner = result.get("winner")
    chart = fig_html(comparison_figure(result, names))
    return write_html_and_json(
        "comparison.html.j2",
        Path(path),
        {**result, "names": list(names)},
        r=result,
        names=names,
        winner_name=names[0 if winner == "a" else 1] if winner else None,
        chart=chart,
        level=round(100 * (1 - result.get("alpha", 0.05))),
    )
