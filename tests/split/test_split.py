"""Tests for datamoat.split.assign: stratified, leakage-free train/valid/test splits."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pyarrow as pa
import pytest

from datamoat.data.roles import ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.split.assign import (
    leakage_between_tables,
    split_indices,
    split_report,
    split_table,
)

VOCAB = [f"w{i}" for i in range(3000)]
CLASSES = ["billing", "refund", "shipping", "other"]
CLASS_P = [0.4, 0.3, 0.2, 0.1]


def _sentence(rng: np.random.Generator, words: int = 30) -> str:
    return " ".join(rng.choice(VOCAB, size=words))


def make_text_data(n_base: int = 1200, seed: int = 7):
    """Random texts with planted exact duplicates, near duplicates and groups.

    Returns (table, roles, planted) where planted lists the row-index sets that must share a split.
    """
    rng = np.random.default_rng(seed)
    texts, labels, users = [], [], []
    planted: list[set[int]] = []
    for _ in range(n_base):
        label = str(rng.choice(CLASSES, p=CLASS_P))
        texts.append(_sentence(rng))
        labels.append(label)
        users.append(None)
        r = rng.random()
        if r < 0.08:  # exact duplicate, changed only in case / whitespace
            texts.append("  " + texts[-1].upper().replace(" ", "   ") + " ")
            labels.append(label)
            users.append(None)
            planted.append({len(texts) - 2, len(texts) - 1})
        elif r < 0.16:  # near duplicate: last word changed (Jaccard 27/29 of 3-shingles)
            words = texts[-1].split()
            words[-1] = "changed"
            texts.append(" ".join(words))
            labels.append(label)
            users.append(None)
            planted.append({len(texts) - 2, len(texts) - 1})
    # groups: 60 users with 2-5 otherwise unrelated texts each (same label per user)
    for u in range(60):
        label = str(rng.choice(CLASSES, p=CLASS_P))
        members = set()
        for _ in range(int(rng.integers(2, 6))):
            members.add(len(texts))
            texts.append(_sentence(rng))
            labels.append(label)
            users.append(f"user{u}")
        planted.append(members)
    # shuffle the row order so planted rows are not adjacent
    order = rng.permutation(len(texts))
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order))
    table = pa.table(
        {
            "body": [texts[i] for i in order],
            "intent": [labels[i] for i in order],
            "user": pa.array([users[i] for i in order], pa.string()),
        }
    )
    planted = [{int(where[i]) for i in group} for group in planted]
    roles = ColumnRoles.from_dict({"text": "body", "label": "intent", "group": "user"})
    return table, roles, planted


@pytest.fixture(scope="module")
def text_data():
    return make_text_data()


def _norm(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def _shingles(text: str, k: int = 3) -> set[tuple[str, ...]]:
    words = _norm(text).split()
    if len(words) < k:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def independent_straddles(splits: list[str], texts: list[str], groups: list[str | None]) -> list[str]:
    """Plain-Python leakage check: exact texts, near duplicates (brute force) and groups."""
    problems = []
    by_text: dict[str, set[str]] = defaultdict(set)
    by_group: dict[str, set[str]] = defaultdict(set)
    for s, t, g in zip(splits, texts, groups, strict=True):
        if _norm(t):
            by_text[_norm(t)].add(s)
        if g is not None:
            by_group[g].add(s)
    problems += [f"text {t[:20]!r} in {sorted(v)}" for t, v in by_text.items() if len(v) > 1]
    problems += [f"group {g!r} in {sorted(v)}" for g, v in by_group.items() if len(v) > 1]
    sh = [_shingles(t) for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if splits[i] != splits[j] and sh[i] and sh[j]:
                jac = len(sh[i] & sh[j]) / len(sh[i] | sh[j])
                if jac >= 0.7:
                    problems.append(f"near pair {i},{j} ({jac:.2f})")
    return problems


# --------------------------------------------------------------------------------------------


def test_proportions_within_tolerance(text_data):
    table, roles, _ = text_data
    splits = split_table(table, roles, test_size=0.2, valid_size=0.1, seed=0)
    assert isinstance(splits, pa.Array) and len(splits) == table.num_rows
    counts = Counter(splits.to_pylist())
    assert set(counts) == {"train", "valid", "test"}
    n = table.num_rows
    assert abs(counts["test"] / n - 0.2) < 0.02
    assert abs(counts["valid"] / n - 0.1) < 0.02
    assert abs(counts["train"] / n - 0.7) < 0.02


def test_other_sizes_and_no_valid(text_data):
    table, roles, _ = text_data
    counts = Counter(split_table(table, roles, test_size=0.3, valid_size=0.0, seed=3).to_pylist())
    assert counts["valid"] == 0
    assert abs(counts["test"] / table.num_rows - 0.3) < 0.02


def test_stratified_class_shares(text_data):
    table, roles, _ = text_data
    splits = split_table(table, roles, seed=1).to_pylist()
    labels = table.column("intent").to_pylist()
    overall = Counter(labels)
    n = len(labels)
    for split in ("train", "valid", "test"):
        in_split = [lab for lab, s in zip(labels, splits, strict=True) if s == split]
        per = Counter(in_split)
        for cls in CLASSES:
            assert abs(per[cls] / len(in_split) - overall[cls] / n) < 0.04, (split, cls)


def test_deterministic_per_seed_and_varies_across_seeds(text_data):
    table, roles, _ = text_data
    a = split_table(table, roles, seed=11).to_pylist()
    b = split_table(table, roles, seed=11).to_pylist()
    c = split_table(table, roles, seed=12).to_pylist()
    assert a == b
    assert a != c
    assert sum(x != y for x, y in zip(a, c, strict=True)) > table.num_rows // 10


def test_duplicates_near_duplicates_and_groups_never_straddle(text_data):
    table, roles, planted = text_data
    for seed in (0, 5):
        splits = split_table(table, roles, seed=seed).to_pylist()
        for members in planted:  # the planted sets, by construction
            assert len({splits[i] for i in members}) == 1, members
        problems = independent_straddles(
            splits, table.column("body").to_pylist(), table.column("user").to_pylist()
        )
        assert problems == []


def test_split_report_zero_for_ours_positive_for_naive(text_data):
    table, roles, _ = text_data
    ours = split_table(table, roles, seed=0)
    report = split_report(ours, table, roles)
    assert report["leakage"] == {"exact_pairs": 0, "near_pairs": 0, "groups_straddling": 0, "clean": True}
    assert sum(report["rows"].values()) == table.num_rows
    assert report["rows"]["test"] == ours.to_pylist().count("test")
    labels = table.column("intent").to_pylist()
    for split in ("train", "valid", "test"):
        expected = Counter(lab for lab, s in zip(labels, ours.to_pylist(), strict=True) if s == split)
        assert report["classes"][split] == {cls: expected[cls] for cls in sorted(CLASSES)}

    rng = np.random.default_rng(0)
    naive = rng.choice(["train", "valid", "test"], size=table.num_rows, p=[0.7, 0.1, 0.2]).tolist()
    bad = split_report(naive, table, roles)["leakage"]
    assert bad["exact_pairs"] > 0
    assert bad["near_pairs"] > 0
    assert bad["groups_straddling"] > 0
    assert bad["clean"] is False


def test_split_report_counts_exact_pairs():
    table = pa.table({"t": ["a b c", "A  b c", "a b c", "x y z"]})
    roles = ColumnRoles.from_dict({"text": "t"})
    rep = split_report(["train", "test", "valid", "test"], table, roles)
    assert rep["leakage"]["exact_pairs"] == 3  # all three copies in different splits
    assert split_report(["train", "train", "train", "test"], table, roles)["leakage"]["exact_pairs"] == 0


def test_given_split_column_is_honoured():
    rng = np.random.default_rng(2)
    n = 400
    given = ["Train", "VALIDATION", "dev", "test", " valid ", "TRAIN"] * 40 + [None, "foo"] * 80
    texts = [_sentence(rng) for _ in range(n)]
    table = pa.table({"t": texts, "label": [CLASSES[i % 4] for i in range(n)], "s": given})
    roles = ColumnRoles.from_dict({"text": "t", "label": "label", "split": "s"})
    splits = split_table(table, roles, seed=0).to_pylist()
    expect = {"train": "train", "validation": "valid", "dev": "valid", "test": "test", "valid": "valid"}
    for g, s in zip(given, splits, strict=True):
        if g is not None and g.strip().lower() in expect:
            assert s == expect[g.strip().lower()]
    free = [s for g, s in zip(given, splits, strict=True) if g is None or g == "foo"]
    counts = Counter(free)
    assert abs(counts["test"] / len(free) - 0.2) < 0.03
    assert abs(counts["valid"] / len(free) - 0.1) < 0.03

    # a fully given split is returned as is, whatever the sizes asked for
    full = ["train", "Test", "dev", "train"]
    t2 = pa.table({"t": ["a", "b", "c", "d"], "s": full})
    r2 = ColumnRoles.from_dict({"text": "t", "split": "s"})
    assert split_table(t2, r2, test_size=0.5).to_pylist() == ["train", "test", "valid", "train"]


def test_unassigned_duplicate_of_given_row_follows_it():
    rng = np.random.default_rng(4)
    texts = [_sentence(rng) for _ in range(50)]
    texts.append(texts[0].upper())  # duplicate of a given test row, without a split value
    given = ["test"] + [None] * 50
    table = pa.table({"t": texts, "s": given})
    roles = ColumnRoles.from_dict({"text": "t", "split": "s"})
    splits = split_table(table, roles, seed=0).to_pylist()
    assert splits[0] == "test" and splits[-1] == "test"


def make_tabular(n: int = 900, seed: int = 3):
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, size=n).tolist()
    income = np.round(rng.normal(50_000, 15_000, size=n), 2).tolist()
    label = [str(x) for x in rng.choice(["yes", "no"], size=n, p=[0.3, 0.7])]
    account = [f"acct{i // 3}" if i % 4 == 0 else None for i in range(n)]
    # exact duplicate rows (same features, one with a different label)
    for i in range(0, n, 25):
        age.append(age[i])
        income.append(income[i])
        label.append(label[i] if i % 50 else ("no" if label[i] == "yes" else "yes"))
        account.append(None)
    table = pa.table(
        {"age": age, "income": income, "churn": label, "account": pa.array(account, pa.string())}
    )
    roles = ColumnRoles.from_dict({"label": "churn", "group": "account"})
    return table, roles


def test_tabular_without_text():
    table, roles = make_tabular()
    splits = split_table(table, roles, seed=0).to_pylist()
    n = table.num_rows
    counts = Counter(splits)
    assert abs(counts["test"] / n - 0.2) < 0.02 and abs(counts["valid"] / n - 0.1) < 0.02
    # exact duplicate feature rows and accounts stay together (plain Python check)
    by_row: dict[tuple, set[str]] = defaultdict(set)
    by_acct: dict[str, set[str]] = defaultdict(set)
    for a, inc, acct, s in zip(
        table.column("age").to_pylist(),
        table.column("income").to_pylist(),
        table.column("account").to_pylist(),
        splits,
        strict=True,
    ):
        by_row[(a, inc)].add(s)
        if acct is not None:
            by_acct[acct].add(s)
    assert all(len(v) == 1 for v in by_row.values())
    assert all(len(v) == 1 for v in by_acct.values())
    assert any(len(v) > 0 for v in by_acct.values())
    report = split_report(splits, table, roles)
    assert report["leakage"]["clean"] is True
    labels = table.column("churn").to_pylist()
    for split in ("train", "test"):
        share = sum(1 for lab, s in zip(labels, splits, strict=True) if s == split and lab == "yes")
        assert abs(share / counts[split] - labels.count("yes") / n) < 0.04
    naive = np.random.default_rng(1).choice(["train", "valid", "test"], size=n).tolist()
    assert split_report(naive, table, roles)["leakage"]["exact_pairs"] > 0


def test_tabular_without_any_role():
    table = pa.table({"x": list(range(100)) + [5, 5], "y": ["a"] * 102})
    splits = split_table(table, ColumnRoles(), seed=0).to_pylist()
    assert len(splits) == 102
    assert splits[5] == splits[100] == splits[101]


def test_tiny_classes_keep_a_train_row():
    rng = np.random.default_rng(9)
    texts = [_sentence(rng) for _ in range(300)]
    labels = [CLASSES[i % 3] for i in range(297)] + ["single", "pair", "pair"]
    table = pa.table({"t": texts, "y": labels})
    roles = ColumnRoles.from_dict({"text": "t", "label": "y"})
    for seed in range(5):
        splits = split_table(table, roles, seed=seed).to_pylist()
        assert splits[297] == "train"
        assert "train" in {splits[298], splits[299]}
        report = split_report(splits, table, roles)
        assert report["classes"]["train"]["single"] == 1
        assert report["classes"]["train"]["pair"] >= 1


def test_single_row_and_empty_tables():
    roles = ColumnRoles.from_dict({"text": "t", "label": "y"})
    one = pa.table({"t": ["hello there"], "y": ["a"]})
    assert split_table(one, roles).to_pylist() == ["train"]
    empty = pa.table({"t": pa.array([], pa.string()), "y": pa.array([], pa.string())})
    assert split_table(empty, roles).to_pylist() == []
    assert split_indices(empty, roles).dtype == np.int8


def test_null_texts_and_labels_do_not_break():
    rng = np.random.default_rng(5)
    texts = [_sentence(rng) if i % 7 else None for i in range(200)]
    labels = [None if i % 11 == 0 else CLASSES[i % 2] for i in range(200)]
    table = pa.table({"t": pa.array(texts, pa.string()), "y": pa.array(labels, pa.string())})
    roles = ColumnRoles.from_dict({"text": "t", "label": "y"})
    splits = split_table(table, roles, seed=0).to_pylist()
    assert set(splits) == {"train", "valid", "test"}
    assert None in split_report(splits, table, roles)["classes"]["train"]


@pytest.mark.parametrize("test_size,valid_size", [(0.6, 0.5), (-0.1, 0.1), (1.0, 0.0)])
def test_bad_sizes_raise(test_size, valid_size):
    table = pa.table({"t": ["a", "b"]})
    with pytest.raises(DatamoatError):
        split_table(table, ColumnRoles.from_dict({"text": "t"}), test_size=test_size, valid_size=valid_size)


def test_missing_role_column_raises():
    with pytest.raises(DatamoatError):
        split_table(pa.table({"t": ["a"]}), ColumnRoles.from_dict({"text": "nope"}))


def test_leakage_between_tables():
    rng = np.random.default_rng(8)
    train = [_sentence(rng) for _ in range(200)]
    near = train[10].split()
    near[-1] = "different"
    test = [train[3].upper(), " ".join(near), _sentence(rng), _sentence(rng), None]
    out = leakage_between_tables(train, test, threshold=0.7)
    assert out["train_rows"] == 200 and out["test_rows"] == 5
    assert out["leaked"] == 2 and out["exact"] == 1 and out["near"] == 1
    assert out["leaked_rows"] == [0, 1]
    assert out["matched_train_rows"] == [3, 10]
    assert out["similarity"][0] == 1.0 and 0.7 <= out["similarity"][1] < 1.0
    assert out["share"] == pytest.approx(0.4)
    clean = leakage_between_tables(train[:100], train[100:])
    assert clean["leaked"] == 0 and clean["share"] == 0.0


def test_split_between_our_splits_has_no_cross_leakage(text_data):
    table, roles, _ = text_data
    splits = np.array(split_table(table, roles, seed=2).to_pylist())
    texts = np.array(table.column("body").to_pylist(), dtype=object)
    out = leakage_between_tables(texts[splits == "train"].tolist(), texts[splits == "test"].tolist())
    assert out["leaked"] == 0
