"""Label-like columns are named when `run` has no --label: a hint in the error, never a choice."""

from __future__ import annotations

import pandas as pd
import pytest

from datamoat.data.label_hint import label_like_columns
from datamoat.errors import DatamoatError
from datamoat.flywheel.run import check_run_args


def _tickets(path, rows: int = 60):
    frame = pd.DataFrame({
        "ticket_id": [f"T{i:04d}" for i in range(rows)],  # all distinct: an id, not a label
        "text": [f"my card number {i} was charged twice and the refund never arrived" for i in range(rows)],
        "category": [("billing", "shipping", "account")[i % 3] for i in range(rows)],
        "priority": [i % 2 for i in range(rows)],
        "constant": ["x"] * rows,  # one value: nothing to predict
    })
    frame.to_csv(path, index=False)
    return path


def test_label_like_columns_are_the_short_repeated_ones_fewest_classes_first(tmp_path):
    path = _tickets(tmp_path / "t.csv")
    assert label_like_columns(str(path)) == ["priority", "category"]


def test_an_unreadable_source_gives_no_hint_instead_of_an_error(tmp_path):
    assert label_like_columns(str(tmp_path / "missing.csv")) == []
    (tmp_path / "empty.csv").write_text("")
    assert label_like_columns(str(tmp_path / "empty.csv")) == []


def test_run_without_label_names_the_candidates_in_its_sentence(tmp_path):
    path = _tickets(tmp_path / "t.csv")
    with pytest.raises(DatamoatError, match=r"--label COLUMN.*look like labels: priority, category\.$"):
        check_run_args(task="auto", text=None, label=None, train=True, pii="redact", source=path)
    # a --text column is never offered as the label
    with pytest.raises(DatamoatError) as info:
        check_run_args(task="auto", text="priority", label=None, train=True, pii="redact", source=path)
    assert "labels: category." in str(info.value)
