"""Score the PII detector on held-out synthetic text: ``python -m datamoat.privacy.pii.tagger_dev``.

The development set for choosing the tagger's settings (features, training options): texts from
:func:`tagger_synth.generate` with :data:`DEV_SEED` (a seed training never uses) and
``part="dev"`` (the fifth of the sentence templates that training leaves out), so a score here
is measured on sentence contexts the model never saw. No public benchmark set is read.

Scores :class:`~datamoat.privacy.pii.detect.PiiEngine` in mode ``accurate`` (with ``--model``,
default the shipped file) and mode ``fast`` per type (PERSON, STREET_ADDRESS, and the pattern
types pooled), span coverage: a gold span is found when at least half of its non-space
characters are covered by predicted spans of the same type; a predicted span is correct when
at least half of its non-space characters are covered by gold spans of the same type;
F2 = 5PR / (4P + R). A second set, ``unlisted``, is the same with every first and last name
made up from syllables training never uses: names in no list, found from context and shape
alone. Over-reporting: PERSON findings in plain sentences (the generator's
sentences with no personal data). Speed: texts/s of one single-threaded pass.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from datamoat.privacy.pii.detect import PiiEngine
from datamoat.privacy.pii.tagger import MODEL_PATH, PiiTagger
from datamoat.privacy.pii.tagger_synth import SynthWriter, generate

DEV_SEED = 1016
DEV_TEXTS = 3000
PATTERN = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "US_SSN")
Span = tuple[str, int, int]


def _covered(text: str, span: Span, others: Sequence[Span]) -> bool:
    """Whether at least half of ``span``'s non-space characters lie in ``others`` of its type."""
    kind, s, e = span
    marks = [False] * (e - s)
    for k, a, b in others:
        if k == kind and a < e and s < b:
            for i in range(max(a, s), min(b, e)):
                marks[i - s] = True
    chars = [m for i, m in enumerate(marks) if not text[s + i].isspace()]
    return bool(chars) and sum(chars) * 2 >= len(chars)


def _prf(found: int, gold: int, correct: int, pred: int) -> dict[str, float]:
    p = correct / pred if pred else 1.0
    r = found / gold if gold else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f2": round(5 * p * r / (4 * p + r), 4) if p + r else 0.0, "gold": gold, "pred": pred}


def score(engine: PiiEngine, data: Sequence[tuple[str, list[Span]]]) -> dict[str, object]:
    """Per-type P/R/F2 of ``engine`` on labelled ``data`` and its texts/s (see the module docstring)."""
    groups = {"PERSON": ("PERSON",), "STREET_ADDRESS": ("STREET_ADDRESS",), "pattern": PATTERN}
    counts = {g: [0, 0, 0, 0] for g in groups}
    t0 = time.perf_counter()
    predicted = [engine.analyze(text) for text, _ in data]
    seconds = time.perf_counter() - t0
    for (text, gold), found in zip(data, predicted, strict=True):
        pred = [(f.entity_type, f.start, f.end) for f in found]
        for g, kinds in groups.items():
            gs = [s for s in gold if s[0] in kinds]
            ps = [s for s in pred if s[0] in kinds]
            c = counts[g]
            c[0] += sum(_covered(text, s, pred) for s in gs)
            c[1] += len(gs)
            c[2] += sum(_covered(text, s, gold) for s in ps)
            c[3] += len(ps)
    out: dict[str, object] = {g: _prf(*c) for g, c in counts.items()}
    out["texts_per_s"] = round(len(data) / seconds)
    return out


def plain_sentences(n: int, seed: int = DEV_SEED) -> list[str]:
    """``n`` sentences with no personal data (the generator's fillers and English lorem)."""
    writer = SynthWriter(seed, "dev")
    return [writer.filler() for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL_PATH, help="the tagger model (default: the shipped file)")
    ap.add_argument("--texts", type=int, default=DEV_TEXTS)
    ap.add_argument("--seed", type=int, default=DEV_SEED)
    args = ap.parse_args(argv)
    data = generate(args.texts, args.seed, part="dev")
    unlisted = generate(args.texts // 3, args.seed + 1, part="dev", made_up=1.0)
    plain = plain_sentences(args.texts, args.seed)
    result: dict[str, object] = {"texts": len(data), "seed": args.seed, "model": str(args.model)}
    for mode in ("fast", "accurate"):
        tagger = PiiTagger(args.model) if mode == "accurate" else None
        engine = PiiEngine(mode=mode, cache_size=0, tagger=tagger)
        engine.analyze("warm up, Anna Berg, 4 Elm Street")
        result[mode] = score(engine, data)
        result[mode]["unlisted_names"] = score(engine, unlisted)["PERSON"]  # type: ignore[index]
        result[mode]["person_in_plain_sentences"] = sum(  # type: ignore[index]
            f.entity_type == "PERSON" for t in plain for f in engine.analyze(t))
    print(json.dumps(result, indent=1), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
