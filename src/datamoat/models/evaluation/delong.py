"""DeLong's variance of ROC AUCs: one AUC's confidence interval, and two AUCs on the same rows.

DeLong, DeLong & Clarke-Pearson (1988), in the midrank form of Sun & Xu (2014). For positives'
scores X (m) and negatives' scores Y (n), AUC = P(X > Y) + P(X = Y) / 2 is the mean of the
positives' placements V10_i = (share of negatives below X_i, ties half); the negatives'
placements are V01_j = share of positives above Y_j. var(AUC) = var(V10) / m + var(V01) / n,
and for several score sets on the same rows the same formula with covariances gives the
covariance of their AUCs: the paired test of two models. Hand-written because neither
scikit-learn nor SciPy provides it (it is a few lines over ``scipy.stats.rankdata``); it is
exact where a bootstrap is random and costs one ranking instead of a thousand.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

from datamoat.errors import DatamoatError


def delong(positives: np.ndarray, negatives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their covariance for score sets on the same rows.

    positives: (k, m) scores of the m positive rows under k scorers (higher = more likely
    positive); negatives: (k, n). Returns (aucs (k,), covariance (k, k)). Needs m, n >= 2
    (the variance is a sample variance); DatamoatError otherwise.
    """
    pos, neg = np.atleast_2d(np.asarray(positives, float)), np.atleast_2d(np.asarray(negatives, float))
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise DatamoatError(f"an AUC's variance needs at least 2 positive and 2 negative rows (got {m} and {n}).")
    both = np.concatenate([pos, neg], axis=1)
    rank_all = rankdata(both, axis=1)
    v10 = (rank_all[:, :m] - rankdata(pos, axis=1)) / n
    v01 = 1.0 - (rank_all[:, m:] - rankdata(neg, axis=1)) / m
    aucs = v10.mean(axis=1)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def normal_interval(value: float, se: float, level: float = 0.95) -> list[float]:
    """``[value - z se, value + z se]`` for the two-sided normal quantile z of ``level``."""
    z = float(norm.ppf(0.5 + level / 2))
    return [float(value - z * se), float(value + z * se)]
