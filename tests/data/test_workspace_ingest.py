"""Ingest through the Python API: versions, roles, row ids, dedup of content, diff, export, recipes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError, InputError
from datamoat.workspace import Workspace


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(ws: Workspace) -> tuple[list, list[str]]:
    """What must not change when a command fails: catalog listing and the object files."""
    objects = sorted(str(p.relative_to(ws.state)) for p in (ws.state / "objects").rglob("*"))
    return ws.datasets(), objects


TICKETS = "id,text,label\n1,my card was declined,card\n2,where is my parcel,delivery\n3,refund please,refund\n"


def test_ingest_makes_an_immutable_version_with_roles_and_row_ids(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "t.csv", TICKETS)
    v = workspace.ingest(src, name="tickets", id="id", text="text", label="label")
    assert (v.dataset, v.ordinal, v.num_rows) == ("tickets", 1, 3)
    m = v.manifest()
    roles = {c["name"]: c["roles"] for c in m["schema"]}
    assert roles == {ROW_ID_COLUMN: [], "id": ["id"], "text": ["text"], "label": ["label"]}
    assert m["source"]["format"] == "csv" and m["source"]["options"]["encoding"].startswith("utf-8")
    assert m["parents"] == [] and m["step"] == "ingest" and len(m["hash"]) == 64
    df = v.to_pandas()
    assert df.index.name == ROW_ID_COLUMN
    assert list(df.index) == ["1", "2", "3"]  # ids from the id column
    assert df["id"].tolist() == [1, 2, 3]  # typed by inference
    assert v.to_arrow().num_rows == 3 and v.head(2).num_rows == 2


def test_same_content_is_stored_once_and_new_content_is_a_new_version(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "t.csv", TICKETS)
    v1 = workspace.ingest(src, name="tickets")
    before = snapshot(workspace)
    again = workspace.ingest(src, name="tickets")
    assert again.hash == v1.hash and again.ordinal == 1 and again.created is False
    assert snapshot(workspace) == before
    v2 = workspace.ingest(write(tmp_path / "t2.csv", TICKETS + "4,new one,card\n"), name="tickets")
    assert v2.ordinal == 2 and v2.hash != v1.hash and v2.created is True
    assert [v.ordinal for v in workspace.versions("tickets")] == [1, 2]
    assert workspace.version(f"tickets@{v1.hash[:8]}").ordinal == 1


def test_identical_source_rows_get_distinct_stable_ids(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "d.csv", "text\nsame\nother\nsame\nsame\n")
    ids = workspace.ingest(src, name="d").to_pandas().index.tolist()
    assert ids[2] == ids[0] + "~1" and ids[3] == ids[0] + "~2" and len(set(ids)) == 4
    # inserting a row at the top does not change the other rows' ids
    ids2 = workspace.ingest(write(tmp_path / "d2.csv", "text\nfirst\nsame\nother\nsame\nsame\n"), name="d2").to_pandas().index.tolist()
    assert ids2[1:] == ids


def test_duplicate_or_missing_user_ids_are_clear_errors(workspace: Workspace, tmp_path: Path) -> None:
    before = snapshot(workspace)
    with pytest.raises(InputError, match=r"dup\.csv, row 3, column 'id': id '1' appears more than once"):
        workspace.ingest(write(tmp_path / "dup.csv", "id,text\n1,a\n2,b\n1,c\n"), name="x", id="id")
    with pytest.raises(InputError, match=r"row 2, column 'id'.*empty"):
        workspace.ingest(write(tmp_path / "gap.csv", "id,text\n1,a\n,b\n"), name="x", id="id")
    assert snapshot(workspace) == before
    assert list((workspace.state / "tmp").iterdir()) == []


def test_unknown_role_column_names_the_columns(workspace: Workspace, tmp_path: Path) -> None:
    before = snapshot(workspace)
    with pytest.raises(DatamoatError, match=r"no column 'body' for role 'text'; the columns are: id, text, label"):
        workspace.ingest(write(tmp_path / "t.csv", TICKETS), name="t", text="body")
    assert snapshot(workspace) == before


def test_header_only_file_gives_an_empty_version_with_columns(workspace: Workspace, tmp_path: Path) -> None:
    v = workspace.ingest(write(tmp_path / "h.csv", "a,b,c\n"), name="h", allow_empty=True)
    assert v.num_rows == 0
    assert v.schema.names == [ROW_ID_COLUMN, "a", "b", "c"]
    assert v.to_pandas().empty


def test_bad_rows_can_be_kept_in_exclusions_instead_of_failing(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "r.csv", "a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(InputError, match=r"r\.csv, line 3"):
        workspace.ingest(src, name="r")
    v = workspace.ingest(src, name="r", on_bad_rows="skip")
    assert v.num_rows == 2 and v.record.excluded_count == 1
    ex = v.excluded().to_pylist()
    assert ex[0]["_dm_step"] == "0:ingest"
    assert json.loads(ex[0]["_dm_row"]) == {"line": 3, "raw": "3,4,5"}


def test_diff_reports_added_removed_and_changed_rows(workspace: Workspace, tmp_path: Path) -> None:
    workspace.ingest(write(tmp_path / "a.csv", "id,text\n1,a\n2,b\n3,c\n"), name="t", id="id")
    workspace.ingest(write(tmp_path / "b.csv", "id,text\n1,a\n2,B\n4,d\n"), name="t", id="id")
    d = workspace.diff("t@1", "t@2")
    assert (d.added, d.removed, d.changed, d.unchanged) == (1, 1, 1, 1)
    assert d.samples["changed"] == [{ROW_ID_COLUMN: "2", "columns": {"text": ["b", "B"]}}]
    assert d.samples["added"][0]["text"] == "d" and d.samples["removed"][0]["text"] == "c"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_export_round_trips(workspace: Workspace, tmp_path: Path, suffix: str) -> None:
    v = workspace.ingest(write(tmp_path / "t.csv", TICKETS), name="t")
    out = workspace.export("t", tmp_path / f"out{suffix}")
    if suffix == ".parquet":
        back = pq.read_table(out).to_pandas()
    elif suffix == ".csv":
        back = pd.read_csv(out)
    else:
        back = pd.read_json(out, lines=True)
    assert back.columns.tolist() == ["id", "text", "label"]
    assert back["text"].tolist() == v.to_pandas()["text"].tolist()
    assert not list(tmp_path.glob(".out*.tmp"))


def test_export_refuses_unknown_format_and_leaves_no_file(workspace: Workspace, tmp_path: Path) -> None:
    workspace.ingest(write(tmp_path / "t.csv", TICKETS), name="t")
    with pytest.raises(DatamoatError, match=r"\.xlsx.*cannot tell the format"):
        workspace.export("t", tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_recipe_makes_a_child_version_and_keeps_what_it_drops(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "t.csv", 'id,text,label\n1,"  hello   world ",a\n2,,b\n3,hello world,a\n4,ok,\n')
    v1 = workspace.ingest(src, name="t", id="id", text="text", label="label")
    result = workspace.apply(v1.ref, [{"step": "drop_missing"}, {"step": "strip_whitespace"}, {"step": "exact_dedup"}])
    v2 = result.version
    assert workspace.version_by_id(v2.id).ref == v2.ref  # callers still holding the id find it
    assert v2.record.parents == [v1.record.id] and v2.ordinal == 2 and v2.record.step == "recipe"
    assert v2.to_pandas()["text"].tolist() == ["hello world"]
    assert result.rows_in == 4 and result.rows_out == 1
    ex = {r["_dm_row_id"]: r for r in v2.excluded().to_pylist()}
    assert set(ex) == {"2", "3", "4"}
    assert ex["3"]["_dm_reason"] == "exact duplicate"
    assert json.loads(ex["3"]["_dm_stats"]) == {"_dm_dup_of": "1"}
    assert json.loads(ex["4"]["_dm_row"])["text"] == "ok"
    d = workspace.diff(v1.ref, v2.ref)
    assert d.changed == 1 and d.removed == 3
    assert v2.manifest()["params"]["recipe"][0]["step"] == "drop_missing"
    assert v2.manifest()["parents"] == ["t@1"]


def test_project_sources_and_roles_from_datamoat_yaml(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "p")
    write(tmp_path / "p" / "t.csv", TICKETS)
    (ws.root / "datamoat.yaml").write_text(
        "sources:\n  tickets:\n    path: t.csv\n    roles: {id: id, text: text, label: label}\n", encoding="utf-8")
    nested = tmp_path / "p" / "sub" / "dir"
    nested.mkdir(parents=True)
    ws = Workspace.open(nested)  # found from a subdirectory, like git
    assert ws.root == (tmp_path / "p").resolve()
    v = ws.ingest_source("tickets")
    assert v.dataset == "tickets" and v.roles.get("label") == "label" and v.to_pandas().index.tolist() == ["1", "2", "3"]


def test_catalog_url_from_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.db"
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", f"sqlite:///{other}")
    ws = Workspace.init(tmp_path / "p")
    ws.ingest(write(tmp_path / "t.csv", TICKETS), name="t")
    assert other.exists() and not (ws.state / "catalog.db").exists()


def test_broken_project_spec_is_reported_with_file_and_key(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "p")
    (ws.root / "datamoat.yaml").write_text("name: x\nsorces: {}\n", encoding="utf-8")
    with pytest.raises(DatamoatError, match=r"datamoat\.yaml: unknown key 'sorces'"):
        Workspace.open(ws.root)
    (ws.root / "datamoat.yaml").write_text("name: [x\n", encoding="utf-8")
    with pytest.raises(DatamoatError, match=r"datamoat\.yaml, line 2: not valid YAML"):
        Workspace.open(ws.root)


def test_missing_markers_are_null_except_in_the_text_column(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "m.csv", "age,job,text\n39,clerk,?\n?,?,NA is my region\n41,NA,fine\n")
    v = workspace.ingest(src, name="m", text="text")
    df = v.to_pandas()
    assert df["age"].tolist()[0] == 39 and pd.isna(df["age"].tolist()[1])
    assert df["job"].isna().tolist() == [False, True, True]
    assert df["text"].tolist() == ["?", "NA is my region", "fine"]
    notes = v.manifest()["source"]["type_inference"]
    assert notes["job"]["na_markers"] == {"?": 1, "NA": 1} and notes["text"]["na_markers"] == {}


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ingest decide the schema after 4 rows, so small files exercise several chunks."""
    import datamoat.data.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "ID_CHUNK_ROWS", 4)


