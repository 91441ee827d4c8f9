"""Tests of the duplicate checks: MinHash/LSH core, exact and near duplicates, leakage, the
``near_dedup`` step and scoring against a demo truth file."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from conftest import table as text_table

import datamoat.clean.dedup  # noqa: F401  (registers near_dedup)
from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.demo.generate import generate_demo_data
from datamoat.demo.truth_score import SCORERS, score_against_truth
from datamoat.errors import DatamoatError, StepError
from datamoat.pipeline import DROP_COLUMN, LocalExecutor, Recipe, create_step
from datamoat.quality.check import CHECKS, create_check
from datamoat.quality.duplicates import ExactDuplicates
from datamoat.quality.leakage import SplitLeakage, leakage_between
from datamoat.quality.lsh import candidate_pairs, collision_probability, lsh_params
from datamoat.quality.minhash import MinHasher, shingle_hashes, word_hashes
from datamoat.quality.near_dup_verify import (
    connected_clusters,
    exact_jaccard,
    find_near_duplicates,
    jaccard_pairs,
)
from datamoat.quality.near_duplicates import NearDuplicates

ROLES = ColumnRoles.from_dict({"text": "text"})

WORDS = [
    "order", "parcel", "refund", "late", "card", "charged", "twice", "password", "reset", "link",
    "account", "locked", "address", "invoice", "delivery", "missing", "broken", "screen", "phone", "email",
    "store", "return", "label", "printer", "coupon", "code", "expired", "warranty", "battery", "charger",
]  # fmt: skip


def table(texts: list[str | None], ids: list[str] | None = None, **extra: list) -> pa.Table:
    """A text-only table: :func:`conftest.table` without the label column."""
    return text_table(texts, ids=ids, label_column=False, **extra)


def py_jaccard(a: str, b: str, k: int = 3) -> float:
    """The reference measure (as the demo's truth.json notes define it)."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        w = re.findall(r"\w+", text.lower())
        return {tuple(w)} if len(w) < k else {tuple(w[i : i + k]) for i in range(len(w) - k + 1)}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def random_text(rng: random.Random, n: int | None = None) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n or rng.randint(8, 20)))


# --- MinHash core ----------------------------------------------------------------------------------


def test_shingle_jaccard_matches_python_reference():
    rng = random.Random(1)
    texts = [random_text(rng) for _ in range(60)]
    texts += ["Hello, World!", "hello world", "Straße café_2 über", "straße CAFÉ_2 über!!", "one", "one two"]
    sh, off = shingle_hashes(texts)
    i = np.array([a for a in range(len(texts)) for b in range(len(texts))])
    j = np.array([b for a in range(len(texts)) for b in range(len(texts))])
    ours = jaccard_pairs(sh, off, i, j)
    ref = np.array([py_jaccard(texts[a], texts[b]) for a, b in zip(i, j, strict=True)])
    assert np.allclose(ours, ref)


def test_words_and_short_texts():
    hashes, offsets = word_hashes(["Hi, there!", None, "", "...", "Ünïcödé straße_1 42"])
    assert np.diff(offsets).tolist() == [2, 0, 0, 0, 3]
    sh, off = shingle_hashes(["a b", "a b c d", None, "!!"], 3)
    assert np.diff(off).tolist() == [1, 2, 0, 0]  # short text = one shingle of all its words
    assert exact_jaccard("a b", "A, B.") == 1.0
    assert exact_jaccard("a b", "a b c") == 0.0


