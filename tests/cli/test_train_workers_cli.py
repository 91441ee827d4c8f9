"""`datamoat train --model finetune --workers 2`: two spawned data-parallel workers train a model
that is registered, evaluated and predicts. The encoder is the bundled MiniLM cut to one layer and
saved to a tmp folder (``--encoder``), so the test stays small."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from textgen import intents


@pytest.fixture(scope="module")
def small_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled MiniLM cut to its first layer, saved with save_pretrained (a local checkpoint)."""
    pytest.importorskip("torch")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from datamoat.models.trainers.encoder import bundled_encoder_path

    folder = tmp_path_factory.mktemp("minilm-1")
    source = str(bundled_encoder_path())
    hf_logging.set_verbosity_error()  # the load report lists the dropped layers
    AutoModel.from_pretrained(source, num_hidden_layers=1).save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(source).save_pretrained(str(folder))
    return folder


def test_train_finetune_with_two_workers_end_to_end(cli, tmp_path: Path, small_bert: Path) -> None:
    data = tmp_path / "tickets.csv"
    intents(20).to_csv(data, index=False)
    assert cli("init")[0] == 0
    assert cli("ingest", str(data), "--text", "text", "--label", "intent")[0] == 0
    code, out, err = cli("train", "tickets", "--model", "finetune", "--workers", "2", "--encoder", str(small_bert),
                         "--budget", "3m", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["model"]["kind"] == "finetune" and res["test"]["rows"] == 12
    assert res["test"]["accuracy"] >= 0.5  # 3 intents with their own words: chance is 1/3
    from datamoat.models.training import models_registry
    from datamoat.workspace import Workspace

    with Workspace.open(tmp_path / "ws") as ws:
        registry = models_registry(ws)
        assert registry.resolve(res["model"]["ref"]).params["workers"] == 2
        trainer = registry.load(res["model"]["ref"])
        assert trainer.history_ and trainer.history_[0]["valid_accuracy"] is not None
        assert list(trainer.predict(pd.DataFrame({"text": ["refund my payment number 5"]}))) == ["billing"]


def test_workers_and_encoder_need_finetune(cli, tmp_path: Path) -> None:
    data = tmp_path / "tickets.csv"
    intents(6).to_csv(data, index=False)
    assert cli("init")[0] == 0
    assert cli("ingest", str(data), "--text", "text", "--label", "intent")[0] == 0
    code, _out, err = cli("train", "tickets", "--model", "tfidf-linear", "--workers", "2")
    assert code != 0 and "applies to model 'finetune' only" in err
    code, _out, err = cli("train", "tickets", "--model", "embed-linear", "--encoder", "bundled")
    assert code != 0 and "applies to model 'finetune' only" in err
