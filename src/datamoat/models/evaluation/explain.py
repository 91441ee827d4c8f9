"""Why a text model predicted what it did: a signed weight per word of the input text.

:func:`explain` gives each word of one text a weight; a positive weight pushes the prediction
towards the explained label, a negative one away from it. Two methods:

- ``"linear-weights"`` (``tfidf-linear``): the model is linear in its TF-IDF features, so the
  contribution of a feature to the label's score is ``tfidf value x class coefficient``. Each
  word and char n-gram contribution is spread over the words it overlaps (in proportion to the
  characters it shares with each), so the weights of the words add up to the label's decision
  score minus its intercept (up to the n-grams that lie wholly in punctuation). For the
  calibrated LinearSVC the coefficients are the mean over the calibration folds' LinearSVCs.
  The weights are in decision-score units, not probabilities.
- ``"occlusion"`` (every other text trainer: embed-linear, finetune, ensemble): each word is
  removed in turn and the weight is ``p(label | text) - p(label | text without the word)``, in
  probability units. All the variants go through one batched ``predict_proba`` call.

Words are runs of letters and digits (apostrophes inside a word kept), found with a regular
expression that also gives their character offsets, so ``text[start:end]`` is the word.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError
from datamoat.models.trainers.contract import Trainer
from datamoat.models.trainers.text_trainer import TextTrainer
from datamoat.models.trainers.tfidf_linear import TfidfLinearTrainer

WORD_RE = re.compile(r"\w+(?:['\u2019]\w+)*")
"""A word token: letters/digits/underscore, with inner apostrophes (``don't``, ``l'eau``)."""
BAR_WIDTH = 20
"""Characters of the longest bar in :func:`format_explanation`."""

Span = tuple[int, int]


def word_tokens(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` as ``(word, start, end)`` with ``text[start:end] == word``."""
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


