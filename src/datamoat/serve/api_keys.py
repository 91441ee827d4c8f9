"""HTTP API keys with roles, stored hashed in the catalog.

A key looks like ``dm_<key_id>_<secret>``: ``key_id`` is 12 random hex characters (it names the
key in listings and lets :func:`verify_key` find the row), ``secret`` is
``secrets.token_urlsafe(32)`` (256 random bits). Only the sha256 hex digest of the whole key is
stored; the plaintext is returned once by :func:`create_key` and never stored or logged.
Verification looks the row up by ``key_id`` and compares digests with
:func:`hmac.compare_digest` (constant time), so neither timing nor a database dump reveals a key.

Roles and what they may do (``ROLE_PERMISSIONS``): ``admin`` everything; ``annotator`` predict,
feedback, annotate, read; ``client`` predict, feedback.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.records import as_utc, utc_now
from datamoat.catalog.tables import api_keys
from datamoat.errors import DatamoatError, NotFoundError

ROLES = ("admin", "annotator", "client")
PERMISSIONS = ("predict", "feedback", "annotate", "read", "admin")
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "annotator": frozenset({"predict", "feedback", "annotate", "read"}),
    "client": frozenset({"predict", "feedback"}),
}
KEY_PREFIX = "dm_"
KEY_ID_HEX = 12
_KEY_RE = re.compile(r"^dm_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_MAX_NAME = 200
_DUMMY_HASH = "0" * 64


@dataclass(frozen=True)
class ApiKey:
    """One API key as the catalog knows it (never the key itself).

    id: catalog row id. key_id: the public 12-hex part of the key. role: admin | annotator |
    client. name: a label for people ("ci", "alice"). created_at / revoked_at: UTC times
    (revoked_at None while the key works).
    """

    id: int
    key_id: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True while the key has not been revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (no secret: there is none to give)."""
        return {
            "id": self.id, "key_id": self.key_id, "role": self.role, "name": self.name,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.active,
        }


def hash_key(key: str) -> str:
    """sha256 hex digest of a whole key (what the catalog stores)."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def role_allows(role: str, permission: str) -> bool:
    """Whether ``role`` has ``permission`` (False for unknown roles or permissions)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise DatamoatError(f"role {role!r} is not known; use one of {', '.join(ROLES)}.")


def create_key(catalog: Catalog, role: str, name: str = "") -> tuple[str, ApiKey]:
    """Make a new key for ``role``; returns (plaintext key, its record).

    The plaintext is returned only here; the catalog keeps its sha256. DatamoatError for an
    unknown role, a name longer than 200 characters, or a name that could be personal data (an
    ``@`` or more than 6 digits, see :mod:`datamoat.privacy.pii.identifiers`: the name signs
    every answer given with the key).
    """
    from datamoat.privacy.pii.identifiers import identifier_problem

    _check_role(role)
    name = (name or "").strip()
    if len(name) > _MAX_NAME:
        raise DatamoatError(f"a key name may have at most {_MAX_NAME} characters, this one has {len(name)}.")
    problem = identifier_problem(name) if name else None
    if problem:
        raise DatamoatError(f"the key name {problem}; "
                            "use a name or a role, e.g. 'alice' or 'support-bot'.")
    for _ in range(5):
        key_id = secrets.token_hex(KEY_ID_HEX // 2)
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        try:
            with catalog.engine.begin() as conn:
                conn.execute(api_keys.insert().values(
                    key_id=key_id, key_hash=hash_key(key), role=role, name=name, created_at=utc_now()))
        except IntegrityError:
            continue  # key_id collision (1 in 2**48): draw again
        found = _find(catalog, key_id)
        assert found is not None
        return key, found
    raise DatamoatError("could not create a unique API key id after 5 attempts.")


def parse_key_id(key: str) -> str | None:
    """The key_id of a well-formed key, or None when ``key`` does not look like ``dm_<id>_<secret>``."""
    if not isinstance(key, str):
        return None
    match = _KEY_RE.match(key.strip())
    return match.group(1) if match else None


def verify_key(catalog: Catalog, key: str) -> ApiKey | None:
    """The key's record when ``key`` is known and not revoked; None when unknown, malformed or revoked."""
    key_id = parse_key_id(key)
    if key_id is None:
        return None
    with catalog.engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
    stored = row.key_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored.encode(), hash_key(key.strip()).encode())
    if row is None or not matches or row.revoked_at is not None:
        return None
    return _record(row)


def list_keys(catalog: Catalog) -> list[ApiKey]:
    """All keys, oldest first (revoked ones included, with their revoked_at)."""
    with catalog.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys).order_by(api_keys.c.id)).all()
    return [_record(r) for r in rows]


def revoke_key(catalog: Catalog, key_id: str) -> ApiKey:
    """Revoke the key ``key_id`` (the 12-hex id, or a whole key); returns its record.

    Revoking an already revoked key keeps its first revocation time. NotFoundError when no key
    has that id.
    """
    parsed = parse_key_id(key_id)
    key_id = parsed or key_id.strip()
    with catalog.engine.begin() as conn:
        conn.execute(api_keys.update()
                     .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                     .values(revoked_at=utc_now()))
    found = _find(catalog, key_id)
    if found is None:
        raise NotFoundError(f"no API key with id {key_id!r}; `datamoat keys list` shows the ids.")
    return found


def _find(catalog: Catalog, key_id: str) -> ApiKey | None:
    with catalog.engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
    return _record(row) if row is not None else None


def _record(row: sa.Row) -> ApiKey:
    return ApiKey(
        id=row.id, key_id=row.key_id, role=row.role, name=row.name, created_at=as_utc(row.created_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at is not None else None,
    )
