"""Tests of the cleaning steps (normalize_text, lowercase, language_filter, min_words,
impute_missing, label_issues, rebalance) and the default cleaning recipe, run through the
in-process LocalExecutor like real recipes."""

from __future__ import annotations

import collections
import json
import pickle

import pyarrow as pa
import pytest
from conftest import ROLES, batch, demo_tickets, reasons, run_local, run_step
from textgen import flipped_topics

from datamoat.clean.default_recipe import DEFAULT_CLEAN_RECIPE, default_clean_recipe
from datamoat.clean.labels import ORIGINAL_COLUMN, QUALITY_COLUMN, SUGGESTED_COLUMN
from datamoat.clean.normalize import NORMALIZED_COLUMN, normalize
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import StepError
from datamoat.pipeline import STEPS, LocalExecutor, create_step

DEMO_SEED = 5


def split(b: pa.RecordBatch, size: int) -> list[pa.RecordBatch]:
    return [b.slice(i, size) for i in range(0, b.num_rows, size)]


CLEAN_STEPS = (
    "normalize_text",
    "lowercase",
    "language_filter",
    "min_words",
    "impute_missing",
    "label_issues",
    "rebalance",
)


def test_clean_steps_are_registered_with_their_kinds():
    kinds = {name: STEPS[name].kind for name in CLEAN_STEPS}
    assert kinds == {
        "normalize_text": "row",
        "lowercase": "row",
        "language_filter": "row",
        "min_words": "row",
        "impute_missing": "global",
        "label_issues": "global",
        "rebalance": "global",
    }


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("normalize_text", {"nfkc": "yes"}, "'nfkc' must be true or false"),
        (
            "normalize_text",
            {"unescape_html": False, "fix_mojibake": False, "remove_control": False, "nfkc": False},
            "all four are off",
        ),
        ("language_filter", {"allowed": ["xx"]}, "ISO 639-1"),
        ("language_filter", {"min_confidence": 2}, "'min_confidence' must be between 0 and 1"),
        ("min_words", {"min_words": 0}, "'min_words' must be at least 1"),
        ("impute_missing", {"column": "label"}, "'value' is required"),
        ("impute_missing", {"column": "label", "strategy": "mean"}, "'strategy' must be one of"),
        ("impute_missing", {"strategy": "constant", "value": 1}, "'column' is required"),
        ("label_issues", {"action": "fix"}, "'action' must be one of"),
        ("label_issues", {"min_confidence": 1.5}, "'min_confidence' must be between 0 and 1"),
        ("label_issues", {"unconfident": "maybe"}, "'unconfident' must be one of"),
        ("rebalance", {"max_ratio": 0.5}, "'max_ratio' must be a number >= 1"),
    ],
)
def test_bad_params_are_named(name, params, match):
    with pytest.raises(StepError, match=match):
        create_step(name, params)


def test_steps_pickle_and_params_round_trip():
    for name, params in [
        ("normalize_text", {"nfkc": False}),
        ("language_filter", {"allowed": ["en", "de"]}),
        ("impute_missing", {"column": "label", "strategy": "most_frequent"}),
        ("label_issues", {"action": "relabel", "min_confidence": 0.8}),
        ("rebalance", {"max_ratio": 2.0, "seed": 3}),
    ]:
        step = create_step(name, params)
        json.dumps(step.params())
        assert create_step(name, step.params()).params() == step.params()
        assert pickle.loads(pickle.dumps(step)).params() == step.params()


# --- normalize_text / lowercase ------------------------------------------------------------------------


def test_normalize_text_repairs_and_records_fixes():
    texts = [
        "plain ascii",
        "Tom &amp; Jerry&#39;s &quot;show&quot;",
        "I don\u00e2\u20ac\u2122t know",
        "null\x00 byte and bell\x07",
        "\ufb01ne full\uff57idth",
        None,
        "AT&T &nbsp without semicolon",
    ]
    out = run_step(create_step("normalize_text"), batch(texts))
    assert out.column("text").to_pylist() == [
        "plain ascii",
        'Tom & Jerry\'s "show"',
        "I don\u2019t know",
        "null byte and bell",
        "fine fullwidth",
        None,
        "AT&T &nbsp without semicolon",
    ]
    assert out.column(NORMALIZED_COLUMN).to_pylist() == [
        None,
        "html",
        "mojibake",
        "control",
        "nfkc",
        None,
        None,
    ]
    assert out.column(ROW_ID_COLUMN).to_pylist() == [f"r{i}" for i in range(len(texts))]
    assert reasons(out, missing_ok=True) == [None] * len(texts)