# --------------------------------------------------------------------- entry point
def explain(trainer: Trainer, text: str, *, top_k: int = 10, label: str | None = None) -> dict[str, Any]:
    """Per-word weights for the prediction of a fitted text ``trainer`` on ``text``.

    top_k: how many words go to ``"tokens"`` (largest ``|weight|`` first). label: the class to
    explain (default: the predicted one). Returns::

        {"label": str, "score": float,             # the label and its probability for text
         "method": "linear-weights" | "occlusion",
         "tokens": [{"token", "start", "end", "weight"}, ...],   # top_k by |weight|
         "all_tokens": [...same keys, every word in text order...]}

    DatamoatError for a non-text trainer, an empty text, an unknown label or a bad top_k.
    """
    if not isinstance(trainer, TextTrainer):
        raise DatamoatError(
            f"explanations are for text models; trainer {trainer.kind!r} works on table columns."
        )
    trainer._check_fitted()
    if not isinstance(text, str) or not text.strip():
        raise DatamoatError("explain: the text to explain is empty; give a non-empty string.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise DatamoatError(f"explain: top_k={top_k!r} must be a positive integer.")
    classes = list(trainer.classes_)
    if label is not None and str(label) not in classes:
        raise DatamoatError(
            f"explain: label {label!r} is not one of the model's classes ({', '.join(map(repr, classes))})."
        )

    words = word_tokens(text)
    linear = _linear_weights(trainer, text, words, label) if isinstance(trainer, TfidfLinearTrainer) else None
    if linear is not None:
        method = "linear-weights"
        label, score, weights = linear
    else:
        method = "occlusion"
        label, score, weights = _occlusion(trainer, text, words, label)
    all_tokens = [
        {"token": w, "start": s, "end": e, "weight": float(weight)}
        for (w, s, e), weight in zip(words, weights, strict=True)
    ]
    top = sorted(all_tokens, key=lambda t: -abs(t["weight"]))[:top_k]
    return {"label": label, "score": score, "method": method, "tokens": top, "all_tokens": all_tokens}


def _label_and_score(trainer: Trainer, proba: np.ndarray, label: str | None) -> tuple[str, int, float]:
    """The label to explain (given or predicted), its index in classes_ and its probability."""
    index = int(np.argmax(proba)) if label is None else list(trainer.classes_).index(str(label))
    return str(trainer.classes_[index]), index, float(proba[index])


# --------------------------------------------------------------------- occlusion
def without_span(text: str, start: int, end: int) -> str:
    """``text`` with ``text[start:end]`` removed, plus the whitespace after it (or before it, at the end)."""
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    if after == len(text):  # last word: take the whitespace before it instead
        while start > 0 and text[start - 1].isspace():
            start -= 1
    return text[:start] + text[after:]


def _occlusion(
    trainer: Trainer, text: str, words: list[tuple[str, int, int]], label: str | None
) -> tuple[str, float, list[float]]:
    """Label, its probability, and p(label|text) - p(label|text without word) for each word."""
    considered = _words_within_reach(trainer, text, words)
    variants = [without_span(text, s, e) for i, (_, s, e) in enumerate(words) if i in considered]
    proba = trainer.predict_proba([text, *variants])
    label, index, score = _label_and_score(trainer, proba[0], label)
    weights = [0.0] * len(words)
    for row, i in enumerate(sorted(considered), start=1):
        weights[i] = score - float(proba[row, index])
    return label, score, weights


def _words_within_reach(trainer: Trainer, text: str, words: list[tuple[str, int, int]]) -> set[int]:
    """Indices of the words the model reads; words past an encoder's truncation get weight 0.

    Removing a word the encoder never sees leaves what it does see unchanged, so those variants
    are not computed (a long text would otherwise cost one encoder pass per unseen word).
    """
    everything = set(range(len(words)))
    text_encoder = getattr(trainer, "text_encoder", None)
    if text_encoder is None:
        return everything
    try:
        enc = text_encoder()
        offsets = enc.tokenizer(
            text, truncation=True, max_length=enc.max_length, return_offsets_mapping=True
        )["offset_mapping"]
    except (NotImplementedError, KeyError, TypeError, ValueError):  # slow tokenizers give no offsets
        return everything
    seen_end = max((e for _, e in offsets), default=0)  # end of the last character the model reads
    return {i for i, (_, s, _) in enumerate(words) if s < seen_end}


# --------------------------------------------------------------------- linear weights
def _linear_weights(
    trainer: Trainer, text: str, words: list[tuple[str, int, int]], label: str | None
) -> tuple[str, float, list[float]] | None:
    """Label, probability and per-word weights from a tfidf-linear pipeline (None: not applicable).

    Falls back (None) when the pipeline is not the expected FeatureUnion of TfidfVectorizers +
    linear classifier, or when re-deriving the n-grams with offsets does not reproduce the
    vectorizer's own n-grams (custom preprocessing), so occlusion is used instead.
    """
    pipe = trainer.model_
    steps = getattr(pipe, "named_steps", {})
    features, clf = steps.get("features"), steps.get("clf")
    if features is None or clf is None or not hasattr(features, "transformer_list"):
        return None
    proba = trainer.predict_proba([text])[0]
    label, index, score = _label_and_score(trainer, proba, label)
    coef = _class_coefficients(clf, index)
    if coef is None:
        return None
    X = features.transform([text]).tocsr()
    if X.shape[1] != coef.shape[0]:
        return None
    weights = np.zeros(len(words))
    offset = 0
    for _, vectorizer in features.transformer_list:
        vocab = vectorizer.vocabulary_
        occurrences = _ngram_spans(vectorizer, text)
        if occurrences is None:
            return None
        counts = Counter(gram for gram, _ in occurrences)
        row = X[0, offset : offset + len(vocab)].toarray().ravel()
        for gram, span in occurrences:
            j = vocab.get(gram)
            if j is None or row[j] == 0.0:
                continue
            contribution = float(row[j]) * float(coef[offset + j]) / counts[gram]
            _spread(weights, words, span, contribution)
        offset += len(vocab)
    return label, score, weights.tolist()


def _class_coefficients(clf: Any, index: int) -> np.ndarray | None:
    """Coefficient vector of class ``index`` (an index into trainer.classes_), or None.

    A CalibratedClassifierCV averages its folds' estimators. Binary models keep one row, the
    positive class's; the other class gets its negation.
    """
    estimators = [c.estimator for c in getattr(clf, "calibrated_classifiers_", [])] or [clf]
    rows = []
    for est in estimators:
        coef = getattr(est, "coef_", None)
        classes = getattr(est, "classes_", None)
        if coef is None or classes is None:
            return None
        coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef, dtype=np.float64)
        classes = [int(c) for c in classes]
        if index not in classes:
            rows.append(np.zeros(coef.shape[1]))
        elif coef.shape[0] == 1 and len(classes) == 2:
            rows.append(coef[0] if classes.index(index) == 1 else -coef[0])
        else:
            rows.append(coef[classes.index(index)])
    return np.mean(rows, axis=0)


def _spread(weights: np.ndarray, words: list[tuple[str, int, int]], span: Span, value: float) -> None:
    """Add ``value`` to the words overlapping ``span``, in proportion to the characters shared."""
    start, end = span
    overlaps = [(i, min(e, end) - max(s, start)) for i, (_, s, e) in enumerate(words) if s < end and e > start]
    total = sum(n for _, n in overlaps)
    for i, n in overlaps:
        weights[i] += value * n / total


