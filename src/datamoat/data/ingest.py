"""Ingest: one source -> one immutable dataset version.

The reader's batches are grouped into chunks of ``ID_CHUNK_ROWS`` rows. For every chunk the
row ids are computed (see row_ids.py; repeats get ``~n`` suffixes from an online occurrence
counter), then the rows are cast to the dataset's schema and written as Parquet.

The schema (column types for text sources such as CSV, the unified schema for JSON) is
decided from the first chunk, and every later batch is checked against it. If a later batch
does not fit (a number column with a word in row 900,000), the attempt is thrown away and the
source is read again in two passes: the first spills the raw batches to Arrow IPC while the
types are inferred over every row, the second casts and writes them. Most files take the
single pass; the result is the same either way.

Rows the reader could not parse (only with ``on_bad_rows="skip"``) and rows with bytes the
file's encoding cannot decode (only with ``on_decode_error="skip-row"``) go to the version's
exclusions table with the reason and raw text. How the source was read, when it needs saying
(an encoding guessed for a file that is not UTF-8, bad bytes replaced), is logged as a warning
on the ``datamoat.data`` logger (the CLI prints it) and kept in the manifest. Memory is bounded by one chunk plus 8 bytes per
row for the row-id keys. Nothing becomes visible until the finished version is renamed into
the object store and registered in the catalog; any error (or a kill) before that leaves the
workspace as it was.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from datamoat.catalog import Catalog, VersionRecord
from datamoat.catalog.records import utc_now
from datamoat.data.dataset_name import check_dataset_name
from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA
from datamoat.data.object_store import ObjectStore
from datamoat.data.prefetch import prefetch
from datamoat.data.readers import open_source
from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, BadRow, OnBadRows, Source, SourceInfo
from datamoat.data.register import register_version
from datamoat.data.role_inference import InferredText, infer_text_column
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
from datamoat.data.version_writer import VersionWriter, WrittenVersion
from datamoat.errors import InputError

log = logging.getLogger(__name__)
"""Warnings about how a source was read (also kept in the manifest's ``source.warnings``)."""

ProgressFn = Callable[[int], None]
"""Called with the number of rows read so far."""

INGEST_STEP = "ingest"
ID_CHUNK_ROWS = 262_144
"""Rows hashed together for row ids (bounded memory; big enough for DuckDB to use all cores)."""


@dataclass(frozen=True)
class IngestResult:
    """version: the catalog record; created: False when identical content was already stored."""

    version: VersionRecord
    created: bool


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


class _SchemaChanged(Exception):
    """A batch does not fit the schema decided from the first chunk: read again in two passes."""


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
    allow_empty: bool = False,
    infer_roles: bool = True,
    opened: Source | None = None,
    exclusions: pa.Table | None = None,
    source_extra: dict[str, Any] | None = None,
    also: Callable[[sa.Connection, int], None] | None = None,
) -> IngestResult:
    """Read ``path`` into a new version of dataset ``name`` (or return the identical one).

    roles: column roles; the ``id`` role, if set, supplies row ids (it must be unique and
        non-empty), otherwise ids are content hashes.
    reader_options: passed to the reader (delimiter, header, encoding, query, mode ...).
    allow_empty: make a 0-row version of a source that has columns but no rows (a CSV with
        only a header, ``[]``); by default that is an InputError, as an empty file is.
    infer_roles: without a ``text`` role, take the free-text column as the text
        (:mod:`datamoat.data.role_inference`; recorded in ``source.inferred_roles`` and logged).
    opened: an already opened source to read instead of opening ``path`` (its ``batches()`` may
        be called twice); ``path`` then only names it. exclusions: rows (EXCLUSION_SCHEMA) to
        keep in the version's exclusions table besides the unparseable ones. source_extra: more
        keys for the manifest's ``source`` (how the rows were fetched). also: run inside the
        transaction that registers the version (see :meth:`Catalog.add_version`).
    Raises InputError / DatamoatError with one sentence on bad input; the catalog and the
    object store are then unchanged.
    """
    check_dataset_name(name)
    started = utc_now()
    options = dict(reader_options or {})

    def attempt(single_pass: bool) -> tuple[_Read, WrittenVersion]:
        run = _Read(store, path, format, batch_rows, on_bad_rows, options, roles, progress, allow_empty,
                    infer_roles, opened, exclusions)
        try:
            return run, run.write(single_pass)
        finally:
            run.close()

    try:
        run, written = attempt(single_pass=True)
    except _SchemaChanged:
        run, written = attempt(single_pass=False)

    source_info = {
        "path": run.display_path,
        "format": run.source.info.format,
        "options": run.source.info.options,
        "bytes": _size(run.display_path),
        **(source_extra or {}),
    }
    if run.inferrer is not None:
        source_info["type_inference"] = run.inferrer.notes()
    if run.source.info.warnings:
        source_info["warnings"] = list(run.source.info.warnings)
    if run.inferred is not None or run.implied:
        source_info["inferred_roles"] = {
            **{r: {"column": c, "rule": f"the {source_info['format']} reader's {c!r} column"} for r, c in run.implied.items()},
            **({"text": run.inferred.to_dict()} if run.inferred is not None else {}),
        }
    roles = run.roles
    params = {"format": format, "on_bad_rows": on_bad_rows, "reader_options": options, "roles": roles.to_dict()}
    version, created = register_version(
        catalog, name, written, roles,
        step=INGEST_STEP, params=params, source=source_info, parents=[], started=started,
        run_params={"path": run.display_path, "dataset": name, **params},
        summary={"rows": written.row_count, "excluded": written.excluded_count},
        also=also,
    )
    for warning in run.source.info.warnings:
        log.warning("%s", warning)
    if run.inferred is not None:
        log.warning("%s", run.inferred.sentence())
    return IngestResult(version, created)


