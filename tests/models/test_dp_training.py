"""DP training through train_model / the CLI: the spend, its refusal, dp status and the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from datamoat.catalog.tables import dp_releases, models
from datamoat.errors import DatamoatError
from datamoat.models.training import train_model
from datamoat.privacy.dp_ledger import list_releases, remaining_budget, set_budget


def table_csv(folder: Path, n: int = 160) -> Path:
    rng = np.random.default_rng(0)
    a = rng.normal(size=n)
    path = folder / "loans.csv"
    pd.DataFrame({"amount": a * 500, "region": rng.choice(["n", "s"], n),
                  "label": np.where(a > 0, "yes", "no")}).to_csv(path, index=False)
    return path


def state(ws) -> tuple[int, int, list[Path]]:
    """(model rows, spend rows, model folders on disk)."""
    with ws.catalog.engine.connect() as conn:
        n_models = conn.execute(sa.select(sa.func.count()).select_from(models)).scalar_one()
        n_spends = conn.execute(sa.select(sa.func.count()).select_from(dp_releases)).scalar_one()
    folders = sorted(p for p in (ws.state / "models").rglob("trainer.json"))
    return n_models, n_spends, folders


def test_training_past_the_budget_is_refused_and_changes_nothing(workspace, tmp_path: Path) -> None:
    ws = workspace
    ws.ingest(table_csv(tmp_path), name="loans", label="label")
    before = state(ws)
    with pytest.raises(DatamoatError, match="none of the datasets its rows come from .* has one"):
        train_model(ws, "loans", dp_epsilon=1.0)
    assert state(ws) == before
    set_budget(ws.catalog, "loans", 0.5, 1e-3)
    with pytest.raises(DatamoatError, match=r"DP training on dataset 'loans' needs ε=1, but only ε=0.5"):
        train_model(ws, "loans", dp_epsilon=1.0)
    with pytest.raises(DatamoatError, match="tfidf-linear cannot train privately"):
        train_model(ws, "loans", model="tfidf-linear", dp_epsilon=0.1)
    assert state(ws) == before
    assert remaining_budget(ws.catalog, "loans").epsilon_spent == 0 and list_releases(ws.catalog, "loans") == []
    assert [d.name for d in ws.catalog.list_datasets()] == ["loans"]  # no split versions left behind


def test_a_dp_training_spends_in_dp_status_and_the_audit_log(cli, tmp_path: Path) -> None:
    data = table_csv(tmp_path)
    assert cli("init")[0] == 0
    assert cli("ingest", str(data), "--name", "loans", "--label", "label")[0] == 0
    assert cli("dp", "budget", "loans", "--epsilon", "3", "--delta", "1e-3")[0] == 0
    code, out, err = cli("train", "loans", "--dp-epsilon", "2", "--json")
    assert code == 0, err
    result = json.loads(out)
    dp = result["privacy"]
    assert result["model"]["kind"] == "tabular-linear" and dp["epsilon"] == 2.0
    assert dp["delta"] == pytest.approx(1 / (10 * dp["rows"])) and dp["accountant"] == "prv"
    assert dp["spends"] == [{"dataset": "loans", "spend_id": 1, "epsilon_remaining": pytest.approx(1.0),
                             "delta_remaining": pytest.approx(1e-3 - dp["delta"])}]
    mia = result["membership_inference"]
    assert 0 <= mia["auc"] <= 1 and mia["auc_ci"][0] <= mia["auc"] <= mia["auc_ci"][1]
    assert mia["train_rows"] == mia["test_rows"]  # class-matched
    assert "without a search" in result["selection"]["reason"]

    code, out, _ = cli("dp", "--help")
    assert code == 0 and "DP trainings" in " ".join(out.split())
    code, out, _ = cli("dp", "status", "loans", "--json")
    status = json.loads(out)
    assert status["budget"]["epsilon_spent"] == pytest.approx(2.0)
    (spend,) = status["releases"]
    assert spend["statistic"] == "dp_training" and spend["column"] == "label"
    assert spend["result"]["model"] == result["model"]["ref"] and spend["result"]["noise_multiplier"] > 0

    code, out, _ = cli("audit", "log", "--json")
    event = next(e for e in json.loads(out) if e["action"] == "dp_training")
    assert event["details"]["model"] == result["model"]["ref"] and event["details"]["epsilon"] == 2.0

    # the model card and the report carry the guarantee
    report = json.loads(Path(result["report"]).with_suffix(".json").read_text())
    assert report["privacy"]["noise_multiplier"] == dp["noise_multiplier"]
    assert "membership_inference" in report
    from datamoat.models.export.model_card import model_card
    from datamoat.models.training import card_info, models_registry
    from datamoat.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws")
    card = model_card(card_info(ws, models_registry(ws).resolve(result["model"]["ref"])))
    ws.close()
    assert "Trained with differential privacy: (2, " in card and f"Noise multiplier:** {dp['noise_multiplier']:.4g}" in card
    assert "Sampling rate:**" in card and "Membership inference" in card and "95% interval" in card

    # a second training at ε=2 does not fit what is left (1.0): refused, nothing registered
    code, _, err = cli("train", "loans", "--dp-epsilon", "2")
    assert code != 0 and "only ε=1 of the dataset's budget of 3 remains" in " ".join(err.split())
    code, out, _ = cli("dp", "status", "loans", "--json")
    assert json.loads(out)["budget"]["releases"] == 1
