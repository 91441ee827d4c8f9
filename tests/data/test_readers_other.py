"""JSON, JSON Lines, Parquet, SQL and text readers, and format detection in open_source."""

from __future__ import annotations

import json
import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import read_source, write_file

from datamoat.data.readers import BadRow, detect_format, open_source
from datamoat.errors import InputError

# -- JSON array --------------------------------------------------------------------------------


def test_json_array_nested_values_become_json_text_and_keys_are_unioned(tmp_path):
    records = [
        {"text": "a\nb", "spans": [{"start": 0, "end": 1}], "n": 1},
        {"text": "c", "spans": [], "meta": {"k": "v"}, "n": 2},
    ]
    source, rows, batches = read_source(write_file(tmp_path, "a.json", json.dumps(records, indent=2)))
    assert source.info.format == "json"
    assert batches[-1].schema.names == ["text", "spans", "n", "meta"]
    assert json.loads(rows[0]["spans"]) == [{"start": 0, "end": 1}]
    assert rows[1]["meta"] == '{"k": "v"}' and rows[0]["meta"] is None
    assert [r["n"] for r in rows] == [1, 2]


def test_json_array_streams_in_batches(tmp_path):
    path = write_file(tmp_path, "many.json", json.dumps([{"i": i, "s": str(i) * 3} for i in range(1000)]))
    _, rows, batches = read_source(path, batch_rows=64)
    assert [r["i"] for r in rows] == list(range(1000))
    assert all(b.num_rows <= 64 for b in batches)


def test_json_array_is_read_across_buffer_refills(tmp_path, monkeypatch):
    from datamoat.data.readers import json_reader

    monkeypatch.setattr(json_reader, "CHUNK_CHARS", 7)  # numbers and strings cut at every refill
    records = [{"n": 123456789, "x": 1.5e-7, "s": "long string " * 5, "b": True} for _ in range(30)]
    _, rows, _ = read_source(write_file(tmp_path, "r.json", json.dumps(records)))
    assert rows == records


def test_json_syntax_error_names_line_and_character(tmp_path):
    data = '[\n  {"a": 1},\n  {"a": 2, b: 3}\n]\n'
    with pytest.raises(InputError) as err:
        read_source(write_file(tmp_path, "bad.json", data))
    assert err.value.line == 3
    assert "character 12" in str(err.value)
    assert "property name" in str(err.value)


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        ('[{"a": 1},\n{"a": 2}', "not closed", 2),
        ('[{"a": 1},\n{"a": 2},\n]', "trailing comma", 3),
        ('[{"a": 1}]\n[{"b": 2}]', "extra data", 2),
        ('[{"a": "x}]', "Unterminated string", 1),
    ],
)
def test_json_structure_errors(tmp_path, data, message, line):
    with pytest.raises(InputError, match=message) as err:
        read_source(write_file(tmp_path, "e.json", data))
    assert err.value.line == line


def test_json_top_level_object_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="top-level JSON value is an object, not an array of objects"):
        open_source(write_file(tmp_path, "o.json", '{\n  "data": [{"a": 1}]\n}\n'))


def test_json_elements_that_are_not_objects(tmp_path):
    path = write_file(tmp_path, "m.json", '[{"a": 1},\n 5,\n {"a": 2}]')
    with pytest.raises(InputError, match="element 2 of the array is a number, not an object") as err:
        read_source(path)
    assert err.value.line == 2
    bad: list[BadRow] = []
    _, rows, _ = read_source(path, on_bad_rows="skip", bad_row=bad.append)
    assert rows == [{"a": 1}, {"a": 2}]
    assert bad == [BadRow(line=2, reason="element 2 of the array is a number, not an object", raw="5")]


def test_json_mixed_types_in_a_column_become_text(tmp_path):
    _, rows, batches = read_source(write_file(tmp_path, "mix.json", '[{"v": 1}, {"v": "x"}, {"v": true}, {"v": null}]'))
    assert batches[0].schema.field("v").type == pa.string()
    assert [r["v"] for r in rows] == ["1", "x", "true", None]


# -- JSON Lines --------------------------------------------------------------------------------


def test_jsonl_reads_and_reports_bad_lines(tmp_path):
    data = '{"a": 1, "tags": ["x"]}\n\n{"a": 2}\n{"a": 3,}\n[1]\n{"a": 4}\n'
    path = write_file(tmp_path, "d.jsonl", data)
    with pytest.raises(InputError) as err:
        read_source(path)
    assert err.value.line == 4 and "invalid JSON at character 9" in str(err.value)
    bad: list[BadRow] = []
    source, rows, _ = read_source(path, on_bad_rows="skip", bad_row=bad.append)
    assert source.info.format == "jsonl"
    assert [r["a"] for r in rows] == [1, 2, 4]
    assert rows[0]["tags"] == '["x"]'
    assert [(b.line, b.raw) for b in bad] == [(4, '{"a": 3,}'), (5, "[1]")]
    assert "not an object" in bad[1].reason


def test_json_extension_holding_json_lines_is_detected(tmp_path):
    path = write_file(tmp_path, "lines.json", '{"a": 1}\n{"a": 2}\n')
    assert detect_format(path) == "jsonl"
    _, rows, _ = read_source(path)
    assert rows == [{"a": 1}, {"a": 2}]


# -- Parquet -----------------------------------------------------------------------------------


def test_parquet_round_trip_in_batches(tmp_path):
    table = pa.table({"id": list(range(1000)), "x": [i / 2 for i in range(1000)], "s": ["a"] * 1000})
    path = str(tmp_path / "t.parquet")
    pq.write_table(table, path, row_group_size=300)
    source, _, batches = read_source(path, batch_rows=128)
    assert source.info.format == "parquet" and source.info.options["rows"] == 1000
    assert all(b.num_rows <= 128 for b in batches)
    assert pa.Table.from_batches(batches).equals(table)