def test_hashes_and_signatures_are_deterministic_across_processes():
    hashes, _ = word_hashes(["hello world"])
    # pinned: a pure function of the bytes, the same on every run and machine
    assert [hex(int(h)) for h in hashes] == ["0x36e60a8a11e75212", "0x67db067204f67318"]
    sh, off = shingle_hashes(["the quick brown fox jumps over the lazy dog"])
    sig = MinHasher(16).signatures(sh, off)
    assert sig[0, :4].tolist() == [795984835, 229774796, 20691766, 943214410]
    code = (
        "from datamoat.quality.minhash import MinHasher, shingle_hashes\n"
        "sh, off = shingle_hashes(['the quick brown fox jumps over the lazy dog', 'another text here'])\n"
        "print(MinHasher(64).signatures(sh, off).tolist())\n"
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    sh, off = shingle_hashes(["the quick brown fox jumps over the lazy dog", "another text here"])
    assert outs[0] == outs[1] == f"{MinHasher(64).signatures(sh, off).tolist()}\n"


def test_signatures_threaded_equal_single_and_empty_docs():
    rng = random.Random(2)
    texts = [random_text(rng) for _ in range(3000)] + [None, ""]
    sh, off = shingle_hashes(texts)
    one = MinHasher(32, threads=1).signatures(sh, off, chunk_shingles=512)
    two = MinHasher(32, threads=2).signatures(sh, off, chunk_shingles=512)
    assert np.array_equal(one, two)
    assert (one[-2:] == 0xFFFFFFFF).all()
    # the estimate tracks the exact Jaccard
    a, b = (
        "the parcel never arrived and the tracking page is stuck",
        "the parcel never arrived and tracking is stuck",
    )
    sh, off = shingle_hashes([a, b])
    sig = MinHasher(256).signatures(sh, off)
    assert abs(float(np.mean(sig[0] == sig[1])) - exact_jaccard(a, b)) < 0.12


def test_lsh_params_make_threshold_pairs_candidates():
    for threshold in (0.5, 0.7, 0.9):
        bands, rows = lsh_params(threshold, 128)
        assert bands * rows <= 128
        assert collision_probability(bands, rows, threshold) >= 0.98
        assert collision_probability(bands, rows, threshold / 4) < 0.1


def test_candidate_pairs_big_bucket_is_a_star_around_the_smallest_index():
    keys = np.zeros((100, 1), dtype=np.uint64)
    keys[80:] = 7
    keys[[3, 90]] = [[7], [0]]  # the buckets are not contiguous runs of rows
    i, j = candidate_pairs(keys, max_group=64)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    small = [k for k in range(100) if keys[k, 0] == 7]
    big = [k for k in range(100) if keys[k, 0] == 0]
    assert {p for p in pairs if p[1] in small} == {(a, b) for a in small for b in small if a < b}  # all pairs
    assert {p for p in pairs if p[1] in big} == {(0, k) for k in big[1:]}  # 80 members: a star around 0


def test_connected_clusters_label_is_smallest_index():
    labels = connected_clusters(8, np.array([5, 3, 1, 6]), np.array([3, 1, 7, 2]))
    assert labels.tolist() == [0, 1, 2, 1, 4, 1, 2, 1]


# --- exact_duplicates ---------------------------------------------------------------------------------


def test_exact_duplicates_whitespace_and_case():
    t = table(["Hello  World", "hello world", " HELLO WORLD\u00a0", "other", "Hello World", None, "  ", ""])
    res = ExactDuplicates().run(t, ROLES)
    assert res.issues.column("is_issue").to_pylist() == [False, True, True, False, True, False, False, False]
    assert res.issues.column("duplicate_of").to_pylist() == [None, "r0", "r0", None, "r0", None, None, None]
    assert res.summary["groups"] == 1 and res.summary["duplicates"] == 3 and res.summary["largest_group"] == 4
    plain = ExactDuplicates(ignore_case=False, ignore_whitespace=False).run(t, ROLES)
    assert plain.issues.column("is_issue").to_pylist() == [
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    case_only = ExactDuplicates(ignore_whitespace=False).run(t, ROLES)
    assert case_only.flagged_ids() == ["r4"]  # "Hello World" == lower("hello world")


def test_exact_duplicates_within_a_column_and_registry():
    t = table(["same text", "same text", "same text", "same text"], customer=["a", "b", "a", None])
    assert ExactDuplicates(within="customer").run(t, ROLES).flagged_ids() == ["r2"]
    assert ExactDuplicates().run(t, ROLES).flagged_ids() == ["r1", "r2", "r3"]
    assert CHECKS["exact_duplicates"] is ExactDuplicates
    assert create_check("near_duplicates", {"threshold": 0.8}).threshold == 0.8
    with pytest.raises(DatamoatError, match="threshold"):
        NearDuplicates(threshold=1.5)
    with pytest.raises(DatamoatError, match="needs a 'text' column"):
        ExactDuplicates().run(t, ColumnRoles())


# --- near_duplicates --------------------------------------------------------------------------------


def edited(text: str, rng: random.Random) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = "zebra"  # one word substituted
    return " ".join(words)


def near_corpus(seed: int = 3):
    """150 unrelated 20-word texts, 30 of them with a 1-word-edit copy appended later."""
    rng = random.Random(seed)
    base = [" ".join(rng.sample(WORDS * 2, 20)) + f" ticket{i}" for i in range(150)]
    copies = {}
    texts = list(base)
    for k in rng.sample(range(150), 30):
        copy = edited(base[k], rng)
        if py_jaccard(base[k], copy) >= 0.7:
            copies[len(texts)] = k
            texts.append(copy)
    return texts, copies


def test_near_duplicates_found_and_unrelated_not_paired():
    texts, copies = near_corpus()
    res = NearDuplicates(threshold=0.7).run(table(texts), ROLES)
    flagged = set(res.flagged_ids())
    assert flagged == {f"r{c}" for c in copies}
    dup_of = dict(
        zip(
            res.issues.column(ROW_ID_COLUMN).to_pylist(),
            res.issues.column("duplicate_of").to_pylist(),
            strict=True,
        )
    )
    sims = res.issues.column("similarity").to_pylist()
    for c, k in copies.items():
        assert dup_of[f"r{c}"] == f"r{k}"
        assert sims[c] == pytest.approx(py_jaccard(texts[k], texts[c]))
    assert res.summary["clusters"] == len(copies)
    assert res.summary["largest_cluster"] == 2


def test_near_duplicate_clusters_are_transitive_with_earliest_representative():
    a = "please help me my parcel never arrived and the tracking page has been stuck for a week now"
    b = a.replace("parcel", "package")
    c = b.replace("week", "month")
    assert py_jaccard(a, c) < 0.65 <= min(py_jaccard(a, b), py_jaccard(b, c))
    t = table(["unrelated words about a printer label", c, a, b], ids=["x", "c", "a", "b"])
    res = NearDuplicates(threshold=0.65).run(t, ROLES)
    assert res.issues.column("cluster").to_pylist() == [None, 1, 1, 1]
    assert res.issues.column("duplicate_of").to_pylist() == [None, None, "c", "c"]  # earliest row wins
    assert res.flagged_ids() == ["a", "b"]


def test_exact_copies_are_left_to_the_exact_check():
    a = "my card was charged twice for the same order and I want a refund please"
    b = a.replace("refund", "credit note")
    t = table([a, a.upper(), b, b, "something else entirely different here"])
    assert py_jaccard(a, b) >= 0.6
    near = NearDuplicates(threshold=0.6).run(t, ROLES)
    exact = ExactDuplicates().run(t, ROLES)
    assert near.flagged_ids() == ["r2"]
    assert exact.flagged_ids() == ["r1", "r3"]
    assert near.issues.column("cluster").to_pylist() == [0, 0, 0, 0, None]


def test_find_near_duplicates_groups_and_determinism():
    texts, copies = near_corpus(5)
    one = find_near_duplicates(texts, threshold=0.7)
    two = find_near_duplicates(pa.array(texts), threshold=0.7, threads=1)
    assert np.array_equal(one.cluster, two.cluster)
    groups = np.zeros(len(texts), dtype=np.int64)
    first_copy = min(copies)
    groups[first_copy] = 1  # put one copy in another group: it is no longer paired
    scoped = find_near_duplicates(texts, threshold=0.7, groups=groups)
    assert scoped.is_duplicate().sum() == one.is_duplicate().sum() - 1
    assert scoped.cluster[first_copy] == -1


# --- split_leakage ----------------------------------------------------------------------------------


def test_leakage_between_and_check():
    train = [
        "the parcel never arrived and the tracking page is stuck on in transit",
        "how do I change the email address on my account",
        "my discount code expired yesterday can you extend it",
    ]
    test = [
        "The parcel never arrived and the tracking page is stuck on in transit!",  # same words
        "how do I change the email address on my profile",  # near
        "completely different question about printer ink",
        None,
    ]
    found = leakage_between(train, test, 0.6)
    assert found.match.tolist() == [0, 1, -1, -1]
    assert found.similarity[0] == 1.0 and 0.6 <= found.similarity[1] < 1.0
    t = table(train + test, split=["train"] * 3 + ["test", "valid", "test", "test"])
    roles = ColumnRoles.from_dict({"text": "text", "split": "split"})
    res = SplitLeakage(threshold=0.6).run(t, roles)
    assert res.flagged_ids() == ["r3", "r4"]
    assert res.issues.column("leaks_from").to_pylist()[3:5] == ["r0", "r1"]
    assert res.summary["by_split"] == {"test": {"rows": 3, "leaked": 1}, "valid": {"rows": 1, "leaked": 1}}
    with pytest.raises(DatamoatError, match="needs a 'split' column"):
        SplitLeakage().run(t, ROLES)


# --- near_dedup step -----------------------------------------------------------------------------


def test_near_dedup_step_through_the_local_executor():
    texts, copies = near_corpus(7)
    ids = [f"id{i:03d}" for i in range(len(texts))]
    t = table(texts, ids=ids)
    batches = t.to_batches(max_chunksize=40)
    recipe = Recipe.from_list([{"step": "near_dedup", "threshold": 0.7}])
    run = LocalExecutor(workers=1).run(recipe, ROLES, lambda: iter(batches))
    out = run.to_table()
    excl = run.exclusions_table().to_pylist()
    assert out.num_rows == len(texts) - len(copies)
    assert {e[ROW_ID_COLUMN] for e in excl} == {ids[c] for c in copies}
    assert {e["_dm_reason"] for e in excl} == {"near duplicate"}
    kept = set(out.column(ROW_ID_COLUMN).to_pylist())
    assert all(ids[k] in kept for k in copies.values())


def test_near_dedup_stats_column_and_errors():
    a = "the invoice shows the wrong amount and I was billed for two licences"
    b = a.replace("two", "three")
    batch = table([a, "other words entirely unrelated to it", b, a], ids=["1", "2", "3", "4"]).to_batches()[0]
    step = create_step("near_dedup", {"threshold": 0.6, "num_perm": 64})
    step.bind(ROLES, batch.schema)
    step.fit([batch])
    out = step.apply(batch)
    assert out.column(DROP_COLUMN).to_pylist() == [None, None, "near duplicate", "near duplicate"]
    assert out.column("_dm_near_dup_of").to_pylist() == [None, None, "1", "1"]
    with pytest.raises(StepError, match="threshold"):
        create_step("near_dedup", {"threshold": 0})
    with pytest.raises(StepError, match="_dm_row_id"):
        create_step("near_dedup").bind(ROLES, pa.schema([("text", pa.string())]))
    same = table([a, b], ids=["1", "1"]).to_batches()[0]
    with pytest.raises(StepError, match="unique"):
        step.fit([same])
    empty = create_step("near_dedup")
    empty.bind(ROLES, batch.schema)
    empty.fit([])
    assert empty.apply(batch).column(DROP_COLUMN).null_count == 4


# --- scoring against a demo truth file ----------------------------------------------------------------


def demo_table(folder: Path) -> pa.Table:
    columns = ["ticket_id", "customer_id", "created_at", "channel", "text", "intent"]
    opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in columns}, strings_can_be_null=True)
    t = pcsv.read_csv(folder / "tickets.csv", convert_options=opts)
    return t.append_column(ROW_ID_COLUMN, t.column("ticket_id"))


