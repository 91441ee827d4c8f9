"""CSV reading: encodings, dialect sniffing, bad rows, limits and streaming.

Every test writes its own small file into tmp_path.
"""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from conftest import read_source, write_file

from datamoat.data.readers import BadRow, open_source
from datamoat.data.readers.csv_sniff import sniff_csv, unique_names
from datamoat.data.readers.encoding import MAX_LINE_BYTES, scan_text_file
from datamoat.data.type_inference import StringTypeInferrer
from datamoat.errors import InputError

# -- quoting -----------------------------------------------------------------------------------


def test_embedded_newlines_in_quoted_fields(tmp_path):
    data = 'id,text\n1,"first line\nsecond line"\n2,"a, b"\n3,"say ""hi"""\n4,"x\r\ny\r\nz"\n5,plain\n'
    path = write_file(tmp_path, "q.csv", data)
    source, rows, _ = read_source(path)
    assert data.count("\n") == 9
    assert len(rows) == 5
    assert rows[0]["text"] == "first line\nsecond line"
    assert rows[1]["text"] == "a, b"
    assert rows[2]["text"] == 'say "hi"'
    assert rows[3]["text"] == "x\r\ny\r\nz"
    assert source.info.options["quoting"] is True
    assert source.info.options["newlines_in_values"] is True


def test_unquoted_file_whose_fields_start_with_a_quote(tmp_path):
    data = 'id;review;score\n1;"Great" product, really;5\n2;"unterminated;3\n3;fine;4\n'
    source, rows, _ = read_source(write_file(tmp_path, "u.csv", data))
    assert source.info.options["delimiter"] == ";"
    assert source.info.options["quoting"] is False
    assert [r["review"] for r in rows] == ['"Great" product, really', '"unterminated', "fine"]
    assert [r["score"] for r in rows] == ["5", "3", "4"]


def test_unterminated_quote_in_comma_file_does_not_swallow_rows(tmp_path):
    lines = (
        ["id,text"] + [f'{i},"q{i}"' for i in range(20)] + ['20,"oops'] + [f"{i},t{i}" for i in range(21, 40)]
    )
    source, rows, _ = read_source(write_file(tmp_path, "m.csv", "\n".join(lines) + "\n"))
    assert len(rows) == 40
    assert rows[20]["text"] == '"oops' and rows[21]["text"] == "t21"
    assert source.info.options["quoting"] is False  # so the properly quoted ones keep their quotes
    assert rows[0]["text"] == '"q0"'


# -- encodings ---------------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    source, rows, _ = read_source(write_file(tmp_path, "b.csv", "\ufeffid,name\n1,caf\u00e9\n".encode()))
    assert source.info.options["encoding"] == "utf-8-sig"
    assert rows == [{"id": "1", "name": "caf\u00e9"}]


def test_cp1252_file_is_transcoded(tmp_path):
    data = "id,name\n1,caf\u00e9 \u201cquoted\u201d\n2,na\u00efve\n".encode("cp1252")
    assert b"\x93" in data and b"\x94" in data
    source, rows, _ = read_source(write_file(tmp_path, "w.csv", data))
    assert source.info.options["encoding"] == "cp1252"
    assert rows[0]["name"] == "caf\u00e9 \u201cquoted\u201d"
    assert rows[1]["name"] == "na\u00efve"


def test_bytes_invalid_in_utf8_and_cp1252_name_the_line(tmp_path):
    path = write_file(tmp_path, "x.csv", b"id,name\n1,ok\n2,caf\xe9\n3,bad\x81byte\n")
    with pytest.raises(InputError) as err:
        open_source(path)
    message = str(err.value)
    assert err.value.line == 4
    assert "0x81" in message and "byte offset 25" in message
    assert "encoding=" in message


def test_forced_encoding_is_used(tmp_path):
    path = write_file(tmp_path, "l.csv", "a,b\n1,\u00e9t\u00e9\n".encode("latin-1"))
    source, rows, _ = read_source(path, encoding="latin-1")
    assert source.info.options["encoding"] == "latin-1"
    assert rows[0]["b"] == "\u00e9t\u00e9"


def test_binary_file_is_refused(tmp_path):
    path = write_file(tmp_path, "z.csv", b"PK\x03\x04\x00\x00binary")
    with pytest.raises(InputError, match="NUL byte"):
        open_source(path)


