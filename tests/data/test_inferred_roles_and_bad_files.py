"""Roles a user should not have to type, and bad files that must give one sentence and change nothing."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datamoat.errors import DatamoatError, InputError
from datamoat.workspace import Workspace

WORDS = "free prize call now win cash hello how are you today meeting later ok thanks".split()


def sms_file(path: Path, rows: int = 40) -> Path:
    """A header-less TSV like the SMS Spam Collection: label<TAB>text."""
    rng = random.Random(0)
    lines = [f"{'spam' if i % 4 == 0 else 'ham'}\t{' '.join(rng.choice(WORDS) for _ in range(rng.randint(5, 12)))}"
             for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(ws: Workspace) -> list[tuple[str, int]]:
    return [(d["name"], d["versions"]) for d in ws.datasets()]


def test_text_role_is_inferred_for_a_headerless_tsv_and_recorded(workspace: Workspace, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="datamoat.data"):
        v = workspace.ingest(sms_file(tmp_path / "SMSSpamCollection"), name="sms")
    text = v.roles.get("text")
    assert text is not None and set(v.to_pandas()[text]).isdisjoint({"ham", "spam"})
    inferred = v.manifest()["source"]["inferred_roles"]["text"]
    assert inferred["column"] == text and inferred["median_chars"] >= 20 and inferred["distinct_share"] >= 0.5
    assert any("--text COLUMN" in r.getMessage() and "--no-infer-roles" in r.getMessage() for r in caplog.records)


def test_no_text_is_inferred_for_ids_categories_or_when_switched_off(workspace: Workspace, tmp_path: Path) -> None:
    rows = [f"{i:032x},{'ab'[i % 2]} category,{i}" for i in range(30)]
    src = tmp_path / "t.csv"
    src.write_text("uid,kind,n\n" + "\n".join(rows) + "\n")
    assert workspace.ingest(src, name="t").roles.get("text") is None  # long ids without spaces, a category
    v = workspace.ingest(sms_file(tmp_path / "s.tsv"), name="s", infer_roles=False)
    assert v.roles.get("text") is None and "inferred_roles" not in v.manifest()["source"]
    given = workspace.ingest(sms_file(tmp_path / "s2.tsv"), name="s2", label=v.schema.names[1])
    assert given.roles.get("label") == v.schema.names[1] and given.roles.get("text") == v.schema.names[2]


def test_header_only_csv_is_refused_unless_an_empty_version_is_asked_for(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "h.csv"
    src.write_text("text,label\n")
    before = snapshot(workspace)
    with pytest.raises(InputError, match="has a header but no rows; pass --allow-empty"):
        workspace.ingest(src, name="h")
    assert snapshot(workspace) == before
    (tmp_path / "e.json").write_text("[]")
    with pytest.raises(InputError, match="has no rows"):
        workspace.ingest(tmp_path / "e.json", name="e")
    assert workspace.ingest(src, name="h", allow_empty=True).num_rows == 0


def test_json_nested_ten_thousand_deep_is_one_sentence(workspace: Workspace, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 10_000 + "]" * 10_000)
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"a": 1}\n{"a": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    before = snapshot(workspace)
    for path in (deep, lines):
        with pytest.raises(InputError, match="nested too deeply") as err:
            workspace.ingest(path, name="deep")
        assert "\n" not in str(err.value)
    assert snapshot(workspace) == before
    ok = tmp_path / "ok.json"
    ok.write_text('[{"a": ' + "[" * 50 + "]" * 50 + "}]")
    assert workspace.ingest(ok, name="ok").to_pandas()["a"].iloc[0] == "[" * 50 + "]" * 50


def test_parquet_nested_columns_are_ingested_as_json_text(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "n.parquet"
    pq.write_table(pa.table({"text": ["a b", "c d", None],
                             "tags": pa.array([[1, 2], [3], None], pa.list_(pa.int64())),
                             "meta": [{"k": "x"}, {"k": None}, {"k": "z"}]}), src)
    v = workspace.ingest(src, name="n")
    df = v.to_pandas()
    assert list(df["tags"]) == ["[1, 2]", "[3]", None]
    assert list(df["meta"]) == ['{"k": "x"}', '{"k": null}', '{"k": "z"}']
    assert v.manifest()["source"]["options"]["nested_as_json"] == ["tags", "meta"]


def test_unknown_role_error_is_still_a_datamoat_error(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(DatamoatError, match="no column 'body' for role 'text'"):
        workspace.ingest(sms_file(tmp_path / "s.tsv"), name="s", text="body")


def polarity_folder(root: Path) -> Path:
    """rt-polarity style: one file per class, the class in the extension, plus a binary file."""
    root.mkdir()
    (root / "rt-polarity.pos").write_text("a fine film with heart\ngreat acting all round\n")
    (root / "rt-polarity.neg").write_text("a dull mess of a movie\nboring and too long\n")
    (root / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    return root


def test_text_folder_reads_every_text_file_and_labels_by_extension(workspace: Workspace, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="datamoat.data"):
        v = workspace.ingest(polarity_folder(tmp_path / "rt"), name="rt")
    df = v.to_pandas()
    assert sorted(set(df["label"])) == ["neg", "pos"] and len(df) == 4
    assert v.roles.get("text") == "text" and v.roles.get("label") == "label"
    options = v.manifest()["source"]["options"]
    assert options["label_from"] == "extension" and options["binary_files"] == 1
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "skipped 1 binary file(s): cover.png" in said and "labels taken from the file extension" in said


def test_text_folder_labels_by_file_name_or_sub_folder_when_those_differ(tmp_path: Path) -> None:
    from datamoat.data.readers import open_source

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "spam.txt").write_text("win money\n")
    (flat / "ham.txt").write_text("see you\n")
    assert open_source(str(flat)).info.options["label_from"] == "file"
    nested = tmp_path / "nested"
    for label in ("pos", "neg"):
        (nested / label).mkdir(parents=True)
        (nested / label / "a.txt").write_text(f"{label} text")
    assert open_source(str(nested)).info.options["label_from"] == "folder"
    source = open_source(str(polarity_folder(tmp_path / "rt")), label_from="file")
    assert {r["label"] for b in source.batches() for r in b.to_pylist()} == {"rt-polarity"}


def test_text_folder_error_names_the_pattern_option(tmp_path: Path) -> None:
    from datamoat.data.readers import open_source

    root = polarity_folder(tmp_path / "rt")
    with pytest.raises(InputError, match=r"no files matching '\*\.txt'; give another -o pattern=GLOB"):
        open_source(str(root), pattern="*.txt")
    binary_only = tmp_path / "bin"
    binary_only.mkdir()
    (binary_only / "a.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match=r"no text files \(1 binary file\(s\) skipped\); choose the files with -o pattern"):
        open_source(str(binary_only))


def test_text_folder_reads_a_utf16_file_and_skips_and_names_a_binary_one(tmp_path: Path) -> None:
    """UTF-16 text is full of NUL bytes but has a byte-order mark: the encoding scan reads it as
    text (as it does the same file alone); only a file the scan calls binary is skipped."""
    from datamoat.data.readers import open_source

    root = tmp_path / "mixed"
    root.mkdir()
    (root / "a.txt").write_text("caf\u00e9 au lait\nun th\u00e9\n", encoding="utf-16")
    (root / "b.txt").write_text("plain text\n")
    (root / "c.txt").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 40)  # a zip renamed .txt
    alone = open_source(str(root / "a.txt"), format="text")
    assert [r["text"] for b in alone.batches() for r in b.to_pylist()] == ["caf\u00e9 au lait", "un th\u00e9"]
    source = open_source(str(root))
    rows = [(r["source_file"], r["text"]) for b in source.batches() for r in b.to_pylist()]
    assert rows == [("a.txt", "caf\u00e9 au lait"), ("a.txt", "un th\u00e9"), ("b.txt", "plain text")]
    assert source.info.options["binary_files"] == 1 and source.info.options["encoding"] == {"utf-16": 1, "utf-8": 1}
    assert any("skipped 1 binary file(s): c.txt" in w for w in source.info.warnings)
    with pytest.raises(InputError, match="NUL byte"):
        open_source(str(root / "c.txt"), format="text")
