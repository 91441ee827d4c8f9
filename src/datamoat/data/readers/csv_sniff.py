"""Work out a delimited text file's dialect from a sample of its first few MiB.

:func:`sniff_csv` takes the decoded sample (see :func:`~datamoat.data.readers.encoding.read_sample`)
and returns a :class:`CsvDialect`:

* **delimiter**: the candidate among ``,`` ``\\t`` ``;`` ``|`` that splits the records into the
  most consistent number of fields (>= 2); ties go to the one whose first record agrees with
  the modal count, then to that order. If none works, fields separated by spaces are tried:
  single spaces (``A11 6 A34 ...``) or runs of spaces/tabs (``whitespace_runs``).
* **quoting**: every field that starts with ``"`` is checked. If all of them are properly
  closed (``"..."`` followed by a delimiter or the end of the line), the file is quoted;
  if none is (``"Great" product, really`` or ``"unterminated``), quoting is off and quote
  characters are ordinary text; if both kinds occur, the reading whose records cover more
  lines with the usual field count wins (an unclosed quote swallows lines and loses).
* **skip_initial_space**: fields after the first nearly all start with a space
  (``39, State-gov, 77516``).
* **header**: column-by-column votes: a non-numeric first cell over numbers says "header",
  a numeric first cell over numbers or a first cell that recurs in the data says "no header";
  no evidence either way means a header (the common case).
* **na_values**: the NA markers (``?``, ``NA`` ...) seen as whole cells in the sample.

Options the user gives (``delimiter``, ``header``, ``quoting``) are used as given.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from datamoat.data.type_inference import NA_MARKERS

DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")
"""Single-character delimiters tried, in order of preference on a tie."""

WHITESPACE = "whitespace"
"""``CsvDialect.delimiter`` value for fields separated by runs of spaces/tabs."""

_HEAD_LINES = 2000
_CONFIDENT = 0.9
_LONG_HEADER_CELL = 120
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$")
_LEADING_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n)*")
_BOOL = re.compile(r"^(?:true|false)$", re.IGNORECASE)


@dataclass
class CsvDialect:
    """How to read one delimited file.

    delimiter: one character, or :data:`WHITESPACE` for runs of spaces/tabs.
    quoting: ``"`` starts a quoted field (doubled ``""`` inside is one quote).
    header: the first record holds the column names.
    skip_initial_space: spaces after a delimiter are not part of the field.
    names: final column names (stripped, unique, ``col_<i>`` for empty/absent ones).
    newlines_in_values: the sample has a quoted field spanning lines.
    na_values: NA markers seen as whole cells in the sample.
    confident: the delimiter split the sample into >= 2 consistent fields (>= 90% of records).
    quoted_fields: properly quoted fields seen in the sample.
    skip_lines: blank or whitespace-only lines before the first record (not data).
    records: data records in the sample (header excluded; a lower bound when the sample is cut).
    """

    delimiter: str = ","
    quoting: bool = True
    header: bool = True
    skip_initial_space: bool = False
    names: list[str] = field(default_factory=list)
    newlines_in_values: bool = False
    na_values: list[str] = field(default_factory=list)
    confident: bool = False
    quoted_fields: int = 0
    skip_lines: int = 0
    records: int = 0

    @property
    def whitespace_runs(self) -> bool:
        """True when fields are separated by runs of spaces/tabs (no quoting)."""
        return self.delimiter == WHITESPACE


def unique_names(raw: Iterable[str | None]) -> list[str]:
    """Clean column names: strip spaces; empty -> ``col_<i>`` (1-based); repeats -> ``x_2``, ``x_3``."""
    cleaned = [(name or "").strip() or f"col_{i}" for i, name in enumerate(raw, start=1)]
    taken: set[str] = set()
    out: list[str] = []
    for name in cleaned:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name}_{n}"
        taken.add(candidate)
        out.append(candidate)
    return out


def _csv_reader(text: str, delimiter: str, quoting: bool, skip_initial_space: bool) -> Iterator[list[str]]:
    """Python's csv reader over ``text`` with the dialect being tried (lenient: strict=False)."""
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        quotechar='"',
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        skipinitialspace=skip_initial_space,
        strict=False,
    )


def parse_records(
    text: str, delimiter: str, quoting: bool, skip_initial_space: bool = False
) -> list[list[str]]:
    """Split ``text`` into records (empty lines dropped) with Python's csv module.

    A quoted field left open at the end of ``text`` ends the list (the sample may be cut).
    """
    if delimiter == WHITESPACE:
        return [line.split() for line in text.splitlines() if line.strip()]
    reader = _csv_reader(text, delimiter, quoting, skip_initial_space)
    records: list[list[str]] = []
    try:
        for record in reader:
            if record:
                records.append(record)
    except csv.Error:
        pass
    return records


