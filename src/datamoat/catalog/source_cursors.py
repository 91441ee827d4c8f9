"""Where an incremental source left off: the last cursor value per source.

An incremental source (an HTTP API read with ``incremental.cursor_path``) asks next time only
for records at or after the newest cursor value it has seen. That value is state, and it must
never run ahead of the data: :func:`cursor_writer` returns a callback that
:meth:`Catalog.add_version <datamoat.catalog.catalog.Catalog.add_version>` runs inside the very
transaction that registers the version holding those rows, so the cursor moves exactly when the
version becomes visible, and a fetch that fails leaves both as they were.

Values are stored as JSON (a string timestamp or a number, as the API sent it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from datamoat.catalog.catalog import Catalog
from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import source_cursors, versions
from datamoat.errors import ConflictError


@dataclass(frozen=True)
class SourceCursor:
    """source: the source's name; cursor_path: the record field the value came from;
    value: the newest value seen; version_id: the version holding the rows up to it."""

    source: str
    cursor_path: str
    value: Any
    version_id: int
    updated_at: datetime


def load_cursor(catalog: Catalog, source: str) -> SourceCursor | None:
    """The stored cursor of ``source``, or None when there is none or its version no longer
    exists (rolled back): the source is then read from its initial value again."""
    with catalog.engine.connect() as conn:
        row = conn.execute(
            sa.select(source_cursors).where(source_cursors.c.source == source)
        ).first()
        if row is None:
            return None
        alive = conn.execute(sa.select(versions.c.id).where(versions.c.id == row.version_id)).first()
    if alive is None:
        return None
    return SourceCursor(row.source, row.cursor_path, json.loads(row.value_json), row.version_id,
                        as_utc(row.updated_at))


def cursor_writer(
    source: str, cursor_path: str, value: Any, expect_version_id: int | None
) -> Callable[[sa.Connection, int], None]:
    """A callback ``(connection, version_id) -> None`` that stores ``value`` as ``source``'s
    cursor, for :meth:`Catalog.add_version`'s ``also`` (same transaction as the version).

    expect_version_id: the version the fetch was merged into (None: there was no cursor). If
    another ingest of the source moved the cursor meanwhile, the callback raises ConflictError
    and the whole transaction, the new version included, is rolled back.
    """

    def write(conn: sa.Connection, version_id: int) -> None:
        current = conn.execute(
            sa.select(source_cursors.c.version_id).where(source_cursors.c.source == source)
        ).scalar()
        alive = current is not None and conn.execute(
            sa.select(versions.c.id).where(versions.c.id == current)).first() is not None
        if (current if alive else None) != expect_version_id:
            raise ConflictError(
                f"another ingest of source {source!r} registered a newer version while this one was "
                "fetching; nothing was written, run it again"
            )
        save_cursor(conn, source, cursor_path, value, version_id)

    return write


def save_cursor(conn: sa.Connection, source: str, cursor_path: str, value: Any, version_id: int) -> None:
    """Insert or replace ``source``'s cursor on an open transaction ``conn``."""
    values = {"cursor_path": cursor_path, "value_json": json.dumps(value), "version_id": version_id,
              "updated_at": utc_now()}
    updated = conn.execute(
        sa.update(source_cursors).where(source_cursors.c.source == source).values(**values)
    ).rowcount
    if not updated:
        conn.execute(source_cursors.insert().values(source=source, **values))