def _preprocess_with_offsets(vectorizer: Any, text: str) -> tuple[str, list[int]] | None:
    """The vectorizer's preprocessed text and, per character of it, the index in ``text``.

    Lower-casing can change a character's length (``"İ".lower()`` is two characters), so the
    text is lowered one character at a time and checked against the vectorizer's own result.
    """
    expected = vectorizer.build_preprocessor()(text)
    pieces, origin = [], []
    for i, ch in enumerate(text):
        low = ch.lower() if vectorizer.lowercase else ch
        pieces.append(low)
        origin.extend([i] * len(low))
    if "".join(pieces) != expected:
        return None
    return expected, origin


def _ngram_spans(vectorizer: Any, text: str) -> list[tuple[str, Span]] | None:
    """Every n-gram the vectorizer extracts from ``text`` with its character span in ``text``.

    Re-derives scikit-learn's word and char_wb n-grams with offsets (scikit-learn has no
    offset-returning analyzer, hence the hand-rolled version) and returns None when the result
    differs from ``vectorizer.build_analyzer()(text)`` as a multiset.
    """
    prepared = _preprocess_with_offsets(vectorizer, text)
    if prepared is None:
        return None
    pre, origin = prepared
    if vectorizer.analyzer == "word" and vectorizer.tokenizer is None and vectorizer.stop_words is None:
        spans = _word_ngrams(pre, re.compile(vectorizer.token_pattern), vectorizer.ngram_range)
    elif vectorizer.analyzer == "char_wb":
        spans = _char_wb_ngrams(pre, vectorizer.ngram_range)
    else:
        return None
    if Counter(g for g, _ in spans) != Counter(vectorizer.build_analyzer()(text)):
        return None
    out = []
    for gram, (s, e) in spans:
        if e > s:  # an n-gram of padding alone covers no character of the text
            out.append((gram, (origin[s], origin[e - 1] + 1)))
    return out


def _word_ngrams(pre: str, pattern: re.Pattern[str], ngram_range: tuple[int, int]) -> list[tuple[str, Span]]:
    """Word n-grams of ``pre`` (tokens joined by a space, like scikit-learn) with their spans."""
    tokens = [(m.group(), m.start(), m.end()) for m in pattern.finditer(pre)]
    lo, hi = ngram_range
    out = []
    for n in range(lo, hi + 1):
        for i in range(len(tokens) - n + 1):
            chunk = tokens[i : i + n]
            out.append((" ".join(t for t, _, _ in chunk), (chunk[0][1], chunk[-1][2])))
    return out


def _char_wb_ngrams(pre: str, ngram_range: tuple[int, int]) -> list[tuple[str, Span]]:
    """char_wb n-grams of ``pre`` with spans: each word padded with one space on both sides.

    Mirrors scikit-learn's rule that a word shorter than n yields its padded self once and
    stops there. Spans exclude the padding (positions 0 and len+1 of the padded word).
    """
    lo, hi = ngram_range
    out = []
    for m in re.finditer(r"\S+", pre):
        padded = f" {m.group()} "
        length = len(padded)
        for n in range(lo, hi + 1):
            offset = 0
            while True:
                gram = padded[offset : offset + n]
                first = max(offset, 1) - 1
                last = min(offset + len(gram), length - 1) - 1
                out.append((gram, (m.start() + first, m.start() + max(first, last))))
                if offset + n >= length:
                    break
                offset += 1
            if offset == 0:
                break
    return out


# --------------------------------------------------------------------- text output
def format_explanation(result: dict[str, Any]) -> str:
    """A plain-text rendering of :func:`explain`'s result for the terminal.

    First line: label, probability and method; then one line per top token: the signed weight
    and a bar, ``-`` to the left of ``|`` for negative weights and ``+`` to the right for positive
    ones, scaled so the largest ``|weight|`` fills :data:`BAR_WIDTH` characters.
    """
    units = "score units" if result.get("method") == "linear-weights" else "probability"
    lines = [f"label {result['label']!r} (p={result['score']:.3f}); method {result['method']} ({units})"]
    tokens = result.get("tokens") or []
    if not tokens:
        lines.append("  (no words to weigh)")
        return "\n".join(lines)
    biggest = max(abs(t["weight"]) for t in tokens) or 1.0
    width = max(len(t["token"]) for t in tokens)
    for t in tokens:
        n = round(abs(t["weight"]) / biggest * BAR_WIDTH)
        left = ("-" * n if t["weight"] < 0 else "").rjust(BAR_WIDTH)
        right = "+" * n if t["weight"] > 0 else ""
        lines.append(f"  {t['token']:<{width}}  {t['weight']:+.4f}  {left}|{right}")
    return "\n".join(lines)
