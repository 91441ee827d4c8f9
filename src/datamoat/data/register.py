"""Making a written version visible: its catalog row and the run that made it.

Every producer of versions (ingest, recipes, and later trainers' data steps) ends the same
way: the object store already holds the files; one catalog row makes them a version of a
dataset (or returns the identical existing one), and one run row records who made it with
which parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from datamoat.catalog import Catalog, VersionRecord
from datamoat.data.dataset_name import check_dataset_name
from datamoat.data.roles import ColumnRoles
from datamoat.data.version_writer import WrittenVersion


def schema_with_roles(schema: pa.Schema, roles: ColumnRoles) -> list[dict[str, Any]]:
    """The manifest's schema: name, Arrow type and roles of every column."""
    return [{"name": f.name, "type": str(f.type), "roles": roles.role_of(f.name)} for f in schema]


def register_version(
    catalog: Catalog,
    dataset: str,
    written: WrittenVersion,
    roles: ColumnRoles,
    *,
    step: str,
    params: dict[str, Any],
    source: dict[str, Any],
    parents: list[int],
    started: datetime,
    run_params: dict[str, Any],
    summary: dict[str, Any],
    also: Callable[[sa.Connection, int], None] | None = None,
) -> tuple[VersionRecord, bool]:
    """Register ``written`` as a version of ``dataset`` and record the run.

    step / params: what made the version (kept in its manifest). run_params / summary: what
    the run log shows (inputs, counts). also: run inside the version's insert transaction
    (see :meth:`Catalog.add_version`). Returns (version, created); created is False when the
    dataset already had this exact content.
    """
    if catalog.find_dataset(dataset) is None:  # names of existing datasets were checked then
        check_dataset_name(dataset)
    version, created = catalog.add_version(
        dataset,
        content_hash=written.content_hash,
        row_count=written.row_count,
        excluded_count=written.excluded_count,
        schema=schema_with_roles(written.schema, roles),
        roles=roles.to_dict(),
        step=step,
        params=params,
        source=source,
        parents=parents,
        also=also,
    )
    catalog.record_run(
        step,
        run_params,
        status="ok",
        started_at=started,
        output_version_id=version.id,
        reused_existing=not created,
        summary=summary,
    )
    return version, created
