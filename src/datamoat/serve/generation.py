"""Generating text with a served language model: redact the prompt, stream the tokens, log both.

:class:`Generator` is what ``POST /v1/generate`` calls. :meth:`Generator.start` checks the
request against the server's limits and redacts the prompt (the model was trained on redacted
text, as :class:`~datamoat.serve.predictor.Predictor` does for classifiers); iterating the
returned :class:`Generation` yields the continuation in text chunks as the model makes its
tokens, and once it ends the prompt and the output (both redacted) are written to the
prediction log as one row (``label`` ``generated``, ``score`` the geometric mean of the chosen
tokens' probabilities under the model, i.e. exp of their mean log-probability). Its id, the
``generation_id``, is what feedback on it names.

Decoding by chunks: the text of all new tokens is decoded again after each token and only what
was added is sent, so a character spread over several byte-level tokens goes out whole (a
trailing U+FFFD, half a character, is held back until the next token completes it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datamoat.catalog.records import utc_now
from datamoat.errors import ConflictError, DatamoatError
from datamoat.feedback.predictions import PredictionLog, PredictionRow, hash_text, new_prediction_id
from datamoat.models.trainers.lm_generation import check_generation_args, iter_ids
from datamoat.privacy.pii.detect import PiiEngine
from datamoat.serve.model_holder import LoadedModel, ModelHolder

GENERATED_LABEL = "generated"
"""The ``label`` of a generation's row in the prediction log."""


@dataclass
class GenerateParams:
    """One request's settings: prompt (text as received), max_tokens (new tokens at most),
    temperature (0: greedy), top_k / top_p (None: no filter), seed (the same seed and settings
    give the same text)."""

    prompt: str
    max_tokens: int = 64
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0


@dataclass
class Generation:
    """A generation under way: iterate it for the text chunks; then ``text``, ``tokens``,
    ``finish_reason`` (``length``: max_tokens reached; ``end``: the model ended the document)
    and ``latency_ms`` are set and the row is logged."""

    id: str
    model: LoadedModel
    params: GenerateParams
    redacted_prompt: str
    prompt_pii: int
    started: float
    _generator: Generator
    client: str = ""
    text: str = ""
    tokens: int = 0
    finish_reason: str | None = None
    latency_ms: float = 0.0
    logprob: float = 0.0
    _chunks: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[str]:
        trainer = self.model.trainer
        tok = trainer.tokenizer_
        p = self.params
        prompt_ids = list(tok(self.redacted_prompt, add_special_tokens=False)["input_ids"]) if self.redacted_prompt else []
        new: list[int] = []
        sent = ""
        for token, logprob in iter_ids(trainer.model_, prompt_ids, max_new_tokens=p.max_tokens, temperature=p.temperature,
                                       top_k=p.top_k, top_p=p.top_p, seed=p.seed, eos_id=tok.eos_token_id,
                                       device=trainer.device_):
            new.append(token)
            self.logprob += logprob
            text = tok.decode(new, skip_special_tokens=True)
            if text.endswith("\ufffd") or len(text) <= len(sent):
                continue
            chunk, sent = text[len(sent):], text
            yield chunk
        final = tok.decode(new, skip_special_tokens=True)
        if len(final) > len(sent):
            yield final[len(sent):]
        self.text, self.tokens = final, len(new)
        self.finish_reason = "length" if len(new) >= p.max_tokens else "end"
        self.latency_ms = (time.perf_counter() - self.started) * 1000.0
        self._generator.log(self)

    def answer(self) -> dict[str, Any]:
        """The JSON facts of a finished generation (the non-streamed body, the final event)."""
        rec = self.model.record
        return {"generation_id": self.id, "text": self.text, "tokens": self.tokens,
                "finish_reason": self.finish_reason, "latency_ms": round(self.latency_ms, 3),
                "model": {"name": rec.name, "version": rec.ordinal, "ref": rec.ref}}


class Generator:
    """Starts generations with the holder's current model and logs them.

    holder: the ModelHolder. predictions: the server's PredictionLog. pii: the engine that
    redacts prompts, outputs and corrected continuations (None: redaction off). max_prompt_chars /
    max_tokens: the limits of one request. log_text: store the redacted prompt and output
    (off: only the prompt's hash).
    """

    def __init__(self, holder: ModelHolder, predictions: PredictionLog, *, pii: PiiEngine | None,
                 max_prompt_chars: int, max_tokens: int, log_text: bool = True) -> None:
        self.holder = holder
        self.predictions = predictions
        self.pii = pii
        self.max_prompt_chars = max_prompt_chars
        self.max_tokens = max_tokens
        self.log_text = log_text

    def redact(self, text: str) -> tuple[str, int]:
        """(``text`` with PII rewritten, spans rewritten); unchanged when redaction is off."""
        if self.pii is None or not text:
            return text, 0
        return self.pii.redact_batch([text])[0]

    def check(self, params: GenerateParams) -> LoadedModel:
        """The served model when it is a language model and ``params`` are within the limits;
        ConflictError / DatamoatError (one sentence) otherwise."""
        model = self.holder.current()
        if not model.is_language_model:
            raise ConflictError(f"model {model.record.ref} is a {model.record.kind} classifier; /v1/generate needs a "
                                "language model (causal-lm, causal-lm-finetune): use /v1/predict.")
        if len(params.prompt) > self.max_prompt_chars:
            raise DatamoatError(f"'prompt' has {len(params.prompt):,} characters; the limit is {self.max_prompt_chars:,}.")
        if params.max_tokens > self.max_tokens:
            raise DatamoatError(f"'max_tokens' is {params.max_tokens:,}; this server's limit is {self.max_tokens:,}.")
        check_generation_args(params.max_tokens, params.temperature, params.top_k, params.top_p)
        return model

    def start(self, params: GenerateParams, client: str = "") -> Generation:
        """Check and redact (see :meth:`check`); iterate the result to generate. client: who asked."""
        started = time.perf_counter()
        model = self.check(params)
        redacted, found = self.redact(params.prompt)
        return Generation(id=new_prediction_id(), model=model, params=params, redacted_prompt=redacted,
                          prompt_pii=found, started=started, _generator=self, client=client)

    def log(self, generation: Generation) -> None:
        """Write ``generation`` (finished) to the prediction log: redacted prompt and output."""
        output, found = self.redact(generation.text)
        score = math.exp(generation.logprob / generation.tokens) if generation.tokens else 1.0
        rec = generation.model.record
        self.predictions.add(PredictionRow(
            id=generation.id, model_name=rec.name, model_id=rec.id, created_at=utc_now(),
            text=generation.redacted_prompt if self.log_text else None, text_hash=hash_text(generation.params.prompt),
            label=GENERATED_LABEL, score=score, margin=0.0, scores={GENERATED_LABEL: score},
            latency_ms=generation.latency_ms, pii_count=generation.prompt_pii + found,
            client=generation.client, output=output if self.log_text else None,
        ), block=False)
