"""Tests of the core cleaning steps: drop_missing (clean/missing.py), strip_whitespace
(clean/normalize.py), length_filter (clean/filters.py) and exact_dedup (clean/dedup.py), each
bound and applied on small batches as an executor would."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest
from conftest import ROLES, batch, reasons, run_step

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline import DROP_COLUMN, Step, create_step

# --- drop_missing ---------------------------------------------------------------------------------


def test_drop_missing_defaults_to_text_and_label_roles():
    b = batch(["a", None, "  \u00a0\u3000", "", "b"], ["x", "y", "z", "w", None])
    out = run_step(create_step("drop_missing"), b)
    assert reasons(out) == [None, "missing text", "missing text", "missing text", "missing label"]
    assert out.num_rows == b.num_rows


def test_drop_missing_first_missing_column_wins_and_nan_is_missing():
    b = batch([None, "a", "b"], [None, "y", "z"], score=pa.array([1.0, float("nan"), None]))
    out = run_step(create_step("drop_missing", {"columns": ["label", "score", "text"]}), b)
    assert reasons(out) == ["missing label", "missing score", "missing score"]


def test_drop_missing_blank_is_missing_off():
    b = batch(["", " ", None])
    out = run_step(create_step("drop_missing", {"columns": ["text"], "blank_is_missing": False}), b)
    assert reasons(out) == [None, None, "missing text"]


def test_drop_missing_bind_errors():
    b = batch(["a"])
    with pytest.raises(StepError, match="step 'drop_missing': no column 'body'"):
        create_step("drop_missing", {"columns": ["body"]}).bind(ROLES, b.schema)
    with pytest.raises(StepError, match="no columns given and the dataset has no text or label role"):
        create_step("drop_missing").bind(ColumnRoles(), b.schema)


# --- strip_whitespace -----------------------------------------------------------------------------


def test_strip_whitespace_unicode_and_nulls():
    texts = [
        "  hello   world ",
        "a\u00a0\u00a0b\u3000c",
        "tab\tand\nnew\r\nline\u2028x",
        None,
        "",
        "\u200bzero-width",
    ]
    b = batch(texts, ids=["a", "b", "c", "d", "e", "f"])
    out = run_step(create_step("strip_whitespace"), b)
    assert out.column("text").to_pylist() == [
        "hello world",
        "a b c",
        "tab and new line x",
        None,
        "",
        "\u200bzero-width",
    ]
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["a", "b", "c", "d", "e", "f"]
    assert DROP_COLUMN not in out.schema.names
    assert out.column("label").to_pylist() == b.column("label").to_pylist()


def test_strip_whitespace_matches_python_split_join():
    import sys

    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    text = f"{spaces}a{spaces}b{spaces}"
    out = run_step(create_step("strip_whitespace"), batch([text]))
    assert out.column("text").to_pylist() == [" ".join(text.split())]


def test_strip_whitespace_keeps_large_string_and_handles_empty_batch():
    b = pa.record_batch({ROW_ID_COLUMN: ["1"], "text": pa.array([" x "], pa.large_string())})
    out = run_step(create_step("strip_whitespace"), b)
    assert out.schema.field("text").type == pa.large_string()
    assert out.column("text").to_pylist() == ["x"]
    empty = batch([])
    assert run_step(create_step("strip_whitespace"), empty).num_rows == 0


def test_strip_whitespace_rejects_non_text_column():
    b = pa.record_batch({"text": [1, 2]})
    with pytest.raises(StepError, match="'text' holds int64, not text"):
        create_step("strip_whitespace").bind(ROLES, b.schema)


# --- length_filter --------------------------------------------------------------------------------


def test_length_filter_bounds_are_inclusive_and_count_code_points():
    texts = ["ab", "abc", "héllo", "👍👍👍", "x" * 10, "x" * 11, None]
    out = run_step(create_step("length_filter", {"min_chars": 3, "max_chars": 10}), batch(texts))
    assert out.column("_dm_len").to_pylist() == [2, 3, 5, 3, 10, 11, None]
    assert out.schema.field("_dm_len").type == pa.int64()
    assert reasons(out) == ["shorter than 3 chars", None, None, None, None, "longer than 10 chars", None]


def test_length_filter_only_max_and_empty_batch():
    out = run_step(create_step("length_filter", {"max_chars": 0}), batch(["", "a"]))
    assert reasons(out) == [None, "longer than 0 chars"]
    empty = run_step(create_step("length_filter", {"min_chars": 1}), batch([]))
    assert empty.num_rows == 0 and "_dm_len" in empty.schema.names


def test_length_filter_missing_text_role():
    with pytest.raises(StepError, match="no column given and the dataset has no 'text' role"):
        create_step("length_filter", {"min_chars": 1}).bind(ColumnRoles(), batch(["a"]).schema)


# --- exact_dedup ----------------------------------------------------------------------------------


def dedup(step: Step, batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    step.bind(ROLES, batches[0].schema)
    step.fit(batches)
    return [step.apply(b) for b in batches]


def test_exact_dedup_keeps_first_across_batches():
    b1 = batch(["a", "b", "a", None], ids=["1", "2", "3", "4"])
    b2 = batch(["b", "c", None, "a"], ids=["5", "6", "7", "8"])
    o1, o2 = dedup(create_step("exact_dedup"), [b1, b2])
    assert reasons(o1) == [None, None, "exact duplicate", None]
    assert reasons(o2) == ["exact duplicate", None, None, "exact duplicate"]
    assert o1.column("_dm_dup_of").to_pylist() == [None, None, "1", None]
    assert o2.column("_dm_dup_of").to_pylist() == ["2", None, None, "1"]


def test_exact_dedup_normalisation_options():
    b = batch(["Hello  World", "hello world", " HELLO WORLD\u00a0", "Hello World"], ids=list("abcd"))
    (plain,) = dedup(create_step("exact_dedup"), [b])
    assert reasons(plain) == [None, None, None, None]
    (case,) = dedup(create_step("exact_dedup", {"ignore_case": True}), [b])
    assert reasons(case) == [None, None, None, "exact duplicate"]
    assert case.column("_dm_dup_of").to_pylist() == [None, None, None, "b"]
    (both,) = dedup(create_step("exact_dedup", {"ignore_case": True, "ignore_whitespace": True}), [b])
    assert reasons(both) == [None, "exact duplicate", "exact duplicate", "exact duplicate"]
    assert both.column("_dm_dup_of").to_pylist() == [None, "a", "a", "a"]


def test_exact_dedup_no_duplicates_and_empty_input():
    (out,) = dedup(create_step("exact_dedup"), [batch(["a", "b"])])
    assert reasons(out) == [None, None]
    step = create_step("exact_dedup")
    step.bind(ROLES, batch([]).schema)
    step.fit([])
    assert step.apply(batch([])).num_rows == 0


def test_exact_dedup_needs_row_ids():
    b = pa.record_batch({"text": ["a", "a"]})
    with pytest.raises(StepError, match="needs the _dm_row_id column"):
        create_step("exact_dedup").bind(ROLES, b.schema)
    same_id = batch(["a", "a"], ids=["1", "1"])
    with pytest.raises(StepError, match="share the _dm_row_id '1'"):
        dedup(create_step("exact_dedup"), [same_id])


def test_steps_pickle_after_fit():
    step = create_step("exact_dedup")
    b = batch(["a", "a", "b"], ids=["1", "2", "3"])
    (expected,) = dedup(step, [b])
    copy = pickle.loads(pickle.dumps(step))
    assert copy.apply(b).equals(expected)


def test_exact_dedup_never_groups_blank_texts():
    # as the exact_duplicates check: empty and whitespace-only texts are never duplicates
    texts = ["", "  ", "\u00a0", "", "a", "a ", None, None]
    b = batch(texts, ids=[str(i) for i in range(len(texts))])
    (plain,) = dedup(create_step("exact_dedup"), [b])
    assert reasons(plain) == [None] * 8
    (ws,) = dedup(create_step("exact_dedup", {"ignore_whitespace": True}), [b])
    assert reasons(ws) == [None, None, None, None, None, "exact duplicate", None, None]


@pytest.mark.parametrize("name", ["exact_dedup", "near_dedup", "label_issues", "rebalance", "duplicate_rows"])
def test_steps_that_find_rows_by_id_say_they_need_row_ids(name: str) -> None:
    b = pa.record_batch({"text": ["a", "b"], "label": ["x", "y"]})
    with pytest.raises(StepError, match=f"step '{name}' needs the _dm_row_id column to "):
        create_step(name).bind(ROLES, b.schema)
