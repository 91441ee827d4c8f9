"""DP-SGD fine-tuning of ``finetune``'s network through Opacus.

As in the DP fine-tuning literature (Li et al., 2022; Yu et al., 2022), the embedding layer
(token, position and type embeddings and their LayerNorm) is frozen, and so is the pooler the
mean-pooled head never uses; every other encoder weight and the head train with per-row
gradients from Opacus' hooks (``grad_sample_mode="hooks"``), clipped to
:data:`~datamoat.models.trainers.dp_sgd.MAX_GRAD_NORM` and noised for the target (ε, δ).
Batches are Poisson samples of expected size ``dp_sgd.FINETUNE_BATCH_SIZE`` (the noise is
averaged over the logical batch, so large ones learn better), run as physical batches of
``dp_sgd.FINETUNE_PHYSICAL_BATCH`` rows by ``BatchMemoryManager`` (the optimizer steps once per
logical batch). AdamW with a constant rate: the trainer's ``learning_rate`` for the encoder and
``HEAD_LR_FACTOR`` times it for the fresh head. The texts are padded once to the longest one;
each physical batch is cut to its own longest text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from datamoat.models.trainers.dp_sgd import (
    FINETUNE_BATCH_SIZE,
    FINETUNE_PHYSICAL_BATCH,
    DPFacts,
    facts,
    make_private,
    quiet,
    require_opacus,
)
from datamoat.models.trainers.encoder import (
    configure_cpu_threads,
    mean_pool,
    require_torch,
    resolve_encoder_path,
)
from datamoat.models.trainers.finetune_network import HEAD_LR_FACTOR, FinetuneNetwork, check_device

if TYPE_CHECKING:
    from datamoat.models.trainers.finetune import FinetuneTrainer

FROZEN_PREFIXES = ("embeddings.", "pooler.")
"""Encoder parameters that do not train under DP."""


def _classifier(net: FinetuneNetwork) -> Any:
    """One torch module over ``net``'s encoder, dropout and head: (input_ids, attention_mask) -> logits."""
    torch = require_torch()

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.dropout, self.head = net.encoder, net.dropout, net.head

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self.head(self.dropout(mean_pool(hidden, attention_mask)))

    return Classifier()


def fit_private(trainer: FinetuneTrainer, texts: list[str], y: np.ndarray, *, epsilon: float, delta: float,
                deadline: float | None) -> tuple[FinetuneNetwork, list[dict[str, Any]], DPFacts]:
    """Train ``trainer``'s network on ``texts`` / class codes ``y`` with DP-SGD to (ε, δ).

    deadline: ``time.perf_counter()`` value after which training stops (after the physical step
    that crosses it; the guarantee holds for the planned epochs and so for fewer). Returns the
    trained network, one history dict per epoch run and the :class:`DPFacts`.
    """
    torch = require_torch()
    require_opacus()
    from opacus.utils.batch_memory_manager import BatchMemoryManager
    from torch.utils.data import DataLoader, TensorDataset

    device = check_device(trainer.device)
    if device == "cpu":
        configure_cpu_threads()
    torch.manual_seed(trainer.random_state)
    net = FinetuneNetwork(resolve_encoder_path(trainer.encoder), len(trainer.classes_), trainer.dropout, device,
                          trainer.max_length)
    for name, param in net.encoder.named_parameters():
        if name.startswith(FROZEN_PREFIXES):
            param.requires_grad_(False)
    padded = net.tokenizer.pad(net.tokenize(texts, trainer.max_length), return_tensors="pt")
    data = TensorDataset(padded["input_ids"], padded["attention_mask"], torch.as_tensor(y, dtype=torch.long))
    batch = min(FINETUNE_BATCH_SIZE, len(texts))
    loader = DataLoader(data, batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(trainer.random_state))
    encoder_params = [p for p in net.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": trainer.learning_rate, "weight_decay": trainer.weight_decay},
        {"params": list(net.head.parameters()), "lr": trainer.learning_rate * HEAD_LR_FACTOR, "weight_decay": 0.0},
    ])
    history: list[dict[str, Any]] = []
    with quiet():
        private, dp_optimizer, _, dp_loader, engine = make_private(
            _classifier(net), optimizer, loader, epsilon=epsilon, delta=delta, epochs=trainer.epochs,
            seed=trainer.random_state)
        private.train(True)
        for epoch in range(1, trainer.epochs + 1):
            epoch_start, loss_sum, rows, out_of_time = time.perf_counter(), 0.0, 0, False
            with BatchMemoryManager(data_loader=dp_loader, max_physical_batch_size=FINETUNE_PHYSICAL_BATCH,
                                    optimizer=dp_optimizer) as physical:
                for ids, mask, target in physical:
                    longest = max(int(mask.sum(dim=1).max()), 1) if len(mask) else 1
                    ids, mask, target = ids[:, :longest].to(device), mask[:, :longest].to(device), target.to(device)
                    dp_optimizer.zero_grad(set_to_none=True)
                    loss = torch.nn.functional.cross_entropy(private(ids, mask).float(), target)
                    loss.backward()
                    dp_optimizer.step()  # adds noise and steps only at the end of a logical batch
                    if len(target):
                        loss_sum, rows = loss_sum + float(loss.detach()) * len(target), rows + len(target)
                    if deadline is not None and time.perf_counter() >= deadline:
                        out_of_time = True
                        break
            stopped = "max_seconds" if out_of_time else None
            history.append({"epoch": epoch, "steps": None, "complete": not out_of_time,
                            "train_loss": loss_sum / max(rows, 1), "valid_accuracy": None, "valid_loss": None,
                            "stopped": stopped, "seconds": time.perf_counter() - epoch_start})
            if out_of_time:
                break
    steps = int(sum(n for _, _, n in engine.accountant.history))
    got = facts(engine, dp_optimizer, dp_loader, epsilon=epsilon, delta=delta, epochs=trainer.epochs, steps=steps,
                batch_size=batch, rows=len(texts),
                features=f"{trainer.encoder} encoder fine-tuned with its embedding layer frozen; mean-pooled")
    private.train(False)
    net.train(False)
    return net, history, got
