"""`run` and `train` on data a model cannot be made from: one sentence, exit 1, and the
workspace's datasets and versions exactly as before (checked with `datamoat datasets --json`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(8))


def csv_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows), encoding="utf-8")
    return path


def datasets(cli) -> list[dict]:
    code, out, err = cli("datasets", "--json")
    assert code == 0, err
    return [{k: d[k] for k in ("name", "versions", "latest")} for d in json.loads(out)]


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the error must say)."""
    rng = random.Random(0)
    return {
        "one_class": (csv_file(tmp_path / "one_class.csv", [(sentence(rng), "a") for _ in range(30)]),
                      "a classifier needs at least two"),
        "null_label": (csv_file(tmp_path / "null_label.csv", [(sentence(rng), "") for _ in range(30)]),
                       "nothing is left to train on"),
        "numeric_text": (csv_file(tmp_path / "numeric_text.csv", [(str(i), "ab"[i % 2]) for i in range(30)]),
                         "not text"),
        "one_row": (csv_file(tmp_path / "one_row.csv", [("hello there my friend", "a")]), "too few rows"),
        "two_rows": (csv_file(tmp_path / "two_rows.csv", [("hello there my friend", "a"), ("bye now my pal", "b")]),
                     "rows per class"),
    }


@pytest.mark.parametrize("case", ["one_class", "null_label", "numeric_text", "one_row", "two_rows"])
def test_run_on_bad_data_says_one_sentence_and_leaves_no_dataset(cli, tmp_path: Path, case: str) -> None:
    path, expected = bad_files(tmp_path)[case]
    assert cli("init")[0] == 0
    keep = csv_file(tmp_path / "keep.csv", [("an existing row of text", "x"), ("another one of them", "y")])
    assert cli("ingest", str(keep), "--name", "keep", "--text", "text", "--label", "label")[0] == 0
    before = datasets(cli)
    code, _, err = cli("run", str(path), "--text", "text", "--label", "label", "--budget", "60s")
    assert code == 1, err
    message = err.strip().removeprefix("error: ")
    assert expected in message and "internal error" not in message
    assert message.count("\n") == 0 and message.endswith(".")
    assert datasets(cli) == before


def test_train_with_one_class_leaves_no_split_versions(cli, tmp_path: Path) -> None:
    rng = random.Random(1)
    src = csv_file(tmp_path / "t.csv", [(sentence(rng), "a") for _ in range(30)])
    assert cli("init")[0] == 0
    assert cli("ingest", str(src), "--name", "t", "--text", "text", "--label", "label")[0] == 0
    before = datasets(cli)
    code, _, err = cli("train", "t", "--budget", "60s")
    assert code == 1 and "at least two" in err
    assert datasets(cli) == before  # no t-train / t-test left behind


def test_train_that_cannot_cross_validate_says_how_many_rows_a_class_needs(cli, tmp_path: Path) -> None:
    rng = random.Random(2)
    rows = [(sentence(rng), "a") for _ in range(20)] + [(sentence(rng), "b") for _ in range(20)]
    src = csv_file(tmp_path / "t.csv", rows)
    lonely = csv_file(tmp_path / "test.csv", [(sentence(rng), "a"), (sentence(rng), "b")])
    assert cli("init")[0] == 0
    assert cli("ingest", str(src), "--name", "t", "--text", "text", "--label", "label")[0] == 0
    small = csv_file(tmp_path / "s.csv", [(sentence(rng), "a") for _ in range(5)] + [(sentence(rng), "b")])
    assert cli("ingest", str(small), "--name", "s", "--text", "text", "--label", "label")[0] == 0
    assert cli("ingest", str(lonely), "--name", "lonely", "--text", "text", "--label", "label")[0] == 0
    before = datasets(cli)
    code, _, err = cli("train", "s", "--test", "lonely", "--budget", "60s")
    assert code == 1 and "needs at least two classes with two or more rows each" in err
    assert datasets(cli) == before


def test_label_cleaning_gate_does_not_crash_when_every_class_has_one_row() -> None:
    import pandas as pd

    from datamoat.models.cleaning_gate import find_issues

    part = pd.DataFrame({"text": ["alpha beta", "gamma delta", "eta theta"], "label": ["a", "b", "c"]})
    assert not find_issues(part, "text", "label").flagged.any()


def test_clean_without_a_text_role_says_which_steps_were_skipped(cli, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("a,b\n1,x\n2,y\n")
    assert cli("init")[0] == 0
    assert cli("ingest", str(src), "--name", "t")[0] == 0
    code, out, _ = cli("clean", "t")
    assert code == 0
    assert "no column has the 'text' or 'label' role, so " in out and "label_issues were skipped" in out
    assert "--text COLUMN" in out


def test_ingest_says_which_column_was_taken_as_the_text(cli, tmp_path: Path) -> None:
    rng = random.Random(3)
    src = tmp_path / "SMSSpamCollection"
    src.write_text("".join(f"{'spam' if i % 3 else 'ham'}\t{sentence(rng)}\n" for i in range(30)), encoding="utf-8")
    assert cli("init")[0] == 0
    code, out, err = cli("ingest", str(src), "--name", "sms")
    assert code == 0, err
    assert "was taken as the text" in err and "--text COLUMN or --no-infer-roles" in err
    code, out, _ = cli("ingest", str(src), "--name", "sms2", "--no-infer-roles", "--json")
    assert code == 0 and json.loads(out)["source"].get("inferred_roles") is None


def test_clean_note_for_a_table_with_a_label_says_it_was_cleaned_as_a_table() -> None:
    from datamoat.cli.quality_commands import skipped_steps_note
    from datamoat.data.roles import ColumnRoles

    note = skipped_steps_note(ColumnRoles.from_dict({"label": "y"}))
    assert "cleaned as a table (drop_missing, duplicate_rows)" in note and "--label" not in note
    assert "if a column holds free text" in note
    assert skipped_steps_note(ColumnRoles.from_dict({"text": "t", "label": "y"})) == ""


def test_run_shows_the_ingesting_counter_only_while_ingesting(cli, tmp_path: Path, monkeypatch) -> None:
    from contextlib import contextmanager

    import datamoat.cli.demo_commands as demo
    import datamoat.flywheel.run as run_module
    from datamoat.errors import DatamoatError

    events: list[str] = []

    @contextmanager
    def counter(description: str, enabled: bool):
        events.append(f"open {description}")
        try:
            yield lambda rows: events.append(f"rows {rows}")
        finally:
            events.append("closed")

    def fake_run_loop(ws, path, *, progress, ingest_progress, **_kw):
        ingest_progress(10)
        progress("ingested t@abc: 10 rows")
        progress("profiled")
        events.append("training")
        raise DatamoatError("stop here")

    monkeypatch.setattr(demo, "row_progress", counter)
    monkeypatch.setattr(run_module, "run_loop", fake_run_loop)
    src = tmp_path / "t.csv"
    src.write_text("text,label\nhello there,a\n")
    code, out, _ = cli("run", str(src), "--text", "text", "--label", "label")
    assert code != 0 and "ingested t@abc" in out
    assert events == ["open ingesting", "rows 10", "closed", "training"]
