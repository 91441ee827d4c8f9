"""The profile of a dataset version: column statistics, every applicable check, one score.

:func:`profile_version` runs the per-column statistics (column_stats.py) and each registered
check whose roles the dataset has (a check that needs a ``label`` is skipped, with the reason,
on unlabelled data), adds the label distribution and freshness (scoring the checks against a
``datamoat demo-data`` truth file is :mod:`datamoat.demo.truth_score`'s job).

The overall quality score is shown with its formula: ``100 x (1 - min(1, sum(w_i x rate_i)))``
over the issue rates of the checks that ran, with the weights in :data:`SCORE_WEIGHTS`.
A dataset with 3% exact duplicates and 8% label errors scores 100 x (1 - 0.03 - 0.08) = 89.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import duckdb

from datamoat.data.version import Version
from datamoat.quality.check import CHECKS, CheckResult, create_check, load_builtin_checks
from datamoat.quality.column_stats import ColumnProfile, column_profiles

SCORE_WEIGHTS: dict[str, float] = {
    "exact_duplicates": 1.0,
    "duplicate_rows": 0.5,  # often the same rows exact_duplicates already counts
    "near_duplicates": 0.5,
    "label_issues": 1.0,
    "missing_values": 0.5,
    "encoding_problems": 0.3,
    "language": 0.3,
    "outliers": 0.2,
    "pii": 0.0,  # personal data is not an error in the data; it is reported, and protected
    "split_leakage": 1.0,
}
"""How much each check's issue rate lowers the score (checks not listed weigh 0.2)."""

DEFAULT_WEIGHT = 0.2
EXAMPLES = 5


@dataclass
class Profile:
    """Everything :func:`profile_version` found; :meth:`to_dict` is what ``--json`` prints."""

    ref: str
    rows: int
    columns: list[ColumnProfile]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Any] | None = None
    freshness: dict[str, Any] | None = None
    score: dict[str, Any] = field(default_factory=dict)
    truth: dict[str, Any] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    results: dict[str, CheckResult] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (issue tables are summarised, with a few example rows)."""
        return {
            "ref": self.ref,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
            "checks": self.checks,
            "skipped": self.skipped,
            "labels": self.labels,
            "freshness": self.freshness,
            "score": self.score,
            "truth": self.truth,
            "timings_s": self.timings_s,
        }


def profile_version(
    version: Version,
    *,
    checks: list[str] | None = None,
    check_params: dict[str, dict[str, Any]] | None = None,
) -> Profile:
    """Profile ``version``.

    checks: names of checks to run (default: every registered check the roles allow).
    check_params: per-check parameters, e.g. ``{"near_duplicates": {"threshold": 0.8}}``.
    """
    load_builtin_checks()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    columns = column_profiles(version)
    timings["columns"] = time.perf_counter() - t0
    roles = version.roles
    table = None
    prof = Profile(ref=version.ref, rows=version.num_rows, columns=columns)
    for name in checks or sorted(CHECKS):
        cls = CHECKS.get(name)
        if cls is None:
            create_check(name)  # raises the "unknown check" error with the known names
            continue
        missing = [role for role in cls.needs if roles.get(role) is None and not roles.columns(role)]
        if missing:
            prof.skipped[name] = f"needs a column with role {missing[0]!r}"
            continue
        if table is None:
            table = version.to_arrow()
        t = time.perf_counter()
        check = create_check(name, (check_params or {}).get(name))
        data = _sample(table, cls.max_rows)
        result = check.run(data, roles)
        timings[name] = time.perf_counter() - t
        prof.results[name] = result
        summary = {**result.summary, "examples": _examples(result, data, roles)}
        if data.num_rows < table.num_rows:
            summary["sampled_rows"] = data.num_rows
            summary["note"] = f"estimated on a random sample of {data.num_rows:,} of {table.num_rows:,} rows"
        prof.checks[name] = summary
        _release_memory()
    mask_examples(prof.checks, prof.results.get("pii"))
    prof.labels = _label_summary(version)
    prof.freshness = _freshness(version)
    prof.score = quality_score(prof.checks)
    timings["total"] = time.perf_counter() - t0
    prof.timings_s = {k: round(v, 3) for k, v in timings.items()}
    return prof


SAMPLE_SEED = 20241122


def _release_memory() -> None:
    """Give the checks' temporary buffers back to the OS before the next check starts, so the
    peak is the largest single check rather than their sum (Arrow's allocator keeps freed
    memory for reuse unless asked)."""
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()


def _sample(table: Any, max_rows: int | None) -> Any:
    """``table`` itself, or a seeded random sample of ``max_rows`` rows in table order."""
    if max_rows is None or table.num_rows <= max_rows:
        return table
    import numpy as np

    rng = np.random.default_rng(SAMPLE_SEED)
    keep = np.sort(rng.choice(table.num_rows, size=max_rows, replace=False))
    return table.take(keep)


def quality_score(checks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The overall score with its formula and each term, from the checks' issue rates."""
    def rate(s: dict[str, Any]) -> float:  # a dataset-level check (imbalance) says what it counts
        return float(s.get("score_rate", s.get("rate", 0.0)))

    terms = {name: round(SCORE_WEIGHTS.get(name, DEFAULT_WEIGHT) * rate(s), 4) for name, s in checks.items()}
    penalty = min(1.0, sum(terms.values()))
    shown = " + ".join(f"{SCORE_WEIGHTS.get(n, DEFAULT_WEIGHT)} x {rate(checks[n]):.3f} ({n})" for n in terms)
    return {
        "value": round(100 * (1 - penalty), 1),
        "formula": "100 x (1 - min(1, sum of weight x issue rate))",
        "computed": f"100 x (1 - min(1, {shown or '0'}))",
        "terms": terms,
        "weights": {n: SCORE_WEIGHTS.get(n, DEFAULT_WEIGHT) for n in terms},
    }


