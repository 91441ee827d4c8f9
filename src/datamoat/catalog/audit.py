"""A hash-chained audit log in the catalog: who exported, decrypted, re-identified, released.

Every event's ``hash`` chains it to the event before it (``prev_hash``; 64 zeros for the first):

* ``chain_version`` 2 (written when a workspace key is configured): ``hash`` is
  ``HMAC-SHA256(audit key, prev_hash || canonical JSON of (at, actor, action, subject,
  details))``. The audit key is derived from the workspace key (:func:`audit_key`), which comes
  from the environment or a key file outside the workspace (:mod:`datamoat.keys`) and is
  never stored in the catalog, so nobody without it can recompute a keyed chain.
* ``chain_version`` 1 (events from before keying, or appended by a process without a key):
  ``hash`` is the unkeyed ``sha256`` of the same bytes; anyone who can write the catalog can
  recompute it.

:func:`verify_chain` recomputes every hash in id order. Editing, deleting or reordering an event
breaks the chain from there on, and a keyed event cannot be re-chained without the key. An
append never uses a key the log was not written with (the last keyed event must verify with
it), and an event appended without the log's key is written unkeyed; unkeyed events after
keyed ones are counted (``unkeyed_after_keyed``) and reported by ``audit verify``, since a
keyed suffix rewritten without the key looks the same. What the chain alone cannot show is
truncation (deleting the newest events, or all of them), a rewrite of a wholly unkeyed log, or
of a keyed suffix into unkeyed events: :mod:`datamoat.catalog.audit_checkpoint` anchors the
head outside the catalog for that.

Concurrent appends cannot fork the chain: on SQLite the catalog's write transactions are
serialised (``BEGIN IMMEDIATE``); on PostgreSQL an append takes a transaction-scoped advisory
lock before it reads the last event. As a guard for anything else, ``prev_hash`` is unique
(migration 0006), so a writer that chained onto an event another writer already chained onto
fails with IntegrityError and :func:`append_event` retries it.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import logging
import os
import random
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import audit_events

log = logging.getLogger(__name__)

GENESIS = "0" * 64
UNKEYED, KEYED = 1, 2
"""``chain_version`` values: unkeyed SHA-256, HMAC-SHA256 with the audit key."""

_AUDIT_KEY_LABEL = b"datamoat audit chain v2"
_PG_APPEND_LOCK = 0x64746175  # "dtau": the advisory lock that serialises appends on PostgreSQL
APPEND_ATTEMPTS = 30
_key_cache: dict[tuple[Any, ...], bytes | None] = {}


def default_actor() -> str:
    """The OS user name (overridden by ``DATAMOAT_ACTOR`` for services acting for someone)."""
    return os.environ.get("DATAMOAT_ACTOR") or getpass.getuser()


def audit_key() -> bytes | None:
    """The 32-byte audit key, derived from the workspace key; None when no key is configured.

    The workspace key is :func:`datamoat.keys.find_key`'s (so a configured but unusable key,
    such as a malformed key or a ``DATAMOAT_KEY_FILE`` that does not exist, raises DatamoatError
    as it does for encryption). Derivation: ``HMAC-SHA256(workspace key, "datamoat audit chain
    v2")``, so the audit key differs from the encryption key it comes from. Cached per process
    for the same ``DATAMOAT_KEY`` / ``DATAMOAT_KEY_FILE`` values and the same key file
    (path and modification time).
    """
    from datamoat.keys import DEFAULT_KEY_FILE, KEY_ENV, KEY_FILE_ENV, find_key

    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE.expanduser())
    try:
        stamp: Any = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    cache_key = (os.environ.get(KEY_ENV), os.environ.get(KEY_FILE_ENV), str(path), stamp)
    if cache_key not in _key_cache:
        key = find_key()
        _key_cache.clear()
        _key_cache[cache_key] = None if key is None else hmac.new(key, _AUDIT_KEY_LABEL, hashlib.sha256).digest()
    return _key_cache[cache_key]


def event_body(at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]) -> bytes:
    """The canonical JSON bytes of one event (what its hash covers, after ``prev_hash``)."""
    return json.dumps(
        {"at": as_utc(at).isoformat(), "actor": actor, "action": action, "subject": subject, "details": details},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode("utf-8")


def chain_hash(prev_hash: str, body: bytes, key: bytes | None) -> str:
    """Hex hash of one event: HMAC-SHA256 with ``key``, or plain SHA-256 when ``key`` is None."""
    data = prev_hash.encode("ascii") + body
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def append_event_in(
    conn: sa.Connection, action: str, subject: str, details: dict[str, Any] | None = None, actor: str | None = None
) -> str:
    """Append one event inside the caller's open transaction ``conn``; returns its hash.

    For writes that must be recorded atomically with the event (a DP release and its budget
    use). On PostgreSQL it first takes a transaction-scoped advisory lock, held until ``conn``
    commits, so concurrent appends chain one after another; a lost race that still happens
    raises IntegrityError (``prev_hash`` is unique) and the caller may retry. The event
    is keyed when a workspace key is configured; an unkeyed append after keyed events is still
    written (an audit record is never dropped) but logged as a warning, and ``audit verify``
    will report it.
    """
    actor = actor or default_actor()
    details = details or {}
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_APPEND_LOCK})
    last = conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(1)).first()
    prev = last.hash if last is not None else GENESIS
    key = audit_key()
    if last is not None and last.chain_version == KEYED:
        if key is not None and not _matches(last, key):
            key = None  # never chain with a key the log was not written with
            log.warning("the configured key is not the key this audit log was written with; this event is "
                        "written unkeyed and `datamoat audit verify` will report it")
        elif key is None:
            log.warning("the audit log is keyed but no key is configured (DATAMOAT_KEY); this event is "
                        "written unkeyed and `datamoat audit verify` will report it")
    at = utc_now()
    digest = chain_hash(prev, event_body(at, actor, action, subject, details), key)
    conn.execute(
        audit_events.insert().values(
            at=at, actor=actor, action=action, subject=subject,
            details_json=json.dumps(details, sort_keys=True, default=str), prev_hash=prev, hash=digest,
            chain_version=UNKEYED if key is None else KEYED,
        )
    )
    return digest


def _matches(row: Any, key: bytes | None) -> bool:
    """True when ``row``'s hash is what ``key`` (None: unkeyed) gives for its content."""
    body = event_body(row.at, row.actor, row.action, row.subject, json.loads(row.details_json))
    return hmac.compare_digest(chain_hash(row.prev_hash, body, key), row.hash)


def append_event(
    catalog: Catalog, action: str, subject: str, details: dict[str, Any] | None = None, actor: str | None = None
) -> str:
    """Append one event in its own transaction; returns its hash.

    action: what happened (``export``, ``decrypt``, ``dp_release``, ...; any word).
    subject: what it happened to (a version ref, a file, a token namespace).
    details: JSON-ready facts (row counts, epsilon, output path ...). Never put secrets here.
    """
    for attempt in range(APPEND_ATTEMPTS):
        try:
            with catalog.engine.begin() as conn:
                return append_event_in(conn, action, subject, details, actor)
        except IntegrityError:
            # another writer chained onto the same event first: back off a random, growing while
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
    raise RuntimeError(f"could not append to the audit log after {APPEND_ATTEMPTS} attempts")


@dataclass(frozen=True)
class ChainCheck:
    """Result of :func:`verify_chain`.

    ok: every hash that could be checked matched. events: events read. first_bad_id / problem:
    the first event that failed, and why. keyed / unkeyed: events per chain version.
    key_configured: False when keyed events could not be checked (their links were).
    head: hash of the last event read (GENESIS for an empty log).
    unkeyed_after_keyed: unkeyed events that follow a keyed one (appended by a process without
        the log's key, or a keyed suffix rewritten without it): reported, only a checkpoint
        can tell which.
    """

    ok: bool
    events: int
    first_bad_id: int | None = None
    problem: str | None = None
    keyed: int = 0
    unkeyed: int = 0
    key_configured: bool = True
    head: str = GENESIS
    unkeyed_after_keyed: int = 0


def iter_chain(conn: sa.Connection) -> Any:
    """The events in id order (rows with id, hash, prev_hash, chain_version and the body)."""
    return conn.execute(sa.select(audit_events).order_by(audit_events.c.id))


def verify_chain(catalog: Catalog, key: bytes | None = None, *, links_only: bool = False) -> ChainCheck:
    """Recompute every hash in id order; report the first event that does not match.

    key: the audit key to check keyed events with; None (default) uses the configured one
    (:func:`audit_key`). links_only: do not use a key even when one is configured. Without a
    key, keyed events are checked for their links (prev_hash) only and ``key_configured`` is
    False; unkeyed events are always checked in full.
    """
    if links_only:
        key = None
    elif key is None:
        key = audit_key()
    prev, count, counts, late = GENESIS, 0, {UNKEYED: 0, KEYED: 0}, 0

    def broken(row: Any, problem: str) -> ChainCheck:
        return ChainCheck(False, count, row.id, problem, counts[KEYED], counts[UNKEYED], key is not None, prev, late)

    with catalog.engine.connect() as conn:
        for row in iter_chain(conn):
            count += 1
            version = row.chain_version
            counts[version] = counts.get(version, 0) + 1
            if row.prev_hash != prev:
                return broken(row, "its prev_hash does not match the event before it (deleted or reordered)")
            late += version == UNKEYED and counts[KEYED] > 0
            if version not in (UNKEYED, KEYED):
                return broken(row, f"its chain_version {version} is unknown")
            body = event_body(row.at, row.actor, row.action, row.subject, json.loads(row.details_json))
            if version == UNKEYED or key is not None:
                expected = chain_hash(prev, body, key if version == KEYED else None)
                if not hmac.compare_digest(expected, row.hash):
                    what = "edited, or rewritten with another key" if version == KEYED else "edited"
                    return broken(row, f"its content does not match its hash ({what})")
            prev = row.hash
    return ChainCheck(True, count, None, None, counts[KEYED], counts[UNKEYED], key is not None, prev, late)


def list_events(catalog: Catalog, limit: int = 100) -> list[dict[str, Any]]:
    """The newest events first, JSON-ready."""
    with catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)).all()
    return [
        {"id": r.id, "at": as_utc(r.at).isoformat(), "actor": r.actor, "action": r.action, "subject": r.subject,
         "details": json.loads(r.details_json), "hash": r.hash, "keyed": r.chain_version == KEYED}
        for r in rows
    ]
