"""The contract every reader fulfils.

A reader turns one source (a file, a folder, a SQL query) into a stream of
``pyarrow.RecordBatch`` objects. Readers never hold the whole source in memory: they yield
batches of at most ``batch_rows`` rows (the last one may be smaller). Batches from one source
may differ in schema (e.g. a JSON column that is null in the first batch and int later);
the version writer unifies them.

What the reader learned while opening the source (encoding, delimiter, header, quoting ...)
is returned in :attr:`Source.info` so it can be recorded in the version manifest.

Rows the reader cannot parse are, by default, an :class:`~datamoat.errors.InputError`
naming file, line/row and column. With ``on_bad_rows="skip"`` they are passed to the
``bad_row`` callback instead, so the version writer can keep them in the exclusions table:
nothing is silently lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa

OnBadRows = Literal["error", "skip"]
DEFAULT_BATCH_ROWS = 65_536

JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
"""Encodes nested values (JSON objects and lists, Parquet lists / structs / maps) and mixed-type
fallbacks as JSON text, for every reader; reused, not rebuilt per value."""


@dataclass(frozen=True)
class BadRow:
    """A source row that could not be parsed.

    line: 1-based physical line (or record number for non-line formats).
    reason: why it was rejected, one short phrase.
    raw: the raw text of the row, as read.
    """

    line: int | None
    reason: str
    raw: str


@dataclass
class SourceInfo:
    """What a reader found out about its source; recorded in the version manifest.

    path: the path or URL as given by the user.
    format: one of ``csv``, ``json``, ``jsonl``, ``parquet``, ``sql``, ``text``.
    options: format details actually used, JSON-serialisable (``encoding``, ``delimiter``,
        ``header``, ``quoting``, ``skip_initial_space``, ``na_values``, ``label_from`` ...).
    all_strings: True when every column is text that still needs type inference (CSV);
        the writer then runs :mod:`datamoat.data.type_inference` over the batches.
    warnings: lines for the terminal about how the source was read (an encoding guessed from
        a file that is not UTF-8, undecodable bytes replaced or skipped).
    roles: roles the source's layout implies (a text folder: ``text`` and ``label``); ingest
        uses them for the roles the user did not give (unless ``infer_roles=False``).
    """

    path: str
    format: str
    options: dict[str, Any] = field(default_factory=dict)
    all_strings: bool = False
    warnings: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    """An opened source. Opening sniffs the format; :meth:`batches` streams the rows."""

    info: SourceInfo

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the rows in source order, at most ``batch_rows`` per batch."""
        ...


BadRowCallback = Callable[[BadRow], None]
