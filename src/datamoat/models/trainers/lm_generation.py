"""Text generation from a causal language model: greedy, or sampling with temperature, top-k,
top-p and a seed.

Hand-written loop (rather than ``model.generate``) because the small from-scratch models have
short contexts (128-256 tokens) and ``generate`` cannot go past ``n_positions``: here the
model reads the last ``n_positions`` tokens once the text is longer (a sliding window), and
uses its key/value cache while the text still fits. The filtering of the logits is
``transformers``' own logits warpers. With a fixed seed the same call returns the same text;
``temperature=0`` is greedy and gives the tokens ``model.generate(do_sample=False)`` gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from datamoat.errors import DatamoatError


def check_generation_args(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """DatamoatError with one sentence for a value out of range."""
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise DatamoatError(f"max tokens {max_new_tokens!r} must be a whole number of at least 1.")
    if not (isinstance(temperature, int | float) and temperature >= 0):
        raise DatamoatError(f"temperature {temperature!r} must be a number >= 0 (0 is greedy).")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise DatamoatError(f"top-k {top_k!r} must be a whole number of at least 1.")
    if top_p is not None and not (isinstance(top_p, int | float) and 0 < top_p <= 1):
        raise DatamoatError(f"top-p {top_p!r} must be a number in (0, 1].")


def context_length(model: Any) -> int:
    """Positions the model can read (``n_positions`` / ``max_position_embeddings``; 1024 when unknown)."""
    config = model.config
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 1024


def iter_ids(
    model: Any,
    prompt_ids: list[int],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    eos_id: int | None = None,
    device: str = "cpu",
) -> Iterator[tuple[int, float]]:
    """Yield each new token id after ``prompt_ids`` as it is chosen, with its log-probability
    under the model (natural log, before temperature and filtering): at most ``max_new_tokens``;
    stops after ``eos_id``, which is not yielded. See the module docstring for the sampling."""
    import torch
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    check_generation_args(max_new_tokens, temperature, top_k, top_p)
    if not prompt_ids:
        if eos_id is None:
            raise DatamoatError("the prompt is empty and the model has no end-of-text token to start from.")
        prompt_ids = [eos_id]
    warpers = LogitsProcessorList()
    if temperature > 0:
        if temperature != 1.0:
            warpers.append(TemperatureLogitsWarper(float(temperature)))
        if top_k is not None:
            warpers.append(TopKLogitsWarper(int(top_k)))
        if top_p is not None and top_p < 1.0:
            warpers.append(TopPLogitsWarper(float(top_p)))
    generator = torch.Generator(device=device).manual_seed(int(seed))
    window = context_length(model)
    ids = list(prompt_ids)
    past = None
    model.eval()
    for _ in range(max_new_tokens):
        with torch.inference_mode():
            if past is not None and len(ids) <= window:
                out = model(input_ids=torch.tensor([ids[-1:]], device=device), past_key_values=past, use_cache=True)
            else:
                fits = len(ids) <= window
                out = model(input_ids=torch.tensor([ids[-window:]], device=device), use_cache=fits)
            past = out.past_key_values if len(ids) < window else None
            logits = out.logits[:, -1, :].float()
            if temperature == 0:
                token = int(logits.argmax(dim=-1))
            else:
                scores = warpers(torch.tensor([ids], device=device), logits)
                probs = torch.softmax(scores, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=generator))
            logprob = float(torch.log_softmax(logits, dim=-1)[0, token])
        if eos_id is not None and token == eos_id:
            return
        ids.append(token)
        yield token, logprob


def generate_ids(model: Any, prompt_ids: list[int], **options: Any) -> list[int]:
    """New token ids after ``prompt_ids`` (at most ``max_new_tokens``; stops after ``eos_id``,
    which is not returned): :func:`iter_ids` with the same keyword ``options``, without the
    log-probabilities."""
    return [token for token, _ in iter_ids(model, prompt_ids, **options)]


def generate_text(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    max_new_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> str:
    """The continuation of ``prompt`` (text, without the prompt), decoded by ``tokenizer``."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
    new = generate_ids(model, list(prompt_ids), max_new_tokens=max_new_tokens, temperature=temperature,
                       top_k=top_k, top_p=top_p, seed=seed, eos_id=tokenizer.eos_token_id, device=device)
    return tokenizer.decode(new, skip_special_tokens=True)
