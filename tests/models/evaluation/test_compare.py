"""Comparing two models on the same frozen test set, and the comparison report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs
from sklearn import metrics as skm
from textgen import confused_texts
from threadpoolctl import threadpool_limits

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.compare import compare_models, write_comparison_report
from datamoat.models.trainers.contract import create_trainer


def shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    out = df.copy()
    out["label"] = np.random.default_rng(seed).permutation(out["label"].to_numpy())
    return out


SHARES = (0.45, 0.35, 0.2)
TRAIN = confused_texts(300, 1, p=SHARES, source=False)
TEST = confused_texts(250, 2, p=SHARES, source=False)


@pytest.fixture(scope="module")
def models():
    real = create_trainer("tfidf-linear").fit(TRAIN)
    noise = create_trainer("tfidf-linear").fit(shuffled(TRAIN, 7))
    twin = create_trainer("tfidf-linear").fit(TRAIN)  # same data, same seed: same predictions
    return real, noise, twin


def test_clearly_better_model_wins_significantly(models):
    real, noise, _ = models
    r = compare_models(noise, real, TEST, n_boot=500)
    y = TEST["label"].to_numpy()
    pa, pb = noise.predict(TEST), real.predict(TEST)
    assert r["a"]["accuracy"] == pytest.approx(skm.accuracy_score(y, pa))
    assert r["b"]["accuracy"] == pytest.approx(skm.accuracy_score(y, pb))
    assert r["b"]["macro_f1"] == pytest.approx(skm.f1_score(y, pb, average="macro"))
    for side in ("a", "b"):
        lo, hi = r[side]["accuracy_ci"]
        assert lo <= r[side]["accuracy"] <= hi
    assert r["significant"] is True and r["winner"] == "b"
    assert r["accuracy_difference"] == pytest.approx(r["b"]["accuracy"] - r["a"]["accuracy"])
    assert r["mcnemar"]["p_value"] < 0.001 and r["bootstrap"]["ci_low"] > 0
    assert r["disagreements"] == int(np.sum(pa != pb))
    ag = r["agreement"]
    assert sum(ag.values()) == len(TEST) == r["rows"]
    assert (ag["only_a_right"], ag["only_b_right"]) == (r["mcnemar"]["b"], r["mcnemar"]["c"])
    assert ag["only_b_right"] == int(np.sum((pb == y) & (pa != y)))
    json.dumps(r, allow_nan=False)
    # order does not matter for the verdict
    swapped = compare_models(real, noise, TEST, n_boot=500)
    assert swapped["significant"] is True and swapped["winner"] == "a"


def test_identical_models_are_not_significantly_different(models):
    real, _, twin = models
    r = compare_models(real, twin, TEST, n_boot=300)
    assert r["disagreements"] == 0
    assert r["significant"] is False and r["winner"] is None
    assert r["mcnemar"]["p_value"] == 1.0 and r["accuracy_difference"] == 0.0


def test_tabular_models_and_unseen_labels():
    rng = np.random.default_rng(3)

    def table(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "noise": rng.normal(size=n), "label": np.where(x > 0, "pos", "neg")})

    train, test = table(300), table(200)
    test.loc[:9, "label"] = "zero"  # never seen by either model
    with threadpool_limits(1):  # HistGradientBoosting threads crawl on a loaded 2-core machine
        good = create_trainer("tabular", max_iter=30, min_samples_leaf=5).fit(train)
        blind = create_trainer("tabular", feature_columns=["noise"], max_iter=30, min_samples_leaf=5).fit(
            train
        )
    r = compare_models(good, blind, test, n_boot=300)
    assert r["winner"] == "a" and r["significant"]
    assert r["a"]["unseen_labels"] == r["b"]["unseen_labels"] == 10
    assert r["a"]["accuracy"] == pytest.approx(skm.accuracy_score(test["label"], good.predict(test)))


def test_comparison_errors(models):
    real, noise, _ = models
    other = create_trainer("tfidf-linear", label_column="intent")
    with pytest.raises(DatamoatError, match="different label columns"):
        compare_models(real, other, TEST)
    with pytest.raises(DatamoatError, match="'label'"):
        compare_models(real, noise, TEST.drop(columns=["label"]))
    with pytest.raises(DatamoatError, match="no rows"):
        compare_models(real, noise, TEST.iloc[:0])


def test_comparison_report(models, tmp_path: Path):
    real, noise, _ = models
    r = compare_models(noise, real, TEST, n_boot=300)
    out = write_comparison_report(r, tmp_path / "cmp.html", names=("shuffled-labels", "real-labels"))
    html = out.read_text(encoding="utf-8")
    bundle = get_plotlyjs()
    assert html.count(bundle) == 1
    rest = html.replace(bundle, "")
    assert "http://" not in rest and "https://" not in rest
    assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", rest)
    assert rest.count('class="plotly-graph-div"') == 1
    assert "<b>real-labels</b> is more accurate" in rest
    assert f"{r['b']['accuracy']:.3f}" in rest and f"{r['a']['accuracy_ci'][0]:.3f}" in rest
    data = json.loads((tmp_path / "cmp.json").read_text(encoding="utf-8"))
    assert data["names"] == ["shuffled-labels", "real-labels"] and data["winner"] == "b"
    assert data["mcnemar"] == r["mcnemar"]
    tie = compare_models(real, real, TEST, n_boot=100)
    html = write_comparison_report(tie, tmp_path / "tie.html", names=("x", "y")).read_text(encoding="utf-8")
    assert "No significant difference" in html
