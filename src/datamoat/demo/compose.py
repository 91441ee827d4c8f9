"""Compose one English support ticket (as PII-aware segments) from an intent and a channel.

The shape depends on the channel: e-mails get greetings, sign-offs and sometimes blank lines;
chat messages are short, often lower-case and typo-prone; web-form tickets sometimes start
with a ``Subject:`` line; phone tickets are an agent's note of what the caller said.
"""

from __future__ import annotations

import random

from datamoat.demo.corrupt import add_typos
from datamoat.demo.intents import (
    BY_NAME,
    CHAT_OPENERS,
    CLOSINGS,
    CONFUSIONS,
    GREETINGS,
    PHONE_PREFIXES,
    SHARED_CONTEXT,
    SIGNOFFS,
    TONES,
    fill,
)
from datamoat.demo.pii import Persona, Segment, named_signoff, pick_types, pii_sentence

CHANNELS: tuple[str, ...] = ("email", "chat", "web", "phone")
CHANNEL_WEIGHTS: tuple[int, ...] = (40, 30, 20, 10)


def _body(intent: str, channel: str, rng: random.Random) -> list[str]:
    """The ticket's body sentences (core, details, context, tone, closing), slots filled."""
    it = BY_NAME[intent]
    n_core = 1 if channel == "chat" or rng.random() < 0.7 else 2
    sentences = [fill(c, rng) for c in rng.sample(it.core, n_core)]
    n_details = rng.choices((0, 1, 2), weights=(45, 40, 15) if channel == "email" else (60, 40, 0))[0]
    for d in rng.sample(it.details, n_details):
        sentences.insert(rng.randint(1, len(sentences)), fill(d, rng))
    if rng.random() < (0.35 if channel in ("email", "web") else 0.15):
        # customers often mention a related issue too: this is what makes intents overlap
        related = BY_NAME[rng.choice(CONFUSIONS[intent])]
        sentences.insert(rng.randint(1, len(sentences)), fill(rng.choice(related.details), rng))
    if channel in ("email", "web") and rng.random() < 0.25:
        ctx = fill(rng.choice(SHARED_CONTEXT), rng)
        sentences.insert(0 if rng.random() < 0.5 else len(sentences), ctx)
    if rng.random() < 0.35:
        sentences.append(rng.choice(TONES))
    if channel != "chat" and rng.random() < 0.3:
        sentences.append(rng.choice(CLOSINGS))
    return sentences


def _style(sentences: list[str], channel: str, rng: random.Random) -> list[str]:
    """Apply the writer's habits: typos, and for chat often lower case."""
    typo_rate = 0.25 if channel == "chat" else 0.1
    if rng.random() < typo_rate:
        i = rng.randrange(len(sentences))
        sentences[i] = add_typos(sentences[i], rng, rng.choice((1, 1, 1, 2)))
    if channel == "chat" and rng.random() < 0.45:
        sentences = [s.lower() for s in sentences]
    return sentences


def _join(blocks: list[list[Segment]], sep: str) -> list[Segment]:
    """Concatenate segment blocks with a plain ``sep`` segment between consecutive blocks."""
    out: list[Segment] = []
    for i, block in enumerate(blocks):
        if i:
            out.append(Segment(sep))
        out.extend(block)
    return out


def compose_english(
    intent: str, channel: str, rng: random.Random, persona: Persona | None = None
) -> list[Segment]:
    """Write one English ticket of ``intent`` for ``channel``.

    persona: when given, 1-3 of its PII values are woven in (body sentences or a named
    sign-off). Returns the ticket as segments; render with :func:`datamoat.demo.pii.render`.
    """
    body: list[list[Segment]] = [[Segment(s)] for s in _style(_body(intent, channel, rng), channel, rng)]
    signoff: list[Segment] | None = None
    if persona is not None:
        for pii_type in pick_types(intent, rng):
            if pii_type == "PERSON" and channel in ("email", "web") and rng.random() < 0.6:
                signoff = named_signoff(persona, rng)
            else:
                body.insert(rng.randint(0, len(body)), pii_sentence(pii_type, persona, rng))
    text = _join(body, " ")
    if channel == "chat":
        last = text[-1]
        if last.pii_type is None and last.text.endswith(".") and rng.random() < 0.5:
            text[-1] = Segment(last.text[:-1])  # no final full stop, as in many chats
        return [Segment(rng.choice(CHAT_OPENERS)), *text]
    if channel == "phone":
        return [Segment(rng.choice(PHONE_PREFIXES)), *text]
    if signoff is None and rng.random() < (0.65 if channel == "email" else 0.35):
        signoff = [Segment(rng.choice(SIGNOFFS))]
    multiline = channel == "email" and rng.random() < 0.25
    sep = "\n\n" if multiline else " "
    blocks = [text] + ([signoff] if signoff else [])
    if channel == "email" and rng.random() < 0.75:
        blocks.insert(0, [Segment(rng.choice(GREETINGS))])
    if channel == "web" and rng.random() < 0.25:
        subject = rng.choice(BY_NAME[intent].subjects)
        return [Segment(f"Subject: {subject}\n"), *_join(blocks, sep)]
    return _join(blocks, sep)
