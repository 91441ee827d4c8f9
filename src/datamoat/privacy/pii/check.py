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
from datamoat.demo.truth_score import SCORERS
from datamoat.errors import DatamoatError
from datamoat.privacy.pii.detect import DEFAULT_MIN_SCORE, PiiEngine, check_entities
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
    min_score: detector threshold.
    max_examples: masked examples kept in the summary.
    """

    name = "pii"
    max_rows = 50_000  # per-row cost: the profile samples larger data (see Check.max_rows)
    needs = ("text",)

    def __init__(self, *, entities: list[str] | None = None, min_score: float = DEFAULT_MIN_SCORE, max_examples: int = 10) -> None:
        self.entities = None if entities is None else list(check_entities(entities))
        if not 0 <= float(min_score) <= 1:
            raise DatamoatError(f"check 'pii': min_score must be in [0, 1], got {min_score!r}.")
        self.min_score = float(min_score)
        self.max_examples = int(max_examples)

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        column = require_role(self.name, roles, "text", table)
        values = table.column(column)
        texts = values.cast(pa.string()).to_pylist() if not pa.types.is_null(values.type) else [None] * table.num_rows
        engine = PiiEngine(self.entities, min_score=self.min_score)
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
        return CheckResult(self.name, issues, {"by_type": by_type, "findings": sum(counts), "examples": examples})


def score_pii_against_truth(result: CheckResult, truth: dict[str, Any], row_id_of: Any) -> dict[str, Any]:
    """Span-level recall per entity type (and overall precision) against a demo truth file.

    A truth span counts as found when findings of the same type cover at least half of its
    characters; a finding counts as correct when it covers at least half of a truth span of its
    type (so a name split or merged differently still counts once, as in benchmarks/pii.py).
    """
    by_row: dict[str, list[dict[str, Any]]] = {}
    for span in truth.get("pii", []):
        by_row.setdefault(row_id_of(span["ticket_id"]), []).append(span)
    found_rows = dict(zip(result.issues.column(ROW_ID_COLUMN).to_pylist(),
                          result.issues.column("pii_spans").to_pylist(), strict=True))
    per_type: dict[str, list[int]] = {}
    correct = predicted = 0
    for rid, gold in by_row.items():
        preds = found_rows.get(rid) or []
        for g in gold:
            hit = _covered(g["start"], g["end"], [p for p in preds if p["type"] == g["type"]]) >= 0.5
            stats = per_type.setdefault(g["type"], [0, 0])
            stats[0] += 1
            stats[1] += int(hit)
    gold_rows = {rid: gold for rid, gold in by_row.items()}
    for rid, preds in found_rows.items():
        for p in preds or []:
            predicted += 1
            same = [g for g in gold_rows.get(rid, []) if g["type"] == p["type"]]
            if any(_covered(g["start"], g["end"], [p]) >= 0.5 for g in same):
                correct += 1
    total = sum(v[0] for v in per_type.values())
    hits = sum(v[1] for v in per_type.values())
    return {
        "precision": round(correct / predicted, 4) if predicted else 1.0,
        "recall": round(hits / total, 4) if total else 1.0,
        "per_type_recall": {t: round(v[1] / v[0], 4) for t, v in sorted(per_type.items())},
        "truth_spans": total,
        "findings": predicted,
    }


def _covered(start: int, end: int, preds: list[dict[str, Any]]) -> float:
    """Share of [start, end) covered by the predicted spans."""
    if end <= start:
        return 0.0
    covered = [False] * (end - start)
    for p in preds:
        for i in range(max(start, p["start"]), min(end, p["end"])):
            covered[i - start] = True
    return sum(covered) / (end - start)


SCORERS["pii"] = score_pii_against_truth
