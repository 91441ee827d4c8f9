"""An ``http_json`` source -> one immutable dataset version (or the identical existing one).

1. The source's cursor is read from the catalog (:mod:`datamoat.catalog.source_cursors`):
   the newest ``incremental.cursor_path`` value seen and the version holding the rows up to it.
2. Every page is fetched (:mod:`.http_fetch`) from that value (``initial_value`` the first
   time). Nothing is written yet: a fetch that fails leaves the workspace as it was.
3. With a ``primary_key`` the records are merged into that version's rows
   (:mod:`.incremental`): added, replaced (the stored row goes to the exclusions as
   ``superseded``), or unchanged; the version's earlier exclusions are kept too.
4. :func:`datamoat.data.ingest.ingest` writes the rows through the one version writer, with
   the primary key as the row id (so ``datamoat diff`` shows an edited record as *changed*)
   and registers the version; the cursor is stored in that same catalog transaction. The same
   content as a stored version (nothing new) makes no new version and keeps its hash.

The manifest's ``source`` holds the entry without secrets (``options``) and the fetch's
provenance (``fetch``: pages, requests, retries and their waits, why paging stopped, cursor
from/to, and the merge counts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from datamoat.catalog import Catalog
from datamoat.catalog.rollback import undo_on_failure
from datamoat.catalog.source_cursors import SourceCursor, cursor_writer, load_cursor
from datamoat.data.dataset_name import check_dataset_name
from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA
from datamoat.data.ingest import INGEST_STEP, IngestResult, ProgressFn, ingest
from datamoat.data.object_store import ObjectStore
from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, JSON_ENCODER, SourceInfo
from datamoat.data.readers.json_reader import RowBatcher
from datamoat.data.roles import ColumnRoles
from datamoat.data.sources.http_fetch import Fetched, fetch
from datamoat.data.sources.http_spec import HttpJsonSpec
from datamoat.data.sources.incremental import SUPERSEDED, flatten, merge
from datamoat.data.version import INTERNAL_PREFIX, Version

FORMAT = "http_json"


class RowsSource:
    """A :class:`~datamoat.data.readers.base.Source` over rows held in memory; ``batches()`` can
    be called again (ingest's second pass)."""

    def __init__(self, rows: list[dict[str, Any]], info: SourceInfo, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        self.rows = rows
        self.info = info
        self.batch_rows = batch_rows

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows, ``batch_rows`` at a time; one empty batch when there are none."""
        batcher = RowBatcher()
        for start in range(0, len(self.rows), self.batch_rows):
            for row in self.rows[start:start + self.batch_rows]:
                batcher.add(dict(row))
            yield batcher.flush()
        if not self.rows:
            yield pa.RecordBatch.from_pylist([])


def ingest_http(
    catalog: Catalog,
    store: ObjectStore,
    spec: HttpJsonSpec,
    *,
    name: str,
    source: str,
    roles: ColumnRoles,
    progress: ProgressFn | None = None,
    allow_empty: bool = False,
    infer_roles: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[IngestResult, Fetched]:
    """Fetch ``spec`` into a new version of dataset ``name`` (see the module docstring).

    source: the key the cursor is kept under (the source's name in datamoat.yaml).
    roles: column roles; without an ``id`` role the ``primary_key`` is the id.
    Returns the ingest result and what was fetched. Raises InputError (URL masked, page named)
    or ConflictError (another ingest of the source won the race); nothing is written then.
    """
    check_dataset_name(name)
    inc = spec.incremental
    state = load_cursor(catalog, source) if inc is not None else None
    warnings: list[str] = []
    if state is not None and inc is not None and state.cursor_path != inc.cursor_path:
        warnings.append(f"source {source!r}: incremental.cursor_path changed from {state.cursor_path!r} to "
                        f"{inc.cursor_path!r}; fetching from initial_value again")
        state = None
    start = (state.value if state is not None else inc.initial_value) if inc is not None else None
    fetched = fetch(spec, start, progress=progress, sleep=sleep)
    base = Version(catalog.version_by_id(state.version_id), store) if state is not None else None
    previous = _rows(base) if base is not None else []
    fetch_info: dict[str, Any] = {**fetched.provenance(), "source_name": source}
    if spec.primary_key:
        merged = merge(previous, fetched.records, spec.primary_key, inc.cursor_path if inc else None,
                       fetched.shown_url)
        rows, superseded = merged.rows, merged.superseded
        fetch_info["merge"] = {"into": base.ref if base is not None else None, **merged.counts()}
    else:
        rows, superseded = [flatten(r) for _, r in fetched.records], []
    exclusions = _exclusions(base, superseded)
    if spec.primary_key and roles.get("id") is None:
        roles = ColumnRoles.from_dict({**roles.to_dict(), "id": spec.primary_key})
    info = SourceInfo(path=fetched.shown_url, format=FORMAT, options=spec.to_manifest(),
                      warnings=warnings + fetched.warnings)
    also = None
    if inc is not None and fetched.cursor_to is not None:
        also = cursor_writer(source, inc.cursor_path, fetched.cursor_to,
                             state.version_id if state is not None else None)
    # the version and its cursor are one transaction; the run row after it is another: should that
    # fail, the version is rolled back too (and a cursor left pointing at it is then ignored)
    with undo_on_failure(catalog, [name], subject=fetched.shown_url):
        result = ingest(
            catalog, store, fetched.shown_url, name=name, roles=roles, format=FORMAT,
            opened=RowsSource(rows, info), exclusions=exclusions, source_extra={"fetch": fetch_info},
            also=also, allow_empty=allow_empty, infer_roles=infer_roles,
        )
        if also is not None and not result.created and _moved(state, fetched.cursor_to, result.version.id):
            with catalog.engine.begin() as conn:  # the rows are stored already: only the cursor moves
                also(conn, result.version.id)
    return result, fetched


def _moved(state: SourceCursor | None, value: Any, version_id: int) -> bool:
    return state is None or state.value != value or state.version_id != version_id


def _rows(version: Version) -> list[dict[str, Any]]:
    """A version's rows as dicts, without datamoat's ``_dm_`` columns."""
    table = version.to_arrow()
    keep = [n for n in table.schema.names if not n.startswith(INTERNAL_PREFIX)]
    return table.select(keep).to_pylist()


def _exclusions(base: Version | None, superseded: list[tuple[str, dict[str, Any]]]) -> pa.Table | None:
    """The base version's exclusions followed by the rows superseded now."""
    parts = [base.excluded()] if base is not None else []
    if superseded:
        parts.append(pa.table(
            {
                "_dm_row_id": [key for key, _ in superseded],
                "_dm_step": [f"0:{INGEST_STEP}"] * len(superseded),
                "_dm_reason": [SUPERSEDED] * len(superseded),
                "_dm_row": [JSON_ENCODER.encode(row) for _, row in superseded],
                "_dm_stats": [json.dumps({})] * len(superseded),
            },
            schema=EXCLUSION_SCHEMA,
        ))
    parts = [p for p in parts if p.num_rows]
    return pa.concat_tables([p.cast(EXCLUSION_SCHEMA) for p in parts]) if parts else None