class _Read:
    """One attempt at reading a source into a version (see the module docstring)."""

    def __init__(
        self,
        store: ObjectStore,
        path: str,
        format: str | None,  # noqa: A002
        batch_rows: int,
        on_bad_rows: OnBadRows,
        options: dict[str, Any],
        roles: ColumnRoles,
        progress: ProgressFn | None,
        allow_empty: bool,
        infer_roles: bool,
        opened: Source | None = None,
        exclusions: pa.Table | None = None,
    ) -> None:
        self.allow_empty = allow_empty
        self.inferred: InferredText | None = None
        self.bad_rows: list[BadRow] = []
        self.exclusions = exclusions
        self.source = opened if opened is not None else open_source(
            path, format=format, batch_rows=batch_rows, on_bad_rows=on_bad_rows,
            bad_row=self.bad_rows.append, **options,
        )
        self.display_path = self.source.info.path
        self.roles = ColumnRoles.from_dict(roles.to_dict())  # text may be inferred: not the caller's
        self.implied: dict[str, str] = {}
        if infer_roles:  # roles the source's layout implies (a text folder's text and label)
            taken = self.roles.all_columns()
            self.implied = {r: c for r, c in self.source.info.roles.items() if self.roles.get(r) is None and c not in taken}
            self.roles.single.update(self.implied)
        # still no text after the implied roles: look for the free-text column while reading
        self.infer_roles = infer_roles and self.roles.get("text") is None
        self.progress = progress
        self.id_column = roles.get("id")
        text_column = roles.get("text")
        self.inferrer = (
            StringTypeInferrer(keep_text=[text_column] if text_column else []) if self.source.info.all_strings else None
        )
        self.store = store
        self.writer = VersionWriter(store)
        self.hasher = ContentRowIds()
        self.counter = OccurrenceCounter()
        self.rows = 0
        self.schema: pa.Schema | None = None
        self._spill_dir: Path | None = None

    def close(self) -> None:
        self.hasher.close()
        if not self.writer.done:  # an unfinished attempt leaves nothing behind
            self.writer.abort()
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)

    # ------------------------------------------------------------------ the passes
    def write(self, single_pass: bool) -> WrittenVersion:
        """Read every chunk and write the version; returns what the writer committed."""
        spill: SpillFiles | None = None
        if not single_pass:
            self._spill_dir = self.store.new_staging_dir()
            spill = SpillFiles(self._spill_dir)
        if self.exclusions is not None:
            for excluded in self.exclusions.to_batches():
                self.writer.write_exclusions(excluded)
        # ids are hashed in a reader thread (DuckDB and Arrow's parser release the GIL) while
        # this thread infers types, casts and hands rows to the Parquet writer thread
        raw_chunks = prefetch(self._chunks(), depth=1)  # thread 1: parse
        with_ids = prefetch(((self._with_ids(c), bad) for c, bad in raw_chunks), depth=1)  # thread 2: hash
        for chunk, bad_rows in with_ids:
            if self.infer_roles and chunk:
                self._infer_text(chunk)
            if bad_rows:
                self.writer.write_exclusions(_bad_rows_batch(bad_rows))
            for batch in chunk:
                if self.inferrer is not None:
                    self.inferrer.update(batch.drop_columns([ROW_ID_COLUMN]))
            if self.progress:
                self.progress(self.rows)
            if spill is not None:
                for batch in chunk:
                    spill.append(batch)
                continue
            if self.schema is None:
                self.schema = self._decide(chunk)
            for batch in chunk:
                self.writer.write(self._finish_batch(batch))
        if spill is not None:
            self.schema = self.inferrer.schema() if self.inferrer is not None else _unified(spill.schemas())
            for batch in spill:
                self.writer.write(self._finish_batch(batch))
            spill.remove()
        if self.rows == 0 and not self.allow_empty and not self.writer.excluded_rows:
            raise InputError(self.display_path, _no_rows(self.source.info))
        data_schema = self.schema if self.schema is not None else pa.schema([])
        empty_schema = pa.schema([pa.field(ROW_ID_COLUMN, pa.string()), *data_schema])
        return self.writer.finish(empty_schema=empty_schema, roles=self.roles.to_dict())

    def _infer_text(self, chunk: list[pa.RecordBatch]) -> None:
        """Decide the text role from the first chunk (see :mod:`datamoat.data.role_inference`)."""
        self.infer_roles = False
        self.inferred = infer_text_column(chunk, self.roles)
        if self.inferred is not None:
            self.roles.single["text"] = self.inferred.column
            if self.inferrer is not None:
                self.inferrer.keep_as_text(self.inferred.column)

    def _chunks(self) -> Iterator[tuple[list[pa.RecordBatch], list[BadRow]]]:
        """Batches grouped into chunks of about ID_CHUNK_ROWS rows, each with the unparseable
        rows met while reading it. Runs in the reader thread: it touches only the source."""
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        checked = False
        for batch in self.source.batches():
            if not checked:
                self.roles.check_against(batch.schema.names, self.display_path)
                checked = True
            if ROW_ID_COLUMN in batch.schema.names:
                batch = batch.drop_columns([ROW_ID_COLUMN])
            if pending and pending[0].schema != batch.schema:
                yield pending, self._take_bad_rows()
                pending, pending_rows = [], 0
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows >= ID_CHUNK_ROWS:
                yield pending, self._take_bad_rows()
                pending, pending_rows = [], 0
        if pending:
            yield pending, self._take_bad_rows()
        bad = self._take_bad_rows()
        if bad:
            yield [], bad

    def _take_bad_rows(self) -> list[BadRow]:
        taken, self.bad_rows[:] = list(self.bad_rows), []
        return taken

    def _with_ids(self, batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
        """The batches with a final ``_dm_row_id`` column (hashed together: faster). Runs in the
        hashing thread: it alone touches the row-id hasher and the occurrence counter."""
        if not batches:
            return batches
        table = pa.Table.from_batches(batches)
        if self.id_column:
            ids = user_row_ids(table, self.id_column, self.display_path, self.rows + 1)
            keys = hex16_to_uint64(self.hasher.ids(pa.table({"id": ids})))
        else:
            ids = self.hasher.ids(table)
            keys = hex16_to_uint64(ids)
        occurrences = self.counter.add(keys)
        if self.id_column and occurrences.any():
            first = int(np.argmax(occurrences > 0))
            raise InputError(
                self.display_path,
                f"id {ids[first].as_py()!r} appears more than once; the id column must be unique (or ingest without --id)",
                row=self.rows + first + 1,
                column=self.id_column,
            )
        ids = with_occurrence_suffix(ids, occurrences)
        out, offset = [], 0
        for b in batches:
            out.append(b.append_column(ROW_ID_COLUMN, ids.slice(offset, b.num_rows)))
            offset += b.num_rows
        self.rows += offset
        return out

    def _decide(self, chunk: list[pa.RecordBatch]) -> pa.Schema:
        if self.inferrer is not None:
            return self.inferrer.schema()
        return _unified([b.schema for b in chunk])

    def _finish_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Cast a batch (with its row ids) to the decided schema; row id first."""
        assert self.schema is not None
        ids = batch.column(ROW_ID_COLUMN)
        data = batch.drop_columns([ROW_ID_COLUMN])
        if self.inferrer is not None:
            if self.inferrer.schema() != self.schema:
                raise _SchemaChanged()
            data = self.inferrer.cast(data)
        elif _unified([self.schema, data.schema]) != self.schema:
            raise _SchemaChanged()
        data = conform(data, self.schema)
        return pa.RecordBatch.from_arrays([ids, *data.columns], names=[ROW_ID_COLUMN, *data.schema.names])


def _no_rows(info: SourceInfo) -> str:
    """Why a source without rows is refused (one sentence, with the option that allows it)."""
    what = "has a header but no rows" if info.options.get("header") else "has no rows"
    return f"{what}; pass --allow-empty (allow_empty=True) to make an empty version"


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    return unify([pa.schema([f for f in s if f.name != ROW_ID_COLUMN]) for s in schemas])


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if Path(path).is_file() else None
    except OSError:
        return None
