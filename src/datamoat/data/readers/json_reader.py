"""Stream JSON sources as record batches: a top-level array of objects, or JSON Lines.

* :class:`JsonArraySource` reads ``[{...}, {...}, ...]`` element by element with the standard
  library's C decoder (``json.JSONDecoder.raw_decode``) over a growing text buffer, so memory
  holds one buffer (1 MiB, or one element when larger) rather than the file. Measured as
  fast as ijson's yajl2_c backend on a 51 MB file (0.28 s vs 0.30 s), and unlike yajl it
  reports where a syntax error is: line and character.
* :class:`JsonLinesSource` reads one object per line with ``json.loads``; a bad line is an
  InputError naming it, or a :class:`~datamoat.data.readers.base.BadRow` with ``on_bad_rows="skip"``.

Each object becomes a row; keys become columns (union of the keys seen so far, in first-seen
order; a missing key is null). Nested values (objects, lists) are stored as JSON text; a value
nested deeper than the decoder can recurse (about 900 levels) is an InputError naming its line. A column
whose values Arrow cannot hold in one type (``1`` and ``"a"``) becomes text from then on.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, TextIO

import pyarrow as pa

from datamoat.data.readers.base import (
    DEFAULT_BATCH_ROWS,
    JSON_ENCODER,
    BadRow,
    BadRowCallback,
    OnBadRows,
    SourceInfo,
)
from datamoat.data.readers.decode_errors import SKIP_REASON, escaped, undecodable
from datamoat.data.readers.encoding import MAX_LINE_BYTES, scan_text_file
from datamoat.errors import InputError

CHUNK_CHARS = 1 << 20
"""Characters read per refill of the JSON array buffer."""

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_BLANKS = " \t\r\n"
TOO_DEEP = "a value is nested too deeply (arrays or objects more than about 900 levels deep)"
"""Python's JSON decoder recurses once per level; past the interpreter's limit it cannot read a value."""
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def json_kind(value: Any) -> str:
    """``"an object"``, ``"a number"`` ... for messages."""
    return _JSON_KINDS.get(type(value), "a number")


def column_array(values: list[Any], as_text: bool = False) -> tuple[pa.Array, bool]:
    """Build one Arrow column from Python values; returns ``(array, is_text_fallback)``.

    Values of mixed types that Arrow cannot hold in one type (or ints beyond int64) become
    text: strings as they are, anything else as JSON. ``as_text`` forces that.
    """
    if not as_text:
        try:
            return pa.array(values), False
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    text = [v if v is None or isinstance(v, str) else JSON_ENCODER.encode(v) for v in values]
    return pa.array(text, type=pa.string()), True


class RowBatcher:
    """Collects rows (dicts) and turns them into record batches with a stable column order."""

    def __init__(self) -> None:
        self.keys: dict[str, None] = {}
        self.text_columns: set[str] = set()
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        """Add one row; nested values are stored as JSON text."""
        for key, value in row.items():
            if key not in self.keys:
                self.keys[key] = None
            if isinstance(value, (dict, list)):
                row[key] = JSON_ENCODER.encode(value)
        self.rows.append(row)

    def flush(self) -> pa.RecordBatch:
        """The rows added since the last flush, as one batch (all columns seen so far)."""
        arrays, names = [], list(self.keys)
        for key in names:
            array, fell_back = column_array([row.get(key) for row in self.rows], key in self.text_columns)
            if fell_back:
                self.text_columns.add(key)
            arrays.append(array)
        self.rows = []
        return pa.RecordBatch.from_arrays(arrays, names=names)


class _ArrayParser:
    """Yields ``(line, value)`` for each element of the top-level JSON array in ``f``."""

    def __init__(self, f: TextIO, path: str) -> None:
        self.f, self.path = f, path
        self.buf, self.pos, self.eof = "", 0, False
        self.base_line = 1  # line number of buf[0]
        self._cursor = (0, 1)  # (position in buf, its line): line_at counts forward from here
        self.decoder = json.JSONDecoder()

    def _fill(self) -> None:
        more = self.f.read(max(CHUNK_CHARS, len(self.buf)))
        if not more:
            self.eof = True
            return
        self.base_line = self.line_at(self.pos)
        self.buf, self.pos = self.buf[self.pos :] + more, 0
        self._cursor = (0, self.base_line)

    def _skip_whitespace(self) -> bool:
        """Move to the next non-blank character; False at the end of the input."""
        if self.pos < len(self.buf) and self.buf[self.pos] not in _BLANKS:
            return True
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return True
            if self.eof:
                return False
            self._fill()

    def line_at(self, pos: int) -> int:
        """1-based line of ``buf[pos]``; cheap when called with increasing positions."""
        start, line = self._cursor if pos >= self._cursor[0] else (0, self.base_line)
        line += self.buf.count("\n", start, pos)
        self._cursor = (pos, line)
        return line

    def error(self, pos: int, message: str) -> InputError:
        column = pos - self.buf.rfind("\n", 0, pos)
        return InputError(self.path, f"invalid JSON at character {column}: {message}", line=self.line_at(pos))

    def _decode(self) -> Any:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise self.error(self.pos, TOO_DEEP) from None
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(self.buf) - 16 or exc.msg.startswith("Unterminated string")
                if self.eof or not incomplete:
                    raise self.error(exc.pos, exc.msg) from None
                self._fill()
                continue
            if end >= len(self.buf) and not self.eof:  # a number may continue in the next chunk
                self._fill()
                continue
            self.pos = end
            return value

    def start(self) -> None:
        """Read up to and past the opening ``[``; InputError when the input is not an array."""
        self._fill()
        if not self._skip_whitespace():
            raise InputError(self.path, "the file is empty")
        if self.buf[self.pos] != "[":
            raise self._not_an_array()
        self.pos += 1

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        self.start()
        while True:
            if not self._skip_whitespace():
                raise self.error(self.pos, "the array is not closed with ']'")
            if self.buf[self.pos] == "]":
                self.pos += 1
                break
            line = self.line_at(self.pos)
            yield line, self._decode()
            if not self._skip_whitespace():
                raise self.error(self.pos, "the array is not closed with ']'")
            if self.buf[self.pos] == ",":
                self.pos += 1
                if self._skip_whitespace() and self.buf[self.pos] == "]":
                    raise self.error(self.pos, "trailing comma before ']'")
            elif self.buf[self.pos] != "]":
                raise self.error(self.pos, "expected ',' or ']' after an array element")
        if self._skip_whitespace():
            raise self.error(self.pos, "extra data after the top-level array")

    def _not_an_array(self) -> InputError:
        first = self.buf[self.pos]
        kind = {"{": "an object", '"': "a string"}.get(first, "not an array")
        return InputError(
            self.path,
            f"the top-level JSON value is {kind}, not an array of objects; datamoat reads a JSON "
            "array of objects ([{...}, ...]) or JSON Lines (one object per line)",
            line=self.line_at(self.pos),
        )


_UNDECODABLE = object()
"""Marks a JSON Lines record dropped for bytes that do not decode (already reported)."""


class _JsonSourceBase(ABC):
    """Shared parts: options, bad rows, batching."""

    format = "json"

    def __init__(
        self,
        path: str,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        on_bad_rows: OnBadRows = "error",
        bad_row: BadRowCallback | None = None,
        encoding: str | None = None,
        on_decode_error: str = "fail",
        max_line_bytes: int | None = None,
    ) -> None:
        """``max_line_bytes``: longest physical line accepted (None: no limit, e.g. minified JSON).
        ``on_decode_error``: ``fail``, ``replace`` or ``skip-row`` (see :mod:`.decode_errors`)."""
        self.path, self.batch_rows = path, batch_rows
        self.on_bad_rows, self.bad_row = on_bad_rows, bad_row
        self.scan = scan_text_file(
            path, encoding=encoding, on_decode_error=on_decode_error, max_line_bytes=max_line_bytes
        )
        options = {"encoding": self.scan.encoding, "decode_errors": self.scan.errors,
                   "undecodable_lines": self.scan.bad_lines}
        self.info = SourceInfo(path=path, format=self.format, options=options,
                               warnings=[self.scan.warning] if self.scan.warning else [])

    def _reject(self, line: int, reason: str, raw: str) -> None:
        """A record that is not an object / not valid JSON: error, or BadRow when skipping."""
        if self.on_bad_rows != "skip":
            raise InputError(self.path, reason, line=line)
        if self.bad_row is not None:
            self.bad_row(BadRow(line=line, reason=reason, raw=raw))

    @abstractmethod
    def _records(self, f: TextIO) -> Iterator[tuple[int, Any]]:
        """Yield (line, parsed value) per record, in file order (each subclass reads its format)."""

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield rows in file order, at most ``batch_rows`` per batch (at least one batch)."""
        batcher = RowBatcher()
        produced = False
        with open(self.path, encoding=self.scan.encoding, errors=self.scan.errors) as f:
            for number, (line, value) in enumerate(self._records(f), start=1):
                if value is _UNDECODABLE:
                    continue
                if not isinstance(value, dict):
                    what = f"element {number} of the array" if self.format == "json" else "the line"
                    self._reject(line, f"{what} is {json_kind(value)}, not an object", _raw(value))
                    continue
                batcher.add(value)
                if len(batcher.rows) >= self.batch_rows:
                    produced = True
                    yield batcher.flush()
        if batcher.rows or not produced:
            yield batcher.flush()


def _raw(value: Any) -> str:
    return value if isinstance(value, str) else JSON_ENCODER.encode(value)


class JsonArraySource(_JsonSourceBase):
    """A file holding one JSON array of objects. A syntax error is always an InputError
    (the parser cannot resynchronise); elements that are not objects follow ``on_bad_rows``."""

    format = "json"

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        if self.scan.errors == "surrogateescape":
            raise InputError(path, "on_decode_error skip-row cannot drop rows from a JSON array; use replace or fail")
        with open(path, encoding=self.scan.encoding, errors=self.scan.errors) as f:
            _ArrayParser(f, path).start()

    def _records(self, f: TextIO) -> Iterator[tuple[int, Any]]:
        return iter(_ArrayParser(f, self.path))


class JsonLinesSource(_JsonSourceBase):
    """A JSON Lines file: one object per line; blank lines are ignored."""

    format = "jsonl"

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path, max_line_bytes=MAX_LINE_BYTES, **kwargs)

    def _records(self, f: TextIO) -> Iterator[tuple[int, Any]]:
        skip_undecodable = self.scan.errors == "surrogateescape"  # on_decode_error="skip-row"
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            if skip_undecodable and undecodable(line):
                if self.bad_row is not None:
                    reason = SKIP_REASON.format(codec=self.scan.encoding)
                    self.bad_row(BadRow(line=number, reason=reason, raw=escaped(line.rstrip("\r\n"))))
                yield number, _UNDECODABLE
                continue
            try:
                yield number, json.loads(line)
            except RecursionError:
                self._reject(number, TOO_DEEP, line.rstrip("\r\n")[:1000])
            except json.JSONDecodeError as exc:
                self._reject(number, f"invalid JSON at character {exc.colno}: {exc.msg}", line.rstrip("\r\n"))
