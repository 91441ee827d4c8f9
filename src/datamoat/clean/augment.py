"""``augment``: synthetic training rows for small text datasets (EDA-style word edits).

:func:`augment_text` makes ``per_row`` new rows from each labelled training row, each by one
edit of its text (the methods taken in turn, so every method is used about equally):

* ``swap``: swap two random words, ``n`` times;
* ``delete``: delete ``n`` random words (at least one word is kept);
* ``insert``: insert ``n`` words drawn from the vocabulary of the same class's rows (the
  in-vocabulary words of that class), at random positions;
* ``synonym``: replace ``n`` words that have neighbours by one of them, drawn at random (case
  and the punctuation around the word kept). The neighbours come from the bundled encoder's
  word-piece embeddings (:mod:`datamoat.clean.synonyms`: no thesaurus on PyPI ships its data
  and is kept up), so they are mostly a word's other forms and close relatives;
* ``typo``: one keyboard slip (two neighbouring letters swapped, a letter dropped or doubled)
  inside each of ``n`` words of 4+ letters;

where ``n = max(1, round(alpha x number of words))`` (Wei & Zou's "easy data augmentation").
By default (:data:`DEFAULT_METHODS`, :data:`DEFAULT_PER_ROW`) each row gets 4 synonym
replacements; the other methods are there to be chosen by a caller and were measured against
it (``benchmarks/augment_dev.py``).

Every synthetic row keeps the other columns of its source row and carries the provenance
columns :data:`SYNTHETIC_COLUMN` (the method) and :data:`SYNTHETIC_OF_COLUMN` (the source's
``_dm_row_id``); its own row id is ``<source id>+<method>:<i>``. Real rows are never changed.

This works on the in-memory training rows of one fold or one training set, not as a recipe
step: a pipeline step maps a batch to the same rows (``pipeline/step.py``), and augmentation
adds rows. It is applied to training rows only (model selection calls it per training fold;
training registers the augmented training version): test rows never get synthetic rows.

The edits are hand-written (a few lines each) because they must draw from one seeded numpy
``Generator`` to be deterministic; augmentation libraries (nlpaug) draw from the global
``random`` state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from datamoat.data.roles import ROW_ID_COLUMN
from datamoat.errors import DatamoatError

NAME = "augment"
"""The step name recorded for versions that hold synthetic rows."""
SYNTHETIC_COLUMN = "_dm_synthetic"
"""The method that made a synthetic row (``synonym``, ``swap``, ``delete``, ``insert``, ``typo``,
``smote``); null on real rows."""
SYNTHETIC_OF_COLUMN = "_dm_synthetic_of"
"""The ``_dm_row_id`` of the row a synthetic row was made from; null on real rows."""
TEXT_METHODS = ("swap", "delete", "insert", "synonym", "typo")
DEFAULT_METHODS = ("synonym",)
"""The methods used by default (with the bundled encoder): synonym replacement only.

