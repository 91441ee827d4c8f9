"""Column encryption at rest: AES-GCM per value bound to row and column, the step, decryption and audit."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

from datamoat.catalog.audit import list_events, verify_chain
from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError, StepError
from datamoat.pipeline import LocalExecutor, Recipe
from datamoat.pipeline.registry import create_step
from datamoat.privacy.encryption import (
    EncryptColumns,
    decrypt_column,
    decrypt_values,
    encrypt_values,
    encrypt_version,
)

KEY_HEX = "a1" * 32
OTHER_KEY_HEX = "b2" * 32


def test_round_trip_keeps_values_and_types():
    key = bytes.fromhex(KEY_HEX)
    values = pa.array(["alice", None, "bob ☃", "alice"])
    ids = pa.array(["r1", "r2", "r3", "r4"])
    sealed = encrypt_values(values, ids, "name", key)
    assert sealed.type == pa.binary() and sealed[1].as_py() is None
    assert sealed[0].as_py() != sealed[3].as_py()  # same value, different nonce
    assert b"alice" not in b"".join(v for v in sealed.to_pylist() if v)
    assert decrypt_values(sealed, ids, "name", key).to_pylist() == values.to_pylist()
    numbers = pa.array([1.5, -2.0, None])
    back = decrypt_values(encrypt_values(numbers, ids[:3], "x", key), ids[:3], "x", key, type=pa.float64())
    assert back.equals(numbers)


def test_wrong_key_and_moved_values_are_refused():
    key = bytes.fromhex(KEY_HEX)
    ids = pa.array(["r1", "r2"])
    sealed = encrypt_values(pa.array(["s1", "s2"]), ids, "diagnosis", key)
    with pytest.raises(DatamoatError, match="wrong key"):
        decrypt_values(sealed, ids, "diagnosis", bytes.fromhex(OTHER_KEY_HEX))
    swapped = pa.array(list(reversed(sealed.to_pylist())), pa.binary())
    with pytest.raises(DatamoatError, match="moved"):
        decrypt_values(swapped, ids, "diagnosis", key)
    with pytest.raises(DatamoatError, match="moved"):
        decrypt_values(sealed, ids, "other_column", key)
    tampered = bytearray(sealed[0].as_py())
    tampered[-1] ^= 1
    with pytest.raises(DatamoatError):
        decrypt_values(pa.array([bytes(tampered)], pa.binary()), ids[:1], "diagnosis", key)


def test_step_never_carries_the_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATAMOAT_KEY", KEY_HEX)
    step = create_step("encrypt_columns", {})
    schema = pa.schema([("_dm_row_id", pa.string()), ("name", pa.string()), ("city", pa.string())])
    step.bind(ColumnRoles.from_dict({"sensitive": ["name"]}), schema)
    assert step.params() == {"columns": None}
    shipped = pickle.dumps(step)
    assert bytes.fromhex(KEY_HEX) not in shipped and KEY_HEX.encode() not in shipped
    worker_copy = pickle.loads(shipped)  # as a worker process receives it: loads the key itself
    batch = pa.RecordBatch.from_pydict({"_dm_row_id": ["a"], "name": ["n"], "city": ["c"]}, schema=schema)
    out = worker_copy.apply(batch)
    assert out.schema.field("name").type == pa.binary() and out.column("city").to_pylist() == ["c"]
    assert decrypt_values(
        out.column("name"), out.column("_dm_row_id"), "name", bytes.fromhex(KEY_HEX)
    ).to_pylist() == ["n"]


def test_step_without_a_key_fails_at_bind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("DATAMOAT_KEY", raising=False)
    monkeypatch.setenv("DATAMOAT_KEY_FILE", str(tmp_path / "missing-key"))
    step = create_step("encrypt_columns", {"columns": ["name"]})
    schema = pa.schema([("_dm_row_id", pa.string()), ("name", pa.string())])
    with pytest.raises(StepError, match="no encryption key"):
        step.bind(ColumnRoles(), schema)
    with pytest.raises(StepError, match="no columns given"):
        EncryptColumns().bind(ColumnRoles(), schema)


def test_worker_processes_get_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATAMOAT_KEY", KEY_HEX)
    schema = pa.schema([("_dm_row_id", pa.string()), ("secret", pa.string())])
    batches = [
        pa.RecordBatch.from_pydict(
            {"_dm_row_id": [f"{b}-{i}" for i in range(20)], "secret": [f"s{b}-{i}" for i in range(20)]},
            schema=schema,
        )
        for b in range(4)
    ]
    recipe = Recipe.from_list([{"step": "encrypt_columns", "columns": ["secret"]}])
    run = LocalExecutor(workers=2).run(recipe, ColumnRoles(), lambda: iter(batches))
    with run:
        out = pa.Table.from_batches(list(run.batches()))
    assert out.num_rows == 80 and out.schema.field("secret").type == pa.binary()
    plain = decrypt_values(
        out.column("secret").combine_chunks(),
        out.column("_dm_row_id").combine_chunks(),
        "secret",
        bytes.fromhex(KEY_HEX),
    )
    assert plain.to_pylist() == [f"s{b}-{i}" for b in range(4) for i in range(20)]


def test_encrypt_a_version_then_decrypt_with_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from datamoat.workspace import Workspace

    monkeypatch.setenv("DATAMOAT_KEY", KEY_HEX)
    csv = tmp_path / "patients.csv"
    csv.write_text(
        "id,age,diagnosis\n1,34,hypertension-secret\n2,51,\n3,29,asthma-secret\n", encoding="utf-8"
    )
    ws = Workspace.init(tmp_path / "ws")
    try:
        v = ws.ingest(csv, name="patients", id="id", roles={"sensitive": ["diagnosis"]})
        result = encrypt_version(ws.catalog, ws.store, v, workers=1)
        enc = result.version
        assert enc.schema.field("diagnosis").type == pa.binary()
        assert enc.to_arrow().column("age").to_pylist() == [34, 51, 29]
        for path in enc.shard_paths():
            assert b"secret" not in path.read_bytes()
        assert "a1a1" not in str(enc.manifest())

        back = decrypt_column(ws.catalog, enc, "diagnosis", workspace_root=ws.root)
        original = v.to_arrow(["_dm_row_id", "diagnosis"])
        assert back.column("diagnosis").to_pylist() == original.column("diagnosis").to_pylist()
        assert back.column("_dm_row_id").to_pylist() == original.column("_dm_row_id").to_pylist()

        monkeypatch.setenv("DATAMOAT_KEY", OTHER_KEY_HEX)
        with pytest.raises(DatamoatError, match="wrong key"):
            decrypt_column(ws.catalog, enc, "diagnosis", workspace_root=ws.root)

        events = [e for e in list_events(ws.catalog) if e["action"] == "decrypt"]
        assert [e["details"]["ok"] for e in events] == [False, True]  # newest first
        assert any(e["action"] == "key_use" and e["subject"] == enc.ref for e in list_events(ws.catalog))
        assert all(e["subject"] == enc.ref for e in events)
        monkeypatch.setenv("DATAMOAT_KEY", KEY_HEX)  # the keyed audit chain is checked with its own key
        assert verify_chain(ws.catalog).ok
    finally:
        ws.close()


def test_key_file_inside_the_workspace_is_refused_for_decryption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    try:
        key_file = ws.root / "key"
        key_file.write_text(KEY_HEX)
        os.chmod(key_file, 0o600)
        monkeypatch.delenv("DATAMOAT_KEY", raising=False)
        monkeypatch.setenv("DATAMOAT_KEY_FILE", str(key_file))
        csv = tmp_path / "t.csv"
        csv.write_text("id,s\n1,x\n", encoding="utf-8")
        v = ws.ingest(csv, name="t", id="id")
        with pytest.raises(DatamoatError, match="inside the workspace"):
            decrypt_column(ws.catalog, v, "s", workspace_root=ws.root)
    finally:
        ws.close()
