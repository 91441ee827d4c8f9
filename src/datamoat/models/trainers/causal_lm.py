"""``causal-lm``: a decoder-only Transformer language model trained from scratch on a corpus.

Steps of :meth:`CausalLMTrainer.fit`:

1. a tokenizer is trained on the training documents only (characters for tiny corpora,
   byte-level BPE for larger ones: :mod:`~datamoat.models.trainers.lm_tokenizer`);
2. the model is sized from the corpus and the time budget (``max_seconds``) by measured
   throughput (:mod:`~datamoat.models.trainers.lm_sizing`), unless ``layers`` / ``width`` /
   ``heads`` / ``context`` are given;
3. a GPT-2 of that size (:mod:`~datamoat.models.trainers.causal_lm_model`) is trained by
   :func:`~datamoat.models.trainers.lm_loop.train_loop`: AdamW, warm-up + cosine decay, gradient
   clipping, validation every ``eval_every`` steps, early stopping, the best weights kept.

``report_`` says what was chosen and why (tokenizer, size, learning rate, batch) and what
happened (steps, tokens seen, tokens/s, stop reason). ``max_seconds`` covers the whole of
``fit``: tokenizer, timing, training and the final validation pass.
"""

from __future__ import annotations

import time
from typing import Any

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import register_trainer
from datamoat.models.trainers.lm_common import check_number, pick_device
from datamoat.models.trainers.lm_contract import LMTrainer, Progress
from datamoat.models.trainers.lm_data import check_stream, document_blocks, encode_documents, token_stream
from datamoat.models.trainers.lm_loop import LoopSettings, train_loop
from datamoat.models.trainers.lm_sizing import Size, batch_size, choose_size, learning_rate, measure_flops
from datamoat.models.trainers.lm_tokenizer import TOKENIZER_KINDS, choose_tokenizer_kind, train_tokenizer

VALIDATIONS_PER_RUN = 20
"""With ``eval_every=None`` the validation loss is measured about this many times per run."""


