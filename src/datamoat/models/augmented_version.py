"""The augmented training rows a model was fitted on, registered as a version with lineage.

When augmentation passes the gate in selection (:mod:`datamoat.models.augment_gate`), training
makes synthetic rows from the whole training version and :func:`register_augmented` writes
base rows + synthetic rows as the next version of the training dataset (parent: the base,
step ``augment``). Its two provenance columns (``_dm_synthetic``: the method,
``_dm_synthetic_of``: the source row id) are null on the real rows, so evaluation, dedup and a
later cleaning can tell synthetic rows apart; the test version is never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from datamoat.catalog.records import utc_now
from datamoat.clean.augment import NAME, SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN, Augmented
from datamoat.data.register import register_version
from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version import INTERNAL_PREFIX, Version
from datamoat.data.version_writer import VersionWriter
from datamoat.errors import DatamoatError

if TYPE_CHECKING:
    from datamoat.workspace import Workspace

PROVENANCE = (SYNTHETIC_COLUMN, SYNTHETIC_OF_COLUMN)


def register_augmented(ws: Workspace, base: Version, made: Augmented) -> Version:
    """Register ``base``'s rows + ``made.rows`` as the next version of ``base.dataset``.

    base: the training version the synthetic rows were made from. made: the synthetic rows
    (their frame indexed by ``_dm_row_id``, with base's user columns and the provenance
    columns). Returns the new version; DatamoatError when a synthetic value does not fit its
    column's type.
    """
    columns = [f.name for f in base.schema if f.name == ROW_ID_COLUMN or not f.name.startswith(INTERNAL_PREFIX)]
    schema = pa.schema([base.schema.field(c) for c in columns]
                       + [pa.field(c, pa.string()) for c in PROVENANCE])
    rows = made.rows.reset_index() if ROW_ID_COLUMN not in made.rows.columns else made.rows
    arrays = []
    for f in schema:
        values = rows[f.name] if f.name in rows.columns else pd.Series([None] * len(rows), dtype=object)
        try:
            arrays.append(pa.array(values.astype(object).where(values.notna(), None).tolist(), type=f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DatamoatError(f"synthetic rows for {base.ref}: a value of column {f.name!r} does not fit its "
                                f"type {f.type} ({exc}).") from exc
    added = pa.RecordBatch.from_arrays(arrays, schema=schema)
    started = utc_now()
    with VersionWriter(ws.store) as writer:
        for batch in base.batches(columns=columns):
            n = batch.num_rows
            writer.write(pa.RecordBatch.from_arrays(
                [*batch.columns, *(pa.nulls(n, pa.string()) for _ in PROVENANCE)], schema=schema))
        writer.write(added)
        written = writer.finish(empty_schema=schema, roles=base.roles.to_dict())
    summary = made.summary()
    record, _created = register_version(
        ws.catalog, base.dataset, written, base.roles,
        step=NAME, params={"base": base.ref, **summary}, source={"augment": {"base": base.ref}},
        parents=[base.record.id], started=started,
        run_params={"input": base.ref, "method": made.method},
        summary={"rows_in": base.num_rows, "rows_out": written.row_count, "synthetic_rows": len(rows)},
    )
    return Version(record, ws.store)
