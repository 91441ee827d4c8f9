"""One rule for dataset names, checked where names are made (ingest, apply outputs, defaults)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datamoat.data.dataset_name import MAX_NAME_CHARS, check_dataset_name, name_from_path
from datamoat.errors import DatamoatError
from datamoat.workspace import Workspace


@pytest.mark.parametrize("name", ["x" * 1000, "my data", "<b>x</b>", "-x", ".x", "a@1", "a/b", ""])
def test_bad_names_are_refused_before_anything_is_read(workspace: Workspace, tmp_path: Path, name: str) -> None:
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,2\n")
    with pytest.raises(DatamoatError, match="dataset name"):
        workspace.ingest(src, name=name)
    assert workspace.datasets() == []


def test_good_names_and_the_length_limit(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,2\n")
    for name in ("tickets", "T1.v2_final-x", "9lives", "x" * MAX_NAME_CHARS):
        assert workspace.ingest(src, name=name).dataset == name
    with pytest.raises(DatamoatError, match="101 characters; at most 100"):
        check_dataset_name("x" * 101)
    with pytest.raises(DatamoatError, match="at most 94 are allowed"):
        check_dataset_name("x" * 95, suffix_room=6)


def test_derived_names_are_checked_before_the_work(workspace: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,2\n")
    workspace.ingest(src, name="x" * MAX_NAME_CHARS)
    with pytest.raises(DatamoatError, match="106 characters"):
        workspace.apply("x" * MAX_NAME_CHARS, [{"step": "strip_whitespace"}], output="x" * MAX_NAME_CHARS + "-train")
    assert [d["name"] for d in workspace.datasets()] == ["x" * MAX_NAME_CHARS]


def test_default_names_from_paths_follow_the_rule() -> None:
    assert name_from_path("in/my data (2).csv") == "my_data_2_"
    assert name_from_path("folder/") == "folder"
    assert len(name_from_path("y" * 300 + ".csv")) == MAX_NAME_CHARS
    for path in ("in/my data (2).csv", "y" * 300 + ".csv", "._.csv"):
        check_dataset_name(name_from_path(path))


def test_cli_default_name_from_a_file_with_spaces(cli, tmp_path: Path) -> None:
    src = tmp_path / "my tickets.csv"
    src.write_text("a,b\n1,2\n")
    cli("init")
    code, out, err = cli("ingest", str(src))
    assert code == 0, err
    assert "my_tickets@1" in out
    code, _, err = cli("ingest", str(src), "--name", "<script>")
    assert code == 1 and "dataset name '<script>' is not allowed" in err
