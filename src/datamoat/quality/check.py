"""The contract every quality check fulfils (cleanlab's lesson: an issue table + a summary).

A check looks at a table (the columns it needs, found through the column roles) and returns a
:class:`CheckResult`: one row per input row with ``is_issue`` and ``score``, plus a
dataset-level summary. Checks are plain classes in the :data:`CHECKS` dict; no metaclasses.

``score`` follows cleanlab's convention: a float in [0, 1] where 1 means "looks clean" and
lower means "more likely a problem". A check may add its own columns to the issue table
(e.g. ``duplicate_of``, ``cluster``, ``suggested_label``, ``language``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.plugins import Registry, keyword_params

ISSUE_COLUMN = "is_issue"
SCORE_COLUMN = "score"


@dataclass
class CheckResult:
    """What a check found.

    check: the check's registry name.
    issues: table with ``_dm_row_id`` (string), ``is_issue`` (bool), ``score`` (float64,
        1 = clean) and any check-specific columns, one row per input row, in input order.
    summary: JSON-ready dataset-level figures; always has ``rows``, ``issues`` and ``rate``
        (issues / rows), plus whatever the check reports (clusters, per-class counts ...).
    """

    check: str
    issues: pa.Table
    summary: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (ROW_ID_COLUMN, ISSUE_COLUMN, SCORE_COLUMN):
            if name not in self.issues.column_names:
                raise ValueError(f"check {self.check!r}: issue table lacks column {name!r}")
        rows = self.issues.num_rows
        found = int(pc.sum(self.issues.column(ISSUE_COLUMN)).as_py() or 0)
        # the counts always win over a check-specific key of the same name (LSH "rows" once said "88 of 5 rows")
        self.summary = {**self.summary, "rows": rows, "issues": found, "rate": (found / rows) if rows else 0.0}

    def flagged_ids(self) -> list[str]:
        """Row ids of the rows flagged as issues, in input order."""
        mask = self.issues.column(ISSUE_COLUMN)
        return self.issues.filter(pc.fill_null(mask, False)).column(ROW_ID_COLUMN).to_pylist()


class Check:
    """Base class of checks.

    Parameters are keyword-only ``__init__`` arguments stored under the same names (validated
    there; no heavy work). :meth:`run` does the work on a table with ``_dm_row_id`` and the
    data columns; columns default to the roles (``text``, ``label`` ...).
    """

    name: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ("text",)
    """Roles the check needs (the profile skips a check whose roles the dataset lacks)."""
    max_rows: ClassVar[int | None] = None
    """Checks that cost much per row set this: on larger data the profile runs them on a
    random sample of this many rows and reports the rate as an estimate (checks that compare
    rows with each other, like duplicates, keep None and always see every row)."""

    def run(self, table: pa.Table, roles: ColumnRoles) -> CheckResult:
        """Examine ``table`` (all rows of a version) and return the issue table + summary."""
        raise DatamoatError(f"check {self.name!r} has no run(); every check must define it.")

    def params(self) -> dict[str, Any]:
        """The check's parameters, JSON-ready (read from same-named attributes)."""
        return {p: getattr(self, p) for p in keyword_params(type(self)) if hasattr(self, p)}


BUILTIN_CHECK_MODULES: tuple[str, ...] = (
    "datamoat.quality.duplicates",
    "datamoat.quality.duplicate_rows",
    "datamoat.quality.near_duplicates",
    "datamoat.quality.leakage",
    "datamoat.quality.label_issues",
    "datamoat.quality.outliers",
    "datamoat.quality.imbalance",
    "datamoat.quality.missing",
    "datamoat.quality.language",
    "datamoat.quality.encoding",
    "datamoat.quality.text_quality",
    "datamoat.privacy.pii.check",
)
"""Modules that register the built-in checks (named here, imported on first use; the PII
check lives with the rest of the PII code in the privacy layer)."""

CHECKS = Registry("check", "name", BUILTIN_CHECK_MODULES)
"""Registered check classes by :attr:`Check.name`."""

register_check = CHECKS.register
load_builtin_checks = CHECKS.load_builtins


def create_check(name: str, params: dict[str, Any] | None = None) -> Check:
    """Instantiate a registered check; DatamoatError naming the known checks otherwise."""
    cls = CHECKS.lookup(name)
    if cls is None:
        raise DatamoatError(f"unknown check {name!r}; known checks: {', '.join(CHECKS.known())}.")
    try:
        return cls(**(params or {}))
    except TypeError as exc:
        raise DatamoatError(f"check {name!r}: {exc}.") from exc


def issue_table(row_ids: pa.Array, is_issue: Any, score: Any, **extra: Any) -> pa.Table:
    """Build an issue table from arrays/lists (score clipped to [0, 1]; a null score, for a row
    the check did not judge, stays null)."""
    raw = pa.array(score, pa.float64(), from_pandas=True)
    score_arr = pc.min_element_wise(pc.max_element_wise(raw, 0.0, skip_nulls=False), 1.0, skip_nulls=False)
    columns = {ROW_ID_COLUMN: row_ids, ISSUE_COLUMN: pa.array(is_issue, pa.bool_()), SCORE_COLUMN: score_arr}
    columns.update({k: v for k, v in extra.items()})
    return pa.table(columns)


def require_role(check: str, roles: ColumnRoles, role: str, table: pa.Table) -> str:
    """The column with ``role``; DatamoatError if the dataset has none or the table lacks it."""
    column = roles.get(role)
    if column is None:
        raise DatamoatError(f"check {check!r} needs a {role!r} column; ingest with --{role} COLUMN.")
    if column not in table.column_names:
        raise DatamoatError(f"check {check!r}: column {column!r} (role {role!r}) is not in the data.")
    return column
