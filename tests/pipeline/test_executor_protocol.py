"""The Executor protocol: LocalExecutor satisfies it, and code typed against it runs recipes."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pyarrow as pa

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.pipeline import Executor, LocalExecutor, Recipe, RecipeRun

ROLES = ColumnRoles.from_dict({"text": "text"})


def batches() -> Iterator[pa.RecordBatch]:
    yield pa.record_batch({ROW_ID_COLUMN: ["1", "2"], "text": ["hello", "hello"]})
    yield pa.record_batch({ROW_ID_COLUMN: ["3", "4"], "text": ["x", "other text"]})


def dedup_and_filter(executor: Executor) -> RecipeRun:
    """Run a recipe with a row step and a global step through whatever executor is given."""
    recipe = Recipe.from_list([{"step": "length_filter", "min_chars": 2}, {"step": "exact_dedup"}])
    return executor.run(recipe, ROLES, batches, keep_stats=False)


def test_local_executor_is_an_executor():
    assert isinstance(LocalExecutor(workers=1), Executor)
    assert not isinstance(object(), Executor)


def test_local_executor_run_has_the_protocol_signature():
    """Same parameters, kinds, defaults and annotations, so a typed call through the protocol fits."""
    assert inspect.signature(LocalExecutor.run) == inspect.signature(Executor.run)


def test_a_run_through_the_protocol_keeps_rows_and_records_exclusions(tmp_path):
    executor: Executor = LocalExecutor(workers=1, scratch_dir=tmp_path)
    with dedup_and_filter(executor) as run:
        out = pa.Table.from_batches(list(run.batches()))
        excluded = run.exclusions_table()
        assert out.column(ROW_ID_COLUMN).to_pylist() == ["1", "4"]
        assert out.column_names == [ROW_ID_COLUMN, "text"]
        assert sorted(excluded.column("_dm_reason").to_pylist()) == ["exact duplicate", "shorter than 2 chars"]
        assert (run.rows_in, run.rows_out) == (4, 2)
        assert run.dropped_by_step == {"1:length_filter": 1, "2:exact_dedup": 1}
