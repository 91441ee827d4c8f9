"""Tests of the pipeline core: registry, recipes and the local executor.

The built-in steps are used as sample steps here; their own tests are in tests/clean."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import ROLES, batch, run_local

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.errors import StepError
from datamoat.pipeline import (
    EXCLUSION_SCHEMA,
    STEPS,
    LocalExecutor,
    Recipe,
    Step,
    create_step,
    register,
    rows_from_exclusions,
)
from datamoat.pipeline.plan import apply_chain, bind_recipe, split_segments

# --- registry ------------------------------------------------------------------------------------


def test_builtin_steps_are_registered():
    assert {"drop_missing", "strip_whitespace", "length_filter", "exact_dedup"} <= set(STEPS.known())
    assert STEPS["exact_dedup"].kind == "global"
    assert STEPS["length_filter"].kind == "row"


def test_unknown_step_lists_known_ones():
    with pytest.raises(StepError, match="unknown step 'lenght_filter'.*length_filter"):
        create_step("lenght_filter", {})


def test_unknown_param_is_named_with_accepted_ones():
    with pytest.raises(StepError, match="unknown parameter 'min_len'.*min_chars"):
        create_step("length_filter", {"min_len": 3})


@pytest.mark.parametrize(
    "params, match",
    [
        ({"min_chars": -1}, "'min_chars' must be at least 0"),
        ({"min_chars": "5"}, "'min_chars' must be a whole number"),
        ({"min_chars": True}, "'min_chars' must be a whole number"),
        ({}, "'min_chars' or 'max_chars' must be given"),
        ({"min_chars": 5, "max_chars": 2}, "larger than max_chars"),
    ],
)
def test_bad_param_values_are_named(params, match):
    with pytest.raises(StepError, match=match):
        create_step("length_filter", params)


def test_bad_columns_and_flags():
    with pytest.raises(StepError, match="'columns' must be a list of column names"):
        create_step("drop_missing", {"columns": []})
    with pytest.raises(StepError, match="'ignore_case' must be true or false"):
        create_step("exact_dedup", {"ignore_case": "yes"})


def test_params_are_json_and_recreate_the_step():
    step = create_step("drop_missing", {"columns": ("text",)})
    assert step.params() == {"columns": ["text"], "blank_is_missing": True}
    json.dumps(step.params())
    again = create_step(step.name, step.params())
    assert again.params() == step.params()


def test_builtin_steps_are_loaded_from_the_cleaning_stage_on_first_lookup():
    """The pipeline imports no cleaning module; a lookup by name imports the built-ins."""
    code = (
        "import sys\n"
        "import datamoat.pipeline as p\n"
        "assert not any(m.startswith('datamoat.clean') for m in sys.modules), 'pipeline imported clean'\n"
        "assert 'drop_missing' not in p.STEPS\n"
        "print(p.create_step('drop_missing').__module__, p.STEPS['exact_dedup'].__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["datamoat.clean.missing", "datamoat.clean.dedup"]


def test_register_rejects_a_taken_name_and_bad_kind():
    STEPS.load_builtins()  # "length_filter" is a built-in, registered when first looked up
    with pytest.raises(ValueError, match="taken"):

        @register
        class Other(Step):
            name = "length_filter"

    with pytest.raises(ValueError, match="kind"):

        @register
        class Weird(Step):
            name = "weird_kind_step"
            kind = "batch"

    assert "weird_kind_step" not in STEPS


# --- recipes --------------------------------------------------------------------------------------

RECIPE_YAML = """\
# cleaning recipe
- step: drop_missing
  columns: [text]
- step: strip_whitespace
- step: length_filter
  min_chars: 3
  max_chars: 200
- step: exact_dedup
  ignore_case: true
