"""Smaller, faster encoders for trained models: ONNX export and int8 dynamic quantisation.

Only the transformer encoder of a trainer is compressed; the head is kept as it is.

- :func:`export_onnx` writes a self-contained encoder folder (``config.json``, tokenizer
  files, ``model.onnx`` whose first output is ``last_hidden_state``, dynamic batch and
  sequence axes) with the TorchScript exporter of ``torch.onnx.export(dynamo=False)``, and
  checks that ONNX Runtime reproduces the torch output.
- :func:`quantize_onnx_int8` rewrites ``model.onnx`` with ONNX Runtime dynamic quantisation:
  int8 weights, activations quantised per call.
- :func:`compress_model` returns a new trainer (the given one is left untouched) whose encoder
  runs the compressed file on ONNX Runtime; it saves and loads like any trainer.
- :func:`measure_latency` and :func:`compression_report` time single-text and batch
  prediction and compare accuracy before and after.

Choices, measured on all-MiniLM-L6-v2 / BANKING77 (3,080 test texts, 2-core AVX-512 VNNI CPU,
embed-linear head fitted on torch vectors):

================================  =========  ======  ==========================
quantize_dynamic settings         accuracy   size    agreement with torch fp32
================================  =========  ======  ==========================
torch fp32 (reference)            0.9308     90 MB   -
per_channel=True (chosen)         0.9295     23 MB   0.991
per-tensor (ORT's default)        0.9221     23 MB   0.975
per-tensor, MatMul only           0.9253     59 MB   0.975
per_channel, MatMul only          0.9299     59 MB   0.987
reduce_range=True                 cosine to fp32 0.86 (not worth evaluating)
================================  =========  ======  ==========================

All int8 variants ran within noise of each other (single text: about 1.4 ms vs 2.3 ms for
ONNX fp32 and about 9 ms for torch fp32, encoder only). ``reduce_range`` is meant for CPUs
without VNNI and loses accuracy here. Pre-fusing the graph with ONNX Runtime's transformer
optimizer changed neither accuracy nor speed (the session applies the same fusions), and
``quant_pre_process`` fails on this graph (incomplete symbolic shape inference), so neither is
used.

``torch.ao.quantization.quantize_dynamic`` (int8 ``nn.Linear``) is not offered: it is
deprecated in torch 2.13, its quantised modules cannot be written as ``model.safetensors`` (a
saved model could not hold them), and on the same data it was both slower and less accurate
(one text, encoder forward on 1 core: 9 ms vs 17 ms for torch fp32 and 1.6 ms for ONNX int8;
accuracy 0.9172, i.e. -1.4 points).

End to end (``benchmarks/compress.py``, single-text ``predict_proba`` p50, machine shared with
other jobs): 20.7 ms -> 3.0 ms on 1 core, 87.6 MB -> 22.8 MB, accuracy 0.9308 -> 0.9295.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.evaluation.metrics import metric_value
from datamoat.models.trainers.contract import Trainer, as_frame, require_columns
from datamoat.models.trainers.encoder import ONNX_FILE, TextEncoder, require_torch
from datamoat.models.trainers.encoder_trainer import ENCODER_DIR, EncoderTrainer
from datamoat.models.trainers.ensemble import EnsembleTrainer

METHODS = ("onnx-int8", "onnx-fp32")
"""Compression methods: int8 dynamic quantisation of the ONNX encoder, or the plain fp32 export."""
OPSET = 17
"""ONNX opset of the export (17 has LayerNormalization; ONNX Runtime 1.17+ runs it)."""
EXPORT_TOLERANCE = 1e-3
"""Largest absolute difference allowed between torch and ONNX hidden states after export."""
OUTPUT_NAME = "last_hidden_state"
_MB = 2**20

# --------------------------------------------------------------------- export


def _onnx_input_names(encoder: TextEncoder, model: Any) -> list[str]:
    """The tokenizer outputs that the model's forward accepts (e.g. no token_type_ids for RoBERTa)."""
    import inspect

    accepted = set(inspect.signature(model.forward).parameters)
    names = [n for n in encoder.tokenizer.model_input_names if n in accepted]
    if "input_ids" not in names or "attention_mask" not in names:
        raise DatamoatError(
            f"encoder {encoder.encoder!r}: its tokenizer does not produce input_ids and attention_mask, "
            "so it cannot be exported to ONNX."
        )
    return names


def _positional_wrapper(model: Any, names: list[str]) -> Any:
    """``model`` as a module taking ``names`` positionally and returning last_hidden_state only.

    The TorchScript exporter traces positional tensors; calling the transformers model with
    keywords avoids depending on the order of its forward arguments.
    """
    torch = require_torch()

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    return HiddenStates().eval()


