"""Choosing the size of a from-scratch language model from the corpus and the time budget.

A small team's budget is minutes on a laptop CPU, so the model is sized by compute: the
machine's speed is measured on a reference model (a few real training steps, under the load of
the moment), every size on the ladder :data:`LADDER` gets an estimated number of training tokens
it can see in the budget, and the largest size is chosen that still sees at least
:data:`TOKENS_PER_PARAM` tokens per weight (a larger model that sees too few tokens ends worse
than a smaller one trained longer) and has at most :data:`PARAMS_PER_TOKEN` weights per token
of training text (beyond that it only memorises the corpus). Costs follow the usual estimate
of 6 x weights floating-point operations per token for forward + backward, plus attention.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Size:
    """One model size: layers, heads, width (n_embd) and context (tokens)."""

    layers: int
    heads: int
    width: int
    context: int

    def block_params(self) -> int:
        """Weights in the Transformer blocks (12 x width^2 per layer; embeddings excluded)."""
        return 12 * self.layers * self.width * self.width

    def params(self, vocab: int) -> int:
        """All weights, with tied token embeddings and learned positions (biases and norms ignored)."""
        return self.block_params() + (vocab + self.context) * self.width

    def flops_per_token(self, vocab: int) -> float:
        """Training FLOPs per token: 6 x (blocks + output layer) + attention (6 x layers x context x width)."""
        return 6.0 * (self.block_params() + vocab * self.width) + 6.0 * self.layers * self.context * self.width

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


LADDER: tuple[Size, ...] = (
    Size(2, 2, 64, 64),
    Size(4, 4, 128, 64),
    Size(4, 4, 192, 128),
    Size(6, 4, 256, 128),
    Size(6, 6, 384, 256),
    Size(8, 8, 512, 256),
    Size(12, 12, 768, 512),
)
"""Sizes tried, smallest first (heads of 32-64 dimensions). The small sizes have a context of 64
tokens: in minutes of CPU a shorter window learns more per token (more, and more varied, windows
per step; fewer positions to learn). Measured on tiny Shakespeare's validation text (first 80%
trained on, the next 40,000 characters scored, 100 s of one CPU thread each, about 0.85 M
tokens): 4 layers x 128 with context 64 reached 1.91 nats/char, with context 128 2.17 (the same
tokens per step and learning rate 3e-3)."""
REFERENCE = LADDER[1]
"""The size timed to measure the machine's speed (small, so timing costs seconds on a busy CPU;
its smaller matrices run at a lower rate than the larger sizes', so larger sizes are estimated
conservatively)."""
REFERENCE_TOKENS = 2048
"""Tokens per timed step."""
TOKENS_PER_STEP = {"cpu": 4096, "cuda": 32768}
"""Tokens per training step (batch x context) by device: enough to keep the matrix kernels busy."""
TOKENS_PER_PARAM = 2.0
"""A size is chosen only if it sees at least this many training tokens per block weight in the budget
(Chinchilla's compute-optimal 20 is for far larger budgets). Measured on tiny Shakespeare's
validation text with 100 s of one CPU thread each: 4 layers x 128 (0.79 M block weights, context
64) saw 0.86 M tokens (1.1 per weight) and reached 1.91 nats/char; 4 x 192 (1.77 M, 0.26 tokens
per weight) 2.41 and 6 x 128 (1.18 M, 0.47 per weight) 2.41, both at context 128 (4 x 128 at
context 128: 2.17). A larger size is taken only with clearly more tokens per weight than those
that lost; 2 x 64 (0.1 M) is for corpora too small for 4 x 128: with 0.45 M tokens in 3 minutes
4 x 128 reached 2.23, 2 x 64 with twice the tokens 2.40."""
PARAMS_PER_TOKEN = 10.0
"""... and has at most this many block weights per token of training text."""


MIN_STEPS = 2000
"""Batches shrink so that training takes at least this many steps when the budget allows few
tokens: in minutes of a busy CPU, more updates of fewer tokens learn more than a few large ones
(on tiny Shakespeare, 55 steps of 4,096 tokens reached 2.58 nats/char where the peer's 584 steps
of 768 tokens, in the same time, reached 2.23; on its validation text with 60 s of one thread,
4 x 128 at context 64 and learning rate 3e-3, 963 steps of 512 tokens reached 2.04, 514 of
1,024 tokens 2.09)."""


def learning_rate(size: Size) -> float:
    """Peak AdamW rate: 3e-3 x 128 / width, between 1e-3 and 3e-3 (Adam's best rate for hidden
    layers falls about as 1 / width). Measured at 4 layers x 128 on tiny Shakespeare's validation
    text with one CPU thread, context 64, 1,024 tokens a step: in 100 s 3e-3 reached 1.91
    nats/char; in 60 s 6e-3 reached 2.02 and 3e-3 2.09, but in the 5-minute benchmark run 6e-3 sat
    on a plateau of 2.5 (training loss) for 400 steps and ended at 2.09, so the rate that also
    holds for longer schedules is taken; at context 128 (100 s) 5e-3 reached 2.18, 2e-3 2.33."""
    return float(min(3e-3, max(1e-3, 3e-3 * 128 / size.width)))


def batch_size(size: Size, device: str, tokens_in_budget: float | None = None) -> int:
    """Windows per step: :data:`TOKENS_PER_STEP` / context, fewer when ``tokens_in_budget`` (the
    estimated training tokens) would give under :data:`MIN_STEPS` steps; at least 4."""
    most = max(4, TOKENS_PER_STEP.get(device.split(":")[0], 4096) // size.context)
    if tokens_in_budget is None:
        return most
    return int(min(most, max(4, round(tokens_in_budget / MIN_STEPS / size.context))))


def measure_flops(vocab: int, device: str, steps: int = 1) -> float:
    """Training FLOP/s of the :data:`REFERENCE` size on random tokens (one untimed warm-up step,
    then the fastest of ``steps`` timed ones: a momentary spike of load is not the machine). On
    CPU this is measured with all cores and with one thread (see
    :data:`~datamoat.models.trainers.lm_loop.PROBE_STEPS`), and the faster counts."""
    import torch

    from datamoat.models.trainers.encoder import cpu_threads

    if device != "cpu" or cpu_threads() <= 1:
        return _measure(vocab, device, steps)
    rates = {}
    for threads in (cpu_threads(), 1):
        torch.set_num_threads(threads)
        rates[threads] = _measure(vocab, device, steps)
    best = max(rates, key=lambda n: rates[n])
    torch.set_num_threads(best)
    return rates[best]


def _measure(vocab: int, device: str, steps: int) -> float:
    import torch

    from datamoat.models.trainers.causal_lm_model import new_model

    model = new_model(REFERENCE, vocab).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    b = max(1, REFERENCE_TOKENS // REFERENCE.context)
    x = torch.randint(0, vocab, (b, REFERENCE.context), device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    times = []
    for n in range(steps + 1):
        sync()
        t0 = time.perf_counter()
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if n:
            times.append(time.perf_counter() - t0)
    return REFERENCE.flops_per_token(vocab) * b * REFERENCE.context / min(times)


def choose_size(train_tokens: int, vocab: int, seconds: float, flops_per_s: float) -> tuple[Size, dict[str, Any]]:
    """The size to train and the reasons: the largest of :data:`LADDER` that sees at least
    :data:`TOKENS_PER_PARAM` tokens per block weight in ``seconds`` at ``flops_per_s`` and has at
    most :data:`PARAMS_PER_TOKEN` block weights per training token; when none does, 4 layers x 128
    (2 x 64 when the corpus is too small even for that)."""
    # the floor is 4 layers x 128 whatever the time (it learnt faster than 2 x 64 even at half the
    # tokens: TOKENS_PER_PARAM's note); the 2 x 64 size is for corpora too small for it
    least = LADDER[1] if LADDER[1].block_params() <= PARAMS_PER_TOKEN * train_tokens else LADDER[0]
    chosen = least
    rows = []
    for size in LADDER:
        tokens = seconds * flops_per_s / size.flops_per_token(vocab)
        enough_time = tokens >= TOKENS_PER_PARAM * size.block_params()
        enough_data = size.block_params() <= PARAMS_PER_TOKEN * train_tokens
        rows.append({**size.to_dict(), "params": size.params(vocab), "tokens_in_budget": int(tokens),
                     "fits_time": bool(enough_time), "fits_data": bool(enough_data)})
        if enough_time and enough_data and size.block_params() >= least.block_params():
            chosen = size
    est_tokens = int(seconds * flops_per_s / chosen.flops_per_token(vocab))
    floor = chosen in LADDER[:2] and not next(r for r in rows if r["width"] == chosen.width)["fits_time"]
    rule = "the smallest size for this corpus (no larger one fits the rule: at least" if floor else "the largest size that sees at least"
    why = (f"model: {chosen.layers} layers x {chosen.width} wide, {chosen.heads} heads, context {chosen.context} "
           f"({chosen.params(vocab):,} weights): {rule} {TOKENS_PER_PARAM:g} training "
           f"tokens per weight in {seconds:.0f} s at the measured {flops_per_s / 1e9:.1f} GFLOP/s (about "
           f"{est_tokens:,} tokens, {est_tokens / max(train_tokens, 1):.1f} passes over the {train_tokens:,} "
           f"training tokens) and has at most {PARAMS_PER_TOKEN:g} weights per training token" + (")" if floor else ""))
    return chosen, {"reason": why, "flops_per_s": float(np.round(flops_per_s, -6)), "candidates": rows}