def _examples(result: CheckResult, table: Any, roles: Any) -> list[dict[str, Any]]:
    """A few flagged rows with their text (when there is a text column) and extra columns."""
    import pyarrow.compute as pc

    flagged = result.issues.filter(pc.fill_null(result.issues.column("is_issue"), False))
    flagged = flagged.sort_by([("score", "ascending")]).slice(0, EXAMPLES)
    text_col = roles.get("text")
    texts: dict[str, Any] = {}
    if text_col and text_col in table.column_names and flagged.num_rows:
        ids = set(flagged.column("_dm_row_id").to_pylist())
        sub = table.filter(pc.is_in(table.column("_dm_row_id"), pa_array(ids)))
        texts = dict(zip(sub.column("_dm_row_id").to_pylist(), sub.column(text_col).to_pylist(), strict=True))
    out = []
    for row in flagged.to_pylist():
        row.pop("is_issue", None)
        text = texts.get(row["_dm_row_id"])
        if text is not None:
            row["text"] = text  # masked and shortened by mask_examples once the pii check ran
        out.append(row)
    return out


EXAMPLE_CHARS = 300


def mask_examples(checks: dict[str, dict[str, Any]], pii: CheckResult | None) -> None:
    """Star the personal data the ``pii`` check found in every example's text, in place, and
    shorten the texts to :data:`EXAMPLE_CHARS`: a shared report shows no e-mail, card or name.

    Each character of a span but spaces becomes ``*`` (as ``pii scan``'s masked examples); other
    long strings of such a row (a rewrite of its text, whose offsets differ) become :data:`HIDDEN`.
    Rows outside the pii check's sample (on large data) have no spans and are shown as read.
    """
    spans: dict[str, list[dict[str, Any]]] = {}
    if pii is not None and "pii_spans" in pii.issues.column_names:
        import pyarrow.compute as pc

        wanted = {r["_dm_row_id"] for s in checks.values() for r in s.get("examples", [])}
        hit = pii.issues.filter(pc.is_in(pii.issues.column("_dm_row_id"), pa_array(wanted)))
        spans = dict(zip(hit.column("_dm_row_id").to_pylist(), hit.column("pii_spans").to_pylist(), strict=True))
    for summary in checks.values():
        for row in summary.get("examples", []):
            found = spans.get(row["_dm_row_id"]) or []
            text = row.get("text")
            if isinstance(text, str):
                text = mask_spans(text, found)
                row["text"] = text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
            for key, value in row.items():  # a check's rewrite of the text (encoding's suggested_fix)
                if found and key != "text" and isinstance(value, str) and len(value) > DERIVED_TEXT_CHARS:
                    row[key] = HIDDEN


DERIVED_TEXT_CHARS = 40
"""Other string values of an example longer than this are treated as copies of the text."""
HIDDEN = "(not shown: the row holds personal data)"


def mask_spans(text: str, spans: list[dict[str, Any]]) -> str:
    """``text`` with every character but spaces inside each ``{"start", "end"}`` span as ``*``."""
    chars = list(text)
    for span in spans:
        for i in range(max(0, int(span["start"])), min(len(chars), int(span["end"]))):
            if not chars[i].isspace():
                chars[i] = "*"
    return "".join(chars)


def pa_array(values: set[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), pa.string())


def _files(version: Version) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in version.shard_paths()) + "]"


def _label_summary(version: Version) -> dict[str, Any] | None:
    label = version.roles.get("label")
    if label is None:
        return None
    q = '"' + label.replace('"', '""') + '"'
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT {q}, count(*) FROM read_parquet({_files(version)}) WHERE {q} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    finally:
        con.close()
    counts = {str(k): int(n) for k, n in rows}
    if not counts:
        return {"classes": 0, "counts": {}, "imbalance_ratio": None}
    return {
        "classes": len(counts),
        "counts": counts,
        "imbalance_ratio": round(max(counts.values()) / min(counts.values()), 3),
    }


def _freshness(version: Version) -> dict[str, Any] | None:
    column = version.roles.get("timestamp")
    if column is None:
        return None
    q = '"' + column.replace('"', '""') + '"'
    con = duckdb.connect()
    try:
        lo, hi, med, parsed, total = con.execute(
            f"WITH t AS (SELECT TRY_CAST({q} AS TIMESTAMP) AS ts FROM read_parquet({_files(version)})) "
            "SELECT min(ts), max(ts), quantile_disc(ts, 0.5), count(ts), count(*) FROM t"
        ).fetchall()[0]
        months = con.execute(
            f"WITH t AS (SELECT TRY_CAST({q} AS TIMESTAMP) AS ts FROM read_parquet({_files(version)})) "
            "SELECT strftime(date_trunc('month', ts), '%Y-%m') AS m, count(*) FROM t WHERE ts IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    if hi is None:
        return {"column": column, "parsed": 0, "rows": int(total)}
    return {
        "column": column,
        "oldest": lo.isoformat(),
        "newest": hi.isoformat(),
        "median": med.isoformat(),
        "span_days": round((hi - lo).total_seconds() / 86400, 1),
        "parsed": int(parsed),
        "rows": int(total),
        "rows_per_month": {m: int(n) for m, n in months},
    }