EXAMPLE_TEXTS = ["a short text", "a somewhat longer example sentence, so that the first one is padded"]
"""Traced by the export: with real padding, the attention mask stays in the graph."""
CHECK_TEXTS = ["hi", "another batch, of another size and length than the traced one", "third text"]
"""Run through torch and ONNX after the export: shapes unlike the traced ones catch baked-in sizes."""


def _batch(encoder: TextEncoder, texts: list[str], names: list[str]) -> dict[str, np.ndarray]:
    """``texts`` tokenised and padded: name -> int64 array (batch, sequence)."""
    batch = encoder.tokenizer(texts, padding=True, truncation=True, max_length=encoder.max_length,
                              return_tensors="np")
    return {n: np.asarray(batch[n], dtype=np.int64) for n in names}


def export_onnx(encoder: TextEncoder, folder: Path) -> Path:
    """Write ``encoder`` as a self-contained ONNX encoder folder; return the folder.

    encoder: a torch-backend TextEncoder (the bundled one or any checkpoint folder).
    folder: created if needed; receives ``config.json``, the tokenizer files and ``model.onnx``
    (fp32; inputs ``input_ids``, ``attention_mask`` and ``token_type_ids`` where the model has
    them, int64 of shape (batch, sequence); first output ``last_hidden_state`` (batch,
    sequence, hidden)). Existing files of those names are overwritten.

    The export is checked: ONNX Runtime must reproduce the torch hidden states of a padded
    batch of another size than the traced one within :data:`EXPORT_TOLERANCE`, else
    DatamoatError.
    """
    if encoder.backend != "torch":
        raise DatamoatError(
            f"encoder {encoder.encoder!r} already runs on ONNX ({encoder.onnx_file}); export needs the torch weights."
        )
    if importlib.util.find_spec("onnx") is None:
        raise DatamoatError("ONNX export needs the onnx package; pip install onnx.")
    torch = require_torch()
    from transformers import AutoModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # A fresh CPU copy: the encoder's own model may be on a GPU or shared with other trainers.
    model = AutoModel.from_pretrained(str(encoder.path)).eval()
    names = _onnx_input_names(encoder, model)
    example = _batch(encoder, EXAMPLE_TEXTS, names)
    args = tuple(torch.as_tensor(example[n]) for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, OUTPUT_NAME]}
    target = folder / ONNX_FILE
    with warnings.catch_warnings():
        # The legacy exporter warns that it is deprecated, and transformers' shape checks emit
        # TracerWarnings; the output check below is what guards the traced graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _positional_wrapper(model, names), args, str(target), input_names=names,
            output_names=[OUTPUT_NAME], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
            do_constant_folding=True,
        )
    model.config.save_pretrained(str(folder))
    encoder.tokenizer.save_pretrained(str(folder))

    check = _batch(encoder, CHECK_TEXTS, names)
    with torch.inference_mode():
        expected = model(**{n: torch.as_tensor(v) for n, v in check.items()}).last_hidden_state.numpy()
    got = onnx_hidden_states(target, check)
    real = check["attention_mask"][..., None].astype(bool)  # padded positions are never pooled
    diff = float(np.abs((got - expected) * real).max()) if got.shape == expected.shape else float("inf")
    if not np.isfinite(diff) or diff > EXPORT_TOLERANCE:
        raise DatamoatError(
            f"{target}: the exported ONNX model differs from torch by {diff:.2g} (allowed {EXPORT_TOLERANCE}); "
            "this encoder cannot be exported reliably."
        )
    return folder


