"""Signed checkpoints of the audit log's head, kept outside the catalog.

The hash chain (:mod:`datamoat.catalog.audit`) shows edits, deletions in the middle and
reordering, but not that the newest events were deleted, nor that the whole log was deleted or
rewritten from the start. A checkpoint records the number of events and the hash of the last
one, signed with the audit key::

    {"kind": "datamoat-audit-checkpoint", "version": 1, "events": 12, "head": "<hash of event 12>",
     "at": "2026-01-01T00:00:00+00:00", "mac": "<HMAC-SHA256 of the fields above>"}

:func:`check_against` then fails when the log now has fewer events than the checkpoint
(truncated) or when its event number ``events`` no longer has hash ``head`` (rewritten).
Writing and checking a checkpoint needs the workspace key: an unsigned checkpoint could be
forged by whoever rewrites the log. Keep checkpoints where the catalog's writers cannot change
them (another machine, write-once storage).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.audit import audit_key, verify_chain
from datamoat.catalog.records import utc_now
from datamoat.catalog.tables import audit_events
from datamoat.errors import DatamoatError

KIND = "datamoat-audit-checkpoint"
_FIELDS = ("kind", "version", "events", "head", "at")
_NO_KEY = ("a checkpoint is signed with the workspace key: set DATAMOAT_KEY, or DATAMOAT_KEY_FILE "
           "to a key file outside the workspace")


@dataclass(frozen=True)
class Checkpoint:
    """events: events in the log when it was taken; head: the last one's hash (GENESIS if none);
    at: when (ISO 8601, UTC)."""

    events: int
    head: str
    at: str

    def fields(self) -> dict[str, Any]:
        return {"kind": KIND, "version": 1, "events": self.events, "head": self.head, "at": self.at}


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    body = json.dumps({k: fields[k] for k in _FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, b"checkpoint\x00" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def _require_key(key: bytes | None) -> bytes:
    if key is None:
        raise DatamoatError(f"{_NO_KEY}.")
    return key


def take_checkpoint(catalog: Catalog) -> Checkpoint:
    """The log's current event count and head hash; DatamoatError when its links are broken
    (a checkpoint would vouch for a log that ``audit verify`` already rejects)."""
    check = verify_chain(catalog, links_only=True)
    if not check.ok:
        raise DatamoatError(f"the audit log is broken at event {check.first_bad_id}: {check.problem}; "
                            "no checkpoint was written.")
    return Checkpoint(events=check.events, head=check.head, at=utc_now().isoformat())


def write_checkpoint(catalog: Catalog, out: Path, state_dir: Path, key: bytes | None = None) -> Checkpoint:
    """Write a signed checkpoint of ``catalog``'s audit log to ``out`` (created or replaced).

    state_dir: the workspace's ``.datamoat`` folder; ``out`` inside it is refused (it would
    sit beside what it guards). key: the audit key (default: :func:`audit_key`).
    Raises DatamoatError without a key.
    """
    key = _require_key(key or audit_key())
    if out.resolve().is_relative_to(state_dir.resolve()):
        raise DatamoatError(f"{out}: a checkpoint inside the workspace's .datamoat folder guards nothing; "
                            "write it outside the catalog.")
    checkpoint = take_checkpoint(catalog)
    fields = checkpoint.fields()
    text = json.dumps({**fields, "mac": _mac(key, fields)}, indent=2) + "\n"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return checkpoint


def read_checkpoint(path: Path, key: bytes | None = None) -> Checkpoint:
    """Read and authenticate a checkpoint file; DatamoatError if it is unreadable, not a
    checkpoint, or its signature does not match the key (forged, edited, or another key)."""
    key = _require_key(key or audit_key())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatamoatError(f"{path}: cannot read the checkpoint ({exc}).") from None
    if not isinstance(data, dict) or data.get("kind") != KIND or any(k not in data for k in (*_FIELDS, "mac")):
        raise DatamoatError(f"{path}: not a datamoat audit checkpoint.")
    if not hmac.compare_digest(str(data["mac"]), _mac(key, data)):
        raise DatamoatError(f"{path}: the checkpoint's signature does not match this key (edited, forged, "
                            "or signed with another key).")
    return Checkpoint(events=int(data["events"]), head=str(data["head"]), at=str(data["at"]))


def check_against(catalog: Catalog, checkpoint: Checkpoint) -> str | None:
    """None when the log still holds the checkpointed events unchanged; else the problem.

    Truncation: fewer events now than at the checkpoint. Rewriting: event number ``events``
    (in id order) no longer has the checkpointed hash.
    """
    with catalog.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
        if count < checkpoint.events:
            return (f"the log has {count} events but had {checkpoint.events} at the checkpoint of "
                    f"{checkpoint.at} (events were deleted)")
        if checkpoint.events == 0:
            return None
        head = conn.execute(
            sa.select(audit_events.c.hash).order_by(audit_events.c.id).offset(checkpoint.events - 1).limit(1)
        ).scalar()
    if head != checkpoint.head:
        return (f"event {checkpoint.events} no longer has the hash recorded at the checkpoint of "
                f"{checkpoint.at} (the log was rewritten or events were deleted and replaced)")
    return None
