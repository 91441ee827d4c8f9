"""The language-model training loop under a time budget (its schedule follows the clock, so a
slower machine still warms up, validates and decays within the budget) and the size rule."""

from __future__ import annotations

import math

import numpy as np
import pytest


def test_the_learning_rate_follows_the_clock_under_a_time_budget() -> None:
    from datamoat.models.trainers.lm_loop import LoopSettings, lr_at

    timed = LoopSettings(learning_rate=1e-3, min_lr_ratio=0.1, warmup_steps=100, warmup_share=0.05,
                         max_steps=10**9, max_seconds=100.0)
    assert lr_at(9, 1.0, timed) == pytest.approx(2e-4)  # 20% of the 5 s warm-up has passed (10% of the steps)
    assert lr_at(9, 5.0, timed) == pytest.approx(1e-3, rel=1e-2)  # a slow machine: warm-up ends by time at step 10
    assert lr_at(10, 50.0, timed) == pytest.approx(1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(10, 100.0, timed) == pytest.approx(1e-4) and lr_at(10, 400.0, timed) == pytest.approx(1e-4)
    by_steps = LoopSettings(learning_rate=1e-3, min_lr_ratio=0.1, warmup_steps=100, max_steps=1100)
    assert lr_at(9, 1e6, by_steps) == pytest.approx(1e-4)  # no time budget: the clock plays no part
    assert lr_at(600, 1e6, by_steps) == pytest.approx(1e-4 + 0.5 * 9e-4)
    assert lr_at(1100, 0.0, by_steps) == pytest.approx(1e-4)


class SlowingClock:
    """A machine that slows down 5x after a tenth of the budget (a shared CPU whose load rises):
    each reading advances 0.02 s for the first 30 readings, then 0.1 s (a step reads it 3 times)."""

    def __init__(self) -> None:
        self.now, self.calls = 0.0, 0

    def __call__(self) -> float:
        self.calls += 1
        self.now += 0.02 if self.calls <= 30 else 0.1
        return self.now


def test_a_timed_run_on_a_slowing_machine_validates_by_the_clock_and_ends_decayed_on_its_best_weights() -> None:
    from datamoat.models.trainers.causal_lm_model import new_model
    from datamoat.models.trainers.lm_data import document_blocks
    from datamoat.models.trainers.lm_loop import LoopSettings, mean_loss, train_loop
    from datamoat.models.trainers.lm_sizing import Size

    pattern = np.tile(np.arange(1, 9, dtype=np.int32), 400)  # a learnable cycle of 8 tokens
    valid = document_blocks([pattern[:200]], 0, 16)
    model = new_model(Size(1, 2, 16, 16), 10, seed=0)
    settings = LoopSettings(learning_rate=3e-3, warmup_steps=10**6, warmup_share=0.1, max_steps=10**9,
                            max_seconds=6.0, batch_size=4, context=16, eval_every=10**9, eval_seconds=1.0,
                            patience=None, seed=0)
    result = train_loop(model, pattern, valid, settings, "cpu", clock=SlowingClock())
    history = result.history
    assert result.stop_reason == "max_seconds" and result.seconds <= 6.6  # the budget, give or take one step
    assert 5 <= len(history) <= 7  # every second of the 6, however many steps a second holds
    assert history[0]["lr"] > 0.9 * 3e-3  # at 1 s warm-up (0.6 s) is over: ended by time, not by its 10^6 steps
    assert history[-1]["lr"] < 0.11 * 3e-3  # the cosine reached its floor (10%) although the machine slowed down
    best = min(h["valid_loss"] for h in history)  # all 13 validation blocks are scored each time
    assert best < history[0]["valid_loss"] and mean_loss(model, valid, "cpu") == pytest.approx(best, rel=1e-4)


def test_the_size_follows_tokens_per_weight_and_the_rate_and_batch_follow_the_size() -> None:
    from datamoat.models.trainers.lm_sizing import (
        LADDER,
        MIN_STEPS,
        TOKENS_PER_PARAM,
        batch_size,
        choose_size,
        learning_rate,
    )

    vocab, flops = 65, 2e10
    small, why = choose_size(200_000, vocab, 600.0, flops)  # a big enough corpus, minutes of a CPU
    assert small == LADDER[1] and "4 layers x 128" in why["reason"]
    assert choose_size(200_000, vocab, 30.0, flops)[0] == LADDER[1]  # the floor, however short the time
    assert choose_size(5_000, vocab, 600.0, flops)[0] == LADDER[0]  # too little text for 4 x 128
    big, why = choose_size(10**9, vocab, 600.0, 1e14)  # a GPU's speed and a large corpus
    row = next(r for r in why["candidates"] if (r["layers"], r["width"]) == (big.layers, big.width))
    assert big.width > 128 and row["tokens_in_budget"] >= TOKENS_PER_PARAM * big.block_params()
    larger = [r for r in why["candidates"] if r["width"] > big.width]
    assert all(not (r["fits_time"] and r["fits_data"]) for r in larger)  # the largest that fits the rule
    assert learning_rate(LADDER[1]) == pytest.approx(3e-3) and learning_rate(LADDER[-1]) == pytest.approx(1e-3)
    assert batch_size(LADDER[1], "cpu", 2e6) * LADDER[1].context * MIN_STEPS <= 2e6 + LADDER[1].context * MIN_STEPS
    assert batch_size(LADDER[1], "cpu", 1e9) * LADDER[1].context == 4096 and batch_size(LADDER[1], "cpu", 1e3) == 4
