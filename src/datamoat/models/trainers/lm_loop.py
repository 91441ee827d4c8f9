"""The training loop and the scoring of causal language models (any ``transformers`` causal LM).

:func:`train_loop` runs AdamW on random windows of the training stream with a linear warm-up
then cosine decay of the learning rate to ``min_lr_ratio`` of its peak, gradient clipping,
validation loss every ``eval_every`` steps on a fixed sample of validation blocks, early
stopping after ``patience`` validations without improvement, and keeps the best weights (a CPU
copy, restored at the end). Under a time budget the schedule follows the clock, not a planned
step count: warm-up ends at ``warmup_steps`` or at ``warmup_share`` of ``max_seconds``,
whichever comes first, the cosine's progress is the larger of step / ``max_steps`` and elapsed /
``max_seconds``, and validation comes every ``eval_seconds``. So a run whose machine slows down
(a shared CPU whose load rises) still warms up, validates and decays its learning rate to the
floor within its budget, and ends on its best checkpoint.

:func:`score_blocks` gives the summed loss (nats) and the number of predicted tokens per
document, from which validation loss, perplexity, bits per character and the per-document loss
distribution follow (:mod:`datamoat.models.evaluation.lm_metrics`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from datamoat.models.trainers.lm_data import IGNORE, Blocks, random_windows


@dataclass
class LoopSettings:
    """Settings of :func:`train_loop` (steps, tokens and seconds are per call).

    learning_rate: peak AdamW rate; min_lr_ratio: the rate at the end, as a share of the peak;
    warmup_steps: linear warm-up from 0; warmup_share: with ``max_seconds``, warm-up also ends
    once this share of it has passed; max_steps / max_seconds: the schedule's length (either
    can end training; ``max_seconds`` None: no time limit); batch_size, context: windows per step
    and tokens per window; eval_every: steps between validations (None: by the clock only);
    eval_seconds: also validate once this many seconds have passed since the last validation
    (None: by steps only);
    eval_blocks: validation blocks
    scored each time (a fixed random sample); patience: validations without a better loss before
    stopping (None: never); seed: the window order; reserve_final_eval: end training early enough
    to score every validation block within ``max_seconds`` (the time is estimated from the timed
    validation passes, doubled: a busy machine is slower at one moment than the next).
    """

    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    warmup_share: float = 0.05
    max_steps: int = 2000
    max_seconds: float | None = None
    batch_size: int = 32
    context: int = 128
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0
    eval_every: int | None = 100
    eval_seconds: float | None = None
    eval_blocks: int = 64
    patience: int | None = 5
    seed: int = 0
    reserve_final_eval: bool = False


@dataclass
class LoopResult:
    """What :func:`train_loop` did: ``history`` (one dict per validation: step, tokens seen,
    train_loss (mean since the last validation, nats per token), valid_loss, lr, seconds),
    ``best_step``, ``stop_reason`` (``"max_steps"``, ``"max_seconds"`` or ``"patience"``),
    ``steps``, ``tokens`` (training tokens seen) and ``seconds``."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_step: int = 0
    stop_reason: str = "max_steps"
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0


PROBE_STEPS = 6
"""On CPU, the first steps after the start and after every validation alternate between all the
cores and one thread (3 steps each); the faster setting by median is kept until the next probe.
On a machine whose cores are busy with other work, torch's threads wait on each other: a tiny
model's step took 1.9 s with 2 threads and 0.08 s with 1 (measured here, load 16 on 2 cores);
on an idle machine all cores are faster."""


REPROBE_SECONDS = 60.0
"""The probe runs again after a validation at most this often: under heavy load a step with all
cores can take seconds (a 2-minute run that probed after each of its validations, every 6 s,
spent its last 14 s on 10 steps)."""


