"""Open any supported source as a stream of record batches: :func:`open_source`.

Formats (``format=``), and how ``format=None`` picks one:

================  ==============================================================
``csv``           ``.csv``, ``.data``, files of unknown extension that look like text;
                  ``.tsv`` / ``.tab`` too (tab preferred). Dialect sniffed.
``json``          ``.json`` whose first character is ``[`` (array of objects).
``jsonl``         ``.jsonl``, ``.ndjson``, and ``.json`` holding one object per line.
``parquet``       ``.parquet``, ``.pq``, or any file starting with ``PAR1``.
``text``          a folder (documents / lines, see :mod:`.text_folder`); ``.txt`` files
                  that do not split into >= 2 consistent columns (else ``csv``).
``sql``           a URL with ``://`` plus ``query=`` (or ``table=``).
================  ==============================================================

Every source yields at least one batch (an empty one when there are no rows) so that the
columns are always known, and never more than ``batch_rows`` rows per batch.

Options (``**options``) by format: csv: ``encoding``, ``on_decode_error``, ``delimiter``,
``header``, ``quoting``; json/jsonl: ``encoding``, ``on_decode_error``; parquet: ``columns``;
text: ``mode``, ``label_from``, ``keep_blank``, ``encoding``, ``on_decode_error``, ``pattern``,
``block_chars``;
sql: ``query``, ``table``. ``on_decode_error`` (``fail``, ``replace``, ``skip-row``) says what
to do with bytes the file's encoding cannot decode (see :mod:`.decode_errors`).
"""

from __future__ import annotations

import os
from typing import Any

from datamoat.data.readers.base import (
    DEFAULT_BATCH_ROWS,
    BadRow,
    BadRowCallback,
    OnBadRows,
    Source,
    SourceInfo,
)
from datamoat.data.readers.csv_reader import CsvSource
from datamoat.data.readers.csv_sniff import sniff_csv
from datamoat.data.readers.encoding import read_sample
from datamoat.data.readers.json_reader import JsonArraySource, JsonLinesSource
from datamoat.data.readers.parquet_reader import ParquetSource
from datamoat.data.readers.sql_reader import SqlSource
from datamoat.data.readers.text_folder import TextSource
from datamoat.errors import InputError

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "BadRow",
    "OnBadRows",
    "Source",
    "SourceInfo",
    "detect_format",
    "open_source",
]

FORMATS: tuple[str, ...] = ("csv", "tsv", "json", "jsonl", "ndjson", "parquet", "text", "sql")
"""Values accepted for ``format=`` (``tsv`` is csv with a tab hint, ``ndjson`` is ``jsonl``)."""

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json?",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt?",
}
_OPTIONS = {
    "csv": {"encoding", "on_decode_error", "delimiter", "header", "quoting"},
    "json": {"encoding", "on_decode_error"},
    "jsonl": {"encoding", "on_decode_error"},
    "parquet": {"columns"},
    "text": {"mode", "label_from", "keep_blank", "encoding", "on_decode_error", "pattern", "block_chars"},
    "sql": {"query", "table"},
}


def _json_kind(path: str) -> str:
    """``json`` or ``jsonl`` for a file whose content starts like JSON."""
    import json

    text, _ = read_sample(path, "utf-8-sig", 1 << 20)
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    first = stripped.split("\n", 1)[0]
    try:
        json.loads(first)
    except ValueError:
        return "json"
    return "jsonl"


def _txt_kind(path: str) -> str:
    """``csv`` when a .txt file splits into >= 2 consistent columns, else ``text``."""
    text, at_eof = read_sample(path, "utf-8-sig")
    dialect = sniff_csv(text, at_eof)
    return "csv" if dialect.confident and len(dialect.names) >= 2 and dialect.records >= 2 else "text"


def _content_kind(path: str) -> str:
    """Format of a file with an unknown extension, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return _json_kind(path)
    return "csv"


def detect_format(path: str) -> str:
    """The format :func:`open_source` uses for ``path`` when ``format`` is None.

    Raises InputError for a missing or empty file.
    """
    if "://" in path:
        return "sql"
    if os.path.isdir(path):
        return "text"
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.getsize(path) == 0:
        raise InputError(path, "the file is empty")
    kind = _EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if kind == "json?":
        return _json_kind(path)
    if kind == "txt?":
        return _txt_kind(path)
    return kind or _content_kind(path)


def _check_options(fmt: str, options: dict[str, Any], path: str) -> None:
    unknown = sorted(set(options) - _OPTIONS[fmt])
    if unknown:
        allowed = ", ".join(sorted(_OPTIONS[fmt])) or "none"
        raise InputError(path, f"option {unknown[0]!r} does not apply to {fmt} sources (options: {allowed})")


def open_source(
    path: str,
    *,
    format: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_bad_rows: OnBadRows = "error",
    bad_row: BadRowCallback | None = None,
    **options: Any,
) -> Source:
    """Open ``path`` (a file, a folder, or a database URL) for streaming.

    ``format``: one of :data:`FORMATS`, or None to detect it. ``batch_rows``: maximum rows per
    batch. ``on_bad_rows``: ``"error"`` (default) raises InputError at the first row that
    cannot be parsed; ``"skip"`` passes it to ``bad_row`` as a :class:`BadRow` and goes on.
    ``options``: format options (see the module docstring). Returns the opened
    :class:`Source`, whose ``info`` is already filled.

    Raises InputError for a missing or empty file, a folder given with a file format, an
    unknown format or option, or a file that the chosen reader cannot open.
    """
    if on_bad_rows not in ("error", "skip"):
        raise InputError(path, f"on_bad_rows must be 'error' or 'skip', not {on_bad_rows!r}")
    if batch_rows < 1:
        raise InputError(path, f"batch_rows must be at least 1, not {batch_rows}")
    fmt = (format or "").lower() or None
    if fmt is not None and fmt not in FORMATS:
        raise InputError(path, f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if fmt == "sql" or (fmt is None and "://" in path):
        _check_options("sql", options, path)
        return SqlSource(path, batch_rows=batch_rows, **options)
    if os.path.isdir(path):
        if fmt not in (None, "text"):
            raise InputError(
                path, f"is a folder; format {fmt!r} needs a file (a folder is read as format 'text')"
            )
    elif not os.path.exists(path):
        raise InputError(path, "no such file")
    elif os.path.getsize(path) == 0:
        raise InputError(path, "the file is empty")
    fmt = fmt or detect_format(path)
    bad = {"on_bad_rows": on_bad_rows, "bad_row": bad_row}
    if fmt in ("csv", "tsv"):
        _check_options("csv", options, path)
        tab = fmt == "tsv" or os.path.splitext(path)[1].lower() in (".tsv", ".tab")
        return CsvSource(path, batch_rows=batch_rows, delimiter_hint="\t" if tab else None, **bad, **options)
    if fmt == "json":
        _check_options("json", options, path)
        return JsonArraySource(path, batch_rows=batch_rows, **bad, **options)
    if fmt in ("jsonl", "ndjson"):
        _check_options("jsonl", options, path)
        return JsonLinesSource(path, batch_rows=batch_rows, **bad, **options)
    if fmt == "parquet":
        _check_options("parquet", options, path)
        return ParquetSource(path, batch_rows=batch_rows, **options)
    _check_options("text", options, path)
    return TextSource(path, batch_rows=batch_rows, bad_row=bad_row, **options)