# -- delimiters, header, spaces ----------------------------------------------------------------


def test_space_separated_file_without_header(tmp_path):
    data = "A11 6 A34 A43 1169 A65 1\nA12 48 A32 A43 5951 A61 2\nA14 12 A34 A46 2096 A61 1\n"
    source, rows, batches = read_source(write_file(tmp_path, "german.data", data))
    assert source.info.options["delimiter"] == " "
    assert source.info.options["header"] is False
    assert len(rows) == 3
    assert batches[0].schema.names == [f"col_{i}" for i in range(1, 8)]
    assert rows[1]["col_5"] == "5951"


def test_whitespace_aligned_columns(tmp_path):
    data = "name    age   city\nbob      30   paris\nalice     4   rome\n  carol  51   oslo  \n"
    source, rows, _ = read_source(write_file(tmp_path, "aligned.txt", data))
    assert source.info.options["delimiter"] == "whitespace"
    assert rows == [
        {"name": "bob", "age": "30", "city": "paris"},
        {"name": "alice", "age": "4", "city": "rome"},
        {"name": "carol", "age": "51", "city": "oslo"},
    ]


def test_comma_space_with_question_marks_gives_numeric_column_with_nulls(tmp_path):
    data = "39, State-gov, 77516, ?\n50, ?, 83311, 13\n38, Private, 215646, 9\n53, Private, 234721, ?\n"
    source, rows, batches = read_source(write_file(tmp_path, "adult.data", data))
    assert source.info.options["skip_initial_space"] is True
    assert source.info.options["header"] is False
    assert source.info.options["na_values"] == ["?"]
    assert rows[0] == {"col_1": "39", "col_2": "State-gov", "col_3": "77516", "col_4": "?"}
    inferrer = StringTypeInferrer()
    for batch in batches:
        inferrer.update(batch)
    table = pa.Table.from_batches([inferrer.cast(b) for b in batches])
    assert table.schema.field("col_4").type == pa.int64()
    assert table.column("col_4").to_pylist() == [None, 13, 9, None]
    assert table.column("col_2").to_pylist() == ["State-gov", None, "Private", "Private"]
    assert inferrer.notes()["col_4"]["na_markers"] == {"?": 2}
    assert inferrer.notes()["col_2"]["na_markers"] == {"?": 1}


def test_comma_space_with_quoted_fields(tmp_path):
    data = 'id, name, note\n1, "Smith, J", ok\n2, "Doe", fine\n'
    source, rows, _ = read_source(write_file(tmp_path, "cs.csv", data))
    assert source.info.options["engine"] == "python"
    assert rows == [{"id": "1", "name": "Smith, J", "note": "ok"}, {"id": "2", "name": "Doe", "note": "fine"}]


@pytest.mark.parametrize(
    ("delimiter", "name"), [(";", "s.csv"), ("\t", "t.tsv"), ("\t", "t.csv"), ("|", "p.csv")]
)
def test_other_delimiters(tmp_path, delimiter, name):
    data = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1,5", "x y", "3"]) + "\n"
    data += delimiter.join(["2,5", "z", "4"]) + "\n"
    source, rows, _ = read_source(write_file(tmp_path, name, data))
    assert source.info.options["delimiter"] == delimiter
    assert rows == [{"a": "1,5", "b": "x y", "c": "3"}, {"a": "2,5", "b": "z", "c": "4"}]


def test_semicolon_file_with_decimal_commas_everywhere(tmp_path):
    lines = ["x;y"] + [f"{i},5;{i},25" for i in range(200)]
    source, rows, _ = read_source(write_file(tmp_path, "eu.csv", "\n".join(lines) + "\n"))
    assert source.info.options["delimiter"] == ";"
    assert len(rows) == 200 and rows[0] == {"x": "0,5", "y": "0,25"}


def test_all_numeric_file_has_no_header(tmp_path):
    source, rows, batches = read_source(write_file(tmp_path, "n.csv", "1,2.5,3\n4,5.5,6\n7,8.5,9\n"))
    assert source.info.options["header"] is False
    assert len(rows) == 3
    assert batches[0].schema.names == ["col_1", "col_2", "col_3"]


