"""Column roles: which column plays which part in a dataset.

Roles are what later stages look for: the ``text`` to classify, the ``label`` to predict, an
``id`` that identifies a row, a ``split`` column (train/valid/test), a ``timestamp`` for
freshness and drift, a ``group`` that must not straddle splits, and the ``quasi_identifier`` /
``sensitive`` columns that the privacy tools protect. Any column without a role is a free
column and is kept as is.

Single-column roles (id, text, label, split, timestamp, group) name at most one column;
multi-column roles (quasi_identifier, sensitive) name a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datamoat.errors import DatamoatError

SINGLE_ROLES: tuple[str, ...] = ("id", "text", "label", "split", "timestamp", "group")
MULTI_ROLES: tuple[str, ...] = ("quasi_identifier", "sensitive")
ALL_ROLES: tuple[str, ...] = SINGLE_ROLES + MULTI_ROLES

ROW_ID_COLUMN = "_dm_row_id"
"""Stable row id that datamoat adds to every version (from the id column or a content hash)."""


@dataclass
class ColumnRoles:
    """Which column has which role.

    single: role -> column name, for SINGLE_ROLES.
    multi: role -> list of column names, for MULTI_ROLES.
    """

    single: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ColumnRoles:
        """Build from ``{"text": "body", "quasi_identifier": ["age", "zip"], ...}``.

        Raises DatamoatError for an unknown role or a list given to a single role.
        """
        roles = cls()
        for role, value in (data or {}).items():
            if value is None or value == []:
                continue
            if role in SINGLE_ROLES:
                if not isinstance(value, str):
                    raise DatamoatError(f"role {role!r} takes one column name, got {value!r}.")
                roles.single[role] = value
            elif role in MULTI_ROLES:
                roles.multi[role] = [value] if isinstance(value, str) else [str(v) for v in value]
            else:
                raise DatamoatError(f"unknown column role {role!r}; known roles: {', '.join(ALL_ROLES)}.")
        return roles

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, the inverse of :meth:`from_dict`."""
        out: dict[str, Any] = dict(self.single)
        out.update({k: list(v) for k, v in self.multi.items()})
        return out

    def get(self, role: str) -> str | None:
        """The column with a single role, or None."""
        return self.single.get(role)

    def columns(self, role: str) -> list[str]:
        """The columns with a role (a one-element list for single roles, [] if none)."""
        if role in SINGLE_ROLES:
            return [self.single[role]] if role in self.single else []
        return list(self.multi.get(role, []))

    def role_of(self, column: str) -> list[str]:
        """All roles a column has (usually zero or one)."""
        found = [r for r, c in self.single.items() if c == column]
        found += [r for r, cols in self.multi.items() if column in cols]
        return found

    def all_columns(self) -> set[str]:
        """Every column named by some role."""
        return set(self.single.values()) | {c for cols in self.multi.values() for c in cols}

    def check_against(self, column_names: list[str], source: str) -> None:
        """Raise DatamoatError naming the first role column missing from ``column_names``."""
        for role in ALL_ROLES:
            for col in self.columns(role):
                if col not in column_names:
                    shown = ", ".join(column_names[:20])
                    raise DatamoatError(
                        f"{source}: no column {col!r} for role {role!r}; the columns are: {shown}."
                    )
