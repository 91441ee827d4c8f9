"""Stream a delimited text file (CSV, TSV, space separated ...) as all-string record batches.

Opening the file scans it once (:func:`~datamoat.data.readers.encoding.scan_text_file`:
encoding, line lengths) and sniffs a sample (:func:`~datamoat.data.readers.csv_sniff.sniff_csv`):
the first 2 MiB, or the whole first line plus 2 MiB when that line is wider (a header of a
million columns).
:meth:`CsvSource.batches` then streams it with one of two engines:

* ``arrow`` (the usual one): ``pyarrow.csv.open_csv``, single-threaded so that bad rows come
  with their record number; non-UTF-8 input is transcoded by pyarrow on the fly. The block
  size grows with the longest line found by the scan, so long lines just work up to
  :data:`~datamoat.data.readers.encoding.MAX_LINE_BYTES`; a longer line was refused by the scan.
* ``python``: Python's ``csv`` module, for what pyarrow cannot parse: fields separated by runs
  of whitespace, and quoted fields after a delimiter plus spaces (``1, "a, b"``).

Every column is read as text (``SourceInfo.all_strings``); empty cells are null. Rows with the
wrong number of fields raise InputError naming the physical line ("expected 3 fields, found 5"),
or with ``on_bad_rows="skip"`` go to the ``bad_row`` callback. Memory does not grow with the
file: at most a few blocks are held at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datamoat.data.readers.base import (
    DEFAULT_BATCH_ROWS,
    BadRow,
    BadRowCallback,
    OnBadRows,
    SourceInfo,
)
from datamoat.data.readers.csv_sniff import WHITESPACE, CsvDialect, sniff_csv
from datamoat.data.readers.decode_errors import SKIP_REASON, escaped, row_has_undecodable
from datamoat.data.readers.encoding import (
    MAX_LINE_BYTES,
    SAMPLE_BYTES,
    TextScan,
    read_sample,
    scan_text_file,
)
from datamoat.errors import InputError

MIN_BLOCK_BYTES = 4 << 20
"""Smallest pyarrow block size (bytes); it grows to 3x the longest line."""

RUNAWAY_LINES = 10_000
"""A quoted value spanning more lines than this is taken as a quote that is never closed."""

_LONG_VALUE_BYTES = 1 << 16
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def normalise_delimiter(delimiter: str | None) -> str | None:
    """Accept ``"tab"``, ``"\\t"``, ``"space"``, ``"whitespace"`` ... as well as the character."""
    if delimiter is None:
        return None
    value = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
    if value != WHITESPACE and len(value) != 1:
        raise ValueError(f"delimiter must be one character or 'whitespace', not {delimiter!r}")
    return value


_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def parse_flag(value: bool | str | None, name: str) -> bool | None:
    """A yes/no option given as a bool or as text from the command line; None or "auto" -> None."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text == "auto":
        return None
    raise ValueError(f"{name} must be true, false or auto, not {value!r}")


def _enable_long_fields() -> None:
    """Let Python's csv module read fields as long as the longest line allowed."""
    if csv.field_size_limit() < 2 * MAX_LINE_BYTES:
        csv.field_size_limit(2 * MAX_LINE_BYTES)


