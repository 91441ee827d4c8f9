"""duplicate_rows (clean/row_dedup.py): whole-row duplicates of a table, and the default recipe for tables."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pytest
from conftest import reasons, run_local

from datamoat.clean.default_recipe import default_clean_recipe, training_clean_recipe
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline import create_step
from datamoat.quality.duplicate_rows import DuplicateRows

TABLE_ROLES = ColumnRoles.from_dict({"label": "y", "id": "client"})


def rows(ids: list[str], **columns: list) -> pa.RecordBatch:
    return pa.record_batch({ROW_ID_COLUMN: ids, **columns})


def test_keeps_the_first_copy_of_whole_rows_across_batches():
    b1 = rows(["1", "2", "3"], client=["a", "b", "c"], age=[40, 40, 41], job=["x", "x", None], y=["no", "no", "yes"])
    b2 = rows(["4", "5", "6"], client=["d", "e", "f"], age=[41, 40, 40], job=[None, "x", "x"], y=["yes", "yes", "no"])
    step = create_step("duplicate_rows")
    step.bind(TABLE_ROLES, b1.schema)
    step.fit([b1, b2])
    o1, o2 = step.apply(b1), step.apply(b2)
    # the id column differs between copies and is not compared; nulls compare equal; the label is compared
    assert reasons(o1) == [None, "exact duplicate", None]
    assert reasons(o2) == ["exact duplicate", None, "exact duplicate"]
    assert o1.column("_dm_dup_of").to_pylist() == [None, "1", None]
    assert o2.column("_dm_dup_of").to_pylist() == ["3", None, "1"]
    # the step keeps one open row hasher, which is left out of a pickle (a pool worker opens its own)
    copy = pickle.loads(pickle.dumps(step))
    assert copy._hasher is None and copy.apply(b2).equals(o2)


def test_agrees_with_the_duplicate_rows_check():
    rng = np.random.default_rng(3)
    n = 400
    b = rows([f"r{i}" for i in range(n)], client=[f"c{i}" for i in range(n)],
             age=rng.integers(20, 23, n).tolist(), job=rng.choice(["a", "b", None], n).tolist(),
             balance=rng.choice([1.5, np.nan, 2.0], n).tolist(), y=rng.choice(["no", "yes"], n).tolist())
    out, excl, run = run_local([{"step": "duplicate_rows"}], [b.slice(0, 150), b.slice(150)], roles=TABLE_ROLES)
    check = DuplicateRows().run(pa.Table.from_batches([b]), TABLE_ROLES)
    flagged = set(check.issues.filter(check.issues.column("is_issue")).column(ROW_ID_COLUMN).to_pylist())
    assert flagged and set(excl.column(ROW_ID_COLUMN).to_pylist()) == flagged
    assert out.num_rows + excl.num_rows == n
    assert set(excl.column("_dm_reason").to_pylist()) == {"exact duplicate"}


def test_ignore_columns_and_bad_parameters():
    b = rows(["1", "2"], seen=["mon", "tue"], age=[3, 3], y=["a", "a"])
    out, excl, _ = run_local([{"step": "duplicate_rows", "ignore_columns": ["seen"]}], [b], roles=TABLE_ROLES)
    assert excl.column(ROW_ID_COLUMN).to_pylist() == ["2"]
    out, excl, _ = run_local([{"step": "duplicate_rows"}], [b], roles=TABLE_ROLES)
    assert excl.num_rows == 0
    with pytest.raises(StepError, match="'nope', which is not in the data"):
        create_step("duplicate_rows", {"ignore_columns": ["nope"]}).bind(TABLE_ROLES, b.schema)
    with pytest.raises(StepError, match="needs the _dm_row_id column"):
        create_step("duplicate_rows").bind(TABLE_ROLES, pa.schema([("age", pa.int64())]))


def test_rows_with_only_id_columns_are_never_duplicates():
    b = rows(["1", "2"], client=["a", "a"])
    out, excl, _ = run_local([{"step": "duplicate_rows"}], [b], roles=ColumnRoles.from_dict({"id": "client"}))
    assert excl.num_rows == 0 and out.num_rows == 2


def test_default_recipe_for_tables_drops_missing_labels_and_duplicate_rows():
    assert [s.name for s in default_clean_recipe(TABLE_ROLES)] == ["drop_missing", "duplicate_rows"]
    assert [s.name for s in training_clean_recipe(TABLE_ROLES)] == ["drop_missing", "duplicate_rows"]
    assert [s.name for s in default_clean_recipe(ColumnRoles())] == ["duplicate_rows"]
    text_roles = ColumnRoles.from_dict({"text": "text", "label": "label"})
    assert "duplicate_rows" not in [s.name for s in default_clean_recipe(text_roles)]
    b = rows(["1", "2", "3", "4"], client=["a", "b", "c", "d"], age=[1.0, 1.0, np.nan, 2.0],
             y=["p", "p", "q", None])
    out, excl, _ = run_local(training_clean_recipe(TABLE_ROLES), [b], roles=TABLE_ROLES)
    # the missing feature value stays, the missing label goes, the copy goes
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["1", "3"]
    assert sorted(excl.column("_dm_reason").to_pylist()) == ["exact duplicate", "missing y"]


def test_steps_left_out_name_the_missing_roles_the_recipe_leaves_out():
    from datamoat.clean.default_recipe import steps_left_out

    text_only = ColumnRoles.from_dict({"text": "text"})
    assert steps_left_out(text_only) == {"label_issues": ("label",)}
    assert "label_issues" not in [s.name for s in default_clean_recipe(text_only)]
    table = steps_left_out(TABLE_ROLES)
    assert table["label_issues"] == ("text",) and table["near_dedup"] == ("text",) and "drop_missing" not in table
    assert steps_left_out(ColumnRoles())["drop_missing"] == ("text", "label")
    assert steps_left_out(ColumnRoles.from_dict({"text": "text", "label": "label"})) == {}