def _consistency(counts: list[int]) -> tuple[float, int]:
    """(share of records having the modal field count, that count)."""
    if not counts:
        return 0.0, 0
    mode, hits = Counter(counts).most_common(1)[0]
    return hits / len(counts), mode


def _head(text: str, lines: int = _HEAD_LINES) -> str:
    """The first ``lines`` lines of ``text``."""
    end = -1
    for _ in range(lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]


def _delimiter_key(head: str, delimiter: str, preference: int) -> tuple[float, bool, int, int]:
    best: tuple[float, bool, int, int] = (0.0, False, 0, -preference)
    for quoting in (True, False):
        counts = [len(r) for r in parse_records(head, delimiter, quoting)]
        share, mode = _consistency(counts)
        if mode >= 2:
            best = max(best, (round(share, 2), counts[0] == mode, mode, -preference))
    return best


def sniff_delimiter(head: str, hint: str | None = None) -> tuple[str, bool]:
    """Pick the delimiter for the sample ``head``; returns ``(delimiter, confident)``.

    ``hint`` (e.g. tab for ``.tsv``) wins when it yields >= 2 fields per record.
    """
    order = ((hint,) if hint else ()) + tuple(d for d in DELIMITERS if d != hint)
    keys = {d: _delimiter_key(head, d, i) for i, d in enumerate(order)}
    best = max(order, key=lambda d: keys[d])
    share, _, mode, _ = keys[best]
    if mode >= 2 and (share >= _CONFIDENT or hint == best):
        return best, share >= _CONFIDENT
    lines = [line for line in head.splitlines() if line.strip()]
    share_ws, mode_ws = _consistency([len(line.split()) for line in lines])
    first_fits = bool(lines) and len(lines[0].split()) == mode_ws  # a one-column file of two-word values
    if mode_ws >= 2 and share_ws >= _CONFIDENT and share_ws > share and first_fits:
        single = all(line.split(" ") == line.split() for line in lines)
        return (" " if single else WHITESPACE), True
    if mode >= 2:
        return best, False
    return hint or ",", False


def _starts_with_space(head: str, delimiter: str) -> bool:
    """True when >= 90% of the non-empty fields after the first begin with a space."""
    spaced = total = 0
    for line in head.splitlines():
        for part in line.split(delimiter)[1:]:
            if part:
                total += 1
                spaced += part.startswith(" ")
    return total > 0 and spaced / total >= _CONFIDENT


def _quote_starts(text: str, delimiter: str, skip_initial_space: bool) -> Iterator[int]:
    """Offsets of ``"`` characters that begin a field (at a line start or after a delimiter)."""
    sep = re.escape(delimiter)
    spaces = " *" if skip_initial_space else ""
    for m in re.finditer(rf'(?:^|(?<={sep})){spaces}"', text, flags=re.MULTILINE):
        yield m.end() - 1


@dataclass
class QuoteCensus:
    """Fields starting with a quote in a sample: properly closed, or not."""

    proper: int = 0
    improper: int = 0
    multiline: bool = False


def quote_census(text: str, delimiter: str, at_eof: bool, skip_initial_space: bool = False) -> QuoteCensus:
    """Classify every quote-started field of ``text`` as properly quoted or not.

    A proper quoted field is ``"`` + (any character but ``"``, or ``""``)* + ``"`` followed by
    the delimiter, a line end or the end of the text. In a cut sample, a quote with no later
    quote at all is not counted: the field may close after the sample.
    """
    sep = re.escape(delimiter)
    proper = re.compile(
        rf'"(?:[^"]|"")*"(?=[ ]*(?:{sep}|\r?\n|\r|$))'
        if skip_initial_space
        else rf'"(?:[^"]|"")*"(?={sep}|\r?\n|\r|$)'
    )
    census = QuoteCensus()
    skip_until = 0
    for start in _quote_starts(text, delimiter, skip_initial_space):
        if start < skip_until:
            continue
        m = proper.match(text, start)
        if m:
            census.proper += 1
            census.multiline = census.multiline or "\n" in m.group() or "\r" in m.group()
            skip_until = m.end()
        elif not at_eof and text.find('"', start + 1) < 0:
            break
        else:
            census.improper += 1
    return census