def _rebatch(batches: Iterator[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Split batches longer than ``batch_rows`` rows; drop empty ones."""
    for batch in batches:
        for start in range(0, batch.num_rows, batch_rows):
            yield batch.slice(start, batch_rows)


class RecordLocator:
    """Maps pyarrow record numbers to physical lines.

    pyarrow numbers the ``skip_rows`` skipped lines one by one, then the records that follow
    (empty lines not counted). The locator reads the file forward with Python's csv module under
    the same dialect, only as far as asked; it is used only when a bad row is found, so it costs
    nothing on clean files.
    """

    def __init__(self, path: str, encoding: str, dialect: CsvDialect, skip_rows: int) -> None:
        _enable_long_fields()
        self._file = open(path, encoding=encoding, newline="")
        self._skip_rows = skip_rows
        for _ in range(skip_rows):
            self._file.readline()
        self._reader = csv.reader(
            self._file,
            delimiter=dialect.delimiter,
            quotechar='"',
            quoting=csv.QUOTE_MINIMAL if dialect.quoting else csv.QUOTE_NONE,
            strict=False,
        )
        self._records = 0
        self._start_line = 0

    def line_of(self, record: int) -> int | None:
        """Physical line where record number ``record`` starts; None past the end."""
        if record <= self._skip_rows:
            return record
        record -= self._skip_rows
        while self._records < record:
            before = self._reader.line_num
            try:
                fields = next(self._reader)
            except (StopIteration, csv.Error):
                return None
            if fields:
                self._records += 1
                self._start_line = before + 1
        return self._skip_rows + self._start_line if self._records == record else None

    def close(self) -> None:
        self._file.close()


class CsvSource:
    """A delimited text file opened for streaming; see the module docstring.

    Parameters: ``path``; ``batch_rows`` (max rows per batch); ``on_bad_rows`` / ``bad_row``
    (see :mod:`~datamoat.data.readers.base`); ``encoding``, ``delimiter``, ``header``,
    ``quoting`` to override sniffing; ``delimiter_hint`` preferred by the sniffer (tab for .tsv);
    ``on_decode_error``: ``fail``, ``replace`` or ``skip-row`` (see :mod:`.decode_errors`).
    """

    def __init__(
        self,
        path: str,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        on_bad_rows: OnBadRows = "error",
        bad_row: BadRowCallback | None = None,
        encoding: str | None = None,
        on_decode_error: str = "fail",
        delimiter: str | None = None,
        header: bool | str | None = None,
        quoting: bool | str | None = None,
        delimiter_hint: str | None = None,
    ) -> None:
        self.path = path
        try:
            header, quoting = parse_flag(header, "header"), parse_flag(quoting, "quoting")
            delimiter = normalise_delimiter(delimiter)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        self.batch_rows = batch_rows
        self.on_bad_rows = on_bad_rows
        self.bad_row = bad_row
        self.scan: TextScan = scan_text_file(path, encoding=encoding, on_decode_error=on_decode_error)
        sample, at_eof = read_sample(path, self.scan.encoding)
        if not at_eof and "\n" not in sample and "\r" not in sample:
            # the first line is wider than the sniff window (a very wide header): sniff the
            # whole line, which the scan has bounded by MAX_LINE_BYTES, plus the usual window
            sample, at_eof = read_sample(path, self.scan.encoding, self.scan.longest_line_bytes + SAMPLE_BYTES)
        if not sample.strip():
            raise InputError(path, "the file is empty (it has only blank lines)")
        self.dialect = sniff_csv(
            sample,
            at_eof,
            delimiter=delimiter,
            header=header,
            quoting=quoting,
            delimiter_hint=delimiter_hint,
        )
        if not self.dialect.names:
            raise InputError(path, f"no records found in the first {SAMPLE_BYTES >> 20} MiB of the file")
        self.engine = "python" if self._needs_python() else "arrow"
        self.info = SourceInfo(path=path, format="csv", options=self._options(), all_strings=True)
        self.info.warnings.extend([self.scan.warning] if self.scan.warning else [])

    def _needs_python(self) -> bool:
        d = self.dialect
        damaged = self.scan.errors != "strict"  # bad bytes replaced or skipped: pyarrow cannot
        return damaged or d.whitespace_runs or (d.skip_initial_space and d.quoting and d.quoted_fields > 0)

    def _options(self) -> dict[str, Any]:
        d = self.dialect
        return {
            "encoding": self.scan.encoding,
            "decode_errors": self.scan.errors,
            "undecodable_lines": self.scan.bad_lines,
            "delimiter": d.delimiter,
            "header": d.header,
            "quoting": d.quoting,
            "skip_initial_space": d.skip_initial_space,
            "newlines_in_values": d.newlines_in_values,
            "na_values": d.na_values,
            "columns": d.names,
            "lines": self.scan.lines,
            "engine": self.engine,
        }

    @property
    def schema(self) -> pa.Schema:
        """All columns as strings, named as sniffed."""
        return pa.schema([(name, pa.string()) for name in self.dialect.names])

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the data rows as string batches of at most ``batch_rows`` rows.

        At least one batch is yielded (an empty one for a header-only file) so the columns are
        always known.
        """
        produced = False
        inner = self._python_batches() if self.engine == "python" else self._arrow_batches()
        for batch in _rebatch(inner, self.batch_rows):
            produced = True
            yield batch
        if not produced:
            yield pa.RecordBatch.from_pylist([], schema=self.schema)

    # -- bad rows ---------------------------------------------------------------------------

    def _bad(self, line: int | None, expected: int, found: int, raw: str) -> InputError | None:
        """Report one ragged row; returns the error to raise in "error" mode."""
        reason = f"expected {expected} fields, found {found}"
        if self.on_bad_rows == "skip":
            if self.bad_row is not None:
                self.bad_row(BadRow(line=line, reason=reason, raw=raw))
            return None
        return InputError(self.path, reason, line=line)

    # -- arrow engine -----------------------------------------------------------------------

    def _arrow_batches(self) -> Iterator[pa.RecordBatch]:
        d = self.dialect
        skip_rows = d.skip_lines + (1 if d.header else 0)
        locator = RecordLocator(self.path, self.scan.encoding, d, skip_rows)
        pending: list[BaseException] = []
        rows_seen = [0]

        def on_invalid(row: pacsv.InvalidRow) -> str:
            try:
                line = locator.line_of(row.number) if row.number is not None else None
                error = self._bad(line, row.expected_columns, row.actual_columns, row.text)
            except BaseException as exc:  # the callback failed: stop and re-raise it
                pending.append(exc)
                return "error"
            rows_seen[0] += 1
            if error is not None:
                pending.append(error)
                return "error"
            return "skip"

        encoding = self.scan.encoding
        read = pacsv.ReadOptions(
            use_threads=False,
            block_size=max(MIN_BLOCK_BYTES, 3 * self.scan.longest_line_bytes),
            column_names=d.names,
            skip_rows=skip_rows,
            encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
        )
        parse = pacsv.ParseOptions(
            delimiter=d.delimiter,
            quote_char='"' if d.quoting else False,
            double_quote=True,
            newlines_in_values=d.quoting,
            ignore_empty_lines=True,
            invalid_row_handler=on_invalid,
        )
        convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in d.names},
            null_values=[""],
            strings_can_be_null=True,
        )
        try:
            try:
                reader = pacsv.open_csv(
                    self.path, read_options=read, parse_options=parse, convert_options=convert
                )
                for batch in reader:
                    if d.quoting:
                        self._check_runaway(batch, rows_seen[0], locator)
                    rows_seen[0] += batch.num_rows
                    yield self._strip_initial_space(batch) if d.skip_initial_space else batch
            except pa.ArrowInvalid as exc:
                if pending:
                    # drop our reference first: pyarrow keeps the handler (and so `pending`)
                    # alive, and a raised error held there would pin its traceback's frames
                    error = pending.pop()
                    pending.clear()
                    raise error from None
                raise self._arrow_error(exc, locator, rows_seen[0], read.block_size) from None
        finally:
            locator.close()

    def _arrow_error(
        self, exc: pa.ArrowInvalid, locator: RecordLocator, rows_done: int, block: int
    ) -> InputError:
        message = str(exc)
        record = rows_done + self.dialect.skip_lines + (2 if self.dialect.header else 1)
        if "straddl" in message:
            what = (
                f"a quoted value does not close within {block >> 20} MiB: a quote is probably never closed "
                "(pass quoting=False if quotes in this file are plain text)"
                if self.dialect.quoting
                else f"a record is longer than {block >> 20} MiB"
            )
            return InputError(self.path, what, line=locator.line_of(record))
        return InputError(self.path, f"cannot parse the file: {message}", line=locator.line_of(record))

    def _check_runaway(self, batch: pa.RecordBatch, rows_before: int, locator: RecordLocator) -> None:
        """InputError when a value spans more than RUNAWAY_LINES lines (an unclosed quote).

        Cheap: only values longer than 64 KiB have their newlines counted.
        """
        for array in batch.columns:
            lengths = pc.binary_length(array)
            if (pc.max(lengths).as_py() or 0) <= _LONG_VALUE_BYTES:
                continue
            where = pc.indices_nonzero(pc.greater(lengths, _LONG_VALUE_BYTES))
            newlines = pc.count_substring(pc.take(array, where), "\n")
            worst = pc.index(pc.greater(newlines, RUNAWAY_LINES), True).as_py()
            if worst >= 0:
                record = rows_before + where[worst].as_py() + self.dialect.skip_lines
                record += 2 if self.dialect.header else 1
                raise InputError(
                    self.path,
                    f"a quoted value runs over more than {RUNAWAY_LINES:,} lines: a quote is probably never "
                    "closed (pass quoting=False if quotes in this file are plain text)",
                    line=locator.line_of(record),
                )

    @staticmethod
    def _strip_initial_space(batch: pa.RecordBatch) -> pa.RecordBatch:
        """Remove the spaces that follow delimiters; cells left empty become null."""
        arrays = []
        for array in batch.columns:
            stripped = pc.utf8_ltrim(array, " ")
            arrays.append(pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped))
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)

    # -- python engine ----------------------------------------------------------------------

    def _records(self) -> Iterator[tuple[int, list[str], str | None]]:
        """(start line, fields, raw line or None) for every non-empty record, header included."""
        d = self.dialect
        with open(self.path, encoding=self.scan.encoding, errors=self.scan.errors, newline="") as f:
            if d.whitespace_runs:
                for number, line in enumerate(f, start=1):
                    fields = line.split()
                    if fields:
                        yield number, fields, line.rstrip("\r\n")
                return
            _enable_long_fields()
            reader = csv.reader(
                f,
                delimiter=d.delimiter,
                quotechar='"',
                quoting=csv.QUOTE_MINIMAL if d.quoting else csv.QUOTE_NONE,
                skipinitialspace=d.skip_initial_space,
                strict=False,
            )
            while True:
                start = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InputError(self.path, f"cannot parse the file: {exc}", line=start) from None
                if fields:
                    yield start, fields, None

    def _python_batches(self) -> Iterator[pa.RecordBatch]:
        d = self.dialect
        width = len(d.names)
        columns: list[list[str | None]] = [[] for _ in range(width)]
        records = (r for r in self._records() if r[0] > d.skip_lines)  # not the blank lead-in
        if d.header:
            next(records, None)
        skip_undecodable = self.scan.errors == "surrogateescape"  # else no row can hold a bad byte
        for line, fields, raw in records:
            if skip_undecodable and row_has_undecodable(fields):
                text = escaped(raw if raw is not None else d.delimiter.join(fields))
                if self.bad_row is not None:
                    self.bad_row(BadRow(line=line, reason=SKIP_REASON.format(codec=self.scan.encoding), raw=text))
                continue
            if len(fields) != width:
                text = raw if raw is not None else d.delimiter.join(fields)
                error = self._bad(line, width, len(fields), text)
                if error is not None:
                    raise error
                continue
            for column, value in zip(columns, fields, strict=True):
                column.append(value or None)
            if len(columns[0]) >= self.batch_rows:
                yield self._to_batch(columns)
                columns = [[] for _ in range(width)]
        if columns and columns[0]:
            yield self._to_batch(columns)

    def _to_batch(self, columns: list[list[str | None]]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [pa.array(c, type=pa.string()) for c in columns], schema=self.schema
        )