def test_parquet_detected_by_content_and_empty_parquet_keeps_schema(tmp_path):
    path = str(tmp_path / "data.bin")
    pq.write_table(pa.table({"a": pa.array([], pa.int32())}), path)
    assert detect_format(path) == "parquet"
    _, rows, batches = read_source(path)
    assert rows == [] and batches[0].schema.field("a").type == pa.int32()


def test_not_a_parquet_file(tmp_path):
    path = write_file(tmp_path, "fake.parquet", "a,b\n1,2\n")
    with pytest.raises(InputError, match="is not a Parquet file"):
        open_source(path)


# -- SQL ---------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path) -> str:
    path = tmp_path / "db.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT, score REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"n{i}", i / 4) for i in range(250)])
    return f"sqlite:///{path}"


def test_sql_query_streams_in_batches(sqlite_db):
    source, rows, batches = read_source(
        sqlite_db, query="SELECT id, name, score FROM t WHERE name <> '10:30' ORDER BY id", batch_rows=100
    )
    assert source.info.format == "sql"
    assert [b.num_rows for b in batches] == [100, 100, 50]
    assert rows[3] == {"id": 3, "name": "n3", "score": 0.75}
    _, rows, _ = read_source(sqlite_db, table="t")
    assert len(rows) == 250


def test_sql_errors(sqlite_db, tmp_path):
    with pytest.raises(InputError, match="no such table"):
        read_source(sqlite_db, query="SELECT * FROM missing")
    with pytest.raises(InputError, match="needs query="):
        open_source(sqlite_db)
    with pytest.raises(InputError, match="no such file"):
        open_source(f"sqlite:///{tmp_path}/nope.db", query="SELECT 1")
    assert not (tmp_path / "nope.db").exists()
    with pytest.raises(InputError, match="unknown database kind"):
        open_source("nosuchdb://x/y", query="SELECT 1")


def test_sql_password_is_masked(tmp_path):
    with pytest.raises(InputError) as err:
        open_source("postgresql+nosuchdriver://user:secret@localhost/db", query="SELECT 1")
    assert "secret" not in str(err.value)


# -- text --------------------------------------------------------------------------------------


def test_text_folder_file_mode_with_folder_labels(tmp_path):
    root = tmp_path / "corpus"
    write_file(root, "pos/a.txt", "good film\nreally")
    write_file(root, "pos/b.txt", "great")
    write_file(root, "neg/c.txt", "bad")
    write_file(root, "neg/.hidden.txt", "skip me")
    write_file(root, "neg/empty.txt", "")
    source, rows, batches = read_source(str(root))
    assert source.info.format == "text" and source.info.options["mode"] == "file"
    assert batches[0].schema.names == ["text", "label", "source_file"]
    assert rows == [
        {"text": "bad", "label": "neg", "source_file": "neg/c.txt"},
        {"text": "good film\nreally", "label": "pos", "source_file": "pos/a.txt"},
        {"text": "great", "label": "pos", "source_file": "pos/b.txt"},
    ]
    assert source.info.options["empty_files"] == 1


def test_text_folder_line_mode(tmp_path):
    root = tmp_path / "corpus"
    write_file(root, "pos/a.txt", "good film\n\nreally good\n")
    write_file(root, "neg/c.txt", "bad\r\nworse\r\n")
    source, rows, _ = read_source(str(root), mode="line", batch_rows=2)
    assert [(r["text"], r["label"], r["line"]) for r in rows] == [
        ("bad", "neg", 1),
        ("worse", "neg", 2),
        ("good film", "pos", 1),
        ("really good", "pos", 3),
    ]
    assert source.info.options["blank_lines"] == 1


def test_text_folder_with_one_file_per_label(tmp_path):
    root = tmp_path / "labels"
    write_file(root, "spam.txt", "win money\nfree prize\n")
    write_file(root, "ham.txt", "see you at 5\n")
    source, rows, _ = read_source(str(root))
    assert source.info.options["mode"] == "line" and source.info.options["label_from"] == "file"
    assert [(r["label"], r["text"]) for r in rows] == [
        ("ham", "see you at 5"),
        ("spam", "win money"),
        ("spam", "free prize"),
    ]


def test_plain_text_file_lines_and_blank_lines(tmp_path):
    data = "First Citizen:\nBefore we proceed.\n\nAll:\nSpeak, speak.\n\n   \n"
    path = write_file(tmp_path, "input.txt", data)
    source, kept, batches = read_source(path)
    assert source.info.format == "text"
    assert batches[0].schema.names == ["text", "source_file", "line"]
    assert [r["text"] for r in kept] == data.split("\n")[:-1]  # the corpus, intact
    assert [r["line"] for r in kept] == [1, 2, 3, 4, 5, 6, 7]
    source, rows, _ = read_source(path, format="text", keep_blank=False)
    assert [r["line"] for r in rows] == [1, 2, 4, 5]
    assert source.info.options["lines"] == 7 and source.info.options["blank_lines"] == 3


# -- open_source errors ------------------------------------------------------------------------


def test_open_source_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "missing.csv"))
    with pytest.raises(InputError, match="is a folder"):
        open_source(str(tmp_path), format="csv")
    path = write_file(tmp_path, "a.csv", "a\n1\n")
    with pytest.raises(InputError, match="unknown format 'xlsx'"):
        open_source(path, format="xlsx")
    with pytest.raises(InputError, match="option 'mode' does not apply to csv"):
        open_source(path, mode="line")
    with pytest.raises(InputError, match="no files matching"):
        (tmp_path / "emptydir").mkdir()
        open_source(str(tmp_path / "emptydir"))
