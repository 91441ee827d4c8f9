"""Small labelled text data sets that several test modules share; each is made from templates and
a seeded random generator, so the same arguments always give the same rows."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

# --- intents: filler + topic word + number (model selection, training CLI) -----------------------

INTENT_WORDS = {
    "billing": ["refund", "charge", "invoice", "payment", "money back"],
    "shipping": ["parcel", "delivery", "courier", "tracking", "package"],
    "account": ["password", "login", "username", "sign in", "locked out"],
}


def intents(n_per_class: int, seed: int = 0) -> pd.DataFrame:
    """``n_per_class`` rows per class of INTENT_WORDS, shuffled; columns text, intent."""
    rng = np.random.default_rng(seed)
    rows = []
    fillers = ["please help", "I need help with", "question about my", "hello, about the", "urgent:"]
    for label, words in INTENT_WORDS.items():
        for i in range(n_per_class):
            w = words[i % len(words)]
            rows.append({"text": f"{fillers[rng.integers(len(fillers))]} {w} number {rng.integers(1000)}", "intent": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


# --- support phrases: card / refund / login (the HTTP service) ----------------------------------

SUPPORT_INTENTS = {
    "card": ["my card was declined at the shop", "the card does not work abroad", "card blocked after wrong pin",
             "I lost my card yesterday", "new card has not arrived"],
    "refund": ["I want my money back for the order", "please refund the double charge", "refund still not received",
               "how long does a refund take", "the merchant promised a refund"],
    "login": ["I cannot log in to the app", "password reset email never came", "my account is locked out",
              "two factor code is not accepted", "the login page keeps spinning"],
}
FILLERS = ["", "please help", "thanks", "urgent", "since monday", "again", "what should I do"]


def intent_rows(n_per_intent: int, seed: int) -> pd.DataFrame:
    """Short support texts for three intents, made from templates plus filler words; columns id,
    text, intent (``n_per_intent`` rows each)."""
    rng = random.Random(seed)
    rows = []
    for intent, phrases in SUPPORT_INTENTS.items():
        for i in range(n_per_intent):
            text = f"{rng.choice(phrases)} {rng.choice(FILLERS)} {rng.choice(FILLERS)}".strip()
            rows.append({"id": f"{intent}-{seed}-{i}", "text": text, "intent": intent})
    return pd.DataFrame(rows)


# --- request sentences: bank / travel (drift and monitoring) ------------------------------------

PREFIXES = ["how do I", "can I", "I want to", "please help me", "why can't I", "is it possible to"]
DRIFT_TOPICS = {
    "bank": (["transfer", "withdraw", "deposit", "send", "move", "pay"],
             ["money", "funds", "cash", "my salary", "the rent", "savings"],
             ["to my account", "from the card", "via the app", "at the atm", "to my friend", "abroad"]),
    "travel": (["book", "cancel", "change", "upgrade", "reschedule", "check"],
               ["my flight", "the hotel room", "a train ticket", "my seat", "the rental car", "the cruise"],
               ["for tomorrow", "to paris", "next week", "with extra legroom", "for two people", "at the airport"]),
}
"""Per topic: (verbs, objects, tails)."""


def sentences(topic: str, n: int, seed: int) -> list[str]:
    """``n`` template sentences about ``topic`` of DRIFT_TOPICS (same prefixes for every topic)."""
    rng = np.random.default_rng(seed)
    verbs, objects, tails = DRIFT_TOPICS[topic]
    return [f"{rng.choice(PREFIXES)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(tails)} {rng.integers(100)}"
            for _ in range(n)]


# --- keyword texts: filler words + one of 40 keywords per topic (flywheel, API retrain) ----------

KEYWORD_TOPICS = ("billing", "account", "shipping", "product")
KEYWORDS = {t: [f"{t[:4]}{k}" for k in range(40)] for t in KEYWORD_TOPICS}
"""40 words per topic: a model trained on a dozen rows knows few of them, one trained on hundreds most."""


def keyword_texts(n: int, seed: int) -> pd.DataFrame:
    """``n`` short texts: seven random filler words plus one keyword of their topic (the label);
    the topics in turn. Columns text, label."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = KEYWORD_TOPICS[i % len(KEYWORD_TOPICS)]
        words = [f"w{int(k)}" for k in rng.integers(0, 400, 7)]
        words.insert(int(rng.integers(len(words) + 1)), KEYWORDS[label][int(rng.integers(40))])
        rows.append({"text": " ".join(words), "label": label})
    return pd.DataFrame(rows)


# --- confused topic texts: noise + one topic word, 15% from another topic (evaluation) -----------

CONFUSED_TOPICS = {
    "billing": ["refund", "invoice", "charge", "payment"],
    "account": ["password", "login", "locked", "username"],
    "shipping": ["parcel", "courier", "tracking", "delivery"],
}


def confused_texts(n: int, seed: int, p: tuple[float, ...] = (0.5, 0.3, 0.2), source: bool = True) -> pd.DataFrame:
    """``n`` rows: seven noise words plus one topic word (from another topic 15% of the time); the
    label drawn with probabilities ``p`` over CONFUSED_TOPICS. Columns text, label and, with
    ``source``, source (email or chat)."""
    rng = np.random.default_rng(seed)
    names = list(CONFUSED_TOPICS)
    rows = []
    for _ in range(n):
        c = int(rng.choice(3, p=p))
        toks = [f"w{int(i)}" for i in rng.integers(0, 120, 7)]
        src = c if rng.random() > 0.15 else int(rng.integers(3))
        toks.insert(int(rng.integers(len(toks) + 1)), CONFUSED_TOPICS[names[src]][int(rng.integers(4))])
        row = {"text": " ".join(toks), "label": names[c]}
        if source:
            row["source"] = ["email", "chat"][int(rng.integers(2))]
        rows.append(row)
    return pd.DataFrame(rows)


# --- framed texts: a sentence frame around one topic word (encoder trainers) ---------------------


def framed_texts(topics: dict[str, list[str]], frames: list[str], seed: int, per_class: int) -> pd.DataFrame:
    """``per_class`` rows per topic: a frame from ``frames`` (with one ``{}``) filled with a word of
    the topic, shuffled; columns body (the text) and intent (the topic)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, words in topics.items():
        for _ in range(per_class):
            frame = frames[int(rng.integers(len(frames)))]
            rows.append({"body": frame.format(words[int(rng.integers(len(words)))]), "intent": label})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def flipped_topics(
    n_per_class: int = 30, flips: bool = True, seed: int = 0
) -> tuple[list[str], list[str], set[int]]:
    """Three topics (a few topic words + shared filler words); with ``flips`` one row of each
    topic gets the next topic's label (rows 0, 30, 60 for 30 rows per class)."""
    rng = np.random.default_rng(seed)
    vocab = {
        "a": ["refund", "money", "back", "return", "charged", "reimburse"],
        "b": ["password", "login", "reset", "locked", "account", "email"],
        "c": ["parcel", "delivery", "late", "courier", "tracking", "shipping"],
    }
    shared = ["please", "help", "hello", "thanks", "order", "today", "my", "the", "urgent", "again"]
    texts, labels = [], []
    for label, words in vocab.items():
        for _ in range(n_per_class):
            k = rng.integers(2, 5)
            texts.append(" ".join(list(rng.choice(words, size=k)) + list(rng.choice(shared, size=6))))
            labels.append(label)
    wrong = {0: "b", n_per_class: "c", 2 * n_per_class: "a"} if flips else {}
    for i, lab in wrong.items():
        labels[i] = lab
    return texts, labels, set(wrong)
