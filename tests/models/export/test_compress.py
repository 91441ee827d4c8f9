"""Encoder compression: ONNX export, int8 quantisation, compressed trainers, latency figures.

Texts are tiny (3 topics x 12 short texts, max_length 32). Most tests use a 2-layer cut of the
bundled MiniLM written with save_pretrained (a stand-in for "any local checkpoint" that exports
in a fraction of the time); the int8-vs-fp32 agreement test uses the bundled model itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from textgen import framed_texts

from datamoat.errors import DatamoatError
from datamoat.models.export.compress import (
    compress_model,
    compression_report,
    export_onnx,
    measure_latency,
    model_size_mb,
    quantize_onnx_int8,
    trainer_size_mb,
)
from datamoat.models.trainers.contract import Trainer, create_trainer
from datamoat.models.trainers.encoder import ONNX_FILE, TextEncoder, bundled_encoder_path
from datamoat.models.trainers.ensemble import EnsembleTrainer

TOPICS = {
    "account": ["password", "login", "username", "locked out", "sign in", "two factor code"],
    "billing": ["refund", "invoice", "charged twice", "payment", "bill", "subscription price"],
    "shipping": ["parcel", "courier", "tracking number", "delivery", "package", "lost box"],
}
FRAMES = ["my {} does not work", "question about the {}", "help with {} please", "where is my {} now"]


TRAIN = framed_texts(TOPICS, FRAMES, seed=1, per_class=12)
TEXTS = TRAIN["body"].tolist()
PARAMS = {"text_column": "body", "label_column": "intent", "max_length": 32, "batch_size": 16}


def onnx_model(path: Path):
    import onnx

    return onnx.load(str(path))


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled MiniLM cut to 2 layers, saved as a local checkpoint folder."""
    from transformers import AutoModel, AutoTokenizer

    source = bundled_encoder_path()
    model = AutoModel.from_pretrained(str(source))
    model.encoder.layer = model.encoder.layer[:2]
    model.config.num_hidden_layers = 2
    folder = tmp_path_factory.mktemp("small-minilm")
    model.save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def small_trainer(small_checkpoint: Path) -> Trainer:
    return create_trainer("embed-linear", encoder=str(small_checkpoint), **PARAMS).fit(TRAIN)


