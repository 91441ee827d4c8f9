"""``class_imbalance``: how the labels are distributed.

Class imbalance is a property of the dataset, not of a row, so by default **no row is
flagged**: the summary carries the figures and every row has ``score`` 1. With ``min_share``
set (e.g. 0.02), rows of classes holding less than that share of the labelled rows are
flagged, with ``score = share / min_share`` (a class at half the wanted share scores 0.5),
so a report can list the thin classes' rows for labelling more data.

Issue table columns: ``label`` (as text), ``class_count`` and ``class_share`` of the row's
class (null for rows without a label, which are never flagged).

Summary: ``classes`` (count per label, largest first), ``shares``, ``imbalance_ratio``
(largest / smallest class count; null with fewer than 2 classes), ``majority`` and
``minority`` class, ``normalized_entropy`` (1 = perfectly balanced, 0 = one class),
``unlabelled`` rows, ``rare_classes`` (those below ``min_share``, when given), and
``score_rate``: what the profile's quality score counts for this check instead of the share
of flagged rows, ``1 - normalized_entropy`` when the largest class has more than
:data:`IMBALANCE_RATIO` times the rows of the smallest, else 0 (imbalance lowers the score
although no row is wrong), with ``headline`` saying so in words for the report.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role

IMBALANCE_RATIO = 3.0
"""Above this largest / smallest class ratio the labels count as imbalanced: here (the quality
score and the headline) and for the selection metric's ``auto`` (``models.training`` selects by
macro F1 instead of accuracy there, since accuracy rewards always answering the majority class).
The one definition of the rule."""


def label_key(value: Any) -> str | None:
    """A label as text; None for null, NaN and blank labels."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text if text.strip() else None


@register_check
class ClassImbalance(Check):
    """Report the label distribution; optionally flag rows of classes below ``min_share``.

    column: the label column; None means the ``label`` role column.
    min_share: flag rows of classes with less than this share (0 < min_share < 1) of the
        labelled rows; None (default) flags no row.
    """

    name = "class_imbalance"
    needs = ("label",)

    def __init__(self, *, column: str | None = None, min_share: float | None = None) -> None:
        if min_share is not None and not (isinstance(min_share, int | float) and 0 < min_share < 1):
            raise DatamoatError(
                f"check 'class_imbalance': min_share must be between 0 and 1, got {min_share!r}."
            )
        self.column = column
        self.min_share = min_share

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Per-row class count and share; the distribution in the summary."""
        column = self.column or require_role(self.name, roles, "label", table)
        keys = [label_key(v) for v in table.column(column).to_pylist()]
        counts = Counter(k for k in keys if k is not None)
        total = sum(counts.values())
        shares = {k: c / total for k, c in counts.items()} if total else {}
        flagged, scores, class_count, class_share = [], [], [], []
        for key in keys:
            if key is None:
                flagged.append(False)
                scores.append(1.0)
                class_count.append(None)
                class_share.append(None)
                continue
            share = shares[key]
            rare = self.min_share is not None and share < self.min_share
            flagged.append(rare)
            scores.append(share / self.min_share if rare and self.min_share else 1.0)
            class_count.append(counts[key])
            class_share.append(share)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        entropy = -sum(s * math.log(s) for s in shares.values() if s > 0)
        summary: dict[str, Any] = {
            "column": column,
            "classes": dict(ordered),
            "shares": {k: counts[k] / total for k, _ in ordered} if total else {},
            "n_classes": len(counts),
            "imbalance_ratio": (ordered[0][1] / ordered[-1][1]) if len(ordered) >= 2 else None,
            "majority": ordered[0][0] if ordered else None,
            "minority": ordered[-1][0] if ordered else None,
            "normalized_entropy": entropy / math.log(len(counts)) if len(counts) >= 2 else 0.0,
            "unlabelled": len(keys) - total,
        }
        if self.min_share is not None:
            summary["rare_classes"] = [k for k, _ in ordered if shares[k] < self.min_share]
        ratio = summary["imbalance_ratio"]
        imbalanced = ratio is not None and ratio > IMBALANCE_RATIO
        summary["score_rate"] = round(1 - summary["normalized_entropy"], 4) if imbalanced else 0.0
        if ratio is None:
            summary["headline"] = "one class"
        elif imbalanced:
            summary["headline"] = (f"imbalanced: {ordered[0][0]!r} has {ratio:.1f}x the rows of {ordered[-1][0]!r}"
                                   " (no row is wrong; models are chosen by macro F1 here)")
        else:
            summary["headline"] = f"balanced enough: largest / smallest class {ratio:.1f}x"
        issues = issue_table(
            table.column(ROW_ID_COLUMN),
            flagged,
            scores,
            label=pa.array(keys, pa.string()),
            class_count=pa.array(class_count, pa.int64()),
            class_share=pa.array(class_share, pa.float64()),
        )
        return CheckResult(self.name, issues, summary)