Chosen by ``benchmarks/augment_dev.py`` (issue 15): BANKING77 at 10 examples per class,
tfidf-linear, scored on the official *training* rows outside each subsample (about 9,200; the
test file is never read), 3 seeds, gain over no augmentation in points (mean, std):
synonym only, 4 per row: +2.79 (0.32); the same with alpha 0.2: +2.64 (0.46); with 10
neighbours down to cosine 0.4: +2.50 (0.34); insert + synonym, 4 per row: +2.74 (0.59); the
four-method mix (swap, delete, insert, synonym; the former default), 4 per row: +2.10 (0.33);
the mix 8 per row: +2.15 (0.34); the mix 16 per row at alpha 0.05 (EDA's setting for tiny
sets): +1.95 (0.67); the mix + ``typo`` (character slips), 5 per row: +2.08 (0.66); the mix with
10 neighbours down to cosine 0.4: +1.96 (0.69). Synonym replacement alone was best on every
seed against the mix (not tested why; word swaps and deletions break the word bigrams and
character n-grams TF-IDF reads, which may cost more than they add)."""
FALLBACK_METHODS = ("swap", "delete", "insert")
"""The default without the bundled encoder (no ``ml`` extra): the EDA edits that need no
word neighbours."""
WORD = re.compile(r"^(\W*)([A-Za-z]+)(\W*)$")
"""A word with the punctuation around it: synonym replacement changes the letters only."""
DEFAULT_PER_ROW = 4
"""Synthetic rows per real row (see :data:`DEFAULT_METHODS` for how it was chosen)."""
DEFAULT_ALPHA = 0.1
"""Share of a text's words one edit changes (Wei & Zou's default)."""


def default_methods() -> tuple[str, ...]:
    """:data:`DEFAULT_METHODS`, or :data:`FALLBACK_METHODS` when the bundled encoder that
    synonym replacement reads its neighbours from is not installed (the ml extra)."""
    from datamoat.clean.synonyms import available

    return DEFAULT_METHODS if available() else FALLBACK_METHODS


@dataclass
class Augmented:
    """Synthetic rows and what was done: ``rows`` (the source frame's columns plus the two
    provenance columns, indexed like the source by row id when it was), ``added`` (class ->
    synthetic rows made), ``left_out`` (class -> why it got none)."""

    rows: pd.DataFrame
    method: str
    added: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """JSON-ready: the method, synthetic rows per class and classes left out with why."""
        out: dict[str, object] = {"method": self.method, "rows_added": int(sum(self.added.values())),
                                  "added_per_class": dict(sorted(self.added.items()))}
        if self.left_out:
            out["left_out"] = dict(sorted(self.left_out.items()))
        return out


def row_ids(frame: pd.DataFrame) -> list[str]:
    """The ``_dm_row_id`` of each row: the column, else the index (a version's frame is
    indexed by it), as strings."""
    values = frame[ROW_ID_COLUMN] if ROW_ID_COLUMN in frame.columns else frame.index.to_series()
    return [str(v) for v in values]


def with_provenance(source: pd.DataFrame, positions: list[int], methods: list[str], ids: list[str]) -> pd.DataFrame:
    """Copies of ``source``'s rows at ``positions`` with the provenance columns and new row ids.

    The new id of the i-th copy is ``<source id>+<method>:<i>``; it is the index when
    ``source`` is indexed by row id, and also the column when the column is there.
    """
    out = source.iloc[positions].copy()
    source_ids = [ids[p] for p in positions]
    seen: dict[tuple[str, str], int] = {}
    new_ids = []
    for sid, method in zip(source_ids, methods, strict=True):
        i = seen.get((sid, method), 0)
        seen[(sid, method)] = i + 1
        new_ids.append(f"{sid}+{method}:{i}")
    out[SYNTHETIC_COLUMN] = methods
    out[SYNTHETIC_OF_COLUMN] = source_ids
    if ROW_ID_COLUMN in out.columns:
        out[ROW_ID_COLUMN] = new_ids
    if out.index.name == ROW_ID_COLUMN or ROW_ID_COLUMN not in out.columns:
        out.index = pd.Index(new_ids, name=out.index.name)
    return out


def word_core(word: str) -> tuple[str, str, str] | None:
    """``(before, letters, after)`` of a word such as ``"card?"``; None when it is not letters
    with punctuation around them."""
    match = WORD.match(word)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def replace_word(word: str, synonyms: dict[str, list[str]], rng: np.random.Generator) -> str | None:
    """``word`` with its letters replaced by a random neighbour (its case pattern and the
    punctuation around it kept); None when it has no neighbour."""
    parts = word_core(word)
    near = synonyms.get(parts[1].lower()) if parts else None
    if not parts or not near:
        return None
    before, core, after = parts
    new = near[int(rng.integers(len(near)))]
    if core.isupper() and len(core) > 1:
        new = new.upper()
    elif core[0].isupper():
        new = new.capitalize()
    return f"{before}{new}{after}"


def typo(word: str, rng: np.random.Generator) -> str:
    """``word`` with one keyboard slip inside it (the first letter kept): two neighbouring
    letters swapped, a letter dropped or a letter doubled, drawn at random."""
    inner = [i for i in range(1, len(word) - 1) if word[i].isalpha()]
    if not inner:
        return word
    i = inner[int(rng.integers(len(inner)))]
    kind = int(rng.integers(3))
    if kind == 0 and word[i + 1].isalpha() and word[i + 1] != word[i]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def edit_words(words: list[str], method: str, alpha: float, pool: list[str], rng: np.random.Generator,
               synonyms: dict[str, list[str]] | None = None) -> list[str]:
    """One edit of ``words`` by ``method`` (see the module docstring); ``pool``: the words
    ``insert`` draws from; ``synonyms``: lowercase word -> its neighbours, for ``synonym``.
    Returns a new list; the input is not changed."""
    out = list(words)
    n = max(1, round(alpha * len(out)))
    if method == "synonym" and synonyms:
        places = [i for i, w in enumerate(out) if (parts := word_core(w)) and parts[1].lower() in synonyms]
        if places:
            for i in rng.choice(places, size=min(n, len(places)), replace=False).tolist():
                out[i] = replace_word(out[i], synonyms, rng) or out[i]
        return out
    if method == "typo":
        places = [i for i, w in enumerate(out) if sum(ch.isalpha() for ch in w) >= 4]
        if places:
            for i in rng.choice(places, size=min(n, len(places)), replace=False).tolist():
                out[i] = typo(out[i], rng)
        return out
    if method == "swap" and len(out) > 1:
        for _ in range(n):
            i, j = rng.choice(len(out), size=2, replace=False)
            out[i], out[j] = out[j], out[i]
    elif method == "delete" and len(out) > 1:
        gone = set(rng.choice(len(out), size=min(n, len(out) - 1), replace=False).tolist())
        out = [w for i, w in enumerate(out) if i not in gone]
    elif method == "insert" and pool:
        for _ in range(n):
            out.insert(int(rng.integers(len(out) + 1)), pool[int(rng.integers(len(pool)))])
    return out


def augment_text(
    frame: pd.DataFrame,
    *,
    text_column: str,
    label_column: str,
    per_row: int = DEFAULT_PER_ROW,
    alpha: float = DEFAULT_ALPHA,
    methods: tuple[str, ...] | None = None,
    seed: int = 0,
    synonym_k: int | None = None,
    synonym_threshold: float | None = None,
) -> Augmented:
    """``per_row`` synthetic rows per labelled, non-blank training row of ``frame``.

    frame: the training rows (one fold's or all); ``_dm_row_id`` as a column or the index.
    per_row: synthetic rows made from each row (>= 1). alpha: share of words edited, in (0, 1).
    methods: a subset of :data:`TEXT_METHODS`; default :func:`default_methods`. seed: the same
    frame and seed give the same rows. synonym_k / synonym_threshold: most neighbours per word
    and their lowest cosine similarity (default: :mod:`datamoat.clean.synonyms`'s).
    Returns :class:`Augmented`; rows whose edit left the text unchanged (a one-word text
    swapped) are not added.
    """
    if not isinstance(per_row, int) or isinstance(per_row, bool) or per_row < 1:
        raise DatamoatError(f"augment: per_row must be a whole number >= 1, got {per_row!r}.")
    if not 0 < alpha < 1:
        raise DatamoatError(f"augment: alpha must be between 0 and 1, got {alpha!r}.")
    methods = default_methods() if methods is None else tuple(methods)
    unknown = [m for m in methods if m not in TEXT_METHODS]
    if unknown or not methods:
        raise DatamoatError(f"augment: unknown method {unknown[0] if unknown else None!r}; "
                            f"the text methods are {', '.join(TEXT_METHODS)}.")
    for column in (text_column, label_column):
        if column not in frame.columns:
            raise DatamoatError(f"augment: no column {column!r} in the training rows.")
    ids = row_ids(frame)
    texts = frame[text_column].astype("string").fillna("").str.strip().tolist()
    labels = frame[label_column]
    usable = [i for i, (t, lab) in enumerate(zip(texts, labels, strict=True)) if t and not pd.isna(lab)]
    vocab: dict[str, list[str]] = {}
    for i in usable:
        vocab.setdefault(str(labels.iloc[i]), []).extend(texts[i].split())
    pools = {label: sorted(set(words)) for label, words in vocab.items()}
    synonyms: dict[str, list[str]] = {}
    if "synonym" in methods:
        from datamoat.clean.synonyms import neighbours

        cores = {parts[1].lower() for words in vocab.values() for w in words if (parts := word_core(w))}
        options = {k: v for k, v in (("k", synonym_k), ("threshold", synonym_threshold)) if v is not None}
        synonyms = neighbours(sorted(cores), **options)
    rng = np.random.default_rng(seed)
    positions: list[int] = []
    made: list[str] = []
    new_texts: list[str] = []
    added: dict[str, int] = {label: 0 for label in pools}
    turn = 0
    for i in usable:
        words = texts[i].split()
        label = str(labels.iloc[i])
        for _ in range(per_row):
            method = methods[turn % len(methods)]
            turn += 1
            edited = " ".join(edit_words(words, method, alpha, pools[label], rng, synonyms))
            if edited == texts[i]:
                continue
            positions.append(i)
            made.append(method)
            new_texts.append(edited)
            added[label] += 1
    rows = with_provenance(frame, positions, made, ids)
    rows[text_column] = new_texts
    left_out = {label: "no edit changed any of its texts (one-word texts, no word with a neighbour)"
                for label, n in added.items() if n == 0}
    return Augmented(rows=rows, method="+".join(methods), added={k: v for k, v in added.items() if v},
                     left_out=left_out)
