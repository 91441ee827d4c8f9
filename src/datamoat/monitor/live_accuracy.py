"""Live accuracy: how often the model's suggestion matched the label people gave it.

Every feedback record with both a model suggestion and a final (human) label is one trial:
correct when they agree. The accuracy comes with a Wilson score 95% interval, which keeps
sensible bounds for small counts and for accuracies near 0 or 1 (unlike the normal
approximation).

Alert rule: with at least ``min_n`` labelled predictions, alert when the interval's *upper*
bound is below the model's test-set accuracy minus ``margin``. Using the upper bound means
that even the most favourable accuracy the feedback allows is clearly worse than what the
model showed on its frozen test set; the margin absorbs the honest difference between a test
set and live traffic. Caveat: people tend to send corrections more than confirmations, so
feedback can under-state accuracy; the margin and the upper bound make the rule conservative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Z_95 = 1.959963984540054
"""Two-sided 95% standard normal quantile."""


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (``(0.0, 1.0)`` when ``n`` is 0).

    ``centre = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)``.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def live_accuracy(
    predicted: Sequence[str],
    actual: Sequence[str],
    *,
    expected: float | None,
    min_n: int = 30,
    margin: float = 0.05,
) -> dict[str, Any]:
    """Accuracy of ``predicted`` against ``actual`` (equal-length label sequences).

    expected: the model's accuracy on its test set (None when unknown: no alert possible).
    Returns: status (ok | alert | insufficient_data), alert (bool), n, correct, accuracy (None
    when n is 0), ci ([low, high], Wilson 95%), expected, threshold (``expected - margin``),
    min_n.
    """
    if len(predicted) != len(actual):
        raise ValueError(f"predicted has {len(predicted)} labels and actual {len(actual)}")
    n = len(predicted)
    correct = sum(str(p) == str(a) for p, a in zip(predicted, actual, strict=True))
    low, high = wilson_interval(correct, n)
    threshold = None if expected is None else float(expected) - margin
    out: dict[str, Any] = {
        "n": n, "correct": correct, "accuracy": round(correct / n, 4) if n else None,
        "ci": [round(low, 4), round(high, 4)] if n else None,
        "expected": None if expected is None else float(expected),
        "threshold": None if threshold is None else round(threshold, 4), "min_n": min_n,
    }
    if n < min_n or threshold is None:
        why = (f"needs {min_n} labelled predictions; has {n}" if n < min_n
               else "the model has no test accuracy to compare with")
        return {"status": "insufficient_data", "alert": False, "reason": why, **out}
    alert = high < threshold
    return {"status": "alert" if alert else "ok", "alert": bool(alert), **out}
