"""Quality check ``pii``: which rows carry personal data in their text, and of what kind.

Per row: ``is_issue`` (the text holds at least one PII span), ``score`` (1 - the highest
finding score; 1 = clean), ``pii_types`` (sorted distinct entity types) and ``pii_count``.
Summary: ``by_type`` {type: {findings, rows, rate}}, and up to ``max_examples`` masked
examples (a window around the first finding, every PII span in it masked, never the raw
value) with their row ids.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.privacy.pii.detect import DEFAULT_MIN_SCORE, PiiEngine, check_entities, check_mode
from datamoat.privacy.pii.finding import Finding
from datamoat.privacy.pii.operators import Anonymizer
from datamoat.quality.check import Check, CheckResult, issue_table, register_check, require_role

WINDOW = 40


SPANS_TYPE = pa.list_(pa.struct([("type", pa.string()), ("start", pa.int32()), ("end", pa.int32())]))
"""Per row: every finding's entity type and character offsets (end exclusive)."""


@register_check
class PiiCheck(Check):
    """Flag rows whose text contains PII.

    entities: entity types to look for (None: all).
    pii_mode: ``fast`` (recognizers) or ``accurate`` (recognizers + tagger); None: the default.
    min_score: detector threshold.
    max_examples: masked examples kept in the summary.
    """

    name = "pii"
    max_rows = 50_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text",)

    def __init__(self, *, entities: list[str] | None = None, pii_mode: str | None = None,
                 min_score: float = DEFAULT_MIN_SCORE, max_examples: int = 10) -> None:
        self.entities = None if entities is None else list(check_entities(entities))
        try:
            self.pii_mode = check_mode(pii_mode)
        except DatamoatError as exc:
            raise DatamoatError(f"check 'pii': {exc}") from exc
        if not 0 <= float(min_score) <= 1:
            raise DatamoatError(f"check 'pii': min_score must be in [0, 1], got {min_score!r}.")
        self.min_score = float(min_score)
        self.max_examples = int(max_examples)

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        column = require_role(self.name, roles, "text", table)
        values = table.column(column)
        texts = values.cast(pa.string()).to_pylist() if not pa.types.is_null(values.type) else [None] * table.num_rows
        engine = PiiEngine(self.entities, mode=self.pii_mode, min_score=self.min_score)
        masker = Anonymizer("mask")
        findings = engine.analyze_batch(texts)
        row_ids = table.column(ROW_ID_COLUMN).cast(pa.string()).to_pylist()
        types_col, counts, scores, flags, spans = [], [], [], [], []
        span_counts: Counter[str] = Counter()
        row_counts: Counter[str] = Counter()
        examples: list[dict[str, Any]] = []
        for rid, text, found in zip(row_ids, texts, findings, strict=True):
            kinds = sorted({f.entity_type for f in found})
            types_col.append(kinds)
            spans.append([{"type": f.entity_type, "start": f.start, "end": f.end} for f in found])
            counts.append(len(found))
            flags.append(bool(found))
            scores.append(1.0 - max((f.score for f in found), default=0.0))
            span_counts.update(f.entity_type for f in found)
            row_counts.update(kinds)
            if found and len(examples) < self.max_examples:
                first = found[0]
                lo, hi = max(0, first.start - WINDOW), min(len(text), first.end + WINDOW)
                for f in found:  # widen the window over a finding it would cut, so it is masked whole
                    if f.start < hi and f.end > lo:
                        lo, hi = min(lo, f.start), max(hi, f.end)
                inside = [Finding(f.entity_type, f.start - lo, f.end - lo, f.score, f.recognizer)
                          for f in found if f.start >= lo and f.end <= hi]
                masked = masker.apply(text[lo:hi], inside)
                examples.append({ROW_ID_COLUMN: rid, "types": kinds, "example": masked})
        rows = table.num_rows
        by_type = {
            t: {"findings": span_counts[t], "rows": row_counts[t], "rate": (row_counts[t] / rows) if rows else 0.0}
            for t in sorted(span_counts)
        }
        issues = issue_table(
            pa.array(row_ids, pa.string()), flags, scores,
            pii_types=pa.array(types_col, pa.list_(pa.string())), pii_count=pa.array(counts, pa.int64()),
            pii_spans=pa.array(spans, SPANS_TYPE),
        )
        return CheckResult(self.name, issues, {"by_type": by_type, "findings": sum(counts), "examples": examples,
                                               "pii_mode": self.pii_mode})
