"""The offline HTML + JSON evaluation report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.evaluate import evaluate_predictions
from datamoat.models.evaluation.report import write_evaluation_report

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def make_evaluation(n_classes: int = 4, n: int = 400, seed: int = 0) -> dict:
    """An evaluation of noisy probabilities; class i is mostly confused with class i+1."""
    rng = np.random.default_rng(seed)
    classes = [f"intent_number_{i:02d}" for i in range(n_classes)]
    y_idx = rng.integers(0, n_classes, size=n)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y_idx] += 2.0
    logits[np.arange(n), (y_idx + 1) % n_classes] += 1.2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.asarray(classes, dtype=object)[y_idx]
    y[:5] = "brand_new_intent"
    channel = rng.choice(["web", "app"], size=n)
    return evaluate_predictions(y, proba, classes, slices={"channel": channel}, n_boot=100)


def outside_bundle(html: str) -> str:
    bundle = get_plotlyjs()
    assert html.count(bundle) == 1, "plotly.js must be inlined exactly once"
    return html.replace(bundle, "")


def test_report_is_offline_and_has_the_figures(tmp_path: Path):
    ev = make_evaluation()
    ev["cv"] = {
        "k": 5,
        "metric": "accuracy",
        "scores": [0.8, 0.82, 0.79, 0.81, 0.85],
        "mean": 0.814,
        "std": 0.023,
        "rows": 1000,
        "note": "k lowered from 10 to 5.",
        "oof_proba": np.ones((3, 2)),
    }
    ev["learning_curve"] = [
        {
            "fraction": f,
            "rows": int(1000 * f),
            "accuracy": 0.5 + f / 3,
            "macro_f1": 0.4 + f / 3,
            "fit_seconds": f,
        }
        for f in (0.1, 0.5, 1.0)
    ]
    out = write_evaluation_report(
        ev,
        tmp_path / "eval.html",
        title="Intent model <v1>",
        model={"kind": "tfidf-linear", "params": {"C": 0.5}},
        extra={"train_version": "tickets@3"},
    )
    assert out == tmp_path / "eval.html"
    html = out.read_text(encoding="utf-8")
    rest = outside_bundle(html)
    assert not EXTERNAL.search(rest), EXTERNAL.search(rest)
    assert "http://" not in rest and "https://" not in rest
    assert "<script src" not in rest and "<link" not in rest
    assert rest.count('class="plotly-graph-div"') == 3  # reliability, confusion, learning curve
    assert "Intent model &lt;v1&gt;" in rest and "<v1>" not in rest  # escaped
    assert f"{ev['accuracy']:.3f}" in rest and f"{ev['accuracy_ci'][0]:.3f}" in rest
    assert f"{ev['macro_f1']:.3f}" in rest and f"ECE {ev['ece']:.3f}" in rest
    assert "0.814 ± 0.023" in rest and "k lowered from 10 to 5." in rest
    assert "Learning curve" in rest and "brand_new_intent" in rest and "tickets@3" in rest
    for row in ev["per_class"]:
        assert f"<td>{row['label']}</td>" in rest
    assert "By channel" in rest
    # the JSON next to it: same figures, no out-of-fold probabilities
    data = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert data["accuracy"] == ev["accuracy"] and data["per_class"] == ev["per_class"]
    assert data["report"] == {
        "title": "Intent model <v1>",
        "model": {"kind": "tfidf-linear", "params": {"C": 0.5}},
        "extra": {"train_version": "tickets@3"},
    }
    assert "oof_proba" not in data["cv"] and data["cv"]["mean"] == 0.814
    assert "oof_proba" in ev["cv"]  # the caller's dict is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.html", "eval.json"]  # no temp files left


def test_small_report_without_optional_parts(tmp_path: Path):
    ev = make_evaluation(n_classes=3, n=120)
    html = write_evaluation_report(ev, tmp_path / "small.html", title="small").read_text(encoding="utf-8")
    rest = outside_bundle(html)
    assert rest.count('class="plotly-graph-div"') == 2
    assert "Cross-validation" not in rest and "Learning curve" not in rest
    assert "Confusion matrix (rows: true label" in rest  # counts shown for few classes


def test_many_classes_show_error_shares_and_top_confusions(tmp_path: Path):
    ev = make_evaluation(n_classes=77, n=3000, seed=1)
    html = write_evaluation_report(ev, tmp_path / "big.html", title="77 intents").read_text(encoding="utf-8")
    rest = outside_bundle(html)
    assert "Where errors go" in rest
    # the most frequent wrong (true, predicted) pair, computed here from the matrix
    labels, cm = ev["confusion"]["labels"], np.array(ev["confusion"]["matrix"])
    np.fill_diagonal(cm, 0)
    r, c = np.unravel_index(np.argmax(cm), cm.shape)
    top = ev["top_confusions"][0]
    assert (top["true"], top["predicted"], top["count"]) == (labels[r], labels[c], int(cm[r, c]))
    assert f'<td>{labels[r]}</td><td>{labels[c]}</td><td class="num">{int(cm[r, c])}</td>' in rest
    assert len(ev["top_confusions"]) == 25


def test_report_errors(tmp_path: Path):
    with pytest.raises(DatamoatError, match="does not exist"):
        write_evaluation_report(make_evaluation(n=50), tmp_path / "nope" / "r.html", title="x")
    with pytest.raises(DatamoatError, match="evaluate_model"):
        write_evaluation_report({"scores": [1]}, tmp_path / "r.html", title="x")


def test_report_accepts_dates_and_notes(tmp_path: Path):
    from datetime import datetime

    ev = make_evaluation(n=60)
    ev["learning_curve_skipped"] = "finetune is too costly to refit four times"
    out = write_evaluation_report(
        ev, tmp_path / "r.html", title="t", model={"created_at": datetime(2024, 5, 1, 12, 0)}
    )
    html = out.read_text(encoding="utf-8")
    assert "Learning curve not drawn: finetune is too costly" in html and "2024-05-01 12:00:00" in html
    assert json.loads((tmp_path / "r.json").read_text())["report"]["model"] == {
        "created_at": "2024-05-01 12:00:00"
    }


def test_params_and_candidates_are_tables_not_json(tmp_path: Path):
    selection = {"chosen": "tfidf-linear", "metric": "macro_f1",
                 "candidates": [{"name": "tfidf-linear", "cv_mean": 0.91234567, "status": "ok"},
                                {"name": "embed-linear", "status": "skipped", "reason": "would not fit the budget"}]}
    html = write_evaluation_report(
        make_evaluation(n=80), tmp_path / "eval.html", title="t",
        model={"kind": "tfidf-linear", "params": {"C": 0.5, "class_weight": "balanced"}},
        extra={"selection": selection, "aliases": []},
    ).read_text(encoding="utf-8")
    rest = outside_bundle(html)
    assert "{&#34;" not in rest and '{"C"' not in rest  # no JSON text anywhere
    assert re.search(r"<th>C</th><td>0.5</td>", rest) and "<th>class weight</th><td>balanced</td>" in rest
    # one row per candidate, a column per key any candidate has
    header = re.search(r"<tr><th>name</th><th>cv mean</th><th>status</th><th>reason</th></tr>", rest)
    assert header is not None
    assert "<td>embed-linear</td><td></td><td>skipped</td><td>would not fit the budget</td>" in rest
    assert "<td>0.9123</td>" in rest  # rounded
