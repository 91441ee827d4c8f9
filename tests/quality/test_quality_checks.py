"""Tests of the data quality checks: label issues, outliers, imbalance, missing values,
language and encoding problems (own small tables, and a small demo dataset with known truth)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from conftest import ROLES, demo_tickets, table
from textgen import flipped_topics

from datamoat.data.roles import ROW_ID_COLUMN, ColumnRoles
from datamoat.errors import DatamoatError
from datamoat.quality.check import CHECKS, create_check
from datamoat.quality.encoding import EncodingProblems, find_problems, fix_text, unescape_entities
from datamoat.quality.imbalance import ClassImbalance
from datamoat.quality.label_issues import LabelIssues, find_label_issues, out_of_fold_probabilities
from datamoat.quality.language import LanguageCheck, detect_languages
from datamoat.quality.missing import MissingValues
from datamoat.quality.outliers import Outliers

DEMO_SEED = 7  # never 0: seed 0 is the figure reported, not tuned on


def column(result, name: str) -> list:
    return result.issues.column(name).to_pylist()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, dict, ColumnRoles]:
    """A small generated demo dataset (800 tickets), its truth and roles."""
    return demo_tickets(tmp_path_factory.mktemp("demo"), seed=DEMO_SEED)


def precision_recall(flagged: set[str], truth: set[str]) -> tuple[float, float]:
    hit = len(flagged & truth)
    return hit / max(1, len(flagged)), hit / max(1, len(truth))


def test_checks_are_registered():
    assert {
        "label_issues",
        "outliers",
        "class_imbalance",
        "missing_values",
        "language",
        "encoding_problems",
    } <= set(CHECKS)
    assert CHECKS["label_issues"].needs == ("text", "label")
    assert CHECKS["class_imbalance"].needs == ("label",)
    assert isinstance(create_check("outliers", {"k": 3}), Outliers)


# --- label issues -----------------------------------------------------------------------------------


TRUE_OF_FLIPPED = {0: "a", 30: "b", 60: "c"}


def test_out_of_fold_probabilities_shape_and_calibration():
    texts, labels, wrong = flipped_topics()
    probs, classes = out_of_fold_probabilities(texts, labels, folds=5, seed=0)
    assert classes == ["a", "b", "c"]
    assert probs.shape == (len(texts), 3)
    assert np.allclose(probs.sum(axis=1), 1.0)
    # out of fold: the flipped rows are still predicted as their true topic
    for i in wrong:
        assert classes[int(probs[i].argmax())] == TRUE_OF_FLIPPED[i]
    # the same inputs give the same output
    again, _ = out_of_fold_probabilities(texts, labels, folds=5, seed=0)
    assert np.array_equal(probs, again)


def test_out_of_fold_probabilities_with_a_singleton_class_and_bad_input():
    texts, labels, _ = flipped_topics(n_per_class=10, flips=False)
    labels[-1] = "lonely"
    probs, classes = out_of_fold_probabilities(texts, labels)
    assert "lonely" in classes and np.isfinite(probs).all()
    with pytest.raises(ValueError, match="labels"):
        out_of_fold_probabilities(texts, labels[:-1])


def test_label_issues_flags_flipped_rows():
    texts, labels, wrong = flipped_topics()
    result = LabelIssues().run(table(texts, labels), ROLES)
    flagged = {int(r[1:]) for r in result.flagged_ids()}
    assert wrong <= flagged
    assert len(flagged) <= len(wrong) + 2
    given, suggested = column(result, "given_label"), column(result, "suggested_label")
    for i in wrong:
        assert given[i] == labels[i] and suggested[i] == TRUE_OF_FLIPPED[i]
    scores = column(result, "score")
    assert max(scores[i] for i in wrong) < min(s for j, s in enumerate(scores) if j not in flagged)
    assert result.summary["per_class"]["b"]["flagged"] >= 1
    assert 0 < result.summary["estimated_error_rate"] < 0.2


def test_label_issues_leaves_missing_rows_unjudged():
    texts, labels, _ = flipped_topics(flips=False)
    texts[5] = None
    texts[6] = "   "
    labels[7] = None
    labels[8] = ""
    result = LabelIssues().run(table(texts, labels), ROLES)
    issue, score, suggested = (
        column(result, "is_issue"),
        column(result, "score"),
        column(result, "suggested_label"),
    )
    for i in (5, 6, 7, 8):
        assert issue[i] is False and score[i] is None and suggested[i] is None
    assert score[0] is not None
    assert result.summary["not_judged"] == 4
    assert result.issues.num_rows == len(texts)


def test_label_issues_accepts_precomputed_probabilities():
    labels = ["a", "a", "b", "b", "a", "b"] * 5
    probs = np.array([[0.9, 0.1] if lab == "a" else [0.1, 0.9] for lab in labels])
    probs[0] = [0.02, 0.98]  # the model is sure row 0 is "b"
    result = LabelIssues().run(
        table(["t"] * len(labels), labels), ROLES, pred_probs=probs, classes=["a", "b"]
    )
    assert result.flagged_ids() == ["r0"]
    assert column(result, "suggested_label")[0] == "b"
    assert column(result, "suggested_confidence")[0] == pytest.approx(0.98)
    found = find_label_issues(None, labels, pred_probs=probs, classes=["a", "b"])
    assert found.is_issue.tolist() == [True] + [False] * (len(labels) - 1)
    with pytest.raises(ValueError, match="shape"):
        find_label_issues(None, labels, pred_probs=probs[:, :1], classes=["a", "b"])


def test_label_issues_with_one_class_flags_nothing():
    result = LabelIssues().run(table(["a b c", "d e f", "g h i"], ["x", "x", "x"]), ROLES)
    assert result.summary["issues"] == 0


def test_label_issues_on_demo_data_meets_targets(demo):
    data, truth, roles = demo
    result = LabelIssues().run(data, roles)
    precision, recall = precision_recall(
        set(result.flagged_ids()), {e["ticket_id"] for e in truth["label_errors"]}
    )
    assert precision >= 0.7 and recall >= 0.6, (precision, recall)
    # the suggestion is the true label for most flagged true errors
    true_label = {e["ticket_id"]: e["true_label"] for e in truth["label_errors"]}
    ids, suggested = column(result, ROW_ID_COLUMN), column(result, "suggested_label")
    right = [s == true_label[i] for i, s in zip(ids, suggested, strict=True) if i in true_label]
    assert sum(right) / len(right) > 0.7


# --- outliers -------------------------------------------------------------------------------------


def test_outliers_flags_the_odd_text_out():
    rng = np.random.default_rng(1)
    words = ["order", "late", "parcel", "delivery", "where", "is", "my", "package", "tracking", "courier"]
    texts = [" ".join(rng.choice(words, size=9)) for _ in range(80)]
    texts[40] = "quantum chromodynamics lattice gauge gluon confinement asymptotic freedom"
    texts[41] = None
    result = Outliers(k=5).run(table(texts), ROLES)
    assert result.flagged_ids() == ["r40"]
    scores = column(result, "score")
    assert scores[40] == 0.0  # the farthest row
    assert scores[41] is None and column(result, "is_issue")[41] is False
    assert column(result, "nearest")[0].startswith("r")
    assert column(result, "knn_distance")[40] > result.summary["threshold"]


def test_outliers_reference_sample_gives_same_shape():
    texts = [f"ticket about order {i % 7} late parcel" for i in range(60)] + [
        "completely different words here"
    ]
    result = Outliers(k=3, reference_size=20).run(table(texts), ROLES)
    assert result.issues.num_rows == 61
    assert "r60" in result.flagged_ids()


def test_outliers_bad_param():
    with pytest.raises(DatamoatError, match="k must be"):
        Outliers(k=0)


# --- class imbalance ---------------------------------------------------------------------------------


def test_class_imbalance_summary_and_no_rows_flagged_by_default():
    labels = ["a"] * 12 + ["b"] * 6 + ["c"] * 2 + [None, " "]
    result = ClassImbalance().run(table(["t"] * len(labels), labels), ROLES)
    assert result.summary["issues"] == 0
    assert result.summary["classes"] == {"a": 12, "b": 6, "c": 2}
    assert result.summary["imbalance_ratio"] == 6.0
    assert result.summary["majority"] == "a" and result.summary["minority"] == "c"
    assert result.summary["unlabelled"] == 2
    assert 0 < result.summary["normalized_entropy"] < 1
    assert column(result, "class_count")[:1] == [12]
    assert column(result, "class_share")[-1] is None


def test_class_imbalance_flags_rare_classes_when_asked():
    labels = ["a"] * 18 + ["b"] * 2
    result = ClassImbalance(min_share=0.2).run(table(["t"] * 20, labels), ROLES)
    assert result.flagged_ids() == ["r18", "r19"]
    assert column(result, "score")[18] == pytest.approx(0.5)
    assert result.summary["rare_classes"] == ["b"]
    with pytest.raises(DatamoatError, match="min_share"):
        ClassImbalance(min_share=1.5)


# --- missing values -----------------------------------------------------------------------------------


def test_missing_values_per_row_and_column():
    data = table(
        ["ok", None, "  ", "fine", "good"],
        ["a", "b", "c", None, "d"],
        note=pa.array(["x", "y", "z", "w", None]),
        amount=pa.array([1.0, 2.0, 3.0, 4.0, float("nan")]),
    )
    result = MissingValues().run(data, ROLES)
    assert column(result, "is_issue") == [False, True, True, True, True]
    assert column(result, "missing_columns") == [None, ["text"], ["text"], ["label"], ["note", "amount"]]
    scores = column(result, "score")
    assert scores[0] == 1.0 and scores[1] == 0.0 and scores[3] == 0.0
    assert 0.5 <= scores[4] < 1.0  # only free columns missing
    by = result.summary["by_column"]
    assert by["text"]["missing"] == 2 and by["amount"]["missing"] == 1
    assert ROW_ID_COLUMN not in by
    assert result.summary["role_columns_missing"] == 3


def test_missing_values_blank_and_columns_options():
    data = table(["  ", "x"], ["a", "b"])
    assert MissingValues(blank_is_missing=False).run(data, ROLES).summary["issues"] == 0
    assert MissingValues(columns=["label"]).run(data, ROLES).summary["issues"] == 0
    with pytest.raises(DatamoatError, match="nope"):
        MissingValues(columns=["nope"]).run(data, ROLES)


def test_missing_values_on_demo_data(demo):
    data, truth, roles = demo
    result = MissingValues().run(data, roles)
    assert set(result.flagged_ids()) == {e["ticket_id"] for e in truth["missing"]}


# --- language --------------------------------------------------------------------------------------------

GERMAN = "Ich habe meine Bestellung vor zwei Wochen aufgegeben und sie ist immer noch nicht angekommen."
FRENCH = "Bonjour, je voudrais annuler mon abonnement et obtenir un remboursement complet, merci."
ENGLISH = "Hello, I ordered a lamp two weeks ago and it still has not arrived. Can you help me please?"


def test_language_detects_and_flags_other_languages():
    result = LanguageCheck().run(table([ENGLISH, GERMAN, FRENCH, "ok", None]), ROLES)
    assert column(result, "language") == ["en", "de", "fr", None, None]
    assert result.flagged_ids() == ["r1", "r2"]
    scores = column(result, "score")
    assert scores[0] > 0.9 and scores[1] < 0.1 and scores[3] is None
    assert result.summary["languages"] == {"de": 1, "en": 1, "fr": 1}
    assert result.summary["undetected"] == 2


def test_language_expected_and_confidence_params():
    result = LanguageCheck(expected="de").run(table([ENGLISH, GERMAN]), ROLES)
    assert result.flagged_ids() == ["r0"]
    # only the candidate languages (plus the expected one) can come out
    restricted = LanguageCheck(languages=["en", "de"]).run(table([FRENCH]), ROLES)
    assert column(restricted, "language")[0] in {"en", "de"}
    with pytest.raises(DatamoatError, match="ISO 639-1"):
        LanguageCheck(expected="xx")
    found, conf, _ = detect_languages([GERMAN], languages=["en", "de"], max_chars=40)
    assert found == ["de"] and conf[0] > 0.5


def test_language_on_demo_data(demo):
    data, truth, roles = demo
    result = LanguageCheck().run(data, roles)
    foreign = {e["ticket_id"]: e["language"] for e in truth["non_english"]}
    precision, recall = precision_recall(set(result.flagged_ids()), set(foreign))
    assert recall >= 0.95 and precision >= 0.8, (precision, recall)
    detected = dict(zip(column(result, ROW_ID_COLUMN), column(result, "language"), strict=True))
    assert all(detected[t] == lang for t, lang in foreign.items())


# --- encoding -----------------------------------------------------------------------------------------------


def test_encoding_helpers():
    assert find_problems("don\u00e2\u20ac\u2122t") == ["mojibake"]
    assert find_problems("Tom &amp; Jerry&#39;s") == ["html_entity"]
    assert find_problems("bell\x07here") == ["control_char"]
    assert find_problems("caf\u00e9 R&D; plain") == []
    assert find_problems("AT&T and &nbsp") == []
    assert unescape_entities("a &amp;amp; b") == "a & b"
    assert unescape_entities("terms&notes") == "terms&notes"
    assert fix_text("I don\u00e2\u20ac\u2122t &quot;know&quot;\x00") == 'I don\u2019t "know"'


def test_encoding_problems_issue_table():
    texts = [
        "clean text",
        "caf\u00c3\u00a9 au lait",
        "5 &lt; 6",
        "tab\tand\nnewline are fine",
        "x\x1by",
        None,
    ]
    result = EncodingProblems().run(table(texts), ROLES)
    assert column(result, "kind") == [None, "mojibake", "html_entity", None, "control_char", None]
    assert column(result, "suggested_fix") == [None, "caf\u00e9 au lait", "5 < 6", None, "xy", None]
    assert column(result, "score") == [1.0, 0.0, 0.25, 1.0, 0.5, None]
    assert result.summary["by_kind"] == {"mojibake": 1, "html_entity": 1, "control_char": 1}
    only = EncodingProblems(kinds=["html_entity"]).run(table(texts), ROLES)
    assert only.flagged_ids() == ["r2"]


def test_encoding_problems_on_demo_data(demo):
    data, truth, roles = demo
    result = EncodingProblems().run(data, roles)
    damaged = {e["ticket_id"]: e for e in truth["encoding"]}
    precision, recall = precision_recall(set(result.flagged_ids()), set(damaged))
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    kinds = dict(zip(column(result, ROW_ID_COLUMN), column(result, "kind"), strict=True))
    fixes = dict(zip(column(result, ROW_ID_COLUMN), column(result, "suggested_fix"), strict=True))
    assert all(kinds[t] == e["kind"] for t, e in damaged.items())
    assert sum(fixes[t] == e["original"] for t, e in damaged.items()) >= 0.95 * len(damaged)


def test_imbalance_lowers_the_quality_score_and_says_so_without_flagging_rows():
    import pyarrow as pa

    from datamoat.data.roles import ColumnRoles
    from datamoat.quality.imbalance import ClassImbalance
    from datamoat.quality.profile import quality_score

    labels = ["no"] * 870 + ["yes"] * 130
    table = pa.table({"_dm_row_id": [str(i) for i in range(1000)], "y": labels})
    result = ClassImbalance().run(table, ColumnRoles.from_dict({"label": "y"}))
    s = result.summary
    assert s["issues"] == 0 and "6.7x" in s["headline"] and s["score_rate"] > 0.4
    balanced = ClassImbalance().run(pa.table({"_dm_row_id": ["1", "2", "3", "4"], "y": ["a", "b", "a", "b"]}),
                                    ColumnRoles.from_dict({"label": "y"})).summary
    assert balanced["score_rate"] == 0.0 and balanced["headline"].startswith("balanced")
    assert quality_score({"class_imbalance": s})["value"] < quality_score({"class_imbalance": balanced})["value"] == 100.0
