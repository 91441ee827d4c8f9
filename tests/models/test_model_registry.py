"""The model registry: versions with lineage, aliases, intact files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.registry import ModelRegistry
from datamoat.models.trainers.contract import create_trainer
from datamoat.workspace import Workspace


def _fitted(seed: int):
    rng = np.random.default_rng(seed)
    words = {"refund": ["money", "back", "refund"], "delivery": ["parcel", "late", "courier"]}
    rows = [{"text": " ".join(rng.choice(words[lab], 4)), "label": lab} for lab in rng.choice(list(words), 80)]
    return create_trainer("tfidf-linear").fit(rows), rows


def test_register_resolve_alias_and_load(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    (tmp_path / "t.csv").write_text("text,label\na,x\nb,y\n")
    v = ws.ingest(tmp_path / "t.csv", name="t", text="text", label="label")
    reg = ModelRegistry(ws.catalog, ws.state / "models")
    first, rows = _fitted(0)
    m1 = reg.register(first, "intent", train_version_id=v.record.id, metrics={"accuracy": 0.9}, aliases=["champion"])
    second, _ = _fitted(1)
    m2 = reg.register(second, "intent", train_version_id=v.record.id, test_version_id=v.record.id,
                      metrics={"accuracy": 0.95})
    assert (m1.ref, m2.ref) == ("intent@1", "intent@2")
    assert reg.resolve("intent").id == m2.id and reg.resolve("intent@champion").id == m1.id
    reg.set_alias("intent", "champion", m2.id)
    assert reg.resolve("intent@champion").id == m2.id and reg.resolve("intent@1").aliases == []
    loaded = reg.load("intent@1")
    texts = [r["text"] for r in rows[:10]]
    assert np.allclose(loaded.predict_proba(texts), first.predict_proba(texts))
    assert m2.to_dict()["test_version_id"] == v.record.id and m2.metrics == {"accuracy": 0.95}
    with pytest.raises(NotFoundError, match="no alias 'challenger'"):
        reg.resolve("intent@challenger")
    with pytest.raises(NotFoundError, match="known models: intent"):
        reg.resolve("other")
    with pytest.raises(DatamoatError, match="reserved"):
        reg.set_alias("intent", "latest", m1.id)


def test_changed_files_are_refused(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    (tmp_path / "t.csv").write_text("text,label\na,x\nb,y\n")
    v = ws.ingest(tmp_path / "t.csv", name="t")
    reg = ModelRegistry(ws.catalog, ws.state / "models")
    trainer, _ = _fitted(2)
    m = reg.register(trainer, "m", train_version_id=v.record.id)
    (m.path / "trainer.json").write_text((m.path / "trainer.json").read_text() + " ")
    with pytest.raises(DatamoatError, match="missing or changed"):
        reg.load("m")
