"""API keys: created once in plaintext, stored as sha256 only, verified, revoked, role checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from datamoat.catalog import Catalog
from datamoat.catalog.tables import api_keys
from datamoat.errors import DatamoatError, NotFoundError
from datamoat.serve.api_keys import ROLES, create_key, list_keys, revoke_key, role_allows, verify_key


def test_create_verify_revoke(catalog_url: str, tmp_path: Path) -> None:
    cat = Catalog(catalog_url, tmp_path / "lock")
    key, record = create_key(cat, "annotator", name="alice")
    prefix, key_id, secret = key[:3], key[3:15], key[16:]
    assert prefix == "dm_" and key[15] == "_" and key_id == record.key_id
    assert all(c in "0123456789abcdef" for c in key_id) and len(secret) >= 43
    found = verify_key(cat, key)
    assert found is not None and (found.role, found.name, found.active) == ("annotator", "alice", True)
    other_key, other = create_key(cat, "client")
    assert other.key_id != record.key_id and verify_key(cat, other_key).role == "client"
    assert [k.key_id for k in list_keys(cat)] == [record.key_id, other.key_id]

    revoked = revoke_key(cat, record.key_id)
    assert revoked.revoked_at is not None and not revoked.active
    assert verify_key(cat, key) is None and verify_key(cat, other_key) is not None
    assert revoke_key(cat, record.key_id).revoked_at == revoked.revoked_at  # revoking again changes nothing
    with pytest.raises(NotFoundError, match="000000000000"):
        revoke_key(cat, "000000000000")
    cat.close()


def test_malformed_and_forged_keys_are_refused(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")
    key, record = create_key(cat, "admin")
    last = key[-1]
    forged = [
        "", "dm_", "dm__", key[:-1], key + "x", key[:-1] + ("A" if last != "A" else "B"),  # wrong secret
        key.upper(), key.replace("dm_", "dx_", 1), key[:15] + key[16:], f"dm_{record.key_id}",
        f"Bearer {key}", "dm_" + "g" * 12 + key[15:], "dm_" + "0" * 12 + key[15:],
    ]
    for candidate in forged:
        assert verify_key(cat, candidate) is None, candidate
    assert verify_key(cat, None) is None  # type: ignore[arg-type]
    assert verify_key(cat, f"  {key}\n") is not None  # surrounding whitespace from a header is fine
    cat.close()


def test_only_the_hash_is_stored(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")
    keys = [create_key(cat, role, name=f"k-{role}")[0] for role in ROLES]
    with cat.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).mappings().all()
    stored = " ".join(str(v) for row in rows for v in row.values())
    for key in keys:
        secret = key[16:]
        assert key not in stored and secret not in stored and secret[:16] not in stored
        assert hashlib.sha256(key.encode()).hexdigest() in stored
    cat.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))  # the database file and its WAL
    assert all(key[16:].encode() not in raw for key in keys)


def test_roles_and_their_permissions(tmp_path: Path) -> None:
    allowed = {(role, perm) for role in ROLES for perm in ("predict", "feedback", "annotate", "read", "admin")
               if role_allows(role, perm)}
    assert allowed == {
        ("admin", "predict"), ("admin", "feedback"), ("admin", "annotate"), ("admin", "read"), ("admin", "admin"),
        ("annotator", "predict"), ("annotator", "feedback"), ("annotator", "annotate"), ("annotator", "read"),
        ("client", "predict"), ("client", "feedback"),
    }
    assert not role_allows("root", "predict") and not role_allows("admin", "fly")
    cat = Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")
    with pytest.raises(DatamoatError, match="admin, annotator, client"):
        create_key(cat, "superuser")
    with pytest.raises(DatamoatError, match="at most 200"):
        create_key(cat, "client", name="x" * 201)
    assert list_keys(cat) == []
    cat.close()


def test_a_key_name_that_looks_like_personal_data_is_refused(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")
    for name, kind in (("jane.roe@example.org", "EMAIL"), ("+1 415 555 2671", "PHONE")):
        with pytest.raises(DatamoatError, match=f"personal data \\({kind}\\)"):
            create_key(cat, "annotator", name=name)
    assert list_keys(cat) == []
    assert create_key(cat, "annotator", name="jane")[1].name == "jane"
    cat.close()