def test_normalize_text_options_switch_fixes_off():
    out = run_step(create_step("normalize_text", {"unescape_html": False}), batch(["a &amp; b \ufb01"]))
    assert out.column("text").to_pylist() == ["a &amp; b fi"]
    text, done = normalize("caf\u00c3\u00a9 &amp;", mojibake=False)
    assert done == ["html"] and text == "caf\u00c3\u00a9 &"


def test_normalize_text_keeps_large_string_type_and_empty_batches():
    b = pa.record_batch({ROW_ID_COLUMN: ["a"], "text": pa.array(["x &lt; y"], pa.large_string())})
    out = run_step(create_step("normalize_text"), b)
    assert out.schema.field("text").type == pa.large_string()
    assert out.column("text").to_pylist() == ["x < y"]
    empty = run_step(create_step("normalize_text"), batch([]))
    assert NORMALIZED_COLUMN in empty.schema.names and empty.num_rows == 0


def test_lowercase():
    out = run_step(create_step("lowercase"), batch(["Hello WORLD", "\u00c9T\u00c9", None]))
    assert out.column("text").to_pylist() == ["hello world", "\u00e9t\u00e9", None]


# --- language_filter / min_words --------------------------------------------------------------------

GERMAN = "Ich habe meine Bestellung vor zwei Wochen aufgegeben und sie ist immer noch nicht angekommen."
SPANISH = "Hola, quiero cancelar mi suscripción y recibir un reembolso completo lo antes posible."
ENGLISH = "Hello, I ordered a lamp two weeks ago and it still has not arrived. Can you help me please?"


def test_language_filter_drops_other_languages_with_reason():
    out = run_step(create_step("language_filter"), batch([ENGLISH, GERMAN, SPANISH, "ok", None]))
    assert reasons(out) == [None, "language de", "language es", None, None]
    assert out.column("_dm_language").to_pylist() == ["en", "de", "es", None, None]


def test_language_filter_allowed_and_undetected_options():
    out = run_step(
        create_step("language_filter", {"allowed": ["en", "de"], "keep_undetected": False}),
        batch([ENGLISH, GERMAN, SPANISH, "ok"]),
    )
    assert reasons(out) == [None, None, "language es", "language unknown"]


def test_min_words():
    out = run_step(
        create_step("min_words", {"min_words": 3}),
        batch(["one two three", "one, two!", "", None, "a1 b2 c3 d4"]),
    )
    assert reasons(out) == [None, "fewer than 3 words", "fewer than 3 words", None, None]
    assert out.column("_dm_words").to_pylist() == [3, 2, 0, None, 4]


# --- impute_missing ------------------------------------------------------------------------------------


def test_impute_missing_constant_keeps_rows_and_ids():
    b = batch(["a", "b", "c"], ["x", None, "  "])
    out, excl, _ = run_local([{"step": "impute_missing", "column": "label", "value": "unknown"}], [b])
    assert out.column("label").to_pylist() == ["x", "unknown", "unknown"]
    assert out.column("_dm_imputed_label").to_pylist() == [False, True, True]
    assert out.column(ROW_ID_COLUMN).to_pylist() == ["r0", "r1", "r2"]
    assert excl.num_rows == 0


def test_impute_missing_most_frequent_sees_all_batches():
    # "y" is the mode over the whole input although the first batch only has "x"
    b = batch(
        ["t"] * 8,
        ["x", None, "y", "y", "y", None, "x", "z"],
        amount=pa.array([1, None, 2, 2, 3, None, 2, 1], pa.int64()),
    )
    out, _, _ = run_local(
        [
            {"step": "impute_missing", "column": "label", "strategy": "most_frequent"},
            {"step": "impute_missing", "column": "amount", "strategy": "most_frequent"},
        ],
        split(b, 2),
    )
    assert out.column("label").to_pylist() == ["x", "y", "y", "y", "y", "y", "x", "z"]
    assert out.column("amount").to_pylist() == [1, 2, 2, 2, 3, 2, 2, 1]
    assert out.schema.field("amount").type == pa.int64()