def onnx_hidden_states(onnx_file: Path, batch: dict[str, np.ndarray]) -> np.ndarray:
    """First output of ``onnx_file`` for ``batch`` (name -> int64 array): (batch, sequence, hidden)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: np.asarray(v, dtype=np.int64) for k, v in batch.items() if k in names})[0]


# --------------------------------------------------------------------- quantisation


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """Silence quantize_dynamic's root-logger advice to pre-process (it fails on this graph)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_onnx_int8(folder: Path, target: Path | None = None) -> Path:
    """Quantise ``folder/model.onnx`` to int8 weights (dynamic quantisation); return the folder written.

    folder: an encoder folder from :func:`export_onnx` (fp32 ``model.onnx``).
    target: where to write the int8 encoder folder; None (default) replaces ``model.onnx`` in
    ``folder`` (atomically), otherwise the config and tokenizer files are copied there too.
    Weights are int8 per output channel (QInt8, ``per_channel=True``, no ``reduce_range``); see
    the module docstring for the measurements behind these settings.
    """
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise DatamoatError("int8 quantisation needs the onnx package; pip install onnx.") from exc
    folder = Path(folder)
    source = folder / ONNX_FILE
    if not source.is_file():
        raise DatamoatError(f"{folder}: no {ONNX_FILE} to quantise; run export_onnx first.")
    out_dir = Path(target) if target is not None else folder
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() != folder.resolve():
        for item in folder.iterdir():
            if item.is_file() and item.name != ONNX_FILE:
                shutil.copyfile(item, out_dir / item.name)
    tmp = out_dir / f".{ONNX_FILE}.int8.tmp"
    try:
        with _quiet_root_logger():
            quantize_dynamic(
                str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True, reduce_range=False
            )
        os.replace(tmp, out_dir / ONNX_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    return out_dir


# --------------------------------------------------------------------- trainers


def _compress_encoder(trainer: EncoderTrainer, folder: Path, method: str) -> EncoderTrainer:
    """A shallow copy of ``trainer`` whose encoder is the compressed one written into ``folder``."""
    encoder = trainer.text_encoder()
    if encoder.backend != "torch":
        raise DatamoatError(
            f"trainer {trainer.kind!r}: its encoder already runs on ONNX ({encoder.onnx_file}); "
            "compress the original trainer instead."
        )
    export_onnx(encoder, folder)
    if method == "onnx-int8":
        quantize_onnx_int8(folder)
    out = copy.copy(trainer)  # shares the fitted head, which prediction only reads
    out.use_encoder(
        TextEncoder(folder, backend="onnx", max_length=trainer.max_length, normalize=trainer.normalize_embeddings)
    )
    return out


def compress_model(trainer: Trainer, work_dir: Path, *, method: str = "onnx-int8") -> Trainer:
    """A new trainer like ``trainer`` whose transformer encoder is compressed with ``method``.

    trainer: a fitted EncoderTrainer (embed-linear, finetune) or an ensemble with at least one
    such member (only those members are compressed; the others are shared as they are).
    work_dir: folder that receives the compressed encoder files (``encoder/``, or
    ``member-<i>-encoder/`` per ensemble member); the returned trainer reads them from there
    until it is saved, after which its saved folder holds its own copy.
    method: ``"onnx-int8"`` (default) or ``"onnx-fp32"``.
    ``trainer`` itself is not changed. DatamoatError for an unknown method, an unfitted
    trainer, or one without a transformer encoder.
    """
    if method not in METHODS:
        raise DatamoatError(f"compression method {method!r} is not known; use one of {', '.join(METHODS)}.")
    trainer._check_fitted()
    work_dir = Path(work_dir)
    if isinstance(trainer, EncoderTrainer):
        return _compress_encoder(trainer, work_dir / ENCODER_DIR, method)
    if isinstance(trainer, EnsembleTrainer):
        members = list(trainer.model_)
        if not any(isinstance(m, EncoderTrainer) for m in members):
            kinds = ", ".join(m.kind for m in members)
            raise DatamoatError(
                f"ensemble of {kinds}: no member has a transformer encoder, so there is nothing to compress."
            )
        out = copy.copy(trainer)
        out.model_ = [
            _compress_encoder(m, work_dir / f"member-{i}-{ENCODER_DIR}", method) if isinstance(m, EncoderTrainer) else m
            for i, m in enumerate(members)
        ]
        return out
    raise DatamoatError(
        f"trainer {trainer.kind!r} has no transformer encoder, so there is nothing to compress; "
        "compression applies to embed-linear, finetune and ensembles with such a member."
    )


# --------------------------------------------------------------------- measurement


def model_size_mb(folder: Path) -> float:
    """Total size of the files under ``folder`` (recursively), in MB of 2**20 bytes."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatamoatError(f"{folder}: not a folder, so its size cannot be measured.")
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / _MB


def _encoder_members(trainer: Trainer) -> list[tuple[str, EncoderTrainer]]:
    """(sub-folder of a saved model, trainer) for the trainer itself or its ensemble members."""
    if isinstance(trainer, EncoderTrainer):
        return [("", trainer)]
    if isinstance(trainer, EnsembleTrainer):
        return [(f"member-{i}", m) for i, m in enumerate(trainer.model_) if isinstance(m, EncoderTrainer)]
    return []


def trainer_size_mb(trainer: Trainer) -> float:
    """Size in MB (2**20 bytes) of ``trainer`` saved as a self-contained folder.

    A saved model leaves the unchanged bundled encoder out (it ships with datamoat); it is
    counted here all the same, so that fp32 and compressed models compare like for like.
    """
    with tempfile.TemporaryDirectory(prefix="datamoat-size-") as tmp:
        root = Path(tmp) / "model"
        trainer.save(root)
        for sub, member in _encoder_members(trainer):
            enc_dir = root / sub / ENCODER_DIR
            if not enc_dir.is_dir():
                member.save_encoder(enc_dir)
        return model_size_mb(root)


def _uncached(trainer: Trainer) -> Trainer:
    """``trainer``, or a shallow copy of it without embedding cache, so timings measure the encoder."""
    if isinstance(trainer, EncoderTrainer) and trainer.embedding_cache_dir is not None:
        out = copy.copy(trainer)
        out.use_embedding_cache(None)
        return out
    if isinstance(trainer, EnsembleTrainer):
        members = [_uncached(m) for m in trainer.model_]
        if any(a is not b for a, b in zip(members, trainer.model_, strict=True)):
            out = copy.copy(trainer)
            out.model_ = members
            return out
    return trainer


def measure_latency(trainer: Trainer, texts: list[str], *, repeats: int = 200, batch_size: int = 64) -> dict[str, Any]:
    """Prediction speed of a fitted text trainer.

    texts: sample texts (at least one). repeats: single-text ``predict_proba`` calls timed,
    cycling through ``texts``, after min(10, repeats) untimed warm-up calls. batch_size: texts
    per call for the throughput pass over all of ``texts``.
    Returns ``{"p50_ms", "p95_ms", "mean_ms"}`` (one text per call, milliseconds),
    ``"batch_texts_per_s"``, ``"size_mb"`` (:func:`trainer_size_mb`), ``"repeats"``,
    ``"batch_size"`` and ``"texts"``. An embedding cache, if set, is bypassed.
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise DatamoatError("measure_latency needs at least one text to time.")
    if repeats < 1 or batch_size < 1:
        raise DatamoatError(f"measure_latency: repeats={repeats} and batch_size={batch_size} must be positive.")
    model = _uncached(trainer)
    for i in range(min(10, repeats)):
        model.predict_proba([texts[i % len(texts)]])
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        model.predict_proba([texts[i % len(texts)]])
        times.append(time.perf_counter() - start)
    model.predict_proba(texts[:batch_size])  # warms the batch shapes
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        model.predict_proba(texts[i : i + batch_size])
    batch_seconds = time.perf_counter() - start
    ms = np.asarray(times) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "batch_texts_per_s": float(len(texts) / max(batch_seconds, 1e-9)),
        "size_mb": trainer_size_mb(trainer),
        "repeats": int(repeats),
        "batch_size": int(batch_size),
        "texts": len(texts),
    }