def test_header_detected_over_numbers_and_over_repeated_labels(tmp_path):
    source, rows, _ = read_source(write_file(tmp_path, "h.csv", "id,score\n1,2.5\n2,3.5\n"))
    assert source.info.options["header"] is True and len(rows) == 2
    headerless = "I lost my card,lost_card\nwhere is my card,card_arrival\nmy card is gone,lost_card\n"
    source, rows, _ = read_source(write_file(tmp_path, "nh.csv", headerless))
    assert source.info.options["header"] is False and len(rows) == 3


def test_user_options_override_sniffing(tmp_path):
    path = write_file(tmp_path, "o.csv", "1,2\n3,4\n")
    source, rows, batches = read_source(path, header=True)
    assert batches[0].schema.names == ["1", "2"] and rows == [{"1": "3", "2": "4"}]
    _, rows, _ = read_source(write_file(tmp_path, "o2.csv", 'a|b\n"x|y"|2\n'), delimiter="|")
    assert rows == [{"a": "x|y", "b": "2"}]
    with pytest.raises(InputError, match="expected 2 fields, found 3"):
        read_source(write_file(tmp_path, "o3.csv", 'a|b\n"x|y"|2\n'), delimiter="|", quoting=False)
    source, rows, _ = read_source(write_file(tmp_path, "o4.csv", "a\tb\n1\t2\n"), delimiter="tab")
    assert rows == [{"a": "1", "b": "2"}]
    source, rows, _ = read_source(path, header="false")  # as text, from the command line
    assert len(rows) == 2
    with pytest.raises(InputError, match="header must be true, false or auto"):
        open_source(path, header="maybe")
    with pytest.raises(InputError, match="delimiter must be one character"):
        open_source(path, delimiter=";;")


def test_header_names_are_stripped_made_unique_and_filled(tmp_path):
    source, rows, batches = read_source(write_file(tmp_path, "d.csv", " x , x ,,y,x_2\n1,2,3,4,5\n"))
    assert batches[0].schema.names == ["x", "x_2", "col_3", "y", "x_2_2"]
    assert unique_names(["a", "a", "a", None]) == ["a", "a_2", "a_3", "col_4"]


def test_crlf_and_trailing_empty_lines(tmp_path):
    source, rows, _ = read_source(write_file(tmp_path, "w.csv", b"a,b\r\n1,2\r\n3,4\r\n\r\n\r\n\n"))
    assert rows == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_empty_cells_are_null(tmp_path):
    source, rows, _ = read_source(write_file(tmp_path, "e.csv", "a,b,c\n1,,3\n,x,\n"))
    assert rows == [{"a": "1", "b": None, "c": "3"}, {"a": None, "b": "x", "c": None}]
    assert source.info.all_strings is True


def test_txt_with_columns_is_read_as_csv(tmp_path):
    source, rows, _ = read_source(write_file(tmp_path, "table.txt", "a\tb\n1\t2\n3\t4\n5\t6\n"))
    assert source.info.format == "csv" and len(rows) == 3


# -- bad rows ----------------------------------------------------------------------------------


RAGGED = 'a,b,c\n1,2,3\n"multi\nline",5,6\n7,8\n9,10,11\n\n12,13,14,15\n16,17,18\n'


def test_ragged_row_is_an_error_naming_the_physical_line(tmp_path):
    path = write_file(tmp_path, "r.csv", RAGGED)
    with pytest.raises(InputError) as err:
        read_source(path)
    assert err.value.line == 5
    assert "expected 3 fields, found 2" in str(err.value)
    assert str(err.value).startswith(f"{path}, line 5:")


def test_ragged_rows_are_skipped_to_the_callback(tmp_path):
    bad: list[BadRow] = []
    source, rows, _ = read_source(write_file(tmp_path, "r.csv", RAGGED), on_bad_rows="skip", bad_row=bad.append)
    assert [r["a"] for r in rows] == ["1", "multi\nline", "9", "16"]
    assert bad == [
        BadRow(line=5, reason="expected 3 fields, found 2", raw="7,8"),
        BadRow(line=8, reason="expected 3 fields, found 4", raw="12,13,14,15"),
    ]


