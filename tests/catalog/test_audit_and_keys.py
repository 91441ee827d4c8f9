"""The hash-chained audit log and key handling."""

from __future__ import annotations

import multiprocessing
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import Catalog
from datamoat.catalog.audit import append_event, list_events, verify_chain
from datamoat.catalog.records import utc_now
from datamoat.errors import DatamoatError
from datamoat.keys import find_key, generate_key_file, load_key, parse_key
from datamoat.workspace import Workspace

HEX_KEY = "ab" * 32


def _catalog(tmp_path: Path) -> Catalog:
    return Catalog(f"sqlite:///{tmp_path}/c.db", tmp_path / "lock")


def test_chain_verifies_and_any_edit_or_deletion_breaks_it(tmp_path: Path) -> None:
    cat = _catalog(tmp_path)
    for i in range(4):
        append_event(cat, "export", f"d@{i}", {"rows": i}, actor="alice")
    assert verify_chain(cat).ok and verify_chain(cat).events == 4
    with cat.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET details_json = '{\"rows\": 99}' WHERE id = 3"))
    bad = verify_chain(cat)
    assert not bad.ok and bad.first_bad_id == 3 and "edited" in bad.problem

    (tmp_path / "b").mkdir()
    cat2 = _catalog(tmp_path / "b")
    for i in range(4):
        append_event(cat2, "export", f"d@{i}")
    with cat2.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE id = 2"))
    gone = verify_chain(cat2)
    assert not gone.ok and gone.first_bad_id == 3 and "deleted" in gone.problem


def _append_many(args: tuple[str, str, int]) -> None:
    url, lock, n = args
    cat = Catalog(url, Path(lock))
    for i in range(n):
        append_event(cat, "export", f"p{os.getpid()}-{i}")
    cat.close()


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    _catalog(tmp_path).close()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        pool.map(_append_many, [(url, str(tmp_path / "lock"), 8)] * 3)
    check = verify_chain(_catalog(tmp_path))
    assert check.ok and check.events == 24


def test_concurrent_threads_keep_one_chain_on_sqlite_and_postgresql(catalog_url: str, tmp_path: Path) -> None:
    """Writers racing for the same last event: one unbroken chain, nothing lost, nothing forked."""
    cat = Catalog(catalog_url, tmp_path / "lock")
    threads, each = 8, 10
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: [append_event(cat, "export", f"t{t}-{i}") for i in range(each)], range(threads)))
    check = verify_chain(cat)
    assert check.ok and check.events == threads * each
    with cat.engine.connect() as conn:  # the guard: a second event chained onto the same one is refused
        last = conn.execute(sa.text("SELECT prev_hash FROM audit_events ORDER BY id DESC LIMIT 1")).scalar()
    with pytest.raises(IntegrityError), cat.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_events (at, actor, action, subject, details_json, prev_hash, hash, "
                             "chain_version) VALUES (:at, 'm', 'export', 'x', '{}', :p, :h, 1)"),
                     {"at": utc_now(), "p": last, "h": "f" * 64})
    cat.close()


def test_export_is_audited_and_cli_verify_fails_after_tampering(cli, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,text\n1,a\n2,b\n")
    cli("init")
    cli("ingest", str(tmp_path / "t.csv"), "--name", "t")
    assert cli("export", "t", str(tmp_path / "out.csv"))[0] == 0
    ws = Workspace.open(tmp_path / "ws")
    events = list_events(ws.catalog)
    assert events[0]["action"] == "export" and events[0]["details"]["rows"] == 2
    assert cli("audit", "verify")[0] == 0
    with ws.catalog.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'mallory'"))
    code, _, err = cli("audit", "verify")
    assert code == 1 and "audit log broken at event 1" in " ".join(err.split())


def test_keys_parse_load_and_stay_out_of_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_key(HEX_KEY, "k") == bytes.fromhex(HEX_KEY)
    with pytest.raises(DatamoatError, match="must have 32"):
        parse_key("ab" * 16, "k")
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(DatamoatError, match="no encryption key"):
        load_key()
    key_file = generate_key_file(tmp_path / "keys" / "k")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(DatamoatError, match="refusing to overwrite"):
        generate_key_file(key_file)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(key_file))
    assert len(load_key(workspace_root=tmp_path / "ws")) == 32
    inside = tmp_path / "ws" / "key"
    inside.parent.mkdir()
    inside.write_text(HEX_KEY)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(inside))
    with pytest.raises(DatamoatError, match="inside the workspace"):
        load_key(workspace_root=tmp_path / "ws")
    with pytest.raises(DatamoatError, match="inside the workspace"):
        find_key(workspace_root=tmp_path / "ws")
    monkeypatch.setenv("DATAMOAT_KEY", HEX_KEY)
    assert load_key(workspace_root=tmp_path / "ws") == bytes.fromhex(HEX_KEY)


def test_find_key_is_none_only_when_nothing_is_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.delenv("DATAMOAT_KEY_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_key() is None
    with pytest.raises(DatamoatError, match="no encryption key"):
        load_key()
    default = tmp_path / ".config" / "datamoat" / "key"
    default.parent.mkdir(parents=True)
    default.write_text("garbage\n")
    with pytest.raises(DatamoatError, match="not a key|must have 32"):
        find_key()
    default.write_text(HEX_KEY)
    assert find_key() == load_key() == bytes.fromhex(HEX_KEY)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(DatamoatError, match="not a file"):
        find_key()  # a configured file that is missing is not "no key"
