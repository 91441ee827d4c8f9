"""Content hashes and row ids: stable, batch-independent, and sensitive to every change."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from datamoat.data.content_hash import ContentHasher
from datamoat.data.row_ids import ContentRowIds, OccurrenceCounter, hex16_to_uint64, with_occurrence_suffix


def _hash(table: pa.Table, chunk: int) -> str:
    h = ContentHasher()
    for batch in table.to_batches(max_chunksize=chunk):
        h.update(batch)
    return h.hexdigest()


TABLE = pa.table({
    "s": ["a", None, "", "ccc", "é", "x" * 50],
    "i": [1, 2, None, 4, 5, 6],
    "f": [0.5, None, 1.5, float("nan"), 2.0, -1.0],
    "b": [True, False, None, True, True, False],
})


def test_hash_does_not_depend_on_batch_boundaries() -> None:
    assert len({_hash(TABLE, c) for c in (1, 2, 4, 100)}) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), min_size=1, max_size=30), st.integers(1, 7))
def test_hash_is_batch_independent_for_any_strings(values: list[str | None], chunk: int) -> None:
    table = pa.table({"s": pa.array(values, pa.string())})
    assert _hash(table, chunk) == _hash(table, len(values))


def test_every_kind_of_change_changes_the_hash() -> None:
    base = _hash(TABLE, 3)
    variants = [
        TABLE.set_column(0, "s", pa.array(["a", "", "", "ccc", "é", "x" * 50])),  # null -> ""
        TABLE.set_column(1, "i", pa.array([1, 2, 0, 4, 5, 6])),  # null -> 0
        TABLE.set_column(0, "s", pa.array(["a", None, "", "ccd", "é", "x" * 50])),
        TABLE.rename_columns(["s2", "i", "f", "b"]),
        TABLE.select(["i", "s", "f", "b"]),  # column order
        TABLE.slice(0, 5),
        TABLE.set_column(1, "i", TABLE.column("i").cast(pa.float64())),  # type
    ]
    hashes = {_hash(v, 3) for v in variants}
    assert base not in hashes and len(hashes) == len(variants)


def test_large_string_and_string_hash_alike() -> None:
    t = pa.table({"s": pa.array(["a", "bb", None], pa.large_string())})
    assert _hash(t, 2) == _hash(t.cast(pa.schema([("s", pa.string())])), 3)


def test_row_id_is_md5_of_the_non_null_column_value_pairs() -> None:
    batch = pa.record_batch({"a": ["x", None, "y"], "n": [1, 2, None]})
    ids = ContentRowIds().ids(batch).to_pylist()
    expected = [
        hashlib.md5(b"a=x\x1fn=1").hexdigest()[:16],
        hashlib.md5(b"n=2").hexdigest()[:16],
        hashlib.md5(b"a=y").hexdigest()[:16],
    ]
    assert ids == expected


def test_row_id_does_not_depend_on_other_rows_or_absent_columns() -> None:
    rows = ContentRowIds()
    alone = rows.ids(pa.record_batch({"a": ["x"]})).to_pylist()
    with_null_col = rows.ids(pa.record_batch({"a": ["x", "z"], "b": pa.array([None, "q"])})).to_pylist()
    assert with_null_col[0] == alone[0]


def test_occurrences_tell_repeated_rows_apart() -> None:
    ids = pa.array(["00000000000000aa", "00000000000000bb", "00000000000000aa", "00000000000000aa"])
    keys = hex16_to_uint64(ids)
    assert keys.tolist() == [0xAA, 0xBB, 0xAA, 0xAA]
    counter = OccurrenceCounter()
    occ = np.concatenate([counter.add(keys[:2]), counter.add(keys[2:])])
    assert occ.tolist() == [0, 0, 1, 2]
    assert with_occurrence_suffix(ids, occ).to_pylist() == [
        "00000000000000aa", "00000000000000bb", "00000000000000aa~1", "00000000000000aa~2"]


def test_hex_keys_match_python_int_parsing() -> None:
    rng = np.random.default_rng(1)
    values = [f"{int(v):016x}" for v in rng.integers(0, 2**63, 50, dtype=np.int64)] + ["ffffffffffffffff"]
    keys = hex16_to_uint64(pa.array(values).slice(1))
    assert keys.tolist() == [int(v, 16) for v in values[1:]]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=200), st.lists(st.integers(1, 40), min_size=1, max_size=10))
def test_online_occurrences_match_a_plain_count(values: list[int], chunk_sizes: list[int]) -> None:
    keys = np.array(values, dtype=np.uint64)
    counter = OccurrenceCounter()
    got: list[int] = []
    start, i = 0, 0
    while start < len(keys):
        size = chunk_sizes[i % len(chunk_sizes)]
        got += counter.add(keys[start : start + size]).tolist()
        start, i = start + size, i + 1
    seen: dict[int, int] = {}
    expected = []
    for v in values:
        expected.append(seen.get(v, 0))
        seen[v] = seen.get(v, 0) + 1
    assert got == expected