def compression_report(
    original: Trainer, compressed: Trainer, test_df: pd.DataFrame, *, repeats: int = 200, batch_size: int = 64
) -> dict[str, Any]:
    """Size, speed and accuracy of ``original`` next to ``compressed`` on ``test_df``.

    test_df: rows with the trainers' text and label columns; all its texts are used for the
    batch throughput and cycled for the single-text timings (``repeats`` calls each).
    Returns ``{"original": {...}, "compressed": {...}}`` (each :func:`measure_latency`'s dict
    plus ``"accuracy"``), ``"speedup_p50"`` (original p50 / compressed p50), ``"size_ratio"``
    (original / compressed), ``"accuracy_change_points"`` (compressed - original, in
    percentage points), ``"agreement"`` (fraction of rows with the same predicted label) and
    ``"rows_test"``.
    """
    df = as_frame(test_df, "test data")
    text_column = getattr(original, "text_column", None)
    if text_column is None:
        raise DatamoatError(f"trainer {original.kind!r} reads no text column; compression reports need text trainers.")
    require_columns(df, [text_column, original.label_column], "test data")
    texts = df[text_column].fillna("").astype(str).tolist()
    sides: dict[str, dict[str, Any]] = {}
    predictions = {}
    for name, model in (("original", original), ("compressed", compressed)):
        stats = measure_latency(model, texts, repeats=repeats, batch_size=batch_size)
        predictions[name] = model.predict(df)
        stats["accuracy"] = metric_value(df[original.label_column].astype(str).to_numpy(), predictions[name])
        sides[name] = stats
    o, c = sides["original"], sides["compressed"]
    return {
        **sides,
        "speedup_p50": o["p50_ms"] / c["p50_ms"],
        "size_ratio": o["size_mb"] / c["size_mb"],
        "accuracy_change_points": 100.0 * (c["accuracy"] - o["accuracy"]),
        "agreement": float(np.mean(predictions["original"] == predictions["compressed"])),
        "rows_test": len(df),
    }

