"""The UI's models chart shows the difference between close figures, and marks compressed versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from datamoat.models.registry import ModelRecord
from datamoat.serve.web.charts import models_figure, score_range


def _record(ordinal: int, accuracy: float, ci: list[float], info: dict | None = None) -> ModelRecord:
    return ModelRecord(id=ordinal, name="tickets", ordinal=ordinal, kind="embed-linear", params={}, train_version_id=1,
                       test_version_id=2, metrics={"accuracy": accuracy, "accuracy_ci": ci, "macro_f1": accuracy - 0.001},
                       info=info or {}, artifact_hash="0" * 64, created_at=datetime.now(UTC), path=Path("."))


def test_axis_spans_the_figures_not_zero_to_one() -> None:
    records = [_record(1, 0.988, [0.985, 0.991]), _record(2, 0.993, [0.990, 0.995], {"compression": {"method": "onnx-int8"}})]
    fig = models_figure(records)
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert 0.97 < lo < 0.985 and 0.995 < hi <= 1.0
    # 0.5 percentage points between the two versions is over a tenth of the axis
    assert (0.993 - 0.988) / (hi - lo) > 0.1
    assert fig["layout"]["yaxis"]["tickformat"] == ".1%"
    assert fig["data"][0]["x"] == ["v1", "v2 int8"]
    assert records[1].compressed == "onnx-int8" and records[0].compressed is None


def test_score_range_pads_by_half_a_point_and_stays_inside_zero_one() -> None:
    assert score_range([]) == [0.0, 1.0]
    lo, hi = score_range([1.0, 1.0])
    assert hi == 1.0 and abs((hi - lo) - 0.005) < 1e-9
    assert score_range([0.1, 0.9])[0] == 0.0 and score_range([0.1, 0.9])[1] == 1.0
