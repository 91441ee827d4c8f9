"""Which columns of a source look like a classification label: named in an error, never chosen.

``datamoat run FILE`` without ``--label`` cannot guess what to predict (a wrong guess would train
a model of the wrong thing), but it can say which columns look like labels, so the user's next
command is one copy away.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from datamoat.data.readers import open_source
from datamoat.errors import DatamoatError

SAMPLE_ROWS = 5_000
"""Rows read from the start of the source to judge its columns."""
MAX_CLASSES = 500
"""A label has at most this many distinct values in the sample ..."""
MAX_DISTINCT_SHARE = 0.5
"""... and at most this share of the sample's rows are distinct values (ids and free text are not labels) ..."""
MAX_MEAN_CHARS = 40.0
"""... and its values are short (a mean of at most this many characters: not a text column)."""


def label_like_columns(path: str) -> list[str]:
    """Names of ``path``'s columns that look like labels, most plausible first (fewest classes).

    path: a file or folder ``open_source`` reads. Reads at most :data:`SAMPLE_ROWS` rows. A column
    qualifies when it has 2..:data:`MAX_CLASSES` distinct non-null values, those are at most
    :data:`MAX_DISTINCT_SHARE` of its non-null rows, and string values average at most
    :data:`MAX_MEAN_CHARS` characters. Returns [] when the source cannot be read (the caller's
    own error is what the user needs then).
    """
    try:
        source = open_source(path, batch_rows=SAMPLE_ROWS, on_bad_rows="skip", bad_row=lambda _row: None)
        batch = next(iter(source.batches()), None)
    except (DatamoatError, OSError, ValueError):
        return []
    if batch is None or batch.num_rows == 0:
        return []
    found: list[tuple[int, str]] = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)):
            continue
        present = column.drop_null()
        if len(present) == 0:
            continue
        distinct = len(pc.unique(present))
        if not 2 <= distinct <= MAX_CLASSES or distinct > MAX_DISTINCT_SHARE * len(present):
            continue
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.mean(pc.utf8_length(present)).as_py() > MAX_MEAN_CHARS:
                continue
        found.append((distinct, name))
    return [name for _, name in sorted(found)]