def test_blank_lines_before_the_header(tmp_path):
    bad: list[BadRow] = []
    path = write_file(tmp_path, "lead.csv", b"\r\n  \nid,name\n1,a\n3\n4,b\n")
    source, rows, _ = read_source(path, on_bad_rows="skip", bad_row=bad.append)
    assert source.info.options["columns"] == ["id", "name"]
    assert rows == [{"id": "1", "name": "a"}, {"id": "4", "name": "b"}]
    assert [b.line for b in bad] == [5]


def test_ragged_row_in_python_engine(tmp_path):
    data = "name  age\nbob   30\nalice 4 extra\n" + "".join(f"carol{i}   {i}\n" for i in range(20))
    path = write_file(tmp_path, "p.txt", data)
    with pytest.raises(InputError) as err:
        read_source(path, format="csv")
    assert err.value.line == 3 and "expected 2 fields, found 3" in str(err.value)
    bad: list[BadRow] = []
    source, rows, _ = read_source(path, format="csv", on_bad_rows="skip", bad_row=bad.append)
    assert source.info.options["engine"] == "python"
    assert len(rows) == 21 and bad == [
        BadRow(line=3, reason="expected 2 fields, found 3", raw="alice 4 extra")
    ]


# -- empty, header only, limits ----------------------------------------------------------------


def test_empty_file(tmp_path):
    with pytest.raises(InputError, match="the file is empty"):
        open_source(write_file(tmp_path, "empty.csv", b""))
    with pytest.raises(InputError, match="empty"):
        open_source(write_file(tmp_path, "blank.csv", b"\n\n\r\n"))


def test_header_only_file_has_columns_and_no_rows(tmp_path):
    source, rows, batches = read_source(write_file(tmp_path, "h.csv", "id,name,score\n"))
    assert rows == []
    assert len(batches) == 1 and batches[0].num_rows == 0
    assert batches[0].schema.names == ["id", "name", "score"]
    assert source.info.options["columns"] == ["id", "name", "score"]


def test_100_mb_single_line_fails_fast_with_clear_error(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(b"a,b\n1,2\n3,")
        block = b"x" * (1 << 20)
        for _ in range(100):
            f.write(block)
        f.write(b"\n4,5\n")
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        open_source(str(path))
    assert time.perf_counter() - start < 10
    assert err.value.line == 3
    assert f"longer than the {MAX_LINE_BYTES >> 20} MiB limit" in str(err.value)


def test_long_lines_below_the_limit_work(tmp_path):
    value = "y" * (6 << 20)
    source, rows, _ = read_source(write_file(tmp_path, "long.csv", f'a,b\n1,2\n3,"{value}"\n4,5\n'))
    assert [r["a"] for r in rows] == ["1", "3", "4"]
    assert rows[1]["b"] == value


def test_scan_counts_lines_and_longest_line(tmp_path):
    path = write_file(tmp_path, "s.csv", "a\n" + "b" * 3_000_000 + "\nc")
    scan = scan_text_file(path)
    assert scan.lines == 3
    assert scan.longest_line_bytes == 3_000_000


# -- streaming ---------------------------------------------------------------------------------


def test_batches_never_exceed_batch_rows(tmp_path):
    data = "n,text\n" + "".join(f'{i},"row {i}, text"\n' for i in range(2_500))
    source, rows, batches = read_source(write_file(tmp_path, "big.csv", data), batch_rows=300)
    assert [r["n"] for r in rows] == [str(i) for i in range(2_500)]
    assert all(b.num_rows <= 300 for b in batches)
    assert len(batches) >= 9


def test_sniffer_on_sample_text():
    dialect = sniff_csv('a,b\n1,"x\ny"\n2,z\n', at_eof=True)
    assert (dialect.delimiter, dialect.header, dialect.quoting) == (",", True, True)
    assert dialect.newlines_in_values and dialect.names == ["a", "b"] and dialect.records == 2


def test_header_wider_than_the_sniff_window_is_read_whole(tmp_path):
    from datamoat.data.readers.encoding import SAMPLE_BYTES

    names = [f"column_number_{i:08d}" for i in range(150_000)]
    header = ",".join(names)
    assert len(header) > SAMPLE_BYTES  # the sniffer's usual window ends inside the header
    path = write_file(tmp_path, "wide.csv", header + "\n" + ",".join(["1"] * len(names)) + "\n")
    source = open_source(path)
    assert source.info.options["columns"] == names and source.dialect.header