class ThreadProbe:
    """Chooses torch's intra-op threads on CPU from timed training steps (see :data:`PROBE_STEPS`)."""

    def __init__(self, device: str) -> None:
        import torch

        from datamoat.models.trainers.encoder import cpu_threads

        self.torch = torch
        self.most = max(1, cpu_threads())
        self.active = device == "cpu" and self.most > 1
        self.left = PROBE_STEPS if self.active else 0
        self.times: dict[int, list[float]] = {}
        self.threads = torch.get_num_threads()
        self.probed_at = 0.0

    def before_step(self) -> None:
        """Set the threads of the coming step (alternating while probing)."""
        if self.left > 0:
            self.threads = self.most if self.left % 2 == 0 else 1
            self.torch.set_num_threads(self.threads)

    def after_step(self, seconds: float) -> None:
        """Record a probing step's time; after the last one keep the faster setting."""
        if self.left <= 0:
            return
        self.times.setdefault(self.threads, []).append(seconds)
        self.left -= 1
        if self.left == 0:
            # a tie goes to fewer threads: the same speed for less of a shared machine
            self.threads = min(self.times, key=lambda n: (float(np.median(self.times[n])), n))
            self.torch.set_num_threads(self.threads)
            self.times = {}

    def again(self, now: float) -> None:
        """Probe again over the next steps (the load of a shared machine changes) when
        :data:`REPROBE_SECONDS` have passed since the last probe (``now``: the loop's clock)."""
        if self.active and now - self.probed_at >= REPROBE_SECONDS:
            self.left, self.probed_at = PROBE_STEPS, now


def lr_at(step: int, elapsed: float, s: LoopSettings) -> float:
    """Learning rate of step ``step`` (0-based) after ``elapsed`` seconds: linear warm-up to the
    peak, then cosine decay to ``min_lr_ratio`` of it (see the module docstring)."""
    warm = (step + 1) / max(1, s.warmup_steps)
    if s.max_seconds:
        warm = max(warm, elapsed / max(s.warmup_share * s.max_seconds, 1e-9))
    if warm < 1.0:
        return s.learning_rate * warm
    progress = (step - s.warmup_steps) / max(1, s.max_steps - s.warmup_steps)
    if s.max_seconds:
        progress = max(progress, elapsed / s.max_seconds)
    progress = min(max(progress, 0.0), 1.0)
    floor = s.learning_rate * s.min_lr_ratio
    return floor + 0.5 * (s.learning_rate - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model: Any, s: LoopSettings) -> Any:
    """AdamW over the trainable weights: decay on matrices, none on biases, norms and embeddings'
    1-D weights; the fused kernel where the build has it."""
    import torch

    decay, no_decay = [], []
    for _name, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=s.learning_rate, betas=(0.9, 0.99), fused=True)
    except (RuntimeError, TypeError, ValueError):  # a device or build without the fused kernel
        return torch.optim.AdamW(groups, lr=s.learning_rate, betas=(0.9, 0.99))


def block_losses(model: Any, inputs: Any, targets: Any) -> Any:
    """Per-position cross entropy (nats), shape (batch, context), 0 where the target is IGNORE."""
    import torch

    logits = model(input_ids=inputs).logits.float()
    loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE, reduction="none"
    )
    return loss.view(targets.shape)


