"""The keyed audit chain and signed checkpoints: truncation and rewrites are detected."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from datamoat.catalog import Catalog, migrate
from datamoat.catalog.audit import (
    GENESIS,
    append_event,
    audit_key,
    chain_hash,
    event_body,
    verify_chain,
)
from datamoat.catalog.audit_checkpoint import check_against, read_checkpoint, write_checkpoint
from datamoat.errors import DatamoatError

KEY = "ab" * 32
OTHER_KEY = "cd" * 32


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    key = audit_key()
    assert key is not None and key != bytes.fromhex(KEY)  # derived, not the key itself
    return key


def _no_key_configured(monkeypatch: pytest.MonkeyPatch, cat: Catalog) -> None:
    """No DATAMOAT_KEY_FILE and no default key file (HOME points at an empty folder)."""
    monkeypatch.delenv("DATAMOAT_KEY_FILE", raising=False)
    monkeypatch.setenv("HOME", str(Path(cat.engine.url.database).parent / "empty-home"))


def _catalog(tmp_path: Path) -> Catalog:
    return Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")


def _rewrite(cat: Catalog, key: bytes | None, chain_version: int, actor: str = "mallory") -> None:
    """What an attacker with write access does: edit every event and recompute the chain."""
    with cat.engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, at, action, subject, details_json FROM audit_events ORDER BY id")).all()
        prev = GENESIS
        for row in rows:
            at = datetime.fromisoformat(str(row.at)).replace(tzinfo=UTC)
            digest = chain_hash(prev, event_body(at, actor, row.action, row.subject, json.loads(row.details_json)), key)
            conn.execute(sa.text("UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h, chain_version = :v "
                                 "WHERE id = :i"), {"a": actor, "p": prev, "h": digest, "v": chain_version, "i": row.id})
            prev = digest


@pytest.fixture
def logged(tmp_path: Path, keyed: bytes) -> tuple[Catalog, Path]:
    """A keyed log of 4 events and a checkpoint of it outside the catalog."""
    cat = _catalog(tmp_path)
    for i in range(4):
        append_event(cat, "export", f"d@{i}", {"rows": i}, actor="alice")
    out = tmp_path / "outside" / "cp.json"
    out.parent.mkdir()
    write_checkpoint(cat, out, tmp_path / "state")
    check = verify_chain(cat)
    assert check.ok and (check.keyed, check.unkeyed) == (4, 0)
    assert check_against(cat, read_checkpoint(out)) is None
    return cat, out


def test_deleting_the_last_event_is_detected_with_a_checkpoint(logged: tuple[Catalog, Path]) -> None:
    cat, out = logged
    with cat.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE id = 4"))
    assert verify_chain(cat).ok  # the chain alone cannot tell
    assert "has 3 events but had 4" in check_against(cat, read_checkpoint(out))


def test_deleting_all_events_is_detected_with_a_checkpoint(logged: tuple[Catalog, Path]) -> None:
    cat, out = logged
    with cat.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events"))
    assert verify_chain(cat).ok and verify_chain(cat).events == 0
    assert "has 0 events but had 4" in check_against(cat, read_checkpoint(out))


def test_a_rewrite_with_a_recomputed_unkeyed_chain_is_detected(logged: tuple[Catalog, Path]) -> None:
    cat, out = logged
    _rewrite(cat, key=None, chain_version=1)
    assert verify_chain(cat).ok  # a wholly unkeyed log looks like one from before keying ...
    assert "no longer has the hash" in check_against(cat, read_checkpoint(out))  # ... but not to the checkpoint


def test_a_rewrite_needs_the_key_a_wrong_key_fails(logged: tuple[Catalog, Path]) -> None:
    cat, _ = logged
    wrong = hashlib.sha256(b"guess").digest()
    _rewrite(cat, key=wrong, chain_version=2)
    bad = verify_chain(cat)
    assert not bad.ok and bad.first_bad_id == 1 and "another key" in bad.problem


def test_appends_without_the_logs_key_are_unkeyed_and_reported(
    logged: tuple[Catalog, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cat, out = logged
    monkeypatch.setenv("DATAMOAT_KEY", OTHER_KEY)
    append_event(cat, "decrypt", "d@8")  # a process with the wrong key must not key with it
    monkeypatch.delenv("DATAMOAT_KEY")
    _no_key_configured(monkeypatch, cat)
    append_event(cat, "export", "d@9")  # a process without a key
    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    check = verify_chain(cat)
    assert check.ok and (check.keyed, check.unkeyed, check.unkeyed_after_keyed) == (4, 2, 2)
    assert check_against(cat, read_checkpoint(out)) is None  # the checkpointed events are intact


def test_checkpoint_is_signed_and_needs_the_key(logged: tuple[Catalog, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cat, out = logged
    data = json.loads(out.read_text())
    data["events"] = 2
    out.write_text(json.dumps(data))
    with pytest.raises(DatamoatError, match="signature does not match"):
        read_checkpoint(out)
    monkeypatch.setenv("DATAMOAT_KEY", OTHER_KEY)
    write_checkpoint(cat, out, out.parent.parent / "state")  # signed with another key
    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    with pytest.raises(DatamoatError, match="signed with another key"):
        read_checkpoint(out)
    monkeypatch.delenv("DATAMOAT_KEY")
    _no_key_configured(monkeypatch, cat)
    with pytest.raises(DatamoatError, match="signed with the workspace key"):
        write_checkpoint(cat, out, out.parent.parent / "state")
    no_key = verify_chain(cat)
    assert no_key.ok and not no_key.key_configured  # links checked, HMACs not


def test_checkpoint_inside_the_state_folder_is_refused(tmp_path: Path, keyed: bytes) -> None:
    cat = _catalog(tmp_path)
    with pytest.raises(DatamoatError, match="guards nothing"):
        write_checkpoint(cat, tmp_path / "cp.json", tmp_path)


def test_events_from_before_keying_still_verify_after_the_migration(tmp_path: Path, keyed: bytes) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/c.db")
    migrate.upgrade(engine, tmp_path / "lock", target="0005")
    prev = GENESIS
    with engine.begin() as conn:  # written by the old code: unkeyed sha256, no chain_version column
        for i in range(3):
            at = datetime(2025, 1, 1, i, tzinfo=UTC)
            body = json.dumps({"at": at.isoformat(), "actor": "bob", "action": "export", "subject": f"d@{i}",
                               "details": {}}, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
            conn.execute(sa.text("INSERT INTO audit_events (at, actor, action, subject, details_json, prev_hash, hash) "
                                 "VALUES (:at, 'bob', 'export', :s, '{}', :p, :h)"),
                         {"at": at.replace(tzinfo=None), "s": f"d@{i}", "p": prev, "h": digest})
            prev = digest
    engine.dispose()
    cat = _catalog(tmp_path)  # migrates to 0006
    append_event(cat, "export", "d@3")
    check = verify_chain(cat)
    assert check.ok and (check.events, check.unkeyed, check.keyed) == (4, 3, 1)


def test_cli_checkpoint_and_verify_against(cli, tmp_path: Path, keyed: bytes) -> None:
    (tmp_path / "t.csv").write_text("id,text\n1,a\n2,b\n")
    cli("init")
    cli("ingest", str(tmp_path / "t.csv"), "--name", "t")
    assert cli("export", "t", str(tmp_path / "out.csv"))[0] == 0
    cp = tmp_path / "cp.json"
    code, out, err = cli("audit", "checkpoint", "--out", str(cp))
    assert code == 0, err
    code, out, err = cli("audit", "verify", "--against", str(cp))
    assert code == 0 and "1 keyed with HMAC-SHA256" in out and "its 1 events are all there" in out
    cat = Catalog(f"sqlite:///{tmp_path}/ws/.datamoat/catalog.db", tmp_path / "lock2")
    with cat.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events"))
    code, _, err = cli("audit", "verify", "--against", str(cp))
    assert code == 1 and "has 0 events but had 1" in " ".join(err.split())


def test_cli_verify_without_a_key_says_so(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.delenv("DATAMOAT_KEY_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no default key file either
    (tmp_path / "t.csv").write_text("id,text\n1,a\n")
    cli("init")
    cli("ingest", str(tmp_path / "t.csv"), "--name", "t")
    assert cli("export", "t", str(tmp_path / "out.csv"))[0] == 0
    code, out, err = cli("audit", "verify")
    assert code == 0 and "0 keyed with HMAC-SHA256, 1 unkeyed" in out
    assert "no key configured" in " ".join(err.split())
    code, _, err = cli("audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    assert code == 1 and "signed with the workspace key" in " ".join(err.split())


def test_a_configured_but_unusable_key_raises_instead_of_meaning_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cat = _catalog(tmp_path)
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(DatamoatError, match="no encryption key.*not a file"):
        append_event(cat, "export", "d@1")
    bad = tmp_path / "bad-key"
    bad.write_text("not a key\n")
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(bad))
    with pytest.raises(DatamoatError, match="not a key|must have 32"):
        audit_key()
    bad.write_text(KEY + "\n")  # the same path, fixed: the cache notices the new file
    assert audit_key() is not None
    _no_key_configured(monkeypatch, cat)
    assert audit_key() is None
    assert verify_chain(cat).events == 0


def test_a_forked_log_stops_the_migration(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/c.db")
    migrate.upgrade(engine, tmp_path / "lock", target="0005")
    with engine.begin() as conn:  # two events chained onto the first one: what a lost race left
        for i, prev in enumerate((GENESIS, "a" * 64, "a" * 64)):
            conn.execute(sa.text("INSERT INTO audit_events (at, actor, action, subject, details_json, prev_hash, hash) "
                                 "VALUES ('2025-01-01', 'bob', 'export', 'd', '{}', :p, :h)"), {"p": prev, "h": str(i) * 64})
    with pytest.raises(RuntimeError, match="audit log is forked.*events 2 and 3"):
        migrate.upgrade(engine, tmp_path / "lock")
    engine.dispose()
