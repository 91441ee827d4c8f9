"""Undo what a failed multi-stage command registered: a mark before it, a rollback after.

A command like ``datamoat run`` makes several datasets, versions, runs and a model before it
can fail (one class left after cleaning, a test file with unseen labels, ...). The user must
find the workspace as it was. :func:`undo_on_failure` wraps such a command: it takes a
:class:`CatalogMark` (the highest id of each table) when the command starts and, when it fails,
owns every version created after the mark in the datasets the command works on (the ones it
made itself and the ones its callees made, e.g. a ``-train`` split) and deletes them with
their lineage, runs and models in one transaction, then the datasets created after the mark
that are left without versions, and appends one audit event with the error's type and the
counts. Versions of OTHER datasets created meanwhile by another process are never touched.
Nested uses (``train_model`` inside ``run_loop``) leave the rollback to the outermost one.

What is not undone: files in the object store stay (versions are content-addressed and may be
shared; an unreferenced version directory is harmless and is re-used by the next identical
write), and audit events stay (the log is append-only; the caller appends a rollback event).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import sqlalchemy as sa

from datamoat.catalog import tables as t
from datamoat.catalog.catalog import Catalog


@dataclass
class CatalogMark:
    """Highest ids of datasets, versions, runs and models when a command started."""

    dataset_id: int
    version_id: int
    run_id: int
    model_id: int
    owned_versions: set[int] = field(default_factory=set)

    def own(self, version_id: int) -> None:
        """Record a version the command made (ids at or below the mark existed before: ignored)."""
        if version_id > self.version_id:
            self.owned_versions.add(version_id)


def _max_id(conn: sa.Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())


def mark(catalog: Catalog) -> CatalogMark:
    """The current high-water mark of the catalog's dataset, version, run and model ids."""
    with catalog.engine.connect() as conn:
        return CatalogMark(_max_id(conn, t.datasets), _max_id(conn, t.versions), _max_id(conn, t.runs),
                           _max_id(conn, t.models))


def own_datasets(catalog: Catalog, at: CatalogMark, names: list[str]) -> None:
    """Own every version created after ``at`` in the datasets ``names`` (made by callees too)."""
    with catalog.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.versions.c.id).join(t.datasets, t.datasets.c.id == t.versions.c.dataset_id).where(
                (t.versions.c.id > at.version_id) & t.datasets.c.name.in_(names)))
        for (version_id,) in rows:
            at.own(int(version_id))


def rollback_to(catalog: Catalog, at: CatalogMark) -> dict[str, int]:
    """Delete the versions in ``at.owned_versions``, the models trained on them (created after
    ``at``), their aliases, lineage and runs, and datasets created after ``at`` that are left
    without versions.

    Returns the number of rows deleted per table. One transaction: all or nothing.
    """
    versions = sorted(at.owned_versions)
    deleted: dict[str, int] = {}
    with catalog.engine.begin() as conn:
        models = [int(r[0]) for r in conn.execute(sa.select(t.models.c.id).where(
            (t.models.c.id > at.model_id) & t.models.c.train_version_id.in_(versions)))] if versions else []
        if models:
            deleted["model_aliases"] = conn.execute(
                sa.delete(t.model_aliases).where(t.model_aliases.c.model_id.in_(models))).rowcount
            deleted["models"] = conn.execute(sa.delete(t.models).where(t.models.c.id.in_(models))).rowcount
        if versions:
            deleted["lineage"] = conn.execute(sa.delete(t.lineage).where(t.lineage.c.child_id.in_(versions))).rowcount
            deleted["runs"] = conn.execute(sa.delete(t.runs).where(
                t.runs.c.output_version_id.in_(versions) & (t.runs.c.id > at.run_id))).rowcount
            deleted["versions"] = conn.execute(sa.delete(t.versions).where(t.versions.c.id.in_(versions))).rowcount
        empty = sa.select(t.datasets.c.id).where(
            (t.datasets.c.id > at.dataset_id)
            & ~sa.exists().where(t.versions.c.dataset_id == t.datasets.c.id))
        ids = [int(r[0]) for r in conn.execute(empty)]
        if ids:
            deleted["datasets"] = conn.execute(sa.delete(t.datasets).where(t.datasets.c.id.in_(ids))).rowcount
    return deleted


_ACTIVE: ContextVar[bool] = ContextVar("datamoat_undo_active", default=False)


@contextmanager
def undo_on_failure(catalog: Catalog, datasets: Sequence[str], subject: str) -> Iterator[CatalogMark]:
    """Roll back what the ``with`` block registered in ``datasets`` when it raises (see module doc).

    Yields the mark (callers may :meth:`CatalogMark.own` versions explicitly too). subject:
    what the audit event names (the source file or the dataset).
    """
    if _ACTIVE.get():
        yield mark(catalog)  # an outer undo_on_failure rolls back for both
        return
    token = _ACTIVE.set(True)
    at = mark(catalog)
    try:
        yield at
    except BaseException as exc:
        own_datasets(catalog, at, list(datasets))
        if at.owned_versions:
            removed = rollback_to(catalog, at)
            from datamoat.catalog.audit import append_event

            # the error's text may quote data values: only its type goes into the log
            append_event(catalog, "rolled back", subject, {"error": type(exc).__name__, "removed": removed})
        raise
    finally:
        _ACTIVE.reset(token)

