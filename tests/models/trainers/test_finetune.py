"""The finetune trainer: full fine-tuning of a local transformer encoder plus a linear head.

The data is tiny (3 topics x 20 short texts) and max_length 32, so every fit is a few steps.
A 1-layer cut of the bundled MiniLM, written with save_pretrained, stands in for "any local
checkpoint" and keeps the tests that do not need the full model fast.
"""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from textgen import framed_texts

from datamoat.errors import DatamoatError, NotFoundError
from datamoat.models.trainers.contract import Trainer, create_trainer
from datamoat.models.trainers.finetune import FinetuneTrainer
from datamoat.models.trainers.finetune_network import epoch_batches

TOPICS = {
    "account": ["password", "login", "username", "locked out", "sign in"],
    "billing": ["refund", "invoice", "charged twice", "payment", "bill"],
    "shipping": ["parcel", "courier", "tracking number", "delivery", "package"],
}
FRAMES = ["my {} does not work", "question about the {}", "help with {} please", "where is my {}"]


TRAIN = framed_texts(TOPICS, FRAMES, seed=1, per_class=20)
VALID = framed_texts(TOPICS, FRAMES, seed=2, per_class=6)
SMALL = {"text_column": "body", "label_column": "intent", "max_length": 32, "batch_size": 16}


