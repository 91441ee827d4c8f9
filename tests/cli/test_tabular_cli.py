"""Tables with defaults through the CLI: run --task tabular (duplicates dropped, macro F1 on imbalanced
labels, the majority baseline, feature importance in the report), explain a row, and a failed run
that leaves the catalog as it was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def bank_like(n: int, seed: int = 0) -> pd.DataFrame:
    """Semicolon-style bank table: ~12% "yes", "unknown" markers, missing numbers, n // 20 duplicate rows."""
    rng = np.random.default_rng(seed)
    duration = rng.exponential(250, n).round()
    job = rng.choice(["admin.", "technician", "retired", "unknown"], n, p=[.45, .35, .12, .08])
    z = 0.006 * duration + 1.5 * (job == "retired") + rng.normal(0, .5, n)
    df = pd.DataFrame({"age": rng.integers(18, 90, n).astype(float), "job": job,
                       "housing": rng.choice(["yes", "no", "unknown"], n), "duration": duration,
                       "y": np.where(z > np.quantile(z, 0.88), "yes", "no")})
    df.loc[rng.random(n) < 0.05, "age"] = np.nan
    return pd.concat([df, df.sample(n=n // 20, random_state=seed)], ignore_index=True)


def test_tabular_run_with_defaults_then_explain_a_row(cli, tmp_path: Path) -> None:
    data = tmp_path / "bank.csv"
    bank_like(400).to_csv(data, sep=";", index=False)
    code, out, err = cli("run", str(data), "--label", "y", "--task", "tabular", "--budget", "2m", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["selection"]["metric"] == "macro_f1"
    baseline = res["test"]["majority_baseline"]
    assert baseline["label"] == "no" and baseline["macro_f1"] < 0.5 < res["test"]["macro_f1"]
    assert res["dropped"].get("exact duplicate", 0) >= 1
    report = json.loads(Path(res["model_report"]).with_suffix(".json").read_text())
    importance = report["feature_importance"]
    assert importance["metric"] == "macro_f1" and importance["features"][0]["feature"] == "duration"
    job = next(f for f in importance["features"] if f["feature"] == "job")
    assert job["markers"].get("unknown", 0) > 0
    assert "Feature importance" in Path(res["model_report"]).read_text()

    model = res["model"]["ref"]
    code, out, err = cli("explain", model, "--row", '{"age": 40, "job": "retired", "housing": "no", "duration": 900}',
                         "--json")
    assert code == 0, err
    ex = json.loads(out)
    assert ex["label"] == "yes" and ex["features"][0]["feature"] == "duration" and ex["features"][0]["weight"] > 0
    code, out, err = cli("explain", model, "--data", res["versions"]["test"], "--row-id", "nope")
    assert code == 1 and "no row with id 'nope'" in err
    code, _, err = cli("explain", model, "some text")
    assert code == 1 and "table model" in err


def test_a_failed_tabular_run_leaves_the_datasets_unchanged(cli, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    bank_like(200, seed=1).to_csv(good, index=False)
    assert cli("init")[0] == 0
    assert cli("ingest", str(good), "--label", "y")[0] == 0
    _, before, _ = cli("datasets", "--json")
    one_class = bank_like(200, seed=2).assign(y="no")
    bad = tmp_path / "one.csv"
    one_class.to_csv(bad, index=False)
    code, _, err = cli("run", str(bad), "--label", "y", "--task", "tabular", "--budget", "1m")
    assert code == 1 and "class" in err and "Traceback" not in err
    _, after, _ = cli("datasets", "--json")
    assert json.loads(after) == json.loads(before)
