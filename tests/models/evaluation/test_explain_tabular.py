"""Table models: one row's per-feature weights (reference occlusion) and permutation feature importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.explain_tabular import explain_row
from datamoat.models.evaluation.importance import feature_importance
from datamoat.models.evaluation.report import importance_figure
from datamoat.models.trainers.contract import create_trainer


def signal_table(n: int, seed: int) -> pd.DataFrame:
    """y depends on x (numeric) and color (categorical); noise does not matter."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    color = rng.choice(["red", "blue", "unknown"], n)
    y = np.where(x + 1.5 * (color == "red") > 0.7, "pos", "neg")
    return pd.DataFrame({"x": x, "color": color, "noise": rng.normal(size=n), "y": y})


@pytest.fixture(scope="module")
def linear():
    return create_trainer("tabular-linear", label_column="y").fit(signal_table(800, 0))


def test_explain_row_weighs_the_features_that_decide(linear) -> None:
    res = explain_row(linear, {"x": 2.5, "color": "blue", "noise": 0.0, "extra": "ignored"})
    assert res["label"] == "pos" and res["score"] > 0.9 and res["absent"] == []
    weights = {f["feature"]: f["weight"] for f in res["all_features"]}
    assert weights["x"] > 0.3 and abs(weights["noise"]) < 0.05
    neg = explain_row(linear, {"x": -2.0}, label="pos", top_k=1)
    assert neg["absent"] == ["color", "noise"] and len(neg["features"]) == 1 and neg["features"][0]["weight"] < 0
    with pytest.raises(DatamoatError, match="not one of the model's classes"):
        explain_row(linear, {"x": 1.0}, label="maybe")
    with pytest.raises(DatamoatError, match="non-empty JSON object"):
        explain_row(linear, {})


def test_feature_importance_ranks_signal_above_noise_and_counts_markers(linear) -> None:
    test = signal_table(3000, 1)
    imp = feature_importance(linear, test, max_rows=500, seed=0)
    assert imp["rows"] == 500 and imp["metric"] == "macro_f1" and imp["repeats"] == 5
    names = [f["feature"] for f in imp["features"]]
    assert names[-1] == "noise" and imp["features"][0]["importance"] > 0.1
    color = next(f for f in imp["features"] if f["feature"] == "color")
    assert color["markers"]["unknown"] > 100 and color["missing"] == 0.0
    assert feature_importance(linear, test, max_rows=500, seed=0) == imp  # fixed seed: same figures
    fig = importance_figure(imp)
    assert list(fig.data[0].y)[-1] == names[0]  # most important drawn on top
    with pytest.raises(DatamoatError, match="no 'y' labels"):
        feature_importance(linear, test.assign(y=None))
