"""DP-SGD in the trainers: the noise follows ε, the facts are kept, fine-tuning runs through Opacus.

Every fit samples all rows per step (sampling rate 1), where the accountant's calibration is cheap.

Tiny data throughout; the fine-tune uses a randomly initialised 1-layer BERT (16-d) saved to a
tmp folder, with the bundled MiniLM's tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from textgen import framed_texts
from tiny_models import save_tiny_bert

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import Trainer, create_trainer
from datamoat.models.trainers.dp_sgd import LinearSettings, as_logistic, default_delta, fit_dp_linear
from datamoat.models.trainers.tabular import row_features

FACT_KEYS = {"epsilon", "delta", "accountant", "noise_multiplier", "max_grad_norm", "sample_rate", "epochs", "steps"}


def unit_rows(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, (X[:, 0] > 0).astype(np.int64)


def test_noise_falls_as_epsilon_grows_and_the_accountant_agrees() -> None:
    X, y = unit_rows(200, 8, 0)
    # full batches (sampling rate 1: the accountant's fast case) and few epochs keep this quick;
    # epsilon 1 releases the last iterate, epsilon 8 the average of the last half
    fits = {eps: fit_dp_linear(X, y, 2, epsilon=eps, delta=1e-4, seed=0, features="unit rows",
                               settings=LinearSettings(batch_size=256, epochs=12, lr=8.0, clip=0.5,
                                                       average=0.0 if eps == 1 else 0.5))
            for eps in (1, 8)}
    assert fits[1][2].noise_multiplier > fits[8][2].noise_multiplier > 0
    for eps, (_, _, f) in fits.items():
        assert f.accountant == "prv" and f.max_grad_norm == 0.5 and f.sample_rate == 1.0
        assert f.epsilon_accounted <= eps * 1.001 and f.steps == 12 and f.epochs == 12
    assert "last 6 of 12 steps averaged" in fits[8][2].mechanism and "averaged" not in fits[1][2].mechanism
    # the head at epsilon 8 learned the rule
    coef, intercept, _ = fits[8]
    assert np.mean((X @ coef.T + intercept).argmax(axis=1) == y) > 0.8


def test_feature_scale_trains_on_scaled_rows_and_returns_the_head_for_the_callers_rows() -> None:
    X, y = unit_rows(120, 6, 2)
    run = {"epsilon": 8.0, "delta": 1e-4, "seed": 0, "features": "unit rows"}
    base = LinearSettings(batch_size=256, epochs=6, lr=2.0, clip=1.0, average=0.5)
    coef, intercept, facts = fit_dp_linear(X, y, 2, settings=LinearSettings(**{**base.__dict__, "feature_scale": 3.0}),
                                           **run)
    # the same noise and batches (same seed) on rows scaled by hand: the same logits on the scaled rows
    coef_by_hand, intercept_by_hand, _ = fit_dp_linear(3.0 * X, y, 2, settings=base, **run)
    np.testing.assert_allclose(X @ coef.T + intercept, (3.0 * X) @ coef_by_hand.T + intercept_by_hand, atol=1e-4)
    assert facts.noise_multiplier > 0 and np.mean((X @ coef.T + intercept).argmax(axis=1) == y) > 0.8


def test_as_logistic_gives_the_softmax_of_the_head() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 4))
    for k in (2, 3):
        coef, intercept = rng.normal(size=(k, 4)), rng.normal(size=k)
        np.testing.assert_allclose(as_logistic(coef, intercept).predict_proba(X), softmax(X @ coef.T + intercept, axis=1),
                                   atol=1e-12)


def test_tabular_linear_under_dp_uses_a_fixed_map_and_keeps_its_facts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=240)
    df = pd.DataFrame({"a": a * 1000, "c": rng.choice(["x", "y"], 240), "label": np.where(a > 0, "pos", "neg")})
    df.loc[::9, "a"] = np.nan
    high = create_trainer("tabular-linear", dp_epsilon=8.0).fit(df)
    assert high.dp_["delta"] == pytest.approx(default_delta(240)) and FACT_KEYS <= set(high.dp_)
    assert np.mean(high.predict(df) == df["label"]) > 0.8
    # the map is row-local: a row's features do not depend on the other rows, and norms are <= 1
    features = high.model_.named_steps["features"]
    assert features.func is row_features
    frame = high._frame(df, "x")
    np.testing.assert_array_equal(features.transform(frame.iloc[:5]), features.transform(frame)[:5])
    assert (np.linalg.norm(features.transform(frame), axis=1) <= 1 + 1e-9).all()
    loaded = Trainer.load(high.save(tmp_path / "m"))
    assert loaded.dp_ == high.dp_
    np.testing.assert_allclose(loaded.predict_proba(df), high.predict_proba(df))
    with pytest.raises(DatamoatError, match="dp_epsilon"):
        create_trainer("tabular-linear", dp_epsilon=-1.0).fit(df)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer BERT (16-d vectors) with the bundled tokenizer."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_dp_finetune_runs_through_opacus(tiny_bert: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    topics = {"billing": ["refund", "invoice"], "shipping": ["parcel", "courier"]}
    train = framed_texts(topics, ["my {} please", "about the {}"], seed=0, per_class=24)
    t = create_trainer("finetune", encoder=str(tiny_bert), text_column="body", label_column="intent", max_length=16,
                       epochs=2, dp_epsilon=3.0, device="cpu")
    t.fit(train)
    assert FACT_KEYS <= set(t.dp_) and t.dp_["epochs"] == 2 and t.dp_["steps"] >= 2
    assert t.dp_["epsilon_accounted"] <= 3.0 * 1.001 and len(t.history_) == 2
    proba = t.predict_proba(train)
    assert proba.shape == (len(train), 2) and np.allclose(proba.sum(axis=1), 1.0)
    before, after = load_file(str(tiny_bert / "model.safetensors")), load_file(str(t.text_encoder().path / "model.safetensors"))
    emb = next(k for k in before if k.endswith("word_embeddings.weight"))
    dense = next(k for k in before if k.endswith("attention.self.query.weight"))
    np.testing.assert_array_equal(before[emb], after[next(k for k in after if k.endswith("word_embeddings.weight"))])
    assert not np.allclose(before[dense], after[next(k for k in after if k.endswith("attention.self.query.weight"))])
    loaded = Trainer.load(t.save(tmp_path / "m"))
    assert loaded.dp_ == t.dp_


def test_dp_embed_linear_trains_on_unit_vectors_and_keeps_its_facts(tiny_bert: Path, tmp_path: Path) -> None:
    topics = {"billing": ["refund", "invoice"], "shipping": ["parcel", "courier"]}
    train = framed_texts(topics, ["my {} please", "about the {}"], seed=0, per_class=20)
    params = {"encoder": str(tiny_bert), "text_column": "body", "label_column": "intent", "max_length": 16}
    high = create_trainer("embed-linear", dp_epsilon=8.0, dp_delta=1e-3, **params).fit(train)
    assert high.dp_["noise_multiplier"] > 0 and high.dp_["delta"] == 1e-3 and FACT_KEYS <= set(high.dp_)
    assert "L2-normalised" in high.dp_["features"] and "averaged" in high.dp_["mechanism"]
    loaded = Trainer.load(high.save(tmp_path / "m"))
    assert loaded.dp_ == high.dp_
    np.testing.assert_allclose(loaded.predict_proba(train), high.predict_proba(train), atol=1e-9)
