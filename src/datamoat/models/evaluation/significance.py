"""Significance tests for comparing two models' predictions on the same rows.

* :func:`mcnemar_test` asks whether two classifiers have the same error rate, using only the rows
  on which exactly one of them is right.
* :func:`paired_bootstrap_test` resamples rows (the same rows for both models) to get the
  distribution of the metric difference ``B - A``, its confidence interval and a one-sided
  p-value that model B is better.

Inputs are 1-D label sequences of equal, non-zero length: ``y_true`` and the two models'
predictions ``pred_a`` and ``pred_b`` for the same rows in the same order. Results are plain,
JSON-ready Python values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from datamoat.models.evaluation.metrics import (
    _check_alpha,
    _check_metric,
    _check_paired,
    _resampled_metrics,
    metric_value,
)

# Below this many discordant rows (b + c) the exact binomial test is used.
EXACT_THRESHOLD = 25


def mcnemar_test(y_true: Any, pred_a: Any, pred_b: Any, exact: bool | None = None) -> dict[str, Any]:
    """McNemar's test of equal error rates for two classifiers evaluated on the same rows.

    Parameters
    ----------
    y_true, pred_a, pred_b:
        1-D label sequences of the same, non-zero length.
    exact:
        ``True``: exact two-sided binomial test of ``b`` successes in ``b + c`` trials at p = 0.5.
        ``False``: chi-square test with continuity correction, ``(|b - c| - 1)^2 / (b + c)`` on 1
        degree of freedom. ``None`` (default): exact when ``b + c < 25``, chi-square otherwise.

    Returns
    -------
    ``{"statistic": float, "p_value": float, "b": int, "c": int, "method": "exact" | "chi2"}``
    where ``b`` counts rows model A gets right and model B gets wrong, ``c`` rows A gets wrong and B
    right. For the exact test ``statistic`` is ``min(b, c)``; for chi-square it is the chi-square
    value. When ``b + c == 0`` (the models agree on correctness everywhere, e.g. identical
    predictions) the result is ``statistic = 0.0``, ``p_value = 1.0``.
    """
    yt, (pa, pb) = _check_paired(y_true, ("pred_a", pred_a), ("pred_b", pred_b))
    a_ok = pa == yt
    b_ok = pb == yt
    b = int(np.sum(a_ok & ~b_ok))
    c = int(np.sum(~a_ok & b_ok))
    m = b + c
    use_exact = m < EXACT_THRESHOLD if exact is None else bool(exact)
    method = "exact" if use_exact else "chi2"
    if m == 0:
        return {"statistic": 0.0, "p_value": 1.0, "b": b, "c": c, "method": method}
    if use_exact:
        statistic = float(min(b, c))
        p_value = float(stats.binomtest(b, m, 0.5, alternative="two-sided").pvalue)
    else:
        statistic = float((abs(b - c) - 1) ** 2 / m)
        p_value = float(stats.chi2.sf(statistic, df=1))
    return {"statistic": statistic, "p_value": min(1.0, p_value), "b": b, "c": c, "method": method}


def paired_bootstrap_test(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    metric: str = "accuracy",
    n_boot: int = 10_000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Paired bootstrap test of the metric difference ``metric(B) - metric(A)``.

    Each resample draws ``n`` rows with replacement and scores both models on the same rows.

    Parameters
    ----------
    y_true, pred_a, pred_b:
        1-D label sequences of the same, non-zero length.
    metric:
        ``"accuracy"`` or ``"macro_f1"`` (see :func:`datamoat.models.evaluation.metrics.metric_value`).
    n_boot:
        Number of resamples; the smallest attainable p-value is ``1 / (n_boot + 1)``.
    alpha:
        The CI covers the central ``1 - alpha`` of the resampled differences (0.05: 95% CI).
    seed:
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    dict (JSON-ready)::

        {
          "metric": str,
          "metric_a": float, "metric_b": float,   # on the full sample, fractions in [0, 1]
          "difference": float,                    # metric_b - metric_a (positive: B is better)
          "ci_low": float, "ci_high": float,      # percentile bootstrap CI of the difference
          "p_value": float,                       # one-sided, H1: B is better than A
          "n": int, "n_boot": int,
        }

    ``p_value = (1 + #{resamples with difference <= 0}) / (n_boot + 1)``: the share of resamples in
    which B fails to beat A. Identical predictions give ``difference = 0`` and ``p_value = 1``; a
    clearly better B gives a p-value near ``1 / (n_boot + 1)``.
    """
    _check_metric(metric)
    _check_alpha(alpha)
    yt, (pa, pb) = _check_paired(y_true, ("pred_a", pred_a), ("pred_b", pred_b))
    m_a = metric_value(yt, pa, metric)
    m_b = metric_value(yt, pb, metric)
    boot = _resampled_metrics(yt, [pa, pb], metric, n_boot, seed)
    diffs = boot[:, 1] - boot[:, 0]
    lo, hi = np.quantile(diffs, [alpha / 2.0, 1.0 - alpha / 2.0])
    # Differences are ratios of small integers; treat float noise around 0 as a tie.
    not_better = int(np.sum(diffs <= 1e-12))
    return {
        "metric": metric,
        "metric_a": m_a,
        "metric_b": m_b,
        "difference": m_b - m_a,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": (1 + not_better) / (n_boot + 1),
        "n": int(yt.shape[0]),
        "n_boot": int(n_boot),
    }
