"""Optional MLflow logging: flattening, a round trip through the local sqlite store, and no mlflow."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datamoat.errors import DatamoatError
from datamoat.models.export.mlflow_log import (
    flatten_metrics,
    flatten_params,
    log_run,
    sanitize_name,
    tracking_uri,
)

EVALUATION = {
    "accuracy": 0.9,
    "accuracy_ci": [0.85, 0.95],
    "macro": {"f1": np.float64(0.8), "precision": 0.75},
    "per_class": [{"label": "billing", "f1": 0.9, "support": 12}, {"label": "log in", "f1": 0.7, "support": 3}],
    "confusion_matrix": [[10, 2], [1, 2]],
    "labels": ["billing", "log in"],
    "calibration": {"ece": 0.03, "n_bins": np.int64(10)},
    "flag": True,
    "missing": None,
    "nan": float("nan"),
    "top@3": 0.97,
    "a/b:c": 1,
}


def test_sanitize_name():
    assert sanitize_name("top@3") == "top_3"
    assert sanitize_name("a/b:c") == "a_b_c"
    assert sanitize_name("per class.f1 - x") == "per class.f1 - x"
    assert sanitize_name(".hidden") == "_.hidden"
    assert sanitize_name("") == "_"
    assert sanitize_name("é") == "_"
    assert len(sanitize_name("x" * 400)) == 250


def test_flatten_metrics_keeps_numeric_scalars_only():
    flat = flatten_metrics(EVALUATION)
    assert flat == {
        "accuracy": 0.9,
        "accuracy_ci.0": 0.85,
        "accuracy_ci.1": 0.95,
        "macro.f1": 0.8,
        "macro.precision": 0.75,
        "per_class.billing.f1": 0.9,
        "per_class.billing.support": 12.0,
        "per_class.log in.f1": 0.7,
        "per_class.log in.support": 3.0,
        "calibration.ece": 0.03,
        "calibration.n_bins": 10.0,
        "top_3": 0.97,
        "a_b_c": 1.0,
    }
    assert all(type(v) is float for v in flat.values())
    assert flatten_metrics({"x": 1}, prefix="test") == {"test.x": 1.0}


def test_flatten_params():
    flat = flatten_params({"C": 0.5, "members": [{"kind": "a"}], "inner": {"lr": 1e-3}, "name": "x", "none": None})
    assert flat == {"C": "0.5", "members": '[{"kind": "a"}]', "inner.lr": "0.001", "name": "x", "none": "null"}


@pytest.fixture
def report_files(tmp_path: Path) -> tuple[Path, Path]:
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>")
    folder = tmp_path / "figures"
    folder.mkdir()
    (folder / "reliability.json").write_text("{}")
    return report, folder


def test_log_run_round_trip(tmp_path, report_files):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    state = tmp_path / "ws" / ".datamoat"
    run_id = log_run(
        state, run_name="intents@3", params={"kind": "tfidf-linear", "C": 0.5},
        metrics={"test": EVALUATION}, tags={"dataset": "tickets@2"}, artifacts=list(report_files),
    )
    assert isinstance(run_id, str) and (state / "mlflow.db").is_file()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"

    client = MlflowClient(tracking_uri=f"sqlite:///{state.resolve()}/mlflow.db")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "intents@3"
    assert run.data.metrics["test.accuracy"] == pytest.approx(0.9)
    assert run.data.metrics["test.per_class.log in.f1"] == pytest.approx(0.7)
    assert run.data.metrics["test.macro.f1"] == pytest.approx(0.8)
    assert "test.flag" not in run.data.metrics and "test.nan" not in run.data.metrics
    assert run.data.params == {"kind": "tfidf-linear", "C": "0.5"}
    assert run.data.tags["dataset"] == "tickets@2"
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["figures", "report.html"]
    stored = state / "mlruns" / run_id / "artifacts" / "report.html"
    assert stored.read_text() == "<html>report</html>"

    second = log_run(state, run_name="again", params={}, metrics={"accuracy": 0.5}, tags={})
    assert second != run_id
    assert client.get_run(second).info.experiment_id == run.info.experiment_id
    assert math.isclose(client.get_run(second).data.metrics["accuracy"], 0.5)
    assert tracking_uri(state) == f"sqlite:///{state.resolve()}/mlflow.db"


def test_missing_artifact_is_an_error(tmp_path):
    with pytest.raises(DatamoatError, match="not found"):
        log_run(tmp_path, run_name="r", params={}, metrics={}, tags={}, artifacts=[tmp_path / "nope.html"])
    assert not (tmp_path / "mlflow.db").exists()


def test_without_mlflow_nothing_is_logged(tmp_path):
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "from pathlib import Path\n"
        "from datamoat.models.export.mlflow_log import log_run\n"
        f"print(repr(log_run(Path({str(tmp_path)!r}), run_name='r', params={{'C': 1}}, "
        "metrics={'accuracy': 0.9}, tags={})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert list(tmp_path.iterdir()) == []
