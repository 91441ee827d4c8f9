"""What the CLI prints for people: sentences and tables (no Python dicts), user text shown as
written (no rich markup), wide tables that stay readable, a line per long stage (never with
--json), and third-party warnings in the workspace log instead of the terminal."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

from datamoat.cli.noise import LOG_FILE, third_party_to_log
from datamoat.cli.output import plain


def _ingest(cli, tmp_path: Path, text: str, name: str = "t") -> None:
    (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
    assert cli("init")[0] == 0
    code, _, err = cli("ingest", str(tmp_path / f"{name}.csv"), "--name", name, "--text", "text", "--id", "id")
    assert code == 0, err


def test_bracketed_words_in_user_data_are_printed_as_written(cli, tmp_path: Path) -> None:
    _ingest(cli, tmp_path, "id,text\n1,[garbus] discards the [bold]draft[/bold]\n2,plain\n")
    code, out, err = cli("show", "t")
    assert code == 0, err
    assert "[garbus] discards" in out and "[bold]draft[/bold]" in out


def test_show_prints_a_wide_table_one_line_per_column_and_selects_columns(cli, tmp_path: Path) -> None:
    columns = [f"feature_number_{i:02d}" for i in range(30)]
    header = "id,text," + ",".join(columns)
    rows = [f"{r},row {r} text," + ",".join(f"v{r}_{i}" for i in range(30)) for r in range(3)]
    _ingest(cli, tmp_path, "\n".join([header, *rows]) + "\n")
    code, out, err = cli("show", "t", "--rows", "2")
    assert code == 0, err
    assert "row 0" in out and "row 1" in out and "row 2" not in out
    assert "feature_number_29" in out and "v1_29" in out  # every column, every value, none cut to a sliver
    code, out, err = cli("show", "t", "--columns", "text,feature_number_07")
    assert code == 0, err
    assert "first 3 rows" in out and "v2_7" in out and "feature_number_08" not in out.split("first 3 rows")[1]
    code, _, err = cli("show", "t", "--columns", "nope")
    assert code == 1 and "no column 'nope'" in err


def test_pii_redact_counts_the_rows_that_had_personal_data(cli, tmp_path: Path) -> None:
    lines = ["id,text"] + [f"{i},write to person{i}@example.com today" if i < 3 else f"{i},nothing personal here {i}"
                           for i in range(10)]
    _ingest(cli, tmp_path, "\n".join(lines) + "\n")
    code, out, err = cli("pii", "redact", "t")
    assert code == 0, err
    assert "redacted in 3 of 10 rows" in out
    assert "finding and rewriting personal data in t" in err  # the stage line, on stderr
    code, out, err = cli("pii", "redact", "t@1", "--mode", "mask", "--json")
    assert code == 0, err
    assert json.loads(out)["rows_with_pii"] == 3 and "finding and rewriting" not in err  # --json: no stage lines


def test_pii_scan_and_dp_status_print_no_python_dicts(cli, tmp_path: Path) -> None:
    _ingest(cli, tmp_path, "id,text\n1,mail me at ana.garcia@example.com\n2,hello there\n")
    code, out, err = cli("pii", "scan", "t")
    assert code == 0, err
    assert "examples (masked)" in out and "ana.garcia@example.com" not in out
    assert "{" not in out and "'_dm_row_id'" not in out
    (tmp_path / "n.csv").write_text("x\n" + "\n".join(str(i % 50) for i in range(200)) + "\n")
    assert cli("ingest", str(tmp_path / "n.csv"), "--name", "n")[0] == 0
    assert cli("dp", "budget", "n", "--epsilon", "1")[0] == 0
    assert cli("dp", "release", "n", "--stat", "count", "--column", "x", "--epsilon", "0.25")[0] == 0
    code, out, err = cli("dp", "status", "n")
    assert code == 0, err
    assert "epsilon 0.25 of 1 spent (0.75 left)" in out and "in 1 releases" in out
    assert "{" not in out and "'epsilon_total'" not in out


def test_plain_words_values_for_the_terminal() -> None:
    assert plain({"k": 5, "l_distinct": 2.0}) == "k 5, l_distinct 2"
    assert plain([0.123456, 12345]) == "0.1235, 12,345"
    assert plain(None) == "-" and plain(True) == "yes"


def test_compress_report_is_a_table(capsys) -> None:
    from datamoat.cli.model_commands import print_compression

    side = {"size_mb": 90.4, "p50_ms": 8.0, "p95_ms": 11.0, "batch_texts_per_s": 900.0, "accuracy": 0.93}
    small = {**side, "size_mb": 23.1, "p50_ms": 3.2, "accuracy": 0.925}
    print_compression("t@1", "t@2", "onnx-int8", "t-test@1", {
        "original": side, "compressed": small, "speedup_p50": 2.5, "size_ratio": 3.9,
        "accuracy_change_points": -0.5, "agreement": 0.99, "rows_test": 600})
    out = capsys.readouterr().out
    assert "size (MB)" in out and "90.4" in out and "23.1" in out and "{" not in out
    assert "3.9x smaller, 2.5x faster (p50); accuracy -0.50 points" in out and "99.0% of 600 test rows" in out


def test_library_warnings_go_to_the_workspace_log_not_the_terminal(tmp_path: Path, capsys) -> None:
    (tmp_path / "datamoat.yaml").write_text("name: x\n")
    (tmp_path / "sub").mkdir()
    with third_party_to_log(tmp_path / "sub") as log:  # the workspace is found above the folder
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("cleanlab says something nobody can act on", UserWarning, stacklevel=1)
        logging.getLogger("transformers.modeling_utils").warning("Some weights were not initialized")
    assert log == tmp_path / LOG_FILE
    err = capsys.readouterr().err
    assert "cleanlab says" not in err and "Some weights" not in err
    text = log.read_text(encoding="utf-8")
    assert "cleanlab says something nobody can act on" in text and "Some weights were not initialized" in text
    # afterwards, warnings are Python's again
    assert not logging.getLogger("py.warnings").handlers


def test_find_workspace_root_is_the_one_search_for_the_workspace(tmp_path: Path) -> None:
    from datamoat.config import find_workspace_root
    from datamoat.workspace import Workspace

    assert find_workspace_root(tmp_path) is None
    ws = Workspace.init(tmp_path / "proj")
    ws.close()
    (tmp_path / "proj" / "a" / "b").mkdir(parents=True)
    assert find_workspace_root(tmp_path / "proj" / "a" / "b") == (tmp_path / "proj").resolve()
    with Workspace.open(tmp_path / "proj" / "a") as opened:
        assert opened.root == (tmp_path / "proj").resolve()