def test_impute_missing_constant_must_fit_the_type():
    b = batch(["t"], ["x"], amount=pa.array([None], pa.int64()))
    step = create_step("impute_missing", {"column": "amount", "value": "lots"})
    with pytest.raises(StepError, match="does not fit column 'amount'"):
        step.bind(ROLES, b.schema)


# --- label_issues step ------------------------------------------------------------------------------


def _topic_batch(n_per_class: int = 30, seed: int = 0) -> tuple[pa.RecordBatch, dict[str, str]]:
    """Three topics; rows r0, r30, r60 carry the next topic's label. Returns (batch, true labels of those)."""
    texts, labels, flipped = flipped_topics(n_per_class, seed=seed)
    truth = {f"r{i}": "abc"[i // n_per_class] for i in flipped}  # rows are grouped by topic a, b, c
    return batch(texts, labels), truth


def test_label_issues_step_drops_flagged_rows_with_reason():
    b, truth = _topic_batch()
    out, excl, _ = run_local([{"step": "label_issues"}], split(b, 25))
    dropped = dict(
        zip(excl.column(ROW_ID_COLUMN).to_pylist(), excl.column("_dm_reason").to_pylist(), strict=True)
    )
    stats = dict(zip(excl.column(ROW_ID_COLUMN).to_pylist(), excl.column("_dm_stats").to_pylist(), strict=True))
    assert set(truth) <= set(dropped)
    for rid, true in truth.items():
        assert dropped[rid] == "label issue"
        assert json.loads(stats[rid])[SUGGESTED_COLUMN] == true
    assert out.num_rows + excl.num_rows == b.num_rows
    assert QUALITY_COLUMN in out.column_names and SUGGESTED_COLUMN in out.column_names
    assert all(q is not None for q in out.column(QUALITY_COLUMN).to_pylist())
    assert set(out.column(SUGGESTED_COLUMN).to_pylist()) == {None}  # only flagged rows get one


def test_label_issues_step_relabels_confident_rows_keeping_ids():
    b, truth = _topic_batch()
    out, excl, _ = run_local(
        [{"step": "label_issues", "action": "relabel", "min_confidence": 0.0, "unconfident": "keep"}],
        split(b, 40),
    )
    assert excl.num_rows == 0
    labels = dict(zip(out.column(ROW_ID_COLUMN).to_pylist(), out.column("label").to_pylist(), strict=True))
    original = dict(
        zip(out.column(ROW_ID_COLUMN).to_pylist(), out.column(ORIGINAL_COLUMN).to_pylist(), strict=True)
    )
    given = dict(zip(b.column(ROW_ID_COLUMN).to_pylist(), b.column("label").to_pylist(), strict=True))
    for rid, true in truth.items():
        assert labels[rid] == true and original[rid] == given[rid]
    assert original["r1"] is None and labels["r1"] == given["r1"]


def test_label_issues_step_unconfident_rows_dropped_or_kept():
    b, truth = _topic_batch()
    # nothing is that confident: with "drop" every flagged row goes, with "keep" none changes
    out, excl, _ = run_local([{"step": "label_issues", "action": "relabel", "min_confidence": 1.0}], [b])
    assert set(truth) <= set(excl.column(ROW_ID_COLUMN).to_pylist())
    assert set(out.column(ORIGINAL_COLUMN).to_pylist()) == {None}
    out, excl, _ = run_local(
        [{"step": "label_issues", "action": "relabel", "min_confidence": 1.0, "unconfident": "keep"}], [b]
    )
    assert excl.num_rows == 0 and out.column("label").to_pylist() == b.column("label").to_pylist()


def test_label_issues_step_skips_missing_rows_and_rejects_duplicate_ids():
    b, _ = _topic_batch()
    texts = b.column("text").to_pylist()
    texts[5] = None
    labels = b.column("label").to_pylist()
    labels[6] = None
    holed = batch(texts, labels)
    out, excl, _ = run_local([{"step": "label_issues"}], [holed])
    quality = dict(
        zip(out.column(ROW_ID_COLUMN).to_pylist(), out.column(QUALITY_COLUMN).to_pylist(), strict=True)
    )
    assert quality["r5"] is None and quality["r6"] is None
    assert "r5" not in excl.column(ROW_ID_COLUMN).to_pylist()
    dup = batch(["a b", "a b", "c d"], ["x", "y", "x"], ids=["same", "same", "other"])
    step = create_step("label_issues")
    step.bind(ROLES, dup.schema)
    with pytest.raises(StepError, match="occurs twice"):
        step.fit([dup])


# --- rebalance --------------------------------------------------------------------------------------------


def _imbalanced(n_a: int = 60, n_b: int = 20, n_c: int = 10) -> pa.RecordBatch:
    labels = ["a"] * n_a + ["b"] * n_b + ["c"] * n_c + [None, None]
    return batch(["t"] * len(labels), labels)


def test_rebalance_caps_classes_at_ratio_of_smallest():
    b = _imbalanced()
    out, excl, _ = run_local([{"step": "rebalance", "max_ratio": 1.5}], split(b, 16))
    counts = collections.Counter(out.column("label").to_pylist())
    assert counts == {"a": 15, "b": 15, "c": 10, None: 2}
    assert set(excl.column("_dm_reason").to_pylist()) == {"rebalanced"}
    assert excl.num_rows == (60 - 15) + (20 - 15)


def test_rebalance_is_deterministic_and_independent_of_batching():
    b = _imbalanced()
    kept_one = (
        run_local([{"step": "rebalance", "max_ratio": 2, "seed": 1}], [b])[0]
        .column(ROW_ID_COLUMN)
        .to_pylist()
    )
    kept_many = run_local([{"step": "rebalance", "max_ratio": 2, "seed": 1}], split(b, 7))[0]
    assert kept_many.column(ROW_ID_COLUMN).to_pylist() == kept_one
    other_seed = (
        run_local([{"step": "rebalance", "max_ratio": 2, "seed": 2}], [b])[0]
        .column(ROW_ID_COLUMN)
        .to_pylist()
    )
    assert len(other_seed) == len(kept_one) and other_seed != kept_one


def test_rebalance_with_balanced_or_single_class_drops_nothing():
    out, excl, _ = run_local([{"step": "rebalance", "max_ratio": 1}], [batch(["t"] * 4, ["a", "b", "a", "b"])])
    assert excl.num_rows == 0 and out.num_rows == 4
    out, excl, _ = run_local([{"step": "rebalance"}], [batch(["t"] * 3, ["a", "a", "a"])])
    assert excl.num_rows == 0


# --- default recipe on demo data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, dict, ColumnRoles]:
    return demo_tickets(tmp_path_factory.mktemp("demo"), seed=DEMO_SEED)


def test_default_recipe_lists_the_steps_in_order():
    names = [e["step"] for e in DEFAULT_CLEAN_RECIPE]
    assert names[0] == "normalize_text" and names[-1] == "label_issues"
    assert names.index("exact_dedup") < names.index("near_dedup") < names.index("label_issues")
    assert {"drop_missing", "strip_whitespace", "length_filter"} <= set(names)
    recipe = default_clean_recipe(skip=["near_dedup"])
    assert [s.name for s in recipe] == [n for n in names if n != "near_dedup"]


def test_default_recipe_cleans_demo_data(demo):
    data, truth, roles = demo
    recipe = default_clean_recipe(skip=["near_dedup"])
    recipe.steps.insert(1, create_step("language_filter"))
    run = LocalExecutor(workers=1).run(recipe, roles, lambda: iter(data.to_batches(max_chunksize=200)))
    out, excl = run.to_table(), run.exclusions_table()
    assert out.num_rows + excl.num_rows == data.num_rows
    by_reason = collections.defaultdict(set)
    for rid, reason in zip(
        excl.column(ROW_ID_COLUMN).to_pylist(), excl.column("_dm_reason").to_pylist(), strict=True
    ):
        by_reason[reason.split(":")[0].split(" ")[0]].add(rid)
    foreign = {e["ticket_id"] for e in truth["non_english"]}
    assert by_reason["language"] == foreign
    missing = {e["ticket_id"] for e in truth["missing"] if e["column"] in ("text", "intent")}
    assert by_reason["missing"] == missing
    errors = {e["ticket_id"] for e in truth["label_errors"]}
    hit = len(by_reason["label"] & errors)
    assert hit / len(by_reason["label"]) >= 0.7 and hit / len(errors) >= 0.6
    # encoding damage is repaired in the kept rows (modulo whitespace collapsing)
    texts = dict(zip(out.column(ROW_ID_COLUMN).to_pylist(), out.column("text").to_pylist(), strict=True))
    damaged = [e for e in truth["encoding"] if e["ticket_id"] in texts]
    assert damaged
    assert all(texts[e["ticket_id"]] == " ".join(e["original"].split()) for e in damaged)
