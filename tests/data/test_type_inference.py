"""String type inference: rules, NA markers, streaming over batches, casting."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datamoat.data.type_inference import NA_MARKERS, StringTypeInferrer


def infer(*batches: dict[str, list[str | None]], keep_text: tuple[str, ...] = ()) -> tuple[StringTypeInferrer, pa.Table]:
    """Run update over all batches, then cast them; returns the inferrer and the cast table."""
    record_batches = [
        pa.RecordBatch.from_pydict(b, schema=pa.schema([(k, pa.string()) for k in b])) for b in batches
    ]
    inferrer = StringTypeInferrer(keep_text=keep_text)
    for batch in record_batches:
        inferrer.update(batch)
    return inferrer, pa.Table.from_batches(
        [inferrer.cast(b) for b in record_batches], schema=inferrer.schema()
    )


def test_basic_types():
    _, table = infer(
        {
            "i": ["1", "-20", " 300 ", "+4"],
            "f": ["1.5", "2", "-3e-2", ".5"],
            "b": ["true", "False", "TRUE", None],
            "s": ["a", "1", "2", "3"],
        }
    )
    assert table.schema.types == [pa.int64(), pa.float64(), pa.bool_(), pa.string()]
    assert table.column("i").to_pylist() == [1, -20, 300, 4]
    assert table.column("f").to_pylist() == [1.5, 2.0, -0.03, 0.5]
    assert table.column("b").to_pylist() == [True, False, True, None]


def test_leading_zeros_stay_text():
    _, table = infer(
        {"zip": ["01234", "12345"], "code": ["007", "7"], "dec": ["01.5", "1.5"], "zero": ["0", "0"]}
    )
    assert table.schema.field("zip").type == pa.string()
    assert table.column("zip").to_pylist() == ["01234", "12345"]
    assert table.schema.field("code").type == pa.string()
    assert table.schema.field("dec").type == pa.string()
    assert table.schema.field("zero").type == pa.int64()


def test_zero_and_one_are_numbers_not_bools():
    _, table = infer({"flag": ["0", "1", "1"]})
    assert table.schema.field("flag").type == pa.int64()


def test_na_markers_become_null_except_dash_in_text_and_anything_in_free_text():
    columns = {
        "age": ["39", "?", "NA", " 50", "-", ""],
        "ok": ["true", "null", "false", "None", "N/A", "false"],
        "job": ["clerk", " ?", "NA", "alice", "-", None],
        "body": ["hi", "?", "NA", "what?", "-", None],
    }
    inferrer, table = infer(columns, keep_text=("body",))
    assert table.column("age").to_pylist() == [39, None, None, 50, None, None]
    assert table.column("ok").to_pylist() == [True, None, False, None, None, False]
    assert table.column("job").to_pylist() == ["clerk", None, None, "alice", "-", None]
    assert table.column("body").to_pylist() == ["hi", "?", "NA", "what?", "-", None]
    notes = inferrer.notes()
    assert notes["age"] == {"type": "int64", "na_markers": {"": 1, "-": 1, "?": 1, "NA": 1}}
    assert notes["job"] == {"type": "string", "na_markers": {"?": 1, "NA": 1}}
    assert notes["body"]["na_markers"] == {}


def test_column_of_only_markers_or_nulls_stays_text():
    _, table = infer({"q": ["?", "?", None], "empty": [None, None, None], "t": ["?", "-", None]}, keep_text=("t",))
    assert table.schema.field("q").type == pa.string()
    assert table.column("q").to_pylist() == [None, None, None]
    assert table.column("t").to_pylist() == ["?", "-", None]
    assert table.schema.field("empty").type == pa.string()


def test_int64_overflow_keeps_text():
    inferrer, table = infer({"big": ["9223372036854775807", "1"], "huge": ["99999999999999999999", "1"]})
    assert table.schema.field("big").type == pa.int64()
    assert table.column("big").to_pylist() == [9223372036854775807, 1]
    assert table.schema.field("huge").type == pa.string()
    assert inferrer.notes()["huge"]["note"].startswith("integers beyond int64")


def test_evidence_accumulates_over_batches():
    _, table = infer(
        {"x": ["1", "2"], "y": ["1", "2"], "z": ["true", "?"]},
        {"x": ["3.5", "?"], "y": ["a", "3"], "z": ["false", "x"]},
    )
    assert table.schema.field("x").type == pa.float64()
    assert table.column("x").to_pylist() == [1.0, 2.0, 3.5, None]
    assert table.schema.field("y").type == pa.string()
    assert table.column("y").to_pylist() == ["1", "2", "a", "3"]
    assert table.schema.field("z").type == pa.string()


def test_special_floats_and_scientific_notation():
    _, table = infer({"v": ["inf", "-Infinity", "1E5", "2.", "-0.0"]})
    assert table.schema.field("v").type == pa.float64()
    assert table.column("v").to_pylist()[:4] == [float("inf"), float("-inf"), 1e5, 2.0]


def test_text_that_looks_almost_numeric():
    _, table = infer({"v": ["1,234", "5"], "w": ["1.2.3", "4"], "d": ["2024-01-02", "2024-01-03"]})
    assert table.schema.types == [pa.string(), pa.string(), pa.string()]


def test_cast_leaves_unknown_and_typed_columns_alone():
    inferrer, _ = infer({"n": ["1", "2"]})
    batch = pa.RecordBatch.from_pydict({"n": ["3", "4"], "_extra": ["x", "y"], "k": [1, 2]})
    out = inferrer.cast(batch)
    assert out.schema.types == [pa.int64(), pa.string(), pa.int64()]


def test_markers_constant_is_the_documented_list():
    for marker in ("", "NA", "N/A", "null", "NULL", "None", "?", "-"):
        assert marker in NA_MARKERS


@pytest.mark.timeout(60)
def test_vectorised_on_a_million_rows():
    n = 1_000_000
    batch = pa.RecordBatch.from_pydict(
        {
            "i": pa.array([str(i) for i in range(n)]),
            "f": pa.array([f"{i / 7:.4f}" if i % 100 else "?" for i in range(n)]),
            "s": pa.array(["text value"] * n),
        }
    )
    inferrer = StringTypeInferrer()
    for start_row in range(0, n, 65_536):
        inferrer.update(batch.slice(start_row, 65_536))
    out = inferrer.cast(batch)
    assert out.schema.types == [pa.int64(), pa.float64(), pa.string()]
    assert out.column("f").null_count == n // 100
