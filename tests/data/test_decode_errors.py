"""Bytes a file's encoding cannot decode are never silently turned into mojibake.

A file is checked as UTF-8 over its whole length. Damaged UTF-8 fails by default (naming the
line and byte offset), or is read with ``replace`` / ``skip-row``; a genuinely cp1252 file is
read as cp1252 with a warning.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from datamoat.data.readers import open_source
from datamoat.errors import InputError
from datamoat.workspace import Workspace

ROWS = 34_604


def utf8_file_with_one_stray_byte(path: Path) -> tuple[Path, int]:
    """A > 1.1 MB UTF-8 CSV of "café" rows whose last line has a stray 0xE9; returns (path, its line)."""
    body = "".join(f"{i},caf\u00e9 number {i:014d}\n" for i in range(ROWS)).encode("utf-8")
    path.write_bytes(b"id,name\n" + body + b"99999,caf\xe9 stray\n")
    assert path.stat().st_size > 1_100_000
    return path, ROWS + 2


def test_utf8_file_with_one_stray_byte_fails_naming_line_offset_and_options(workspace: Workspace, tmp_path: Path) -> None:
    path, line = utf8_file_with_one_stray_byte(tmp_path / "d.csv")
    offset = path.stat().st_size - len(b"\xe9 stray\n")
    with pytest.raises(InputError) as err:
        workspace.ingest(path, name="d")
    message = str(err.value)
    assert err.value.line == line and f"byte offset {offset}" in message and "0xe9" in message
    assert "--on-decode-error" in message and "--encoding" in message
    assert workspace.datasets() == []


def test_replace_reads_the_bad_line_with_ufffd_and_warns(
    workspace: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, line = utf8_file_with_one_stray_byte(tmp_path / "d.csv")
    with caplog.at_level(logging.WARNING, logger="datamoat.data"):
        v = workspace.ingest(path, name="d", on_decode_error="replace")
    names = v.to_pandas()["name"].tolist()
    assert len(names) == ROWS + 1
    assert names[0] == "caf\u00e9 number 00000000000000"  # not "cafÃ©": the rest is still UTF-8
    assert names[-1] == "caf\ufffd stray"
    warning = v.manifest()["source"]["warnings"][0]
    assert "1 line has bytes" in warning and f"line {line}" in warning and "U+FFFD" in warning
    assert warning in caplog.text


def test_skip_row_moves_the_row_to_the_exclusions(workspace: Workspace, tmp_path: Path) -> None:
    path, line = utf8_file_with_one_stray_byte(tmp_path / "d.csv")
    v = workspace.ingest(path, name="d", on_decode_error="skip-row")
    assert v.num_rows == ROWS
    excluded = v.excluded().to_pylist()
    assert len(excluded) == 1 and excluded[0]["_dm_reason"] == "bytes that are not valid utf-8"
    row = json.loads(excluded[0]["_dm_row"])
    assert row["line"] == line and "caf\\xe9 stray" in row["raw"]  # the bad byte, kept as an escape


def test_a_cp1252_file_is_read_as_cp1252_with_a_warning(
    workspace: Workspace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes(("id,name\n1,plain\n" + "".join(f"{i},caf\u00e9 {i}\n" for i in range(2, 500))).encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="datamoat.data"):
        v = workspace.ingest(path, name="w")
    assert v.to_pandas()["name"].tolist()[1] == "caf\u00e9 2"
    assert v.manifest()["source"]["options"]["encoding"] == "cp1252"
    assert "read as cp1252" in caplog.text and "the first is line 3" in caplog.text


def test_forced_encoding_errors_follow_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,ok\n2,bad\x81\n")
    with pytest.raises(InputError, match="not valid cp1252"):
        open_source(str(path), encoding="cp1252")
    source = open_source(str(path), encoding="cp1252", on_decode_error="replace")
    rows = [r for b in source.batches() for r in b.to_pylist()]
    assert rows[1] == {"a": "2", "b": "bad\ufffd"}


def test_jsonl_and_text_lines_skip_rows_with_bad_bytes(tmp_path: Path) -> None:
    lines = [json.dumps({"t": f"caf\u00e9 {i}"}, ensure_ascii=False).encode() for i in range(50)]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_bytes(b"\n".join(lines[:10] + [b'{"t": "bad \xe9"}'] + lines[10:]) + b"\n")
    bad: list = []
    source = open_source(str(jsonl), on_bad_rows="skip", bad_row=bad.append, on_decode_error="skip-row")
    assert sum(b.num_rows for b in source.batches()) == 50
    assert [(r.line, r.raw) for r in bad] == [(11, '{"t": "bad \\xe9"}')]
    text = tmp_path / "d.txt"
    text.write_bytes("caf\u00e9 one\n".encode() * 20 + b"bad \xe9\n" + "caf\u00e9 two\n".encode())
    bad.clear()
    source = open_source(str(text), format="text", bad_row=bad.append, on_decode_error="skip-row")
    assert [r["text"] for b in source.batches() for r in b.to_pylist()][-1] == "caf\u00e9 two"
    assert [r.line for r in bad] == [21]


def test_unknown_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    with pytest.raises(InputError, match="on_decode_error must be one of fail, replace, skip-row"):
        open_source(str(path), on_decode_error="ignore")


def test_cli_prints_the_warning_and_the_failure(cli, tmp_path: Path) -> None:
    path, line = utf8_file_with_one_stray_byte(tmp_path / "d.csv")
    cli("init")
    code, _, err = cli("ingest", str(path))
    assert code == 1 and f"line {line}" in err and "--on-decode-error" in err
    code, out, err = cli("ingest", str(path), "--on-decode-error", "replace")
    assert code == 0, err
    assert "warning:" in err and f"the first is line {line}" in err


def test_run_passes_the_encoding_options_to_ingest(cli, tmp_path: Path) -> None:
    path, line = utf8_file_with_one_stray_byte(tmp_path / "d.csv")
    code, _, err = cli("run", str(path), "--text", "name", "--no-train")
    assert code == 1 and f"line {line}" in err and "--on-decode-error" in err
    code, _, err = cli("run", str(path), "--text", "name", "--no-train", "--on-decode-error", "ignore")
    assert code == 1 and "on_decode_error must be one of fail, replace, skip-row" in " ".join(err.split())


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5])
def test_the_scan_does_not_depend_on_where_chunks_cut_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    """Chunks decode strictly and only a failing one again with surrogateescape: characters
    cut at a chunk's end, bad-byte lines across all-ASCII chunks and a character cut at the end
    of the file count as they do when the whole file is one chunk."""
    from datamoat.data.readers import encoding

    path = tmp_path / "d.txt"
    path.write_bytes("caf\u00e9 \U0001f600\n".encode() + b"bad \xff\n" + b"plain ascii line\n" * 3
                     + "\u20ac ok\n".encode() + b"x\xe9y\n" + b"\xef\xbb" + b"\n" + b"end \xc3")
    policies = ("fail", "replace", "skip-row")

    def scans() -> list[object]:
        found: list[object] = []
        for policy in policies:
            try:
                found.append(encoding.scan_text_file(str(path), on_decode_error=policy))
            except InputError as err:
                found.append((str(err), err.line))
        return found

    whole = scans()
    assert "4 lines have" in str(whole[0]) and "byte offset 15" in str(whole[0]) and whole[0][1] == 2  # type: ignore[index]
    monkeypatch.setattr(encoding, "CHUNK_BYTES", chunk_bytes)
    cut = [dataclasses.replace(s, longest_line_bytes=0) if isinstance(s, encoding.TextScan) else s for s in scans()]
    assert cut == [dataclasses.replace(s, longest_line_bytes=0) if isinstance(s, encoding.TextScan) else s for s in whole]


def test_a_utf8_bom_file_names_the_true_byte_offset_of_a_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b"ab\xffc\n")
    with pytest.raises(InputError, match="byte 0xff at byte offset 5 is not valid utf-8-sig"):
        open_source(str(path), format="text")


def test_a_file_neither_utf8_nor_cp1252_names_the_options_that_read_it(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_bytes(b"caf\xe9\n" * 10 + b"x\x81y\n")
    with pytest.raises(InputError, match="neither UTF-8 nor cp1252") as err:
        open_source(str(path), format="text")
    assert "--encoding ENC" in str(err.value) and "--on-decode-error replace" in str(err.value)
    source = open_source(str(path), format="text", on_decode_error="replace")
    assert [r["text"] for b in source.batches() for r in b.to_pylist()][-1] == "x\ufffdy"
