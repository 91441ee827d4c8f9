"""The version writer: shards, row groups, dictionary choice, content hash, atomic commit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamoat.data.object_store import MANIFEST, ObjectStore
from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.data.version_writer import VersionWriter


def _batches(n: int, size: int) -> list[pa.RecordBatch]:
    rows = {ROW_ID_COLUMN: [f"r{i}" for i in range(n)], "label": ["a" if i % 3 else "b" for i in range(n)],
            "text": [f"text number {i}" for i in range(n)]}
    return pa.table(rows).to_batches(max_chunksize=size)


def test_shards_roll_over_and_hash_is_independent_of_sharding(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "s1")
    with VersionWriter(store, shard_rows=5) as w:
        for b in _batches(12, 4):
            w.write(b)
        small = w.finish()
    manifest = store.read_manifest(small.content_hash)
    assert [s["rows"] for s in manifest["shards"]] == [5, 5, 2]
    back = pa.concat_tables([pq.read_table(small.path / s["file"]) for s in manifest["shards"]])
    assert back.column("text").to_pylist() == [f"text number {i}" for i in range(12)]
    other = ObjectStore(tmp_path / "s2")
    with VersionWriter(other) as w:
        for b in _batches(12, 7):
            w.write(b)
        big = w.finish()
    assert big.content_hash == small.content_hash and big.row_count == 12


def test_dictionary_only_for_low_cardinality_columns(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    with VersionWriter(store) as w:
        for b in _batches(1000, 100):
            w.write(b)
        out = w.finish()
    meta = pq.ParquetFile(out.path / "part-00000.parquet").metadata
    assert meta.num_row_groups == 1  # small batches are buffered into one row group
    encodings = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i).encodings
                 for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in encodings["label"]
    assert "RLE_DICTIONARY" not in encodings["text"] and "RLE_DICTIONARY" not in encodings[ROW_ID_COLUMN]


def test_abort_leaves_nothing_and_commit_is_atomic(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    with pytest.raises(RuntimeError), VersionWriter(store) as w:
        w.write(_batches(10, 10)[0])
        raise RuntimeError("boom")
    assert list(store.tmp.iterdir()) == [] and list(store.objects.iterdir()) == []
    with VersionWriter(store) as w:
        w.write(_batches(10, 10)[0])
        first = w.finish()
    with VersionWriter(store) as w:  # the same content again: stored once
        w.write(_batches(10, 3)[0])
        w.write(_batches(10, 3)[1].slice(0, 0))
        for b in _batches(10, 3)[1:]:
            w.write(b)
        second = w.finish()
    assert second.content_hash == first.content_hash
    assert [p.name for p in (store.objects / first.content_hash[:2]).iterdir()] == [first.content_hash]
    assert (first.path / MANIFEST).is_file() and list(store.tmp.iterdir()) == []


def test_exclusions_change_the_hash(tmp_path: Path) -> None:
    from datamoat.data.exclusion_schema import EXCLUSION_SCHEMA

    store = ObjectStore(tmp_path)
    with VersionWriter(store) as w:
        w.write(_batches(5, 5)[0])
        plain = w.finish()
    with VersionWriter(store) as w:
        w.write(_batches(5, 5)[0])
        w.write_exclusions(pa.RecordBatch.from_pylist(
            [{ROW_ID_COLUMN: "x", "_dm_step": "1:s", "_dm_reason": "r", "_dm_row": "{}", "_dm_stats": "{}"}],
            schema=EXCLUSION_SCHEMA))
        with_excl = w.finish()
    assert with_excl.content_hash != plain.content_hash and with_excl.excluded_count == 1
