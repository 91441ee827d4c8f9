"""Missing values in tables: both tabular trainers train and predict with them; tabular-linear imputes
missing markers ("unknown", "n/a", ...) like nulls and counts them; typical values per feature persist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datamoat.models.trainers.contract import Trainer, create_trainer


def gappy_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """age (some NaN), job (some None and "unknown"), label y depends on both."""
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 12, n)
    job = rng.choice(["admin", "technician", "retired"], n).astype(object)
    y = np.where((age > 50) | (job == "retired"), "yes", "no")
    age[rng.random(n) < 0.15] = np.nan
    job[rng.random(n) < 0.1] = None
    job[rng.random(n) < 0.1] = "unknown"
    return pd.DataFrame({"age": age, "job": job, "y": y})


@pytest.mark.parametrize("kind", ["tabular", "tabular-linear"])
def test_trains_on_missing_values_and_keeps_them(kind: str) -> None:
    df = gappy_table()
    t = create_trainer(kind, label_column="y").fit(df)
    assert np.mean(t.predict(df) == df["y"]) > 0.8  # no row was dropped or failed
    proba = t.predict_proba(pd.DataFrame({"age": [np.nan, 60.0], "job": [None, None]}))
    assert np.all(np.isfinite(proba)) and proba.shape == (2, 2)


def test_linear_model_treats_missing_markers_as_missing() -> None:
    df = gappy_table()
    t = create_trainer("tabular-linear", label_column="y").fit(df)
    assert t.missing_markers_ == {"job": {"unknown": int((df["job"] == "unknown").sum())}}
    rows = pd.DataFrame({"age": [30.0] * 6, "job": [None, "unknown", " UNKNOWN ", "n/a", "?", "admin"]})
    proba = t.predict_proba(rows)
    for i in range(1, 5):
        np.testing.assert_allclose(proba[i], proba[0])
    assert not np.allclose(proba[5], proba[0])


def test_reference_values_skip_markers_and_persist(tmp_path: Path) -> None:
    df = pd.DataFrame({"age": [1.0, 2.0, np.nan, 10.0], "job": ["unknown", "unknown", "unknown", "admin"],
                       "when": pd.to_datetime(["2024-01-01", "2024-01-03", None, "2024-01-02"]),
                       "y": ["a", "b", "a", "b"]})
    for kind in ("tabular", "tabular-linear"):
        t = create_trainer(kind, label_column="y", min_samples_leaf=1) if kind == "tabular" else \
            create_trainer(kind, label_column="y")
        t.fit(df)
        assert t.reference_ == {"age": 2.0, "job": "admin", "when": "2024-01-02T00:00:00+00:00"}
        t.save(tmp_path / kind)
        assert Trainer.load(tmp_path / kind).reference_ == t.reference_
