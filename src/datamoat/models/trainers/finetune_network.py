"""The network behind ``finetune`` and the timing of its training steps.

:class:`FinetuneNetwork` is a transformer encoder (a local Hugging Face checkpoint folder) with
dropout and a linear head on the mean-pooled token vectors, plus what training needs: padded
batches, AdamW with a larger learning rate for the fresh head (:data:`HEAD_LR_FACTOR`), a
CPU copy of the weights, and evaluation. :func:`epoch_batches` groups texts of similar token
length into batches (shuffled within windows and between batches, seeded), so little compute
goes to padding.

:func:`estimate_seconds` predicts how long training takes by timing a few real steps on the
data at hand (:func:`time_steps`): forward + backward time scales with padded tokens, the
clipping + optimizer step is per batch. Measuring under the load of the moment matters on a
shared machine, where torch's threads can be several times slower than on an idle one.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError
from datamoat.models.trainers.encoder import (
    configure_cpu_threads,
    default_device,
    length_buckets,
    mean_pool,
    require_torch,
    resolve_encoder_path,
)

HEAD_LR_FACTOR = 100.0
"""The head's learning rate is this many times ``learning_rate`` (it starts from random weights)."""
SHUFFLE_WINDOW = 50
"""Batches per window of texts that are sorted by length together (a window is a random slice)."""
ESTIMATE_SAMPLE = 4000
"""Texts tokenised by :meth:`FinetuneTrainer.estimate_fit_seconds` to learn the length mix."""


def epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of row indices, each of texts of similar length.

    The rows are shuffled, cut into windows of ``SHUFFLE_WINDOW`` batches, sorted by length
    inside each window and cut into batches; the batch order is then shuffled. lengths: tokens
    per text. Returns index arrays of at most ``batch_size`` rows covering every row once.
    """
    perm = rng.permutation(len(lengths))
    window = batch_size * SHUFFLE_WINDOW
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), window):
        chunk = perm[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def token_lengths(enc: dict[str, list[list[int]]]) -> np.ndarray:
    """Tokens per text of tokenised texts ``enc`` (int array, one per text)."""
    return np.array([len(ids) for ids in enc["input_ids"]])


def clip_and_step(optimizer: Any, max_grad_norm: float) -> None:
    """Clip the gradients of all ``optimizer``'s parameters to global L2 norm ``max_grad_norm``, then step."""
    torch = require_torch()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()


def check_device(device: str | None) -> str:
    """The torch device to use: ``device``, or cuda when available else cpu; DatamoatError if unusable."""
    torch = require_torch()
    if device is None:
        return default_device()
    if not isinstance(device, str) or not (device == "cpu" or device.split(":")[0] == "cuda"):
        raise DatamoatError(f"trainer 'finetune': device={device!r} is not allowed; use None, 'cpu' or 'cuda'.")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DatamoatError(f"trainer 'finetune': device={device!r} was asked for but torch sees no GPU.")
    return device


