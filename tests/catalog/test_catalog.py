"""The catalog: migrations, version registration, references, and several processes at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from datamoat.catalog import Catalog, migrate
from datamoat.catalog.db import create_catalog_engine
from datamoat.catalog.tables import metadata
from datamoat.errors import NotFoundError


def _add(cat: Catalog, name: str, h: str, parents: list[int] | None = None):
    return cat.add_version(
        name, content_hash=h, row_count=1, excluded_count=0, schema=[{"name": "a", "type": "string", "roles": []}],
        roles={}, step="ingest", params={}, source={}, parents=parents or [],
    )


def test_migrations_build_the_schema_described_in_tables(catalog_url: str, tmp_path: Path) -> None:
    cat = Catalog(catalog_url, tmp_path / "lock")
    insp = sa.inspect(cat.engine)
    for table in metadata.sorted_tables:
        assert table.name in insp.get_table_names()
        migrated = {c["name"] for c in insp.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
    assert migrate.current_revision(cat.engine) == migrate.head_revision() == migrate.HEAD_REVISION


def test_old_workspace_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    engine = create_catalog_engine(url)
    migrate.upgrade(engine, tmp_path / "lock", target="0001")  # what an older release made
    assert migrate.current_revision(engine) == "0001"
    with engine.begin() as conn:
        assert "runs" not in sa.inspect(conn).get_table_names()
        conn.execute(sa.text("INSERT INTO datasets (name, created_at, description) VALUES ('old', '2025-01-01 00:00:00', '')"))
        conn.execute(sa.text(
            "INSERT INTO versions (dataset_id, ordinal, content_hash, row_count, excluded_count, schema_json, roles_json,"
            " step, params_json, source_json, created_at) VALUES (1, 1, :h, 7, 0, '[]', '{}', 'ingest', '{}', '{}',"
            " '2025-01-01 00:00:00')"), {"h": "f" * 64})
    engine.dispose()
    cat = Catalog(url, tmp_path / "lock")  # a newer release opens it
    assert migrate.current_revision(cat.engine) == migrate.head_revision()
    v = cat.resolve("old@1")
    assert (v.row_count, v.content_hash) == (7, "f" * 64)
    assert cat.list_runs() == []


def test_same_content_is_registered_once(catalog_url: str, tmp_path: Path) -> None:
    cat = Catalog(catalog_url, tmp_path / "lock")
    v1, created1 = _add(cat, "d", "a" * 64)
    v2, created2 = _add(cat, "d", "a" * 64)
    assert created1 and not created2 and v1.id == v2.id
    v3, created3 = _add(cat, "d", "b" * 64, parents=[v1.id])
    assert created3 and v3.ordinal == 2 and v3.parents == [v1.id] and v3.parent_refs == ["d@1"]
    # another dataset may hold the same content as its own version 1
    v4, created4 = _add(cat, "e", "a" * 64)
    assert created4 and v4.ordinal == 1


def test_references_resolve_by_latest_ordinal_and_hash_prefix(catalog_url: str, tmp_path: Path) -> None:
    cat = Catalog(catalog_url, tmp_path / "lock")
    _add(cat, "d", "abc1" + "0" * 60)
    _add(cat, "d", "abc2" + "0" * 60)
    _add(cat, "d", "ffff" + "0" * 60)
    assert cat.resolve("d").ordinal == 3
    assert cat.resolve("d@latest").ordinal == 3
    assert cat.resolve("d@2").content_hash.startswith("abc2")
    assert cat.resolve("d@abc1").ordinal == 1
    assert cat.resolve("d@FFFF").ordinal == 3
    with pytest.raises(NotFoundError, match="ambiguous"):
        cat.resolve("d@abc")
    with pytest.raises(NotFoundError, match="no version 9"):
        cat.resolve("d@9")
    with pytest.raises(NotFoundError, match="no dataset named 'nope'; known datasets: d"):
        cat.resolve("nope@1")


def _writer(args: tuple[str, str, int, int]) -> list[int]:
    url, lock, worker, count = args
    cat = Catalog(url, Path(lock))
    out = []
    for i in range(count):
        v, _ = _add(cat, "shared", f"{worker:02d}{i:02d}".ljust(64, "0"))
        out.append(v.ordinal)
        _add(cat, "same", "9" * 64)  # every process registers the same content too
    cat.close()
    return out


def test_several_processes_register_versions_without_conflicts(catalog_url: str, tmp_path: Path) -> None:
    url = catalog_url
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_writer, [(url, str(tmp_path / "lock"), w, 6) for w in range(4)])
    cat = Catalog(url, tmp_path / "lock")
    ordinals = sorted(v.ordinal for v in cat.list_versions("shared"))
    assert ordinals == list(range(1, 25))
    assert sorted(o for r in results for o in r) == ordinals
    assert len(cat.list_versions("same")) == 1
    if url.startswith("sqlite"):
        with cat.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
