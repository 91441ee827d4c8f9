"""``text_quality``: Gopher's document statistics and rules in the profile.

Computes :func:`datamoat.quality.text_stats.text_stats` for every text (the same function the
``repetition_filter`` and ``quality_filter`` steps use) and flags the texts that fail one of
:data:`~datamoat.quality.text_stats.RULES` at the given thresholds (the steps' defaults unless given), so a
profile tells how much of a corpus the language-model recipe would drop, and why.

These rules were made for documents; a short text (a tweet, a one-line support question) says
little about repetition or shape, so texts with fewer than ``min_words`` words (50, as the
``quality_filter`` step's rule) are not judged (``score`` null, never flagged) and counted in
the summary's ``short_texts``; the same rule in the step drops them. A classifier's data set of
short texts therefore gets no issues here.

Issue table columns: ``reason`` (the first failed rule, as the steps' drop reason) and one
float column per statistic. Summary: ``judged`` (texts with at least ``min_words`` words),
``short_texts``, ``by_reason`` (flagged texts per first failed rule), ``stats`` (mean and
median of each statistic over the judged texts) and ``thresholds``. The score of a judged
text is 1 minus the share of the active rules it fails.
"""

from __future__ import annotations

import statistics
from typing import Any

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role
from datamoat.quality.text_stats import RULES, TEXT_STATS, failed_rules, text_stats_columns


@register_check
class TextQuality(Check):
    """Gopher's document statistics and rules (see the module docstring).

    column: the text column; None means the ``text`` role column. thresholds: threshold per
    rule parameter (``{"max_dup_line_share": 0.5}``; None turns a rule off); missing ones take
    the rules' defaults (as the steps').
    """

    name = "text_quality"
    needs = ("text",)
    max_rows = 20_000

    def __init__(self, *, column: str | None = None, thresholds: dict[str, float | None] | None = None) -> None:
        known = {r.param for r in RULES}
        unknown = sorted(set(thresholds or {}) - known)
        if unknown:
            raise DatamoatError(
                f"check 'text_quality': unknown threshold {unknown[0]!r}; known: {', '.join(sorted(known))}."
            )
        self.column = column
        self.thresholds = dict(thresholds or {})

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Stats per text, the first failed rule of each judged text, and the summary."""
        column = self.column or require_role(self.name, roles, "text", table)
        values = table.column(column)
        texts = values.cast(pa.string()).to_pylist() if not pa.types.is_string(values.type) else values.to_pylist()
        stats = text_stats_columns(texts)
        min_words = self.thresholds.get("min_words", next(r.default for r in RULES if r.param == "min_words"))
        judged = [t is not None and (min_words is None or (stats["word_count"][i] or 0) >= min_words)
                  for i, t in enumerate(texts)]
        reasons = [r if ok else None for r, ok in zip(failed_rules(stats, self.thresholds), judged, strict=True)]
        active = [r for r in RULES if self.thresholds.get(r.param, r.default) is not None]
        scores: list[float | None] = []
        for i, ok in enumerate(judged):
            if not ok:
                scores.append(None)
                continue
            failed = sum(1 for r in active if r.fails(stats[r.stat][i], self.thresholds.get(r.param, r.default)))
            scores.append(1.0 - failed / len(active) if active else 1.0)
        by_reason: dict[str, int] = {}
        for reason in reasons:
            if reason is not None:
                by_reason[reason] = by_reason.get(reason, 0) + 1
        summary: dict[str, Any] = {
            "judged": sum(judged),
            "short_texts": sum(1 for t, ok in zip(texts, judged, strict=True) if t is not None and not ok),
            "by_reason": dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
            "stats": _stat_summary(stats, judged),
            "thresholds": {r.param: self.thresholds.get(r.param, r.default) for r in RULES},
        }
        issues = issue_table(
            table.column(ROW_ID_COLUMN).cast(pa.string()).combine_chunks(),
            [r is not None for r in reasons],
            scores,
            reason=pa.array(reasons, pa.string()),
            **{s: pa.array(stats[s], pa.float64()) for s in TEXT_STATS},
        )
        return CheckResult(self.name, issues, summary)


def _stat_summary(stats: dict[str, list[float | None]], judged: list[bool]) -> dict[str, dict[str, float]]:
    """Mean and median of each statistic over the judged texts (empty when none is judged)."""
    out: dict[str, dict[str, float]] = {}
    for name, values in stats.items():
        kept = [v for v, ok in zip(values, judged, strict=True) if ok and v is not None]
        if kept:
            out[name] = {"mean": round(statistics.fmean(kept), 4), "median": round(statistics.median(kept), 4)}
    return out