"""


def test_recipe_yaml_round_trip():
    recipe = Recipe.from_yaml(RECIPE_YAML)
    assert [s.name for s in recipe] == ["drop_missing", "strip_whitespace", "length_filter", "exact_dedup"]
    assert recipe.labels() == ["1:drop_missing", "2:strip_whitespace", "3:length_filter", "4:exact_dedup"]
    again = Recipe.from_yaml(recipe.to_yaml())
    assert again.to_list() == recipe.to_list()
    assert again.to_list(full=True) == recipe.to_list(full=True)
    assert recipe.to_list()[2] == {"step": "length_filter", "min_chars": 3, "max_chars": 200}
    assert recipe.to_list(full=True)[2] == {
        "step": "length_filter",
        "column": None,
        "min_chars": 3,
        "max_chars": 200,
    }


def test_recipe_from_list_and_steps_mapping():
    entries = [{"step": "drop_missing", "columns": ["text"]}, {"step": "length_filter", "min_chars": 1}]
    assert Recipe.from_list(entries).to_list() == entries
    mapped = Recipe.from_yaml(
        "steps:\n  - step: drop_missing\n    columns: [text]\n  - step: length_filter\n    min_chars: 1\n"
    )
    assert mapped.to_list() == entries
    assert len(Recipe.from_yaml("")) == 0


def test_recipe_from_file(tmp_path: Path):
    path = tmp_path / "clean.yaml"
    path.write_text(RECIPE_YAML, encoding="utf-8")
    assert len(Recipe.from_yaml(path)) == 4
    assert len(Recipe.from_yaml(str(path))) == 4
    other = tmp_path / "recipe.txt"
    other.write_text(RECIPE_YAML, encoding="utf-8")
    assert len(Recipe.from_yaml(str(other))) == 4
    with pytest.raises(StepError, match="not found"):
        Recipe.from_yaml(str(tmp_path / "missing.yml"))


def test_malformed_yaml_names_the_line():
    text = "- step: drop_missing\n- step: length_filter\n  min_chars: [3\n"
    with pytest.raises(StepError, match=r"invalid YAML at line \d"):
        Recipe.from_yaml(text)
    with pytest.raises(StepError, match="invalid YAML at line 2"):
        Recipe.from_yaml("- step: a\n  bad: : :\n")


def test_entry_without_step_names_entry_and_line():
    text = "- step: drop_missing\n\n- min_chars: 3\n"
    with pytest.raises(StepError, match=r"entry 2 \(line 3\): no 'step' key"):
        Recipe.from_yaml(text)
    with pytest.raises(StepError, match="entry 1: expected a mapping"):
        Recipe.from_list(["drop_missing"])  # type: ignore[list-item]
    with pytest.raises(StepError, match=r"entry 2 \(line 2\).*unknown parameter 'min'"):
        Recipe.from_yaml("- step: drop_missing\n- {step: length_filter, min: 3}\n")
    with pytest.raises(StepError, match="expected a list of steps"):
        Recipe.from_yaml("step: drop_missing\n")


# --- executor -------------------------------------------------------------------------------------

CLEAN = Recipe.from_list(
    [
        {"step": "drop_missing"},
        {"step": "length_filter", "min_chars": 2, "max_chars": 20},
        {"step": "exact_dedup"},
    ]
)


def mixed_batches() -> list[pa.RecordBatch]:
    """Three batches with every kind of drop and several column types."""
    out = []
    for k in range(3):
        texts = ["hello", None, "x", "hello", f"unique {k}", "y" * 30, "héllo wörld", "zz"]
        labels = ["a", "b", "g", "c", "d", "e", "f", None]
        n = len(texts)
        out.append(
            batch(
                texts,
                labels,
                ids=[f"{k}-{i}" for i in range(n)],
                n=pa.array([2**62 + i for i in range(n)], pa.int64()),
                score=pa.array([0.1 * i if i != 3 else float("nan") for i in range(n)]),
                flag=pa.array([i % 2 == 0 for i in range(n)]),
                at=pa.array(
                    [dt.datetime(2024, 1, 1 + i, 12, 30, 15, 123456) for i in range(n)], pa.timestamp("us")
                ),
                day=pa.array([dt.date(2024, 2, 1 + i) for i in range(n)]),
                blob=pa.array([bytes([i, 255, 0]) for i in range(n)], pa.binary()),
                tags=pa.array([["t", str(i)] for i in range(n)]),
            )
        )
    return out


def test_nothing_is_lost_and_exclusions_round_trip():
    batches = mixed_batches()
    out, excl, run = run_local(CLEAN, batches)
    assert run.rows_in == 24
    assert run.rows_in == run.rows_out + excl.num_rows == out.num_rows + run.rows_dropped
    assert excl.schema.equals(EXCLUSION_SCHEMA)
    assert run.dropped_by_step == {"1:drop_missing": 6, "2:length_filter": 6, "3:exact_dedup": 7}
    assert run.dropped_by_reason == {
        "missing text": 3,
        "missing label": 3,
        "shorter than 2 chars": 3,
        "longer than 20 chars": 3,
        "exact duplicate": 7,
    }
    assert run.drop_counts["2:length_filter"] == {"shorter than 2 chars": 3, "longer than 20 chars": 3}
    # every input row is either in the output or in the exclusions, exactly once
    source = pa.Table.from_batches(batches)
    kept_ids = out.column(ROW_ID_COLUMN).to_pylist()
    excl_ids = excl.column(ROW_ID_COLUMN).to_pylist()
    assert sorted(kept_ids + excl_ids) == sorted(source.column(ROW_ID_COLUMN).to_pylist())
    # each excluded row round-trips to the original values
    originals = {r[ROW_ID_COLUMN]: r for r in source.to_pylist()}
    data_schema = pa.schema([f for f in source.schema if f.name != ROW_ID_COLUMN])
    for row in rows_from_exclusions(excl, data_schema, with_row_id=True):
        original = originals[row[ROW_ID_COLUMN]]
        assert set(row) == set(original)
        for key, value in original.items():
            if isinstance(value, float) and math.isnan(value):
                assert math.isnan(row[key])
            else:
                assert row[key] == value and type(row[key]) is type(value), key


def test_exclusions_encode_tricky_types_losslessly():
    import decimal

    from datamoat.pipeline import make_exclusions

    rows = pa.record_batch(
        {
            ROW_ID_COLUMN: pa.array([7, 8], pa.int64()),
            "big": pa.array([2**64 - 1, 0], pa.uint64()),
            "f": pa.array([1e-310, float("inf")]),
            "s": ['quote " \\ \n é 👍', None],
            "utc": pa.array([dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC), None], pa.timestamp("ms", tz="UTC")),
            "ns": pa.array([1_700_000_000_123_456_789, 0], pa.timestamp("ns")),
            "dec": pa.array([decimal.Decimal("12345678901234567890.123"), None], pa.decimal128(23, 3)),
            "t": pa.array([dt.time(1, 2, 3, 4), None]),
            "st": pa.array([{"a": 1, "b": [1.5]}, None]),
            "_dm_len": [3, 4],
        }
    )
    excl = make_exclusions(rows, "9:custom", pa.array(["r1", "r2"]))
    assert excl.schema.equals(EXCLUSION_SCHEMA)
    assert excl.column(ROW_ID_COLUMN).to_pylist() == ["7", "8"]
    assert json.loads(excl.column("_dm_stats")[1].as_py()) == {"_dm_len": 4}
    data_schema = pa.schema([f for f in rows.schema if not f.name.startswith("_dm_")])
    back = rows_from_exclusions(excl, data_schema)
    expected = rows.select(data_schema.names).to_pylist()
    assert back == expected
    assert rows_from_exclusions(excl)[0]["dec"] == "12345678901234567890.123"


def test_exclusion_records_step_reason_and_stats():
    _, excl, _ = run_local(CLEAN, mixed_batches())
    rows = excl.to_pylist()
    short = next(r for r in rows if r["_dm_reason"] == "shorter than 2 chars")
    assert short["_dm_step"] == "2:length_filter"
    assert json.loads(short["_dm_stats"]) == {"_dm_len": 1}
    dup = next(r for r in rows if r[ROW_ID_COLUMN] == "1-0")
    assert dup["_dm_reason"] == "exact duplicate" and dup["_dm_step"] == "3:exact_dedup"
    assert json.loads(dup["_dm_stats"])["_dm_dup_of"] == "0-0"
    assert json.loads(dup["_dm_row"])["text"] == "hello"


def test_output_order_is_stable_and_stats_optional():
    out, _, _ = run_local(CLEAN, mixed_batches())
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["0-0", "0-4", "0-6", "1-4", "2-4"]
    assert out.schema.names[-2:] == ["_dm_len", "_dm_dup_of"]
    run = LocalExecutor(workers=1).run(CLEAN, ROLES, lambda: iter(mixed_batches()), keep_stats=False)
    lean = run.to_table()
    assert lean.schema.equals(run.schema)
    assert [n for n in lean.schema.names if n.startswith("_dm_")] == [ROW_ID_COLUMN]
    assert lean.column(ROW_ID_COLUMN).equals(out.column(ROW_ID_COLUMN))


def test_two_processes_give_the_same_output_as_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pools = []
    real_map_pool = LocalExecutor._map_pool

    def counting_map_pool(self, steps, batches):
        pools.append([label for label, _ in steps])
        return real_map_pool(self, steps, batches)

    monkeypatch.setattr(LocalExecutor, "_map_pool", counting_map_pool)
    recipe = Recipe.from_list(
        [
            {"step": "strip_whitespace"},
            {"step": "length_filter", "min_chars": 2},
            {"step": "exact_dedup"},
            {"step": "drop_missing"},
        ]
    )
    batches = mixed_batches() * 2
    batches = [
        b.set_column(0, ROW_ID_COLUMN, pa.array([f"{j}:{x}" for x in b.column(0).to_pylist()]))
        for j, b in enumerate(batches)
    ]
    serial, serial_excl, serial_run = run_local(recipe, batches)
    parallel, parallel_excl, parallel_run = run_local(recipe, batches, workers=2, scratch_dir=tmp_path)
    assert parallel.equals(serial)
    assert parallel_excl.equals(serial_excl)
    assert parallel_run.drop_counts == serial_run.drop_counts
    assert pools == [["1:strip_whitespace", "2:length_filter"], ["3:exact_dedup", "4:drop_missing"]]
    parallel_run.close()
    assert list(tmp_path.iterdir()) == []


class RecordingFit(Step):
    """A global step that records which rows its fit saw and marks nothing."""

    name = "recording_fit"
    kind = "global"

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.passes = 0

    def fit(self, batches: Iterable[pa.RecordBatch]) -> None:
        for _ in range(2):  # fit may read its input more than once
            self.passes += 1
            self.seen = [i for b in batches for i in b.column(ROW_ID_COLUMN).to_pylist()]

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch


def test_global_step_sees_only_rows_kept_by_earlier_steps():
    recorder = RecordingFit()
    recipe = Recipe([create_step("length_filter", {"min_chars": 2}), recorder, create_step("exact_dedup")])
    b1 = batch(["a", "hello"], ids=["1", "2"])
    b2 = batch(["bb", "a"], ids=["3", "4"])
    out, excl, run = run_local(recipe, [b1, b2])
    assert recorder.seen == ["2", "3"] and recorder.passes == 2
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["2", "3"]
    # "a" dropped by the length filter never reaches exact_dedup: no duplicate reported
    assert run.dropped_by_step == {"1:length_filter": 2}


def test_dropped_row_never_counts_as_first_copy():
    recipe = Recipe.from_list([{"step": "drop_missing"}, {"step": "exact_dedup"}])
    b = batch(["same", "same", "same"], [None, "y", "z"], ids=["1", "2", "3"])
    out, excl, _ = run_local(recipe, [b])
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["2"]
    assert excl.column("_dm_reason").to_pylist() == ["missing label", "exact duplicate"]
    assert json.loads(excl.column("_dm_stats")[1].as_py())["_dm_dup_of"] == "2"


def test_recipe_starting_with_a_global_step():
    recipe = Recipe.from_list([{"step": "exact_dedup"}, {"step": "length_filter", "min_chars": 2}])
    out, _, run = run_local(recipe, [batch(["ab", "c"], ids=["1", "2"]), batch(["ab", "de"], ids=["3", "4"])])
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["1", "4"]
    assert run.dropped_by_step == {"1:exact_dedup": 1, "2:length_filter": 1}


def test_everything_dropped_and_empty_source():
    out, excl, run = run_local(CLEAN, [batch([None, None])])
    assert out.num_rows == 0 and excl.num_rows == 2 and out.schema.equals(run.schema)
    assert "_dm_len" in out.schema.names
    out, excl, run = run_local(CLEAN, [])
    assert (out.num_rows, excl.num_rows, run.rows_in, run.rows_out) == (0, 0, 0, 0)


def test_empty_recipe_passes_rows_through():
    batches = mixed_batches()
    out, excl, run = run_local(Recipe(), batches)
    source = pa.Table.from_batches(batches)
    assert out.schema.equals(source.schema) and excl.num_rows == 0
    assert out.drop_columns(["score"]).equals(source.drop_columns(["score"]))  # NaN != NaN


def test_counts_need_the_output_consumed_first(tmp_path: Path):
    run = LocalExecutor(workers=1, scratch_dir=tmp_path).run(CLEAN, ROLES, lambda: iter(mixed_batches()))
    with pytest.raises(RuntimeError, match="consumed"):
        _ = run.rows_out
    with pytest.raises(RuntimeError, match="consumed"):
        list(run.exclusions())
    with run:
        run.drain()
        assert run.rows_out == 5
        assert sum(b.num_rows for b in run.exclusions()) == 19
    assert list(tmp_path.iterdir()) == []


def test_bind_errors_are_raised_by_run_before_any_work():
    recipe = Recipe.from_list([{"step": "length_filter", "column": "body", "min_chars": 1}])
    with pytest.raises(StepError, match="step 'length_filter': no column 'body'"):
        LocalExecutor(workers=1).run(recipe, ROLES, lambda: iter([batch(["a"])]))


class Deleter(Step):
    name = "deleter"

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch.slice(1)


class Renumberer(Step):
    name = "renumberer"

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ids = pa.array([f"new{i}" for i in range(batch.num_rows)])
        return batch.set_column(batch.schema.get_field_index(ROW_ID_COLUMN), ROW_ID_COLUMN, ids)


def test_executor_enforces_the_step_contract():
    for step, match in [
        (Deleter(), "returned 1 rows for 2"),
        (Renumberer(), "changed or removed _dm_row_id"),
    ]:
        segments = split_segments(Recipe([step]))
        bind_recipe(segments, ROLES, batch([]).schema)
        with pytest.raises(StepError, match=match):
            apply_chain(segments[0].steps, batch(["a", "b"]))


def test_example_recipes_parse():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "examples" / "recipes"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for path in files:
        recipe = Recipe.from_yaml(path)
        assert len(recipe) >= 1