@pytest.fixture(scope="module")
def fitted() -> FinetuneTrainer:
    """The bundled MiniLM fine-tuned for 2 epochs with validation."""
    t = create_trainer("finetune", epochs=2, patience=2, **SMALL)
    assert isinstance(t, FinetuneTrainer)
    return t.fit(TRAIN, valid=VALID)


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local checkpoint folder: the bundled MiniLM cut to 1 layer, saved with save_pretrained."""
    from transformers import AutoModel, AutoTokenizer

    from datamoat.models.trainers.encoder import bundled_encoder_path

    folder = tmp_path_factory.mktemp("ckpt") / "minilm-1"
    source = str(bundled_encoder_path())
    AutoModel.from_pretrained(source, num_hidden_layers=1).save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(source).save_pretrained(str(folder))
    return folder


# ------------------------------------------------------------------ learning and probabilities
def test_fine_tuning_learns_the_topics(fitted: FinetuneTrainer) -> None:
    train_acc = float(np.mean(fitted.predict(TRAIN) == TRAIN["intent"].to_numpy()))
    assert train_acc >= 0.8, train_acc  # chance is 1/3
    assert fitted.valid_metrics_ is not None and fitted.valid_metrics_["accuracy"] >= 0.7
    losses = [h["train_loss"] for h in fitted.history_]
    assert losses[-1] < losses[0], losses


def test_probabilities_sum_to_one_in_classes_order(fitted: FinetuneTrainer) -> None:
    assert fitted.classes_ == ["account", "billing", "shipping"]
    proba = fitted.predict_proba(VALID)
    assert proba.shape == (len(VALID), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(np.asarray(fitted.classes_, dtype=object)[proba.argmax(axis=1)], fitted.predict(VALID))
    # The head reads raw (not L2-normalised) vectors: the same numbers the trainer embeds.
    vectors = fitted.embed(VALID["body"].tolist())
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    np.testing.assert_allclose(fitted.head_proba(vectors), proba, atol=1e-9)
    # Plain strings work as prediction input, too.
    assert fitted.predict(["where is my parcel", "refund my payment"]).tolist() == ["shipping", "billing"]


def test_history_records_each_epoch_and_the_best_weights_are_kept(fitted: FinetuneTrainer) -> None:
    history = fitted.history_
    assert [h["epoch"] for h in history] == [1, 2]
    steps = -(-len(TRAIN) // SMALL["batch_size"])
    assert all(h["steps"] == steps and h["complete"] and h["stopped"] is None for h in history)
    assert all(h["seconds"] > 0 and 0.0 <= h["valid_accuracy"] <= 1.0 for h in history)
    assert fitted.stop_reason_ == "epochs"
    best = history[fitted.best_epoch_ - 1]
    assert best["valid_accuracy"] == max(h["valid_accuracy"] for h in history)
    # The kept weights are those of the best epoch: predicting gives its validation figures.
    assert fitted.valid_metrics_["log_loss"] == pytest.approx(best["valid_loss"], abs=1e-4)


# ------------------------------------------------------------------ persistence
def test_save_then_load_is_self_contained_and_identical(fitted: FinetuneTrainer, tmp_path: Path) -> None:
    expected = fitted.predict_proba(VALID)
    folder = fitted.save(tmp_path / "model")
    assert (folder / "encoder" / "config.json").is_file()
    assert (folder / "encoder" / "model.safetensors").is_file()
    assert (folder / "encoder" / "tokenizer.json").is_file()
    meta = json.loads((folder / "trainer.json").read_text())
    assert meta["kind"] == "finetune" and meta["state"]["encoder_dir"] == "encoder"
    assert meta["state"]["history"] == json.loads(json.dumps(fitted.history_))

    copy = tmp_path / "moved"
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)
    loaded = Trainer.load(copy)
    assert isinstance(loaded, FinetuneTrainer)
    assert Path(loaded.encoder_.path) == copy / "encoder"
    assert loaded.history_ == meta["state"]["history"] and loaded.best_epoch_ == fitted.best_epoch_
    np.testing.assert_allclose(loaded.predict_proba(VALID), expected, rtol=0, atol=1e-6)


# ------------------------------------------------------------------ local checkpoints
def test_a_local_checkpoint_folder_is_fine_tuned(small_checkpoint: Path, tmp_path: Path) -> None:
    t = FinetuneTrainer(encoder=str(small_checkpoint), epochs=3, **SMALL).fit(TRAIN)
    assert float(np.mean(t.predict(TRAIN) == TRAIN["intent"].to_numpy())) >= 0.7
    assert t.stop_reason_ == "epochs" and len(t.history_) == 3  # no validation set: every epoch runs
    assert all(h["valid_accuracy"] is None for h in t.history_) and t.best_epoch_ == 3
    assert t.model_["W"].shape == (3, 384) and t.model_["W"].dtype == np.float32
    temporary = Path(t.encoder_.path)
    assert temporary.is_dir() and temporary != small_checkpoint
    expected = t.predict_proba(VALID)
    saved = json.loads((t.save(tmp_path / "m") / "encoder" / "config.json").read_text())
    assert saved["num_hidden_layers"] == 1  # the given checkpoint, not the bundled 6-layer one
    # The temporary copy of the fine-tuned encoder goes away with the trainer that used it.
    del t
    gc.collect()
    assert not temporary.exists()
    np.testing.assert_allclose(Trainer.load(tmp_path / "m").predict_proba(VALID), expected, rtol=0, atol=1e-6)


def test_missing_encoder_folder_is_a_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not a local Hugging Face checkpoint"):
        FinetuneTrainer(encoder=str(tmp_path / "nope"), **SMALL).fit(TRAIN)
    with pytest.raises(NotFoundError, match="not a local Hugging Face checkpoint"):
        FinetuneTrainer.estimate_fit_seconds(["a text"], encoder=str(tmp_path / "nope"))


def test_estimate_fit_seconds_times_real_steps(small_checkpoint: Path) -> None:
    texts = TRAIN["body"].tolist()
    assert FinetuneTrainer.estimate_fit_seconds([], encoder=str(small_checkpoint)) == 0.0
    seconds = FinetuneTrainer.estimate_fit_seconds(
        texts, epochs=2, batch_size=8, max_length=32, encoder=str(small_checkpoint), device="cpu", timed_steps=2
    )
    assert np.isfinite(seconds) and seconds > 0


# ------------------------------------------------------------------ stopping
def test_patience_stops_when_validation_gets_worse(small_checkpoint: Path) -> None:
    # Validation labels rotated against the training topics: the better the model learns the
    # training data, the worse it does on this set, so validation soon stops improving.
    names = sorted(TOPICS)
    rotated = VALID.assign(intent=VALID["intent"].map(lambda c: names[(names.index(c) + 1) % 3]))
    t = FinetuneTrainer(encoder=str(small_checkpoint), epochs=6, patience=1, **SMALL)
    t.fit(TRAIN, valid=rotated)
    history, best = t.history_, t.best_epoch_
    assert t.stop_reason_ == "patience" and history[-1]["stopped"] == "patience"
    assert len(history) == best + 1 < 6  # stopped one epoch (the patience) after the best one
    assert all(h["stopped"] is None for h in history[:-1])
    assert (history[-1]["valid_accuracy"], -history[-1]["valid_loss"]) <= (
        history[best - 1]["valid_accuracy"],
        -history[best - 1]["valid_loss"],
    )
    # The best epoch's weights were restored: predicting gives its validation loss.
    assert t.valid_metrics_["log_loss"] == pytest.approx(history[best - 1]["valid_loss"], abs=1e-4)
    assert history[-1]["valid_loss"] != pytest.approx(history[best - 1]["valid_loss"], abs=1e-3)


def test_max_seconds_stops_after_the_first_step(small_checkpoint: Path) -> None:
    t = FinetuneTrainer(encoder=str(small_checkpoint), epochs=3, max_seconds=1e-6, **SMALL)
    t.fit(TRAIN, valid=VALID)
    assert len(t.history_) == 1
    only = t.history_[0]
    assert only["steps"] == 1 and not only["complete"] and only["stopped"] == "max_seconds"
    assert t.stop_reason_ == "max_seconds" and only["valid_accuracy"] is not None
    np.testing.assert_allclose(t.predict_proba(VALID).sum(axis=1), 1.0, atol=1e-9)


# ------------------------------------------------------------------ batching and cost
def test_epoch_batches_cover_every_row_once_with_similar_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, size=1000)
    first = epoch_batches(lengths, 32, np.random.default_rng(5))
    again = epoch_batches(lengths, 32, np.random.default_rng(5))
    other = epoch_batches(lengths, 32, np.random.default_rng(6))
    assert sorted(np.concatenate(first).tolist()) == list(range(1000))
    assert all(len(b) <= 32 for b in first)
    assert [b.tolist() for b in first] == [b.tolist() for b in again]  # seeded
    assert [b.tolist() for b in first] != [b.tolist() for b in other]
    padded = sum(len(b) * lengths[b].max() for b in first)
    random_batches = np.array_split(rng.permutation(1000), len(first))
    assert padded < 0.7 * sum(len(b) * lengths[b].max() for b in random_batches)


def test_estimate_fit_seconds_grows_with_the_data(small_checkpoint: Path) -> None:
    texts = TRAIN["body"].tolist()
    kwargs = {"encoder": str(small_checkpoint), "max_length": 32, "batch_size": 16}
    small = FinetuneTrainer.estimate_fit_seconds(texts[:16], epochs=1, **kwargs)
    large = FinetuneTrainer.estimate_fit_seconds(texts * 50, epochs=3, **kwargs)
    assert 0 < small < large
    assert FinetuneTrainer.estimate_fit_seconds([], **kwargs) == 0.0


# ------------------------------------------------------------------ parameters
def test_params_round_trip_and_bad_values_raise() -> None:
    t = create_trainer("finetune", epochs=2, learning_rate=3e-5, class_weight=None, max_seconds=60.0)
    assert t.params()["epochs"] == 2 and not hasattr(t, "model_")
    again = create_trainer("finetune", **json.loads(json.dumps(t.params())))
    assert again.params() == t.params()
    bad = [
        ({"epochs": 0}, "epochs=0 must be a positive integer"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0 must be a positive number"),
        ({"warmup_ratio": 1.5}, "warmup_ratio=1.5 must be 0 <= value < 1"),
        ({"dropout": 1.0}, "dropout=1.0 must be 0 <= value < 1"),
        ({"class_weight": "heavy"}, "class_weight='heavy' is not allowed"),
        ({"patience": 0}, "patience=0 must be a positive integer"),
        ({"max_seconds": 0}, "max_seconds=0 must be a positive number"),
        ({"device": "tpu"}, "device='tpu' is not allowed"),
        ({"max_length": 100_000}, "max_length=100000 is longer than the 512 positions"),
    ]
    for params, message in bad:
        with pytest.raises(DatamoatError, match=message):
            FinetuneTrainer(**{**SMALL, **params}).fit(TRAIN)
    with pytest.raises(DatamoatError, match="batch_size=0 must be a positive integer"):
        FinetuneTrainer.estimate_fit_seconds(["a"], batch_size=0)
    with pytest.raises(DatamoatError, match="not fitted"):
        FinetuneTrainer().predict(["hello"])
