"""A hash-chained audit log in the catalog: who exported, decrypted, re-identified, released.

Every event's ``hash`` is ``sha256(prev_hash || canonical JSON of (at, actor, action, subject,
details))``, and ``prev_hash`` is the previous event's hash (64 zeros for the first). Editing,
deleting or reordering any row breaks the chain from that row on, which :func:`verify_chain`
reports. Appends are serialised by the catalog's write transaction, so concurrent writers
cannot fork the chain (the ``hash`` column is unique as a second guard).
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import audit_events

GENESIS = "0" * 64
ACTIONS = ("export", "decrypt", "reidentify", "dp_release", "key_use", "redact")


def default_actor() -> str:
    """The OS user name (overridden by ``DATAMOAT_ACTOR`` for services acting for someone)."""
    import os

    return os.environ.get("DATAMOAT_ACTOR") or getpass.getuser()


def _event_hash(prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]) -> str:
    body = json.dumps(
        {"at": as_utc(at).isoformat(), "actor": actor, "action": action, "subject": subject, "details": details},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append_event_in(
    conn: sa.Connection, action: str, subject: str, details: dict[str, Any] | None = None, actor: str | None = None
) -> str:
    """Append one event inside the caller's open transaction ``conn``; returns its hash.

    For writes that must be recorded atomically with the event (a DP release and its budget
    use). The catalog's write transactions are serialised, so the chain cannot fork.
    """
    actor = actor or default_actor()
    details = details or {}
    last = conn.execute(sa.select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = utc_now()
    digest = _event_hash(prev, at, actor, action, subject, details)
    conn.execute(
        audit_events.insert().values(
            at=at, actor=actor, action=action, subject=subject,
            details_json=json.dumps(details, sort_keys=True, default=str), prev_hash=prev, hash=digest,
        )
    )
    return digest


def append_event(
    catalog: Catalog, action: str, subject: str, details: dict[str, Any] | None = None, actor: str | None = None
) -> str:
    """Append one event in its own transaction; returns its hash.

    action: what happened (see ACTIONS; other words are accepted too).
    subject: what it happened to (a version ref, a file, a token namespace).
    details: JSON-ready facts (row counts, epsilon, output path ...). Never put secrets here.
    """
    for _ in range(5):
        try:
            with catalog.engine.begin() as conn:
                return append_event_in(conn, action, subject, details, actor)
        except IntegrityError:
            continue  # another writer appended the same prev_hash first (non-SQLite databases)
    raise RuntimeError("could not append to the audit log after 5 attempts")


@dataclass(frozen=True)
class ChainCheck:
    """Result of :func:`verify_chain`: ok, events checked, and the first bad event (id, why)."""

    ok: bool
    events: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(catalog: Catalog) -> ChainCheck:
    """Recompute every hash in id order; report the first event that does not match."""
    prev = GENESIS
    count = 0
    with catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.id))
        for row in rows:
            count += 1
            if row.prev_hash != prev:
                return ChainCheck(False, count, row.id, "its prev_hash does not match the event before it (deleted or reordered)")
            expected = _event_hash(prev, row.at, row.actor, row.action, row.subject, json.loads(row.details_json))
            if expected != row.hash:
                return ChainCheck(False, count, row.id, "its content does not match its hash (edited)")
            prev = row.hash
    return ChainCheck(True, count)


def list_events(catalog: Catalog, limit: int = 100) -> list[dict[str, Any]]:
    """The newest events first, JSON-ready."""
    with catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)).all()
    return [
        {"id": r.id, "at": as_utc(r.at).isoformat(), "actor": r.actor, "action": r.action, "subject": r.subject,
         "details": json.loads(r.details_json), "hash": r.hash}
        for r in rows
    ]
