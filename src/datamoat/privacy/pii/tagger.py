"""The PII token tagger: a linear-chain CRF (crfsuite) over hand-made token features.

It labels each token (tagger_features.py) with BIO tags of PERSON, STREET_ADDRESS, LOCATION,
ORGANIZATION, DATE_TIME and NRP, and turns runs of tags into spans. It was trained by
datamoat on its own synthetic texts (tagger_synth.py) with ``python -m
datamoat.privacy.pii.train_tagger`` (the seed and sizes are that command's defaults); the
model file ``data/pii_tagger.crfsuite`` ships inside the package and is read from disk, never
fetched.

Why a CRF: it tags a text of ~30 tokens in about 0.2 ms of CPU time on one core (features
included; the whole ``accurate`` detector about 0.4 ms), the file is under 1 MB, and it learns
from context and word shape,
so it finds names in lower case and addresses on several lines that the recognizers' rules
miss. A span's score is the mean marginal probability of its tokens' labels. On load
the model's attribute list is read once (about 0.3 s) so that only features it weighs are
passed to it.

:class:`PiiTagger` is safe to share between threads (each thread gets its own crfsuite tagger
over the same file).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from datamoat.errors import DatamoatError
from datamoat.privacy.pii.tagger_features import FeatureCache, Token, sequence_features, tokenize

MODEL_PATH = Path(__file__).resolve().parent / "data" / "pii_tagger.crfsuite"
"""The shipped model (built by ``python -m datamoat.privacy.pii.train_tagger``)."""
LABELS = {"PERSON": "PER", "STREET_ADDRESS": "ADDR", "LOCATION": "LOC", "ORGANIZATION": "ORG",
          "DATE_TIME": "DATE", "NRP": "NRP"}
"""Span type -> the tag stem the model uses (``B-PER``, ``I-PER`` ...)."""
TYPE_OF = {v: k for k, v in LABELS.items()}

TaggedSpan = tuple[str, int, int, float]
"""(span type, start, end, score): end exclusive, score in [0, 1]."""


def bio_labels(tokens: list[Token], spans: list[tuple[str, int, int]]) -> list[str]:
    """BIO tags for ``tokens`` from character spans (types outside :data:`LABELS` give ``O``).

    A token is inside a span when it lies wholly within it.
    """
    tags = ["O"] * len(tokens)
    for kind, start, end in spans:
        stem = LABELS.get(kind)
        if stem is None:
            continue
        first = True
        for i, (_w, s, e) in enumerate(tokens):
            if s >= start and e <= end:
                tags[i] = ("B-" if first else "I-") + stem
                first = False
    return tags


def spans_from_tags(tokens: list[Token], tags: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Runs of tags as ``(type, start, end, first token, last token + 1)``; an ``I-`` after a
    different type starts a new span."""
    out: list[tuple[str, int, int, int, int]] = []
    cur: list | None = None
    for i, tag in enumerate(tags):
        if tag == "O":
            cur = None
            continue
        stem = tag[2:]
        if cur is not None and tag[0] == "I" and cur[0] == stem:
            cur[2], cur[4] = tokens[i][2], i + 1
            continue
        cur = [stem, tokens[i][1], tokens[i][2], i, i + 1]
        out.append(cur)  # type: ignore[arg-type]
    return [(TYPE_OF[c[0]], c[1], c[2], c[3], c[4]) for c in out]


class PiiTagger:
    """Tags PII spans in a text with a crfsuite model.

    path: the model file (default: the shipped :data:`MODEL_PATH`).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        import pycrfsuite

        self.path = Path(path) if path is not None else MODEL_PATH
        if not self.path.is_file():
            raise DatamoatError(f"{self.path}: the PII tagger model is missing; rebuild it with "
                                "`python -m datamoat.privacy.pii.train_tagger`, or use the PII mode 'fast'.")
        self._crf = pycrfsuite
        self._local = threading.local()
        tagger = self._tagger()  # fail now on a damaged file, not in the middle of a batch
        # only the attributes the model weighs are passed to it (see tagger_features.py)
        self._features = FeatureCache(known=frozenset(a.encode() for a, _ in tagger.info().state_features))

    def _tagger(self):
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = self._crf.Tagger()
            try:
                tagger.open(str(self.path))
            except Exception as exc:  # noqa: BLE001  (crfsuite raises a bare ValueError / OSError)
                raise DatamoatError(f"{self.path}: not a readable PII tagger model ({exc}).") from exc
            self._local.tagger = tagger
        return tagger

    def tag(self, text: str) -> list[TaggedSpan]:
        """Spans in ``text`` of every tagged type, sorted by start."""
        tokens = tokenize(text)
        if not tokens:
            return []
        tagger = self._tagger()
        tags = tagger.tag(sequence_features(text, tokens, self._features))
        out: list[TaggedSpan] = []
        for kind, start, end, i, j in spans_from_tags(tokens, tags):
            score = sum(tagger.marginal(tags[t], t) for t in range(i, j)) / (j - i)
            out.append((kind, start, end, score))
        return out


@lru_cache(maxsize=1)
def default_tagger() -> PiiTagger:
    """The shipped model, loaded once per process."""
    return PiiTagger()