@register_trainer
class CausalLMTrainer(LMTrainer):
    """From-scratch causal language model (GPT-2 architecture) sized to the corpus and the budget.

    Parameters
    ----------
    max_seconds:
        Wall-clock budget of ``fit`` in seconds (None: ``max_steps`` alone ends training; the
        size is then chosen for 600 s).
    max_steps:
        Training steps at most (None: only ``max_seconds`` ends training).
    tokenizer:
        ``"auto"`` (characters up to 2 M training characters, else byte-level BPE), ``"char"`` or ``"bpe"``.
    layers, heads, width, context:
        The size; None (all four) chooses it by measured throughput. Give all four or none.
    learning_rate:
        Peak AdamW rate (None: ``lm_sizing.learning_rate``, 3e-3 at 128 wide, less for wider models).
    batch_size:
        Windows per step (None: about 4,096 tokens a step on CPU, 32,768 on a GPU, fewer when the
        budget allows under ``lm_sizing.MIN_STEPS`` steps).
    dropout:
        Dropout of the blocks and embeddings.
    eval_every:
        Steps between validations (None: about 20 per run, every ``max_seconds`` / 20 seconds of
        training under a time budget).
    patience:
        Validations without a better validation loss before stopping (None: never).
    random_state:
        Seed of the weights and the window order.
    device:
        None (cuda when torch sees a GPU, else cpu), ``"cpu"`` or ``"cuda"``.
    """

    kind = "causal-lm"

    def __init__(
        self,
        *,
        max_seconds: float | None = 600.0,
        max_steps: int | None = None,
        tokenizer: str = "auto",
        layers: int | None = None,
        heads: int | None = None,
        width: int | None = None,
        context: int | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        dropout: float = 0.0,
        eval_every: int | None = None,
        patience: int | None = 5,
        random_state: int = 0,
        device: str | None = None,
    ) -> None:
        self.max_seconds = max_seconds
        self.max_steps = max_steps
        self.tokenizer = tokenizer
        self.layers = layers
        self.heads = heads
        self.width = width
        self.context = context
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.dropout = dropout
        self.eval_every = eval_every
        self.patience = patience
        self.random_state = random_state
        self.device = device

    def _validate(self) -> Size | None:
        """Check the parameters; the size when it is given."""
        k = self.kind
        check_number(k, "max_seconds", self.max_seconds)
        for name in ("max_steps", "layers", "heads", "width", "context", "batch_size", "eval_every", "patience"):
            check_number(k, name, getattr(self, name), integer=True)
        check_number(k, "learning_rate", self.learning_rate)
        check_number(k, "dropout", self.dropout, inclusive=True, optional=False)
        if self.dropout >= 1:
            raise DatamoatError(f"trainer {k!r}: dropout={self.dropout!r} must be below 1.")
        if self.max_seconds is None and self.max_steps is None:
            raise DatamoatError(f"trainer {k!r}: give max_seconds or max_steps (or both); training needs an end.")
        if self.tokenizer not in TOKENIZER_KINDS:
            raise DatamoatError(f"trainer {k!r}: tokenizer={self.tokenizer!r} is not known; use {', '.join(TOKENIZER_KINDS)}.")
        given = [getattr(self, n) for n in ("layers", "heads", "width", "context")]
        if all(v is None for v in given):
            return None
        if any(v is None for v in given):
            raise DatamoatError(f"trainer {k!r}: give all of layers, heads, width and context, or none (chosen by budget).")
        if self.width % self.heads:
            raise DatamoatError(f"trainer {k!r}: width={self.width} must be a multiple of heads={self.heads}.")
        return Size(self.layers, self.heads, self.width, self.context)

    def _fit(self, train: list[str], valid: list[str] | None, progress: Progress) -> None:
        started = time.perf_counter()
        say = progress or (lambda _m: None)
        given = self._validate()
        device = pick_device(self.kind, self.device)
        n_chars = sum(len(t) for t in train)
        tok_kind, tok_why = choose_tokenizer_kind(n_chars, self.tokenizer)
        say(tok_why)
        tokenizer = train_tokenizer(train, tok_kind)
        eos = int(tokenizer.eos_token_id)
        vocab = len(tokenizer)
        stream = token_stream(encode_documents(tokenizer, train), eos)
        valid_ids = encode_documents(tokenizer, valid) if valid is not None else None

        if given is None:  # sized by the measured speed of this machine now
            budget = float(self.max_seconds) if self.max_seconds is not None else 600.0
            flops: float | None = measure_flops(vocab, device)
            left = budget - (time.perf_counter() - started)
            size, sizing = choose_size(len(stream), vocab, max(left, 1.0), flops)
        else:  # nothing to choose: no timing
            flops, size, sizing = None, given, {"reason": "model: size given by the caller", "flops_per_s": None}
        say(sizing["reason"])
        check_stream(stream, size.context, "the training corpus")
        tokens_in_budget = None
        if flops and self.max_seconds is not None:
            tokens_in_budget = max(self.max_seconds - (time.perf_counter() - started), 1.0) * flops / size.flops_per_token(vocab)
        bs = self.batch_size or batch_size(size, device, tokens_in_budget)
        lr = self.learning_rate or learning_rate(size)
        step_s = size.flops_per_token(vocab) * bs * size.context / flops if flops else None
        train_s = None
        if self.max_seconds is not None:  # the loop keeps back the time of the final validation pass
            train_s = self.max_seconds - (time.perf_counter() - started)
            if train_s <= 2 * (step_s or 0.0) or train_s <= 0:
                raise DatamoatError(
                    f"trainer {self.kind!r}: max_seconds={self.max_seconds:g} leaves no time to train "
                    f"({time.perf_counter() - started:.0f} s went to the tokenizer and timing)."
                )
        planned = int(train_s / step_s) if train_s is not None and step_s else int(self.max_steps or 2000)
        if self.max_steps is not None:
            planned = min(planned, int(self.max_steps))
        # validation by the clock under a time budget (about VALIDATIONS_PER_RUN of them however
        # fast the machine turns out to be), by steps otherwise or when eval_every is given
        by_clock = train_s is not None and not self.eval_every
        eval_seconds = train_s / VALIDATIONS_PER_RUN if by_clock else None
        eval_every = None if by_clock else self.eval_every or max(10, planned // VALIDATIONS_PER_RUN)
        settings = LoopSettings(
            learning_rate=lr, warmup_steps=max(1, min(100, planned // 20)),
            max_steps=int(self.max_steps) if self.max_steps is not None else 10**9, max_seconds=train_s,
            batch_size=bs, context=size.context, eval_every=eval_every, eval_seconds=eval_seconds,
            patience=self.patience, seed=self.random_state, reserve_final_eval=valid is not None,
        )
        from datamoat.models.trainers.causal_lm_model import new_model

        model = new_model(size, vocab, dropout=self.dropout, eos_id=eos, seed=self.random_state).to(device)
        blocks = document_blocks(valid_ids, eos, size.context) if valid_ids is not None else None
        loop = train_loop(model, stream, blocks, settings, device, progress=say)
        self.model_, self.tokenizer_, self.device_ = model, tokenizer, device
        self.history_ = loop.history
        self.report_: dict[str, Any] = {
            "tokenizer": {"kind": tok_kind, "vocab": vocab, "reason": tok_why},
            "size": {**size.to_dict(), "params": int(sum(p.numel() for p in model.parameters())),
                     "reason": sizing["reason"], "candidates": sizing.get("candidates", [])},
            "flops_per_s": sizing["flops_per_s"],
            "training": {"learning_rate": lr, "batch_size": bs, "warmup_steps": settings.warmup_steps,
                         "eval_every": eval_every,
                         "eval_every_s": None if eval_seconds is None else round(eval_seconds, 1), "steps": loop.steps, "tokens": loop.tokens,
                         "train_tokens": int(len(stream)), "seconds": round(loop.seconds, 2),
                         "tokens_per_s": round(loop.tokens / max(loop.seconds, 1e-9), 1),
                         "best_step": loop.best_step, "stop_reason": loop.stop_reason, "device": device},
        }
