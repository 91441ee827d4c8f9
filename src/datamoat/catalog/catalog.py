"""The catalog: which datasets and versions exist, and how they were made.

All reads and writes of catalog tables go through :class:`Catalog`. Writes are short
transactions; the data itself lives in the object store, which is written (and atomically
renamed into place) *before* the catalog row that makes it visible is inserted. A crash at any
point therefore leaves either no visible version or a complete one.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from datamoat.catalog import migrate
from datamoat.catalog.db import create_catalog_engine
from datamoat.catalog.records import DatasetRecord, VersionRecord, as_utc, dumps, utc_now
from datamoat.catalog.tables import datasets, lineage, runs, versions
from datamoat.errors import NotFoundError

_WRITE_RETRIES = 30


class Catalog:
    """Catalog of one workspace.

    url: SQLAlchemy URL of the database.
    lock_path: file used to serialise schema migrations between processes.
    """

    def __init__(self, url: str, lock_path: Path) -> None:
        self.url = url
        self.engine = create_catalog_engine(url)
        migrate.upgrade(self.engine, lock_path)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self.engine.begin() as conn:
            yield conn

    # ---------------------------------------------------------------- datasets
    def ensure_dataset(self, name: str, description: str = "") -> DatasetRecord:
        """Return dataset ``name``, creating it if needed (safe under concurrency)."""
        found = self.find_dataset(name)
        if found:
            return found
        try:
            with self._tx() as conn:
                conn.execute(
                    datasets.insert().values(name=name, created_at=utc_now(), description=description)
                )
        except IntegrityError:
            pass  # another process created it first
        found = self.find_dataset(name)
        assert found is not None
        return found

    def find_dataset(self, name: str) -> DatasetRecord | None:
        """The dataset called ``name``, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
        return _dataset(row) if row else None

    def get_dataset(self, name: str) -> DatasetRecord:
        """The dataset called ``name``; NotFoundError listing the known names otherwise."""
        found = self.find_dataset(name)
        if found is None:
            known = ", ".join(d.name for d in self.list_datasets()) or "none yet"
            raise NotFoundError(f"no dataset named {name!r}; known datasets: {known}.")
        return found

    def list_datasets(self) -> list[DatasetRecord]:
        """All datasets, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(datasets).order_by(datasets.c.name)).all()
        return [_dataset(r) for r in rows]

    def dataset_summaries(self) -> list[dict[str, Any]]:
        """Per dataset: name, number of versions, and the latest version's ref and row count."""
        out = []
        for ds in self.list_datasets():
            vs = self.list_versions(ds.name)
            latest = vs[-1] if vs else None
            out.append(
                {
                    "name": ds.name,
                    "versions": len(vs),
                    "latest": latest.ref if latest else None,
                    "latest_version": latest.ordinal if latest else None,
                    "rows": latest.row_count if latest else None,
                    "created_at": ds.created_at.isoformat(),
                }
            )
        return out

    # ---------------------------------------------------------------- versions
    def add_version(
        self,
        dataset: str,
        *,
        content_hash: str,
        row_count: int,
        excluded_count: int,
        schema: list[dict[str, Any]],
        roles: dict[str, Any],
        step: str,
        params: dict[str, Any],
        source: dict[str, Any],
        parents: list[int],
        also: Callable[[sa.Connection, int], None] | None = None,
    ) -> tuple[VersionRecord, bool]:
        """Register a version whose objects are already in the store.

        Returns (version, created). If the dataset already has a version with this content
        hash, that version is returned with created=False: the same content is stored once.
        also: called as ``also(connection, new_version_id)`` inside the transaction that inserts
        the version (state that must change only together with it, e.g. a source's cursor);
        not called when the version already existed.
        """
        ds = self.ensure_dataset(dataset)
        for attempt in range(_WRITE_RETRIES):
            existing = self._version_by_hash(ds.id, content_hash)
            if existing:
                return existing, False
            try:
                with self._tx() as conn:
                    ordinal = (
                        conn.execute(
                            sa.select(sa.func.coalesce(sa.func.max(versions.c.ordinal), 0)).where(
                                versions.c.dataset_id == ds.id
                            )
                        ).scalar_one()
                        + 1
                    )
                    new_id = conn.execute(
                        versions.insert().values(
                            dataset_id=ds.id,
                            ordinal=ordinal,
                            content_hash=content_hash,
                            row_count=row_count,
                            excluded_count=excluded_count,
                            schema_json=dumps(schema),
                            roles_json=dumps(roles),
                            step=step,
                            params_json=dumps(params),
                            source_json=dumps(source),
                            created_at=utc_now(),
                        )
                    ).inserted_primary_key[0]
                    for pos, parent in enumerate(parents):
                        conn.execute(lineage.insert().values(child_id=new_id, parent_id=parent, position=pos))
                    if also is not None:
                        also(conn, new_id)
            except IntegrityError:
                # lost a race for the ordinal or the hash: back off a random, growing while so that
                # writers that collided do not collide again in lock-step, then look again
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
                continue
            found = self._version_by_hash(ds.id, content_hash)
            assert found is not None
            return found, True
        raise RuntimeError(f"could not register a version of {dataset!r} after {_WRITE_RETRIES} attempts")

    def list_versions(self, dataset: str) -> list[VersionRecord]:
        """All versions of a dataset, oldest first."""
        ds = self.get_dataset(dataset)
        return self._select_versions(versions.c.dataset_id == ds.id)

    def version_by_id(self, version_id: int) -> VersionRecord:
        """The version with catalog id ``version_id``."""
        found = self._select_versions(versions.c.id == version_id)
        if not found:
            raise NotFoundError(f"no version with id {version_id}.")
        return found[0]

    def resolve(self, ref: str) -> VersionRecord:
        """Find a version from ``name``, ``name@latest``, ``name@<ordinal>`` or ``name@<hash prefix>``.

        Raises NotFoundError with the candidates when nothing or more than one version matches.
        """
        name, _, which = ref.partition("@")
        which = which or "latest"
        all_versions = self.list_versions(name)
        if not all_versions:
            raise NotFoundError(f"dataset {name!r} has no versions yet.")
        if which == "latest":
            return all_versions[-1]
        if which.isdigit() and len(which) < 7:
            for v in all_versions:
                if v.ordinal == int(which):
                    return v
            raise NotFoundError(
                f"dataset {name!r} has no version {which}; it has versions 1 to {all_versions[-1].ordinal}."
            )
        prefix = which.lower()
        matches = [v for v in all_versions if v.content_hash.startswith(prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(f"dataset {name!r} has no version whose hash starts with {which!r}.")
        raise NotFoundError(f"{ref!r} is ambiguous: {len(matches)} versions match; give more of the hash.")

    def _version_by_hash(self, dataset_id: int, content_hash: str) -> VersionRecord | None:
        found = self._select_versions(
            sa.and_(versions.c.dataset_id == dataset_id, versions.c.content_hash == content_hash)
        )
        return found[0] if found else None

    def _select_versions(self, where: sa.ColumnElement[bool]) -> list[VersionRecord]:
        query = (
            sa.select(versions, datasets.c.name.label("dataset_name"))
            .join(datasets, datasets.c.id == versions.c.dataset_id)
            .where(where)
            .order_by(versions.c.dataset_id, versions.c.ordinal)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            parents: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
            if ids:
                parent = versions.alias("parent")
                links = conn.execute(
                    sa.select(lineage.c.child_id, lineage.c.parent_id, datasets.c.name, parent.c.ordinal)
                    .join(parent, parent.c.id == lineage.c.parent_id)
                    .join(datasets, datasets.c.id == parent.c.dataset_id)
                    .where(lineage.c.child_id.in_(ids))
                    .order_by(lineage.c.child_id, lineage.c.position)
                ).all()
                for link in links:
                    parents[link.child_id].append((link.parent_id, f"{link.name}@{link.ordinal}"))
        return [_version(r, parents[r.id]) for r in rows]

    # ---------------------------------------------------------------- runs
    def record_run(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        status: str,
        started_at: Any,
        output_version_id: int | None = None,
        reused_existing: bool = False,
        summary: dict[str, Any] | None = None,
    ) -> int:
        """Append a run (a command that made or reused a version); returns its id."""
        with self._tx() as conn:
            return conn.execute(
                runs.insert().values(
                    kind=kind,
                    started_at=started_at,
                    finished_at=utc_now(),
                    status=status,
                    params_json=dumps(params),
                    output_version_id=output_version_id,
                    reused_existing=reused_existing,
                    summary_json=dumps(summary or {}),
                )
            ).inserted_primary_key[0]

    def list_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest runs first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit)).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "started_at": as_utc(r.started_at).isoformat(),
                "finished_at": as_utc(r.finished_at).isoformat() if r.finished_at else None,
                "params": json.loads(r.params_json),
                "output_version_id": r.output_version_id,
                "reused_existing": bool(r.reused_existing),
                "summary": json.loads(r.summary_json),
            }
            for r in rows
        ]


def _dataset(row: sa.Row) -> DatasetRecord:
    return DatasetRecord(
        id=row.id, name=row.name, created_at=as_utc(row.created_at), description=row.description
    )


def _version(row: sa.Row, parents: list[tuple[int, str]]) -> VersionRecord:
    return VersionRecord(
        id=row.id,
        dataset=row.dataset_name,
        ordinal=row.ordinal,
        content_hash=row.content_hash,
        row_count=row.row_count,
        excluded_count=row.excluded_count,
        schema=json.loads(row.schema_json),
        roles=json.loads(row.roles_json),
        step=row.step,
        params=json.loads(row.params_json),
        source=json.loads(row.source_json),
        created_at=as_utc(row.created_at),
        parents=[p for p, _ in parents],
        parent_refs=[ref for _, ref in parents],
    )
