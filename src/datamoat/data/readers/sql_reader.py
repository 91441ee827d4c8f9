"""Stream the result of a SQL query (any SQLAlchemy URL) as record batches.

The query runs on a server-side cursor where the driver supports it
(``stream_results=True``, ``yield_per=batch_rows``), so only one batch of rows is in memory.
The SQL is passed to the driver as written (no ``:name`` parameter parsing). Column types come
from the values (Arrow inference per batch); a column whose values mix types becomes text.
Passwords in the URL are masked in ``info.path`` and in every message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from datamoat.data.readers.base import DEFAULT_BATCH_ROWS, SourceInfo
from datamoat.data.readers.csv_sniff import unique_names
from datamoat.data.readers.json_reader import column_array
from datamoat.errors import InputError


def _reason(exc: BaseException) -> str:
    """The driver's message when there is one, on one line."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return " ".join(text.split())


class SqlSource:
    """Rows of ``query`` (or of ``SELECT * FROM table``) from the database at ``url``.

    Raises InputError for a malformed URL, an unknown database kind or a missing driver,
    a missing SQLite file, or a failed connection; a failing query raises it from
    :meth:`batches`.
    """

    def __init__(
        self,
        url: str,
        *,
        query: str | None = None,
        table: str | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise InputError(url, f"not a database URL: {_reason(exc)}") from None
        self.display = parsed.render_as_string(hide_password=True)
        if (query is None) == (table is None):
            raise InputError(self.display, "a database source needs query='SELECT ...' (or table='name')")
        if table is not None:
            query = f'SELECT * FROM "{table.replace(chr(34), chr(34) * 2)}"'
        self.query: str = query or ""
        self.batch_rows = batch_rows
        database = parsed.database
        if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
            if not database.startswith("file:") and not os.path.exists(database):
                raise InputError(self.display, f"no such file: {database}")
        try:
            self.engine = create_engine(parsed)
            with self.engine.connect():
                pass
        except NoSuchModuleError:
            raise InputError(self.display, f"unknown database kind {parsed.drivername!r}") from None
        except ImportError as exc:
            raise InputError(self.display, f"the database driver is not installed ({exc})") from None
        except SQLAlchemyError as exc:
            raise InputError(self.display, f"cannot connect: {_reason(exc)}") from None
        self.info = SourceInfo(path=self.display, format="sql", options={"query": self.query})

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the result rows in order, at most ``batch_rows`` per batch (at least one batch)."""
        from sqlalchemy.exc import SQLAlchemyError

        text_columns: set[int] = set()
        produced = False
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, yield_per=self.batch_rows
                ).exec_driver_sql(self.query)
                if not result.returns_rows:
                    raise InputError(self.display, "the query returns no rows (is it a SELECT?)")
                names = unique_names(str(k) for k in result.keys())
                for part in result.partitions(self.batch_rows):
                    produced = True
                    yield self._batch(names, [list(c) for c in zip(*part, strict=True)], text_columns)
                if not produced:
                    yield pa.RecordBatch.from_pylist([], schema=pa.schema([(n, pa.null()) for n in names]))
        except SQLAlchemyError as exc:
            raise InputError(self.display, f"the query failed: {_reason(exc)}") from None
        finally:
            self.engine.dispose()

    @staticmethod
    def _batch(names: list[str], columns: list[list[Any]], text_columns: set[int]) -> pa.RecordBatch:
        arrays = []
        for i, values in enumerate(columns):
            array, fell_back = column_array(values, i in text_columns)
            if fell_back:
                text_columns.add(i)
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, names=names)