def test_scores_against_a_small_demo_truth(tmp_path: Path):
    paths = generate_demo_data(tmp_path, n_tickets=600, seed=3)
    truth = json.loads(paths["truth"].read_text())
    t = demo_table(tmp_path)
    roles = ColumnRoles.from_dict({"text": "text", "label": "intent"})
    results = {
        "exact_duplicates": ExactDuplicates().run(t, roles),
        "near_duplicates": NearDuplicates().run(t, roles),
    }
    scores = score_against_truth(results, truth)
    assert scores["exact_duplicates"]["precision"] >= 0.99 and scores["exact_duplicates"]["recall"] >= 0.99
    assert scores["exact_duplicates"]["duplicate_of_correct"] == 1.0
    assert scores["near_duplicates"]["precision"] >= 0.9 and scores["near_duplicates"]["recall"] >= 0.9


def test_truth_scoring_id_mapping_generic_checks_and_hook():
    from datamoat.quality.check import CheckResult, issue_table

    truth = {
        "exact_duplicates": [{"ticket_id": "T2", "duplicate_of": "T1"}],
        "near_duplicates": [{"ticket_id": "T4", "near_duplicate_of": "T3"}],
        "missing": [{"ticket_id": "T3", "column": "text"}],
        "pii": [{"ticket_id": "T1"}],
    }
    ids = {"T1": "h1", "T2": "h2", "T3": "h3", "T4": "h4"}
    row_ids = pa.array(["h1", "h2", "h3", "h4"])
    exact = CheckResult(
        "exact_duplicates",
        issue_table(
            row_ids, [False, True, False, True], [1, 0, 1, 0], duplicate_of=pa.array([None, "h1", None, "h3"])
        ),
    )
    near = CheckResult(
        "near_duplicates",
        issue_table(
            row_ids, [False, False, False, True], [1, 1, 1, 0.2], cluster=pa.array([None, None, 2, 2])
        ),
    )
    missing = CheckResult("missing_values", issue_table(row_ids, [False, False, True, False], [1, 1, 0, 1]))
    pii = CheckResult("pii", issue_table(row_ids, [True, False, False, False], [0, 1, 1, 1]))
    SCORERS["pii"] = lambda result, truth, row_id_of: {"hooked": row_id_of("T1") in result.flagged_ids()}
    try:
        scores = score_against_truth(
            {"exact_duplicates": exact, "near_duplicates": near, "missing_values": missing, "pii": pii},
            truth,
            ids,
        )
    finally:
        del SCORERS["pii"]
    assert scores["exact_duplicates"]["precision"] == 0.5 and scores["exact_duplicates"]["recall"] == 1.0
    assert scores["near_duplicates"]["precision"] == 1.0 and scores["near_duplicates"]["recall"] == 1.0
    assert scores["missing_values"]["truth_key"] == "missing" and scores["missing_values"]["f1"] == 1.0
    assert scores["pii"] == {"hooked": True}