def _ingest_small_batches(ws: Workspace, path: Path, name: str, **roles: str):
    from datamoat.data.ingest import ingest
    from datamoat.data.version import Version

    result = ingest(ws.catalog, ws.store, str(path), name=name, roles=ColumnRoles.from_dict(roles), batch_rows=2)
    return Version(result.version, ws.store)


def test_a_late_value_that_breaks_the_first_chunks_types_is_read_again(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    rows = [f"{i},00{i}" if i != 9 else "9,x" for i in range(1, 12)]
    src = write(tmp_path / "late.csv", "n,code\n" + "\n".join(rows) + "\n")
    src2 = write(tmp_path / "late_q.csv", "n,code\n" + "\n".join(f"{i if i != 10 else '?'},7" for i in range(1, 12)) + "\n")
    v = _ingest_small_batches(workspace, src, "late")
    assert v.schema.field("n").type == pa.int64() and v.schema.field("code").type == pa.string()
    codes = v.to_pandas()["code"].tolist()
    assert codes[:3] == ["001", "002", "003"] and codes[8] == "x"
    q = _ingest_small_batches(workspace, src2, "late_q")
    assert q.schema.field("n").type == pa.int64()
    assert q.to_pandas()["n"].isna().tolist() == [i == 10 for i in range(1, 12)]
    # the same files in one chunk give the same content
    monkeypatch.undo()
    assert _ingest_small_batches(workspace, src, "late_one").hash == v.hash


def test_types_change_after_the_first_chunk(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _small_chunks(monkeypatch)
    src = write(tmp_path / "t.csv", "n,text\n" + "".join(f"{i},t{i}\n" for i in range(1, 9)) + "nine,t9\n")
    v = _ingest_small_batches(workspace, src, "t")
    assert v.schema.field("n").type == pa.string()
    assert v.to_pandas()["n"].tolist() == [str(i) for i in range(1, 9)] + ["nine"]
    monkeypatch.undo()
    assert _ingest_small_batches(workspace, src, "t_one").hash == v.hash
    assert list((workspace.state / "tmp").iterdir()) == []


def test_repeats_and_duplicate_ids_are_found_across_chunks(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    src = write(tmp_path / "r.csv", "text\n" + "a\nb\nc\nd\ne\na\nf\na\n")
    ids = _ingest_small_batches(workspace, src, "r").to_pandas().index.tolist()
    assert ids[5] == ids[0] + "~1" and ids[7] == ids[0] + "~2"
    dup = write(tmp_path / "d.csv", "id,text\n" + "".join(f"{i},x\n" for i in range(1, 8)) + "3,again\n")
    with pytest.raises(InputError, match=r"row 8, column 'id': id '3' appears more than once"):
        _ingest_small_batches(workspace, dup, "d", id="id")


def test_a_team_workspace_on_postgresql(postgres_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole flow with the catalog in a real PostgreSQL, named by DATAMOAT_CATALOG_URL."""
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", postgres_server.new_database())
    ws = Workspace.init(tmp_path / "team")
    v1 = ws.ingest(write(tmp_path / "t.csv", TICKETS + "4,refund please,refund\n"), name="t", id="id", text="text")
    result = ws.apply(v1.ref, [{"step": "exact_dedup"}])
    assert ws.catalog.engine.dialect.name == "postgresql"
    assert [v.ordinal for v in ws.versions("t")] == [1, 2]
    assert result.dropped_by_reason == {"exact duplicate": 1}
    assert ws.version("t@2").record.parent_refs == ["t@1"]
    assert not (ws.state / "catalog.db").exists()
    # a second process-like opening sees the same catalog
    again = Workspace.open(tmp_path / "team")
    assert again.datasets()[0]["versions"] == 2


def test_the_same_rows_with_other_roles_are_another_version(workspace: Workspace, tmp_path: Path) -> None:
    src = write(tmp_path / "t.csv", TICKETS)
    plain = workspace.ingest(src, name="t", id="id")
    labelled = workspace.ingest(src, name="t", id="id", text="text", label="label")
    assert labelled.created is True and labelled.hash != plain.hash and labelled.ordinal == 2
    assert labelled.roles.get("label") == "label" and plain.roles.get("label") is None
    again = workspace.ingest(src, name="t", id="id", text="text", label="label")
    assert again.created is False and again.ordinal == 2


def test_jsonl_export_writes_nan_and_infinity_as_null(
    workspace: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    table = pa.table({"x": [1.5, float("nan"), float("inf"), -float("inf"), None], "t": list("abcde")})
    pq.write_table(table, tmp_path / "f.parquet")
    workspace.ingest(tmp_path / "f.parquet", name="f")
    with caplog.at_level(logging.WARNING, logger="datamoat.data"):
        out = workspace.export("f", tmp_path / "o.jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} is not JSON")) for line in lines]
    assert [r["x"] for r in rows] == [1.5, None, None, None, None]
    assert "3 NaN or infinite values were written as null" in caplog.text