@pytest.fixture(scope="module")
def small_fp32(small_trainer: Trainer, tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    """The small trainer with its encoder exported to ONNX fp32 (no quantisation)."""
    return compress_model(small_trainer, tmp_path_factory.mktemp("fp32"), method="onnx-fp32")


@pytest.fixture(scope="module")
def small_int8(small_trainer: Trainer, tmp_path_factory: pytest.TempPathFactory) -> Trainer:
    return compress_model(small_trainer, tmp_path_factory.mktemp("int8"))


# --------------------------------------------------------------------- export


def test_export_writes_self_contained_folder_matching_torch(small_fp32: Trainer) -> None:
    import torch
    from transformers import AutoModel

    enc = small_fp32.encoder_
    folder = enc.path
    assert enc.backend == "onnx" and enc.onnx_file == folder / ONNX_FILE
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "tokenizer.json", ONNX_FILE} <= names
    assert "model.safetensors" not in names

    graph = onnx_model(folder / ONNX_FILE).graph
    assert [i.name for i in graph.input] == ["input_ids", "token_type_ids", "attention_mask"]
    assert graph.output[0].name == "last_hidden_state"
    dims = [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence"]

    # A batch size and lengths unlike the export example, with padding in the middle row.
    texts = ["hi", "a much longer question about my invoice and the refund I was promised", "refund", "x y"]
    batch = enc.tokenizer(texts, padding=True, return_tensors="np")
    torch_model = AutoModel.from_pretrained(str(small_fp32.encoder)).eval()
    with torch.inference_mode():
        expected = torch_model(**{k: torch.as_tensor(v) for k, v in batch.items()}).last_hidden_state.numpy()
    from datamoat.models.export.compress import onnx_hidden_states

    got = onnx_hidden_states(folder / ONNX_FILE, dict(batch))
    assert got.shape == expected.shape == (4, batch["input_ids"].shape[1], 384)
    mask = batch["attention_mask"][..., None].astype(bool)
    assert float(np.abs((got - expected) * mask).max()) < 1e-4

    # The encoder folder works on its own: ONNX vectors equal the torch encoder's vectors.
    vec_onnx = TextEncoder(folder, backend="onnx", max_length=32).embed(texts)
    vec_torch = TextEncoder(small_fp32.encoder, max_length=32).embed(texts)
    np.testing.assert_allclose(vec_onnx, vec_torch, atol=1e-5)


def test_export_refuses_an_onnx_encoder(small_fp32: Trainer, tmp_path: Path) -> None:
    with pytest.raises(DatamoatError, match="already runs on ONNX"):
        export_onnx(small_fp32.encoder_, tmp_path / "again")


def test_quantize_into_new_folder_leaves_fp32_alone(small_fp32: Trainer, tmp_path: Path) -> None:
    source = small_fp32.encoder_.path
    fp32_bytes = (source / ONNX_FILE).read_bytes()
    out = quantize_onnx_int8(source, tmp_path / "q")
    assert (source / ONNX_FILE).read_bytes() == fp32_bytes
    assert {"config.json", "tokenizer.json", ONNX_FILE} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    int8_types = {t.data_type for t in onnx_model(out / ONNX_FILE).graph.initializer}
    assert 3 in int8_types  # onnx.TensorProto.INT8: the weights are int8
    assert (out / ONNX_FILE).stat().st_size < 0.4 * len(fp32_bytes)
    assert model_size_mb(out) < model_size_mb(source)
    with pytest.raises(DatamoatError, match="no model.onnx"):
        quantize_onnx_int8(tmp_path / "empty")


# --------------------------------------------------------------------- compressed trainers


def test_int8_bundled_model_predicts_like_fp32(tmp_path: Path) -> None:
    original = create_trainer("embed-linear", **PARAMS).fit(TRAIN)
    compressed = compress_model(original, tmp_path)
    assert original.encoder_.backend == "torch"  # the original is untouched
    assert compressed is not original and compressed.encoder_.backend == "onnx"
    assert compressed.model_ is original.model_  # same head
    agree = np.mean(compressed.predict(TRAIN) == original.predict(TRAIN))
    assert agree >= 0.9
    cos = np.sum(compressed.embed(TEXTS) * original.embed(TEXTS), axis=1)
    assert cos.min() > 0.95
    assert trainer_size_mb(compressed) < 0.4 * trainer_size_mb(original)


def test_compressed_trainer_saves_and_loads(small_int8: Trainer, tmp_path: Path) -> None:
    saved = small_int8.save(tmp_path / "model")
    meta = json.loads((saved / "trainer.json").read_text())
    assert meta["state"]["encoder_backend"] == "onnx"
    assert (saved / "encoder" / ONNX_FILE).is_file()
    assert not (saved / "encoder" / "model.safetensors").exists()
    loaded = Trainer.load(saved)
    assert loaded.encoder_.backend == "onnx"
    assert loaded.encoder_.onnx_file == saved / "encoder" / ONNX_FILE
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), small_int8.predict_proba(TEXTS), atol=1e-6)
    assert list(loaded.predict(TRAIN)) == list(small_int8.predict(TRAIN))


def test_onnx_fp32_method_keeps_probabilities(small_trainer: Trainer, small_fp32: Trainer) -> None:
    np.testing.assert_allclose(small_fp32.predict_proba(TEXTS), small_trainer.predict_proba(TEXTS), atol=1e-4)


def test_trainers_without_encoder_and_bad_input_are_refused(small_int8: Trainer, tmp_path: Path) -> None:
    tfidf = create_trainer("tfidf-linear", text_column="body", label_column="intent").fit(TRAIN)
    with pytest.raises(DatamoatError, match="tfidf-linear.*nothing to compress"):
        compress_model(tfidf, tmp_path)
    with pytest.raises(DatamoatError, match="method 'gzip'"):
        compress_model(tfidf, tmp_path, method="gzip")
    with pytest.raises(DatamoatError, match="not fitted"):
        compress_model(create_trainer("embed-linear"), tmp_path)
    with pytest.raises(DatamoatError, match="already runs on ONNX"):
        compress_model(small_int8, tmp_path)
    other = create_trainer("tfidf-linear", text_column="body", label_column="intent", C=0.5).fit(TRAIN)
    with pytest.raises(DatamoatError, match="no member has a transformer encoder"):
        compress_model(EnsembleTrainer.from_members([tfidf, other]), tmp_path)


