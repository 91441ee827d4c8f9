"""Score quality checks against the known truth of a ``datamoat demo-data`` set (truth.json).

Rows are matched through the ticket id: ``id_of_ticket`` maps a truth ``ticket_id`` to the
dataset's ``_dm_row_id``; None means they are equal (the dataset was ingested with
``--id ticket_id``). Each scored check gets ``truth`` (rows in the truth), ``flagged`` (rows
the check flagged), ``true_positives``, ``precision``, ``recall`` and ``f1``:

* ``exact_duplicates``: flagged rows vs the truth's ``exact_duplicates`` ticket ids (the
  copies; originals are not issues). ``duplicate_of_correct`` is the share of found copies
  whose ``duplicate_of`` is the truth's original.
* ``near_duplicates``: a truth near duplicate is found when it is flagged *and* in the same
  cluster as its original (``cluster`` column); precision = found / flagged.
* generic checks, by :data:`TRUTH_KEYS` (``label_issues`` -> ``label_errors``,
  ``missing_values`` -> ``missing``, ``encoding_problems`` -> ``encoding``, ``language`` ->
  ``non_english``): flagged rows vs the truth key's ticket ids.
* other checks (``pii`` ...) are scored by a function registered in :data:`SCORERS` under the
  check name (``SCORERS["pii"] = fn``; ``fn(result, truth, row_id_of) -> dict``); without
  one they are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.quality.check import ISSUE_COLUMN, CheckResult

TRUTH_KEYS: dict[str, str] = {
    "label_issues": "label_errors",
    "missing_values": "missing",
    "missing": "missing",
    "encoding_problems": "encoding",
    "encoding": "encoding",
    "language": "non_english",
}
"""Check name -> truth.json key holding the rows that check should flag (by ticket_id)."""

Scorer = Callable[[CheckResult, dict[str, Any], Callable[[str], str]], dict[str, Any]]
SCORERS: dict[str, Scorer] = {}
"""Extra per-check scorers (e.g. the PII module registers ``"pii"``)."""


def prf(truth: set[str], flagged: set[str], true_positives: int | None = None) -> dict[str, Any]:
    """Precision / recall / F1 of ``flagged`` against ``truth`` (an empty set scores 1.0)."""
    tp = len(truth & flagged) if true_positives is None else true_positives
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "truth": len(truth),
        "flagged": len(flagged),
        "true_positives": tp,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def _flagged(result: CheckResult) -> set[str]:
    return {str(x) for x in result.flagged_ids()}


def score_exact(
    result: CheckResult, truth: dict[str, Any], row_id_of: Callable[[str], str]
) -> dict[str, Any]:
    """Exact duplicates: flagged copies vs truth copies, plus whether duplicate_of is right."""
    items = truth.get("exact_duplicates", [])
    expected = {row_id_of(t["ticket_id"]): row_id_of(t["duplicate_of"]) for t in items}
    flagged = _flagged(result)
    out = prf(set(expected), flagged)
    if "duplicate_of" in result.issues.column_names:
        rows = result.issues.filter(pc.fill_null(result.issues.column(ISSUE_COLUMN), False))
        dup_of = dict(
            zip(rows.column(ROW_ID_COLUMN).to_pylist(), rows.column("duplicate_of").to_pylist(), strict=True)
        )
        found = [rid for rid in expected if rid in dup_of]
        right = sum(1 for rid in found if dup_of[rid] == expected[rid])
        out["duplicate_of_correct"] = round(right / len(found), 4) if found else 1.0
    return out


def score_near(result: CheckResult, truth: dict[str, Any], row_id_of: Callable[[str], str]) -> dict[str, Any]:
    """Near duplicates: found = flagged and in one cluster with the truth original."""
    items = truth.get("near_duplicates", [])
    flagged = _flagged(result)
    cluster: dict[str, Any] = {}
    if "cluster" in result.issues.column_names:
        cluster = dict(
            zip(
                result.issues.column(ROW_ID_COLUMN).to_pylist(),
                result.issues.column("cluster").to_pylist(),
                strict=True,
            )
        )
    copies = {row_id_of(t["ticket_id"]) for t in items}
    found = 0
    for t in items:
        copy, orig = row_id_of(t["ticket_id"]), row_id_of(t["near_duplicate_of"])
        if copy in flagged and (
            not cluster or (cluster.get(copy) is not None and cluster.get(copy) == cluster.get(orig))
        ):
            found += 1
    out = prf(copies, flagged, true_positives=found)
    out["flagged_in_truth"] = len(copies & flagged)
    return out


def score_generic(
    result: CheckResult, truth: dict[str, Any], row_id_of: Callable[[str], str]
) -> dict[str, Any]:
    """Flagged rows vs the ticket ids under the check's :data:`TRUTH_KEYS` entry."""
    key = TRUTH_KEYS[result.check]
    expected = {row_id_of(t["ticket_id"]) for t in truth.get(key, [])}
    return {"truth_key": key, **prf(expected, _flagged(result))}


def score_against_truth(
    results: dict[str, CheckResult], truth: dict[str, Any], id_of_ticket: dict[str, str] | None = None
) -> dict[str, Any]:
    """Precision / recall per check that the truth covers (see the module docstring).

    results: check name -> CheckResult (as the profile collects them).
    truth: the parsed truth.json.
    id_of_ticket: truth ticket_id -> _dm_row_id; None when they are the same.
    Returns ``{check name: {truth, flagged, true_positives, precision, recall, f1, ...}}``.
    """

    def row_id_of(ticket: str) -> str:
        return str(id_of_ticket.get(ticket, ticket)) if id_of_ticket is not None else str(ticket)

    scores: dict[str, Any] = {}
    for name, result in results.items():
        check = result.check or name
        if check in SCORERS:
            scores[name] = SCORERS[check](result, truth, row_id_of)
        elif check == "exact_duplicates":
            scores[name] = score_exact(result, truth, row_id_of)
        elif check == "near_duplicates":
            scores[name] = score_near(result, truth, row_id_of)
        elif check in TRUTH_KEYS:
            scores[name] = score_generic(result, truth, row_id_of)
    return scores


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