def score_blocks(model: Any, blocks: Blocks, device: str, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(summed loss in nats, predicted tokens) per document of ``blocks``, float64 / int64 arrays
    of length ``blocks.n_docs``. The model is put in eval mode (and left there)."""
    import torch

    nats = np.zeros(blocks.n_docs, dtype=np.float64)
    tokens = np.zeros(blocks.n_docs, dtype=np.int64)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(blocks.inputs), batch_size):
            # trailing padding changes no earlier logit (causal attention): cut it off
            targets = blocks.targets[start : start + batch_size]
            width = int((targets != IGNORE).any(axis=0).nonzero()[0].max(initial=0)) + 1
            x = torch.as_tensor(blocks.inputs[start : start + batch_size, :width], device=device)
            y = torch.as_tensor(targets[:, :width], device=device)
            per_block = block_losses(model, x, y).sum(dim=1).double().cpu().numpy()
            owners = blocks.doc[start : start + batch_size]
            np.add.at(nats, owners, per_block)
            np.add.at(tokens, owners, (blocks.targets[start : start + batch_size] != IGNORE).sum(axis=1))
    return nats, tokens


def mean_loss(model: Any, blocks: Blocks, device: str) -> float:
    """Mean loss per predicted token (nats) over ``blocks``."""
    nats, tokens = score_blocks(model, blocks, device)
    return float(nats.sum() / max(1, tokens.sum()))


def train_loop(
    model: Any,
    stream: np.ndarray,
    valid: Blocks | None,
    s: LoopSettings,
    device: str,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LoopResult:
    """Train ``model`` in place on windows of ``stream`` (token ids); see the module docstring.

    valid: validation blocks (None: no validation, no early stopping; the last weights are kept).
    clock: seconds, the time every budget, schedule and validation interval is measured on.
    Returns the :class:`LoopResult`; the model ends in eval mode with the best weights.
    """
    import torch

    started = clock()
    rng = np.random.default_rng(s.seed)
    torch.manual_seed(s.seed)
    optimizer = make_optimizer(model, s)
    sample = None
    if valid is not None and len(valid.inputs):
        pick = np.random.default_rng(s.seed + 1).permutation(len(valid.inputs))[: s.eval_blocks]
        sample = valid.take(np.sort(pick))
    result = LoopResult()
    best_loss, best_state, bad = math.inf, None, 0
    block_s = 0.0  # seconds per validation block, from the last timed validation pass
    n_valid = len(valid.inputs) if valid is not None else 0
    run_loss, run_steps = 0.0, 0
    params = [p for p in model.parameters() if p.requires_grad]
    model.train()
    probe = ThreadProbe(device)
    step, last_eval = 0, 0.0
    while True:
        probe.before_step()
        step_started = clock()
        elapsed = step_started - started
        lr = lr_at(step, elapsed, s)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = random_windows(stream, s.context, s.batch_size, rng)
        loss = block_losses(model, torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
        optimizer.step()
        probe.after_step(clock() - step_started)
        step += 1
        run_loss += float(loss.detach())
        run_steps += 1
        result.tokens += x.size
        elapsed = clock() - started
        reserve = 2.0 * block_s * n_valid if s.reserve_final_eval else 0.0
        out_of_time = s.max_seconds is not None and elapsed + reserve >= s.max_seconds
        done = step >= s.max_steps or out_of_time
        due = s.eval_seconds is not None and elapsed - last_eval >= s.eval_seconds
        if (s.eval_every and step % s.eval_every == 0) or due or done:
            last_eval = elapsed
            eval_started = clock()
            valid_loss = mean_loss(model, sample, device) if sample is not None else None
            if sample is not None:
                block_s = (clock() - eval_started) / max(1, len(sample.inputs))
            model.train()
            result.history.append({
                "step": step, "tokens": result.tokens, "train_loss": run_loss / run_steps,
                "valid_loss": valid_loss, "lr": lr, "seconds": round(elapsed, 2), "threads": probe.threads,
            })
            run_loss, run_steps = 0.0, 0
            probe.again(elapsed)
            if progress is not None:
                shown = f", validation {valid_loss:.4f}" if valid_loss is not None else ""
                progress(f"step {step:,}: {result.tokens:,} tokens, training loss "
                         f"{result.history[-1]['train_loss']:.4f}{shown} nats/token ({elapsed:.0f} s)")
            if valid_loss is not None:
                if valid_loss < best_loss:
                    best_loss, bad, result.best_step = valid_loss, 0, step
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                else:
                    bad += 1
                    if s.patience is not None and bad >= s.patience and not done:
                        result.stop_reason = "patience"
                        break
            else:
                result.best_step = step
        if done:
            result.stop_reason = "max_seconds" if out_of_time and step < s.max_steps else "max_steps"
            break
    if best_state is not None and result.best_step != step:
        model.load_state_dict(best_state)
    model.eval()
    result.steps = step
    result.seconds = clock() - started
    return result
