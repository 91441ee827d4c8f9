"""Differential privacy: OpenDP statistics, the per-dataset budget, release records and audit."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from datamoat.catalog.audit import list_events, verify_chain
from datamoat.catalog.tables import dp_releases
from datamoat.errors import DatamoatError
from datamoat.privacy.dp_ledger import list_releases, remaining_budget, set_budget, spend
from datamoat.privacy.dp_release import dp_statistic, release

KEY = "0f" * 32


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from datamoat.workspace import Workspace

    monkeypatch.setenv("DATAMOAT_KEY", KEY)
    rng = random.Random(4)
    lines = ["id,age,income,region"]
    for i in range(2000):
        lines.append(
            f"{i},{rng.randint(18, 90)},{rng.randint(10, 200) * 1000},{rng.choice(['north', 'south', 'east'])}"
        )
    lines.append("2000,,,west")  # missing numbers are not counted
    csv = tmp_path / "people.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    workspace = Workspace.init(tmp_path / "ws")
    workspace.ingest(csv, name="people", id="id")
    yield workspace
    workspace.close()


def truth(ws, column: str) -> list:
    return [
        v for v in ws.version("people@latest").to_arrow([column]).column(column).to_pylist() if v is not None
    ]


def test_large_epsilon_count_is_close_to_the_true_count():
    values = list(range(5000))
    result = dp_statistic("count", values, epsilon=50.0)
    assert abs(result.value - 5000) <= 2
    assert result.epsilon == pytest.approx(50.0, rel=1e-6)
    assert result.noise_scale == pytest.approx(1 / 50, rel=1e-3)
    json.dumps(result.to_dict())


def test_sum_mean_histogram_are_accurate_with_large_epsilon():
    rng = random.Random(0)
    values = [rng.uniform(0, 10) for _ in range(3000)] + [1e9]  # the outlier is clamped to 10
    clamped = [min(v, 10.0) for v in values]
    s = dp_statistic("sum", values, epsilon=100.0, bounds=(0, 10))
    assert s.value == pytest.approx(sum(clamped), abs=2.0)
    m = dp_statistic("mean", values, epsilon=100.0, bounds=(0, 10))
    assert m.value == pytest.approx(sum(clamped) / len(clamped), abs=0.05)
    assert set(m.noise_scale) == {"sum", "count"}
    g = dp_statistic("mean", values, epsilon=100.0, delta=1e-6, mechanism="gaussian", bounds=(0, 10))
    assert g.value == pytest.approx(sum(clamped) / len(clamped), abs=0.1)
    assert g.epsilon <= 100.0 + 1e-9 and g.delta == pytest.approx(1e-6)
    h = dp_statistic("histogram", ["a"] * 300 + ["b"] * 100 + ["c"] * 50, epsilon=50.0, categories=["a", "b"])
    assert h.value["a"] == pytest.approx(300, abs=2) and h.value["other"] == pytest.approx(50, abs=2)


def test_small_epsilon_adds_noise_of_the_stated_scale():
    result = dp_statistic("sum", [1.0] * 100, epsilon=0.1, bounds=(0, 1))
    assert result.noise_scale == pytest.approx(10.0, rel=1e-3)  # sensitivity 1 / epsilon


def test_bad_requests_are_refused():
    with pytest.raises(DatamoatError, match="bounds"):
        dp_statistic("sum", [1.0], epsilon=1.0)
    with pytest.raises(DatamoatError, match="categories"):
        dp_statistic("histogram", ["a"], epsilon=1.0)
    with pytest.raises(DatamoatError, match="delta > 0"):
        dp_statistic("count", [1], epsilon=1.0, mechanism="gaussian")
    with pytest.raises(DatamoatError, match="pure"):
        dp_statistic("count", [1], epsilon=1.0, delta=1e-6)
    with pytest.raises(DatamoatError, match="epsilon"):
        dp_statistic("count", [1], epsilon=0)
    with pytest.raises(DatamoatError, match="unknown DP statistic"):
        dp_statistic("median", [1], epsilon=1.0)


def test_release_spends_the_budget_and_is_recorded_and_audited(ws):
    with pytest.raises(DatamoatError, match="no privacy budget"):
        release(ws.catalog, ws.version("people@latest"), "count", "age", epsilon=0.5)
    budget = set_budget(ws.catalog, "people", 1.0)
    assert budget.epsilon_remaining == 1.0

    first = release(ws.catalog, ws.version("people@latest"), "count", "age", epsilon=0.4)
    assert abs(first.result.value - len(truth(ws, "age"))) < 60
    second = release(ws.catalog, ws.version("people"), "mean", "income", epsilon=0.4, bounds=(0, 250_000))
    assert 0 <= second.result.value <= 250_000
    assert remaining_budget(ws.catalog, "people").epsilon_remaining == pytest.approx(0.2)

    with pytest.raises(DatamoatError) as refused:
        release(ws.catalog, ws.version("people"), "sum", "income", epsilon=0.4, bounds=(0, 250_000))
    assert str(refused.value) == "release needs ε=0.4, but only ε=0.2 of the dataset's budget of 1 remains."

    rows = list_releases(ws.catalog, "people")
    assert [r["statistic"] for r in rows] == ["count", "mean"]
    assert rows[1]["result"]["noise_scale"]["sum"] > 0
    with ws.catalog.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(dp_releases)).scalar() == 2

    events = list_events(ws.catalog)
    released = [e for e in events if e["action"] == "dp_release"]
    assert len(released) == 2  # the refused release left no event
    assert {e["details"]["release_id"] for e in released} == {first.id, second.id}
    assert verify_chain(ws.catalog).ok


def test_histogram_release_and_gaussian_delta_budget(ws):
    set_budget(ws.catalog, "people", 5.0, delta=1e-5)
    result = release(
        ws.catalog,
        ws.version("people"),
        "histogram",
        "region",
        epsilon=4.0,
        delta=5e-6,
        mechanism="gaussian",
        categories=["north", "south", "east"],
    )
    regions = truth(ws, "region")
    assert result.result.value["north"] == pytest.approx(regions.count("north"), abs=15)
    with pytest.raises(DatamoatError, match="release needs δ=1e-05, but only δ=5e-06"):
        release(ws.catalog, ws.version("people"), "count", "age", epsilon=0.5, delta=1e-5, mechanism="gaussian")
    with pytest.raises(DatamoatError, match="already spent"):
        set_budget(ws.catalog, "people", 1.0, delta=1e-5)
    assert verify_chain(ws.catalog).ok


def test_release_of_an_unknown_column_names_the_columns(ws):
    set_budget(ws.catalog, "people", 1.0)
    with pytest.raises(DatamoatError, match="no column 'salary'"):
        release(ws.catalog, ws.version("people"), "count", "salary", epsilon=0.1)
    assert remaining_budget(ws.catalog, "people").releases == 0


def test_spend_inside_the_callers_transaction_commits_and_rolls_back_with_it(ws):
    set_budget(ws.catalog, "people", 1.0, delta=1e-5)
    version_id = ws.version("people").record.id
    with ws.catalog.engine.begin() as conn:
        spent = spend(
            conn, version_id, 0.3, 1e-6, statistic="dp_training", column="region", details={"model": "m"},
            what="DP training",
        )
        assert spent.budget.epsilon_remaining == pytest.approx(0.7)
    assert remaining_budget(ws.catalog, "people").epsilon_spent == pytest.approx(0.3)
    assert list_releases(ws.catalog, "people")[0]["result"] == {"model": "m"}

    with pytest.raises(RuntimeError), ws.catalog.engine.begin() as conn:
        spend(conn, version_id, 0.5, statistic="dp_training", column="region")
        raise RuntimeError("the registration failed")  # the caller's transaction rolls back
    assert remaining_budget(ws.catalog, "people").releases == 1

    with pytest.raises(DatamoatError) as refused, ws.catalog.engine.begin() as conn:
        spend(conn, version_id, 0.8, statistic="dp_training", column="region", what="DP training")
    assert str(refused.value) == "DP training needs ε=0.8, but only ε=0.7 of the dataset's budget of 1 remains."
    assert remaining_budget(ws.catalog, "people").epsilon_spent == pytest.approx(0.3)
