"""The CLI as a user meets it: --json everywhere, one-sentence errors, nothing changed on failure."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TICKETS = "id,text,label\n1,my card was declined,card\n2,where is my parcel,delivery\n3,refund please,refund\n"


def test_init_ingest_list_show_versions_export(cli, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text(TICKETS)
    assert cli("init", "--json")[0] == 0
    code, out, err = cli("ingest", str(src), "--name", "tickets", "--id", "id", "--text", "text", "--label", "label", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["rows"] == 3 and info["created"] is True and info["version"] == 1
    code, out, _ = cli("datasets", "--json")
    assert json.loads(out) == [{**json.loads(out)[0], "name": "tickets", "versions": 1, "rows": 3}]
    code, out, _ = cli("versions", "tickets", "--json")
    assert [v["ref"] for v in json.loads(out)] == [info["ref"]]
    code, out, _ = cli("show", f"tickets@{info['hash'][:10]}", "--rows", "2", "--json")
    shown = json.loads(out)
    assert [r["text"] for r in shown["rows"]] == ["my card was declined", "where is my parcel"]
    assert shown["manifest"]["roles"] == {"id": "id", "text": "text", "label": "label"}
    code, out, _ = cli("show", "tickets")
    assert code == 0 and "my card was declined" in out and "schema" in out
    code, out, _ = cli("export", "tickets@1", str(tmp_path / "o.parquet"), "--json")
    assert code == 0 and pq.read_table(tmp_path / "o.parquet").column("text").to_pylist()[2] == "refund please"


def test_apply_excluded_and_diff(cli, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("id,text\n1,hello\n2,hello\n3,  spaced   out \n4,\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("- step: drop_missing\n  columns: [text]\n- step: strip_whitespace\n- step: exact_dedup\n")
    cli("init")
    assert cli("ingest", str(src), "--name", "t", "--id", "id", "--text", "text")[0] == 0
    code, out, err = cli("apply", "t", "--recipe", str(recipe), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert (res["rows_in"], res["rows_out"]) == (4, 2)
    assert res["input"].startswith("t@") and res["input"] != res["output"]
    assert res["dropped_by_reason"] == {"missing text": 1, "exact duplicate": 1}
    code, out, _ = cli("excluded", "t@2", "--json")
    ex = json.loads(out)
    assert ex["excluded_rows"] == 2 and {r["_dm_row_id"] for r in ex["rows"]} == {"2", "4"}
    code, out, _ = cli("diff", "t@1", "t@2", "--json")
    d = json.loads(out)
    assert (d["removed"], d["changed"], d["unchanged"]) == (2, 1, 1)
    code, out, _ = cli("steps", "--json")
    assert {"drop_missing", "strip_whitespace", "length_filter", "exact_dedup"} <= {s["step"] for s in json.loads(out)}


def _file(name: str, content: bytes | str):
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


def _huge_line(d: Path) -> Path:
    path = d / "huge.csv"
    with open(path, "wb") as f:
        f.write(b"a,b\n")
        f.write(b"x" * (100 * 1024 * 1024))
        f.write(b",y\n")
    return path


BAD_INPUTS = {
    "missing file": (lambda d: d / "nope.csv", [], r"nope\.csv.*no such file"),
    "empty file": (_file("empty.csv", b""), [], r"empty\.csv.*empty"),
    "unknown column": (_file("t.csv", TICKETS), ["--text", "body"], r"no column 'body' for role 'text'"),
    "undecodable bytes": (_file("bin.csv", b"a,b\n1,2\n3,\x81\x8d\x8f\n"), [], r"bin\.csv, line 3"),
    "wrong delimiter": (_file("semi.csv", "a;b\n1;2\n3;4;5\n"), ["--delimiter", ";"], r"semi\.csv, line 3.*expected 2 fields"),
    "json syntax": (_file("bad.json", '[{"a": 1},\n {"a": 2,,}]'), [], r"bad\.json, line 2"),
    "not parquet": (_file("fake.parquet", "hello, I am not parquet"), [], r"fake\.parquet.*not a Parquet file"),
    "huge line": (_huge_line, [], r"huge\.csv.*line"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_sentence_and_changes_nothing(cli, tmp_path: Path, case: str) -> None:
    cli("init")
    good = tmp_path / "good.csv"
    good.write_text(TICKETS)
    assert cli("ingest", str(good), "--name", "good")[0] == 0
    _, before, _ = cli("datasets", "--json")
    objects_before = sorted(p.name for p in (tmp_path / "ws" / ".datamoat" / "objects").rglob("*"))
    make, extra, pattern = BAD_INPUTS[case]
    path = make(tmp_path)
    code, out, err = cli("ingest", str(path), "--name", "good", *extra)
    assert code == 1
    message = " ".join(err.split())
    assert message.startswith("error: ")
    assert re.search(pattern, message), message
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3
    _, after, _ = cli("datasets", "--json")
    assert after == before
    assert sorted(p.name for p in (tmp_path / "ws" / ".datamoat" / "objects").rglob("*")) == objects_before
    assert list((tmp_path / "ws" / ".datamoat" / "tmp").iterdir()) == []


def test_commands_outside_a_workspace_say_so(cli, tmp_path: Path) -> None:
    code, _, err = cli("datasets", workspace=tmp_path / "nowhere")
    assert code == 1 and "run `datamoat init`" in " ".join(err.split())


def test_unknown_version_lists_what_exists(cli, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text(TICKETS)
    cli("init")
    cli("ingest", str(tmp_path / "t.csv"), "--name", "t")
    code, _, err = cli("show", "t@7")
    assert code == 1 and "has no version 7; it has versions 1 to 1" in " ".join(err.split())
    code, _, err = cli("show", "x")
    assert code == 1 and "known datasets: t" in " ".join(err.split())


def test_ingest_reads_parquet_and_sql(cli, tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a", "b"], "n": [1, 2]}), tmp_path / "p.parquet")
    import sqlite3

    con = sqlite3.connect(tmp_path / "shop.db")
    con.execute("create table t (id integer, body text)")
    con.executemany("insert into t values (?, ?)", [(1, "x"), (2, "y"), (3, "z")])
    con.commit()
    con.close()
    cli("init")
    code, out, err = cli("ingest", str(tmp_path / "p.parquet"), "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 2
    code, out, err = cli("ingest", f"sqlite:///{tmp_path / 'shop.db'}", "--query", "select * from t where id > 1", "--name", "shop", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 2 and json.loads(out)["dataset"] == "shop"


def test_version_and_help(cli) -> None:
    from datamoat import __version__

    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == __version__
    code, out, _ = cli("--help")
    assert code == 0 and "ingest" in out and "demo-data" in out
    code, _, err = cli("no-such-command")
    assert code == 2 and "no-such-command" in err


def test_export_jsonl_says_how_many_values_became_null(cli, tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1.0, float("nan")], "t": ["a", "b"]}), tmp_path / "f.parquet")
    cli("init")
    assert cli("ingest", str(tmp_path / "f.parquet"), "--name", "f")[0] == 0
    code, _, err = cli("export", "f", str(tmp_path / "o.jsonl"))
    assert code == 0, err
    assert "warning:" in err and "1 NaN or infinite values were written as null" in err
    assert json.loads((tmp_path / "o.jsonl").read_text().splitlines()[1])["x"] is None
