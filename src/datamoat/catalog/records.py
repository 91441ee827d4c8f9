"""Plain records the catalog hands out (no SQLAlchemy objects leak to callers)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np


def utc_now() -> datetime:
    """The current time, timezone-aware UTC, to the microsecond."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime: naive values (SQLite returns them) are taken to be UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class DatasetRecord:
    """One dataset: a name that versions hang from."""

    id: int
    name: str
    created_at: datetime
    description: str = ""


@dataclass(frozen=True)
class VersionRecord:
    """One immutable dataset version as the catalog knows it.

    ordinal: 1, 2, 3 ... in creation order within the dataset.
    content_hash: sha256 hex of the version's data and exclusions (see data/content_hash.py).
    schema: [{"name", "type", "roles"}] in column order.
    parents: catalog ids of the versions it was made from (empty for an ingest).
    parent_refs: the same parents as ``name@ordinal``.
    step / params: what made it (``ingest`` + reader options, or a recipe and its steps).
    source: for ingests, where the data came from and what the reader found out.
    """

    id: int
    dataset: str
    ordinal: int
    content_hash: str
    row_count: int
    excluded_count: int
    schema: list[dict[str, Any]]
    roles: dict[str, Any]
    step: str
    params: dict[str, Any]
    source: dict[str, Any]
    created_at: datetime
    parents: list[int] = field(default_factory=list)
    parent_refs: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The short reference users type: ``name@<first 12 hex of the hash>``."""
        return f"{self.dataset}@{self.content_hash[:12]}"

    def manifest(self) -> dict[str, Any]:
        """The version's manifest as JSON-ready data."""
        return {
            "dataset": self.dataset,
            "version": self.ordinal,
            "hash": self.content_hash,
            "ref": self.ref,
            "rows": self.row_count,
            "excluded_rows": self.excluded_count,
            "schema": self.schema,
            "roles": self.roles,
            "parents": self.parent_refs,
            "step": self.step,
            "params": self.params,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
        }


def dumps(value: Any) -> str:
    """Canonical JSON for catalog columns (sorted keys, no NaN)."""
    return json.dumps(value, sort_keys=True, allow_nan=False, default=str)


def json_ready(value: Any) -> Any:
    """``value`` with numpy types, tuples and paths turned into JSON types; NaN/inf become None.

    Other objects (dates, ...) are left for ``json.dumps(default=str)``.
    """
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
