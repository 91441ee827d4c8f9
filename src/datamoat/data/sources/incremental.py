"""Merging fetched records into the previous version's rows on the primary key.

dlt calls this the ``merge`` write disposition. Here:

* a fetched record whose key is new is **added** (after the previous rows, in fetch order);
* one whose key exists and whose values differ **replaces** the stored row in place (the newer
  row wins); the stored row goes to the exclusions with reason ``superseded``;
* one equal to the stored row changes nothing (an incremental API re-sends the record at the
  cursor's own value: that must not make a new version);
* a key fetched twice in one run keeps the copy with the larger cursor value (the later one on
  a tie, or without a cursor); a different earlier copy is ``superseded`` too, an identical one
  is the same row and only counted.

Fetched records are first flattened the way the JSON readers store them (nested objects and
lists as JSON text), so they compare equal to what the previous version holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datamoat.data.readers.base import JSON_ENCODER
from datamoat.data.sources.json_path import find_one
from datamoat.errors import InputError

SUPERSEDED = "superseded"


@dataclass
class Merged:
    """rows: the new version's rows, in order. superseded: (key, replaced row) pairs.
    added / updated / unchanged / fetched_twice: counts for the manifest."""

    rows: list[dict[str, Any]]
    superseded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    fetched_twice: int = 0

    def counts(self) -> dict[str, int]:
        """JSON-ready counts."""
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "superseded": len(self.superseded), "fetched_twice_identical": self.fetched_twice}


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with nested values as JSON text (as the JSON readers store them)."""
    return {k: JSON_ENCODER.encode(v) if isinstance(v, (dict, list)) else v for k, v in record.items()}


def same_row(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when every column of either row has the same value in both (missing = null; a value
    stored as JSON text in a mixed-type column equals the value it encodes)."""
    return all(_same(a.get(k), b.get(k)) for k in a.keys() | b.keys())


def _same(x: Any, y: Any) -> bool:
    if x == y:
        return True
    if isinstance(x, str) and y is not None and not isinstance(y, str):
        return x == JSON_ENCODER.encode(y)
    if isinstance(y, str) and x is not None and not isinstance(x, str):
        return y == JSON_ENCODER.encode(x)
    return False


def key_text(value: Any) -> str:
    """A primary key as the row id text Arrow makes of it (``7`` -> ``"7"``)."""
    return value if isinstance(value, str) else JSON_ENCODER.encode(value)


def merge(
    previous: list[dict[str, Any]],
    fetched: list[tuple[int, dict[str, Any]]],
    primary_key: str,
    cursor_path: str | None,
    shown_url: str,
) -> Merged:
    """Merge ``fetched`` ((page, record) pairs) into ``previous`` rows (see the module docstring).

    Raises InputError naming the page and record when a fetched record has no primary key.
    """
    winners: dict[str, dict[str, Any]] = {}
    winner_cursor: dict[str, Any] = {}
    out = Merged(rows=[])
    for i, (page, record) in enumerate(fetched, 1):
        value = record.get(primary_key)
        if value is None or value == "":
            raise InputError(shown_url, f"page {page}: record {i} of the fetch has no {primary_key!r} "
                                        "(the primary_key); every record needs one")
        key = key_text(value)
        row = flatten(record)
        cursor = find_one(record, cursor_path) if cursor_path else None
        held = winners.get(key)
        if held is not None:
            if same_row(held, row):
                out.fetched_twice += 1
                continue
            older_wins = cursor_path is not None and _less(cursor, winner_cursor[key])
            loser = row if older_wins else held
            out.superseded.append((key, loser))
            if older_wins:
                continue
        winners[key] = row
        winner_cursor[key] = cursor
    for row in previous:
        key = key_text(row.get(primary_key))
        new = winners.pop(key, None)
        if new is None:
            out.rows.append(row)
        elif same_row(row, new):
            out.rows.append(row)
            out.unchanged += 1
        else:
            out.rows.append(new)
            out.superseded.append((key, row))
            out.updated += 1
    out.rows.extend(winners.values())
    out.added = len(winners)
    return out


def _less(a: Any, b: Any) -> bool:
    """``a < b`` where both are known and comparable; False otherwise (the later copy wins)."""
    try:
        return a is not None and b is not None and a < b
    except TypeError:
        return False