def test_duplicate_rows_ignores_ids_and_names_the_first_copy():
    from datamoat.quality.check import create_check

    table = pa.table({
        ROW_ID_COLUMN: ["a", "b", "c", "d", "e"],
        "order_id": ["1", "2", "3", "4", "5"],
        "amount": [10, 20, 10, 10, None],
        "city": ["x", "y", "x", "z", None],
    })
    result = create_check("duplicate_rows").run(table, ColumnRoles.from_dict({"id": "order_id"}))
    assert result.issues.column("is_issue").to_pylist() == [False, False, True, False, False]
    assert result.issues.column("duplicate_of").to_pylist() == [None, None, "a", None, None]
    assert result.summary["duplicates"] == 1 and result.summary["groups"] == 1
    assert result.summary["columns"] == ["amount", "city"]


def test_exact_duplicates_reports_strict_and_normalised_counts():
    from datamoat.quality.check import create_check

    texts = ["Hello world", "hello  world", "Hello world", "other", None, "other"]
    table = pa.table({ROW_ID_COLUMN: [str(i) for i in range(6)], "text": texts})
    result = create_check("exact_duplicates").run(table, ColumnRoles.from_dict({"text": "text"}))
    assert result.summary["duplicates"] == 3  # case and whitespace ignored
    assert result.summary["strict_duplicates"] == 2  # byte-for-byte