class FinetuneNetwork:
    """Encoder + dropout + linear head on the mean-pooled token vectors (torch modules)."""

    def __init__(self, path: Path, n_classes: int, dropout: float, device: str, max_length: int) -> None:
        torch = require_torch()
        from transformers import AutoModel, AutoTokenizer

        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.encoder = AutoModel.from_pretrained(str(path)).to(device)
        positions = getattr(self.encoder.config, "max_position_embeddings", None)
        if positions is not None and max_length > int(positions):
            raise DatamoatError(
                f"trainer 'finetune': max_length={max_length} is longer than the {positions} positions "
                f"that encoder {str(path)!r} can read; choose max_length <= {positions}."
            )
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(int(self.encoder.config.hidden_size), n_classes).to(device)

    def tokenize(self, texts: list[str], max_length: int) -> dict[str, list[list[int]]]:
        """Unpadded token ids / masks, truncated to ``max_length``."""
        return self.tokenizer(list(texts), truncation=True, max_length=max_length)

    def batch(self, enc: dict[str, list[list[int]]], idx: np.ndarray) -> dict[str, Any]:
        """Padded tensors on the device for rows ``idx``."""
        padded = self.tokenizer.pad({key: [enc[key][i] for i in idx] for key in enc.keys()}, return_tensors="pt")
        return {key: value.to(self.device) for key, value in padded.items()}

    def logits(self, batch: dict[str, Any]) -> Any:
        hidden = self.encoder(**batch).last_hidden_state
        return self.head(self.dropout(mean_pool(hidden, batch["attention_mask"])))

    def train(self, mode: bool = True) -> None:
        for module in (self.encoder, self.dropout, self.head):
            module.train(mode)

    def optimizer(self, learning_rate: float, weight_decay: float) -> Any:
        """AdamW: decay on encoder matrices only, ``HEAD_LR_FACTOR`` x the rate for the head."""
        torch = require_torch()
        decay, no_decay = [], []
        for name, param in self.encoder.named_parameters():
            (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
        groups = [
            {"params": decay, "weight_decay": weight_decay, "lr": learning_rate},
            {"params": no_decay, "weight_decay": 0.0, "lr": learning_rate},
            {"params": list(self.head.parameters()), "weight_decay": 0.0, "lr": learning_rate * HEAD_LR_FACTOR},
        ]
        try:  # the fused kernel is several times faster on CPU and GPU (0.3 s -> 0.05 s a step here)
            return torch.optim.AdamW(groups, fused=True)
        except (RuntimeError, TypeError, ValueError):  # a device or torch build without it
            return torch.optim.AdamW(groups)

    def state(self) -> dict[str, Any]:
        """A CPU copy of every weight (to restore the best epoch later)."""
        return {
            "encoder": {k: v.detach().to("cpu", copy=True) for k, v in self.encoder.state_dict().items()},
            "head": {k: v.detach().to("cpu", copy=True) for k, v in self.head.state_dict().items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.encoder.load_state_dict(state["encoder"])
        self.head.load_state_dict(state["head"])

    def forward_backward(self, batch: dict[str, Any], target: Any, optimizer: Any, weights: Any = None) -> Any:
        """Cross entropy of ``batch`` against ``target`` (class ``weights`` or None), backpropagated
        into zeroed gradients; returns the loss tensor."""
        torch = require_torch()
        loss = torch.nn.functional.cross_entropy(self.logits(batch).float(), target, weight=weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    def evaluate(self, enc: dict[str, list[list[int]]], y: np.ndarray, batch_size: int) -> tuple[float, float]:
        """(accuracy, mean cross entropy) on tokenised texts ``enc`` with labels ``y``."""
        torch = require_torch()
        self.train(False)
        lengths = token_lengths(enc)
        correct, loss_sum = 0, 0.0
        with torch.inference_mode():
            for idx in length_buckets(lengths, batch_size):
                logits = self.logits(self.batch(enc, idx)).float()
                target = torch.as_tensor(y[idx], device=self.device)
                loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
                correct += int((logits.argmax(dim=1) == target).sum())
        self.train(True)
        return correct / len(y), loss_sum / len(y)


def estimate_seconds(
    texts: list[str],
    *,
    epochs: int,
    batch_size: int,
    max_length: int,
    encoder: str,
    device: str | None,
    valid_size: int,
    timed_steps: int,
) -> float:
    """Seconds a fine-tuning ``fit`` on ``texts`` would take, from a few timed real steps.

    The arguments and the method are those of
    :meth:`datamoat.models.trainers.finetune.FinetuneTrainer.estimate_fit_seconds`, which checks
    them first. Returns 0.0 for no texts.
    """
    started = time.perf_counter()
    path = resolve_encoder_path(encoder)
    dev = check_device(device)
    texts = [t if isinstance(t, str) else "" for t in texts]
    if not texts:
        return 0.0
    if dev == "cpu":
        configure_cpu_threads()
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), min(len(texts), ESTIMATE_SAMPLE), replace=False)]
    net = FinetuneNetwork(path, 2, 0.1, dev, max_length)
    enc = net.tokenize(sample, max_length)
    lengths = token_lengths(enc)
    batches = epoch_batches(lengths, batch_size, rng)
    padded = np.array([len(b) * lengths[b].max() for b in batches], dtype=np.float64)
    scale = len(texts) / len(sample)
    tokens_per_epoch = float(padded.sum()) * scale
    steps_per_epoch = math.ceil(len(texts) / batch_size)
    optimizer = net.optimizer(5e-5, 0.01)
    load_seconds = time.perf_counter() - started

    per_token, per_step = time_steps(net, enc, batches, padded, optimizer, rng, timed_steps)
    mean_padded_len = tokens_per_epoch / len(texts)
    train_epoch = steps_per_epoch * per_step + tokens_per_epoch * per_token
    valid_epoch = valid_size * mean_padded_len * per_token / 3.0
    return float(load_seconds + epochs * (train_epoch + valid_epoch))


def time_steps(
    net: FinetuneNetwork,
    enc: dict[str, list[list[int]]],
    batches: list[np.ndarray],
    padded: np.ndarray,
    optimizer: Any,
    rng: np.random.Generator,
    timed_steps: int,
) -> tuple[float, float]:
    """(seconds of forward + backward per padded token, seconds of clipping + AdamW per step).

    One untimed warm-up step on the median batch, then ``timed_steps`` steps on batches at
    evenly spread quantiles of padded size; medians resist a momentary spike of load on a
    shared machine. padded: rows x longest length per batch.
    """
    torch = require_torch()
    order = np.argsort(padded, kind="stable")
    picks = [order[int(q * (len(order) - 1))] for q in np.linspace(0.2, 0.8, timed_steps)]
    sync = torch.cuda.synchronize if net.device.startswith("cuda") else (lambda: None)
    token_seconds, step_seconds = [], []
    net.train(True)
    for n, pick in enumerate([order[len(order) // 2], *picks]):
        batch = net.batch(enc, batches[pick])
        target = torch.as_tensor(rng.integers(0, 2, len(batches[pick])), device=net.device)
        sync()
        t0 = time.perf_counter()
        net.forward_backward(batch, target, optimizer)
        sync()
        t1 = time.perf_counter()
        clip_and_step(optimizer, 1.0)
        sync()
        if n > 0:
            token_seconds.append((t1 - t0) / float(padded[pick]))
            step_seconds.append(time.perf_counter() - t1)
    return float(np.median(token_seconds)), float(np.median(step_seconds))