def _record_score(text: str, delimiter: str, quoting: bool, skip_initial_space: bool) -> float:
    """Share of physical lines covered by records that have the modal field count.

    A quote that is never closed makes one record swallow many lines, which this punishes
    (plain record-count consistency would not).
    """
    reader = _csv_reader(text, delimiter, quoting, skip_initial_space)
    widths: list[int] = []
    lines = previous = 0
    try:
        for record in reader:
            if record:
                widths.append(len(record))
                lines += reader.line_num - previous
            previous = reader.line_num
    except csv.Error:
        pass
    if not widths:
        return 0.0
    mode, hits = Counter(widths).most_common(1)[0]
    return hits / max(lines, 1)


def sniff_quoting(
    text: str, delimiter: str, at_eof: bool, skip_initial_space: bool
) -> tuple[bool, QuoteCensus]:
    """Decide whether ``"`` quotes fields; returns ``(quoting, census of quote-started fields)``."""
    census = quote_census(text, delimiter, at_eof, skip_initial_space)
    if census.improper == 0:
        return True, census
    if census.proper == 0:
        return False, census
    quoted = _record_score(text, delimiter, True, skip_initial_space)
    plain = _record_score(text, delimiter, False, skip_initial_space)
    return plain <= quoted, census


def _kind(value: str) -> str:
    """Coarse type of one cell: ``na``, ``number``, ``bool`` or ``text``."""
    v = value.strip()
    if v in NA_MARKERS:
        return "na"
    if _NUMBER.match(v):
        return "number"
    if _BOOL.match(v):
        return "bool"
    return "text"


def _column_vote(first: str, body: Iterable[str]) -> int:
    """+1: ``first`` looks like a column name over ``body``; -1: like data; 0: no evidence."""
    values = list(body)
    kinds = {_kind(v) for v in values} - {"na"}
    first_kind = _kind(first)
    if len(first.strip()) > _LONG_HEADER_CELL:
        return -1
    if first_kind == "na" or not kinds:
        return 0
    if kinds == {"number"} or kinds == {"bool"}:
        return -1 if first_kind in kinds else 1
    if first.strip() in {v.strip() for v in values}:
        return -1
    return -1 if first_kind == "number" else 0


def sniff_header(records: list[list[str]]) -> bool:
    """Whether ``records[0]`` is a header row (see the module docstring for the votes)."""
    if len(records) < 2:
        return True
    first, body = records[0], records[1:1001]
    total = 0
    for j, cell in enumerate(first):
        total += _column_vote(cell, (r[j] for r in body if j < len(r)))
    return total >= 0


def sniff_csv(
    text: str,
    at_eof: bool,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    quoting: bool | None = None,
    delimiter_hint: str | None = None,
) -> CsvDialect:
    """Sniff the dialect of the decoded sample ``text`` (``at_eof``: it is the whole file).

    ``delimiter`` / ``header`` / ``quoting`` given by the user are kept as they are;
    ``delimiter_hint`` is preferred when it works (tab for ``.tsv``).
    """
    dialect = CsvDialect()
    leading = _LEADING_BLANK_LINES.match(text)
    dialect.skip_lines = leading.group().count("\n")
    text = text[leading.end() :]
    head = _head(text)
    if delimiter is None:
        dialect.delimiter, dialect.confident = sniff_delimiter(head, delimiter_hint)
    else:
        dialect.delimiter, dialect.confident = delimiter, True
    if dialect.whitespace_runs:
        dialect.quoting, dialect.skip_initial_space = False, False
    else:
        dialect.skip_initial_space = dialect.delimiter != " " and _starts_with_space(head, dialect.delimiter)
        if quoting is None:
            dialect.quoting, census = sniff_quoting(
                text, dialect.delimiter, at_eof, dialect.skip_initial_space
            )
        else:
            dialect.quoting = quoting
            census = quote_census(text, dialect.delimiter, at_eof, dialect.skip_initial_space)
        if dialect.quoting:
            dialect.newlines_in_values, dialect.quoted_fields = census.multiline, census.proper
    records = parse_records(text, dialect.delimiter, dialect.quoting, dialect.skip_initial_space)
    dialect.header = sniff_header(records) if header is None else header
    if records:
        width = len(records[0]) if dialect.header else _consistency([len(r) for r in records])[1]
        given = records[0] if dialect.header else []
        dialect.names = unique_names([*given, *[""] * (width - len(given))][:width])
    body = records[1:] if dialect.header else records
    dialect.records = len(body)
    seen = {cell.strip() for record in body[:10000] for cell in record} & set(NA_MARKERS) - {""}
    dialect.na_values = sorted(seen)
    return dialect
