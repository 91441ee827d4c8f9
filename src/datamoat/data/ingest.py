"""Ingest: one source -> one immutable dataset version.

Pass 1 streams the reader's batches, computes a row id for every row (see row_ids.py), feeds
type inference (for text sources such as CSV) and spills the batches to Arrow IPC. Pass 2
reads the spill back, casts every batch to the final schema, disambiguates repeated row ids
and writes the Parquet shards. Rows the reader could not parse (only with
``on_bad_rows="skip"``) go to the version's exclusions table with the reason and raw text.

Memory is bounded by one batch plus 8 bytes per row for the row-id keys. Nothing becomes
visible until the finished version is renamed into the object store and registered in the
catalog; any error (or a kill) before that leaves the workspace as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from datamoat.catalog import Catalog, VersionRecord
from datamoat.catalog.records import utc_now
from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA
from datamoat.data.object_store import ObjectStore
from datamoat.data.readers import open_source
from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, BadRow, OnBadRows
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.data.row_ids import (
    ContentRowIds,
    OccurrenceCounter,
    hex16_to_uint64,
    user_row_ids,
    with_occurrence_suffix,
)
from datamoat.data.schema_unify import conform, unify
from datamoat.data.staging import SpillFiles
from datamoat.data.type_inference import StringTypeInferrer
from datamoat.data.version_writer import VersionWriter
from datamoat.errors import DatamoatError, InputError

ProgressFn = Callable[[int], None]
"""Called with the number of rows read so far."""

INGEST_STEP = "ingest"


@dataclass(frozen=True)
class IngestResult:
    """version: the catalog record; created: False when identical content was already stored."""

    version: VersionRecord
    created: bool


def schema_with_roles(schema: pa.Schema, roles: ColumnRoles) -> list[dict[str, Any]]:
    """The manifest's schema: name, Arrow type and roles of every column."""
    return [{"name": f.name, "type": str(f.type), "roles": roles.role_of(f.name)} for f in schema]


def _bad_rows_batch(rows: list[BadRow]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "_dm_row_id": [None] * len(rows),
            "_dm_step": [f"0:{INGEST_STEP}"] * len(rows),
            "_dm_reason": [r.reason for r in rows],
            "_dm_row": [json.dumps({"line": r.line, "raw": r.raw}, ensure_ascii=False) for r in rows],
            "_dm_stats": ["{}"] * len(rows),
        },
        schema=EXCLUSION_SCHEMA,
    )


