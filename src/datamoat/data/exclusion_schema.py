"""The schema of a version's exclusions table: rows dropped on the way, with the reason.

Columns: ``_dm_row_id`` (the row's id, null for source rows that could not be parsed),
``_dm_step`` (``"<position>:<step name>"``, ``"0:ingest"`` for the reader), ``_dm_reason``,
``_dm_row`` (the row's data columns as one JSON object; for unparseable source rows
``{"line": N, "raw": "..."}``) and ``_dm_stats`` (the ``_dm_`` stats columns as JSON).
The pipeline fills it (pipeline/exclusions.py); the data layer stores and reads it.
"""

from __future__ import annotations

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN

STEP_COLUMN = "_dm_step"
REASON_COLUMN = "_dm_reason"
ROW_COLUMN = "_dm_row"
STATS_COLUMN = "_dm_stats"

EXCLUSION_SCHEMA = pa.schema(
    [
        pa.field(ROW_ID_COLUMN, pa.string()),
        pa.field(STEP_COLUMN, pa.string(), nullable=False),
        pa.field(REASON_COLUMN, pa.string(), nullable=False),
        pa.field(ROW_COLUMN, pa.string(), nullable=False),
        pa.field(STATS_COLUMN, pa.string(), nullable=False),
    ]
)