def test_ensemble_compresses_only_its_encoder_member(small_trainer: Trainer, tmp_path: Path) -> None:
    tfidf = create_trainer("tfidf-linear", text_column="body", label_column="intent").fit(TRAIN)
    ensemble = EnsembleTrainer.from_members([tfidf, small_trainer])
    compressed = compress_model(ensemble, tmp_path / "work")
    assert isinstance(compressed, EnsembleTrainer) and compressed is not ensemble
    assert compressed.model_[0] is tfidf
    assert compressed.model_[1].encoder_.backend == "onnx"
    assert ensemble.model_[1] is small_trainer and small_trainer.encoder_.backend == "torch"
    assert (tmp_path / "work" / "member-1-encoder" / ONNX_FILE).is_file()
    assert np.mean(compressed.predict(TRAIN) == ensemble.predict(TRAIN)) >= 0.9

    loaded = Trainer.load(compressed.save(tmp_path / "saved"))
    assert [m.kind for m in loaded.model_] == ["tfidf-linear", "embed-linear"]
    assert loaded.model_[1].encoder_.backend == "onnx"
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), compressed.predict_proba(TEXTS), atol=1e-6)


# --------------------------------------------------------------------- measurement


def test_latency_and_report_have_positive_figures(small_trainer: Trainer, small_int8: Trainer) -> None:
    stats = measure_latency(small_int8, TEXTS[:8], repeats=5, batch_size=4)
    assert {"p50_ms", "p95_ms", "mean_ms", "batch_texts_per_s", "size_mb"} <= set(stats)
    assert all(stats[k] > 0 for k in ("p50_ms", "p95_ms", "mean_ms", "batch_texts_per_s", "size_mb"))
    assert stats["p95_ms"] >= stats["p50_ms"]
    assert stats["repeats"] == 5 and stats["texts"] == 8
    with pytest.raises(DatamoatError, match="at least one text"):
        measure_latency(small_int8, [])

    report = compression_report(small_trainer, small_int8, TRAIN.head(12), repeats=3, batch_size=4)
    assert report["rows_test"] == 12
    for side in ("original", "compressed"):
        assert 0.0 <= report[side]["accuracy"] <= 1.0 and report[side]["p50_ms"] > 0
    assert report["speedup_p50"] > 0
    assert report["size_ratio"] > 2  # int8 weights: about a quarter of fp32
    expected = 100 * (report["compressed"]["accuracy"] - report["original"]["accuracy"])
    assert report["accuracy_change_points"] == pytest.approx(expected)
    assert 0.0 <= report["agreement"] <= 1.0


def test_compress_cli_registers_the_compressed_models_own_figures(cli, tmp_path: Path) -> None:
    """`datamoat compress` registers a new version whose metrics are the int8 model's own."""
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    framed_texts(TOPICS, FRAMES, seed=3, per_class=12).to_csv(train_csv, index=False)
    framed_texts(TOPICS, FRAMES, seed=4, per_class=8).to_csv(test_csv, index=False)
    assert cli("init")[0] == 0
    assert cli("ingest", str(train_csv), "--name", "t", "--text", "body", "--label", "intent")[0] == 0
    assert cli("ingest", str(test_csv), "--name", "t-test", "--text", "body", "--label", "intent")[0] == 0
    code, out, err = cli("train", "t", "--model", "embed-linear", "--test", "t-test", "--json")
    assert code == 0, err
    code, out, err = cli("compress", "t@1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] == "t@2" and report["from"] == "t@1"
    code, out, _ = cli("models", "--json")
    versions = {m["ref"]: m for m in json.loads(out)["models"]}
    int8 = versions["t@2"]
    assert int8["metrics"]["accuracy"] == pytest.approx(report["compressed"]["accuracy"])
    low, high = int8["metrics"]["accuracy_ci"]
    assert low <= int8["metrics"]["accuracy"] <= high
    assert int8["info"]["compressed_from"] == "t@1" and int8["info"]["compression"]["method"] == "onnx-int8"