def ingest(
    catalog: Catalog,
    store: ObjectStore,
    path: str,
    *,
    name: str,
    roles: ColumnRoles,
    format: str | None = None,
    on_bad_rows: OnBadRows = "error",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    reader_options: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> IngestResult:
    """Read ``path`` into a new version of dataset ``name`` (or return the identical one).

    roles: column roles; the ``id`` role, if set, supplies row ids (it must be unique and
        non-empty), otherwise ids are content hashes.
    reader_options: passed to the reader (delimiter, header, encoding, query, mode ...).
    Raises InputError / DatamoatError with one sentence on bad input; the catalog and the
    object store are then unchanged.
    """
    if not name or "@" in name or "/" in name:
        raise DatamoatError(f"dataset name {name!r} is not allowed; use letters, digits, '-', '_' or '.'.")
    started = utc_now()
    options = dict(reader_options or {})
    bad_rows: list[BadRow] = []
    source = open_source(
        path, format=format, batch_rows=batch_rows, on_bad_rows=on_bad_rows, bad_row=bad_rows.append, **options
    )
    display_path = source.info.path
    writer = VersionWriter(store)
    spill_dir = store.new_staging_dir()
    hasher = ContentRowIds()
    try:
        with writer:
            spill = SpillFiles(spill_dir)
            id_column = roles.get("id")
            counter = OccurrenceCounter()
            text_column = roles.get("text")
            inferrer = StringTypeInferrer(keep_text=[text_column] if text_column else []) if source.info.all_strings else None
            checked = False
            for batch in source.batches():
                if not checked:
                    roles.check_against(batch.schema.names, display_path)
                    checked = True
                if ROW_ID_COLUMN in batch.schema.names:
                    batch = batch.drop_columns([ROW_ID_COLUMN])
                if id_column:
                    ids = user_row_ids(batch, id_column, display_path, spill.rows + 1)
                    keys = hex16_to_uint64(hasher.ids(pa.record_batch({"id": ids})))
                else:
                    ids = hasher.ids(batch)
                    keys = hex16_to_uint64(ids)
                counter.add(keys)
                if inferrer is not None:
                    inferrer.update(batch)
                spill.append(batch.append_column(ROW_ID_COLUMN, ids))
                if bad_rows:
                    writer.write_exclusions(_bad_rows_batch(bad_rows))
                    bad_rows.clear()
                if progress:
                    progress(spill.rows)
            if bad_rows:
                writer.write_exclusions(_bad_rows_batch(bad_rows))
                bad_rows.clear()
            if not checked:  # no rows at all: the reader still knows the columns
                empty = getattr(source, "empty_schema", None)
                if empty is not None:
                    roles.check_against(empty.names, display_path)

            occurrences = counter.occurrences()
            if id_column and len(occurrences) and occurrences.max() > 0:
                _raise_duplicate_id(spill, occurrences, id_column, display_path)
            data_schema = _final_schema(spill, inferrer)
            offset = 0
            for batch in spill:
                n = batch.num_rows
                ids = batch.column(ROW_ID_COLUMN)
                data = batch.drop_columns([ROW_ID_COLUMN])
                data = inferrer.cast(data) if inferrer is not None else data
                data = conform(data, data_schema)
                ids = with_occurrence_suffix(ids, occurrences[offset : offset + n])
                offset += n
                writer.write(
                    pa.RecordBatch.from_arrays(
                        [ids, *data.columns], names=[ROW_ID_COLUMN, *data.schema.names]
                    )
                )
            spill.remove()
            empty_schema = pa.schema([pa.field(ROW_ID_COLUMN, pa.string()), *data_schema])
            written = writer.finish(empty_schema=empty_schema)
    finally:
        hasher.close()
        shutil.rmtree(spill_dir, ignore_errors=True)

    source_info = {
        "path": display_path,
        "format": source.info.format,
        "options": source.info.options,
        "bytes": _size(display_path),
    }
    if inferrer is not None:
        source_info["type_inference"] = inferrer.notes()
    params = {"format": format, "on_bad_rows": on_bad_rows, "reader_options": options, "roles": roles.to_dict()}
    version, created = catalog.add_version(
        name,
        content_hash=written.content_hash,
        row_count=written.row_count,
        excluded_count=written.excluded_count,
        schema=schema_with_roles(written.schema, roles),
        roles=roles.to_dict(),
        step=INGEST_STEP,
        params=params,
        source=source_info,
        parents=[],
    )
    catalog.record_run(
        INGEST_STEP,
        {"path": display_path, "dataset": name, **params},
        status="ok",
        started_at=started,
        output_version_id=version.id,
        reused_existing=not created,
        summary={"rows": written.row_count, "excluded": written.excluded_count},
    )
    return IngestResult(version, created)


def _final_schema(spill: SpillFiles, inferrer: StringTypeInferrer | None) -> pa.Schema:
    if inferrer is not None:
        return inferrer.schema()
    schemas = [pa.schema([f for f in s if f.name != ROW_ID_COLUMN]) for s in spill.schemas()]
    return unify(schemas)


def _raise_duplicate_id(spill: SpillFiles, occurrences: np.ndarray, column: str, path: str) -> None:
    index = int(np.argmax(occurrences > 0))
    offset = 0
    for batch in spill:
        if index < offset + batch.num_rows:
            value = batch.column(ROW_ID_COLUMN)[index - offset].as_py()
            raise InputError(
                path,
                f"id {value!r} appears more than once; the id column must be unique (or ingest without --id)",
                row=index + 1,
                column=column,
            )
        offset += batch.num_rows


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if Path(path).is_file() else None
    except OSError:
        return None
