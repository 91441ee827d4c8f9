"""The data flywheel on BANKING77: a champion trained on 20% of train improves with feedback.

In a fresh workspace:

1. The official test split is ingested as the frozen test set; a stratified 20% of train is
   ingested and the champion is trained on it (``--model``, default embed-linear), tested on
   the test set.
2. The other 80% of train arrives in ``--batches`` equal batches (4). Each batch is predicted
   by the current champion; every prediction is logged in the prediction log (text after PII
   redaction, as the server does), then gets feedback through the feedback store: a
   correction (the true label) when the prediction was wrong, a thumbs-up when it was right.
   Corrections that contradict a confident prediction land in label-issue review; a simulated
   reviewer resolves them with the true label (it is gold data), and they are counted.
3. ``retrain`` runs after each batch: merge the feedback into a new training version, clean,
   train a challenger, compare it with the champion on the frozen test set and promote it only
   when it is significantly better.
4. A reference model of the same kind is trained on all of train; ``gap_to_full_points`` is
   its accuracy minus the final champion's, in percentage points.

Data: ../shared/data/banking77/{train,test}.csv (columns text, category; 10,003 / 3,080 rows).
Usage: python benchmarks/flywheel.py [--data DIR] [--model embed-linear] [--batches 4] [--budget 10m]
    [--alpha 0.05] [--seed 0] [--cache-dir DIR]
Embeddings are cached in ``--cache-dir`` (default ~/.cache/datamoat/embeddings), so repeated
runs and the rows every round re-embeds are cheap.
Prints one JSON object: {"model", "rows": {...}, "initial": {...}, "rounds": [{"round", "feedback",
"rows", "champion", "challenger", "promoted", "p_value", "bootstrap_ci", "reason", "seconds"}],
"final": {...}, "reference": {...}, "gap_to_full_points", "rises_each_round_within_ci",
"within_2_points", "wall_s"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"
DEFAULT_CACHE = Path.home() / ".cache" / "datamoat" / "embeddings"
NAME = "banking77"
TOP_SCORES = 5
"""Class scores kept per logged prediction (the top few are enough for margins and review)."""


def log(msg: str) -> None:
    print(f"[flywheel] {msg}", file=sys.stderr, flush=True)


def score_dict(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: figures.get(k) for k in ("ref", "accuracy", "accuracy_ci", "macro_f1")}


def predict_and_feedback(ws: Any, batch: Any, text_col: str, label_col: str, round_no: int) -> dict[str, Any]:
    """Predict ``batch`` with the champion, log the predictions, send feedback, resolve reviews."""
    import numpy as np

    from datamoat.feedback.predictions import PredictionLog, PredictionRow, hash_text
    from datamoat.feedback.records import FeedbackStore
    from datamoat.models.training import models_registry
    from datamoat.privacy.pii.detect import PiiEngine
    from datamoat.privacy.pii.operators import anonymize

    registry = models_registry(ws)
    champion = registry.resolve(f"{NAME}@champion")
    trainer = registry.load(champion.ref)
    if hasattr(trainer, "use_embedding_cache"):
        trainer.use_embedding_cache(ws.state / "cache" / "embeddings")
    texts = batch[text_col].astype(str).tolist()
    truth = batch[label_col].astype(str).tolist()
    start = time.perf_counter()
    proba = trainer.predict_proba(batch[[text_col]])
    latency_ms = 1000 * (time.perf_counter() - start) / max(1, len(texts))
    classes = np.asarray(trainer.classes_).astype(str)
    engine = PiiEngine()
    findings = engine.analyze_batch(texts)
    log_ = PredictionLog(ws.catalog)
    rows = []
    try:
        for text, found, p in zip(texts, findings, proba, strict=True):
            top = np.argsort(-p)[:TOP_SCORES]
            row = PredictionRow.from_scores(
                model_name=NAME, model_id=champion.id, scores={classes[i]: float(p[i]) for i in top},
                text=anonymize(text, found) if found else text, text_hash=hash_text(text),
                latency_ms=latency_ms, pii_count=len(found), client="benchmark")
            log_.add(row)
            rows.append(row)
        log_.flush()
        store = FeedbackStore(ws.catalog, log_)
        counts = {"predictions": len(rows), "correct": 0, "corrections": 0, "confirmations": 0, "review": 0,
                  "reviewed": 0, "pii_texts": sum(1 for f in findings if f)}
        for row, label in zip(rows, truth, strict=True):
            if row.label == label:
                out = store.add_feedback(model_name=NAME, user="user", prediction_id=row.id, vote="up")
                counts["correct"] += 1
                counts["confirmations"] += 1
            else:
                out = store.add_feedback(model_name=NAME, user="user", prediction_id=row.id, label=label)
                counts["corrections"] += 1
            if out["status"] == "review":
                counts["review"] += 1
                resolved = store.respond(out["record_id"], "reviewer", label=label)
                counts["reviewed"] += int(resolved.get("status") == "ready")
        counts["champion_accuracy_on_batch"] = round(counts["correct"] / max(1, len(rows)), 4)
        counts["ready"] = int(len(store.ready_records(NAME)))
    finally:
        log_.close()
    return counts


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from datamoat.flywheel import retrain
    from datamoat.models.training import train_model
    from datamoat.workspace import Workspace

    wall = time.perf_counter()
    ws = Workspace.init(root / "ws")
    cache = ws.state / "cache" / "embeddings"
    if args.cache_dir:
        Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.symlink_to(Path(args.cache_dir).resolve(), target_is_directory=True)
    text_col, label_col = "text", "category"
    train = pd.read_csv(args.data / "train.csv")
    seed_part, rest = train_test_split(train, train_size=0.2, stratify=train[label_col], random_state=args.seed)
    rest = rest.sample(frac=1.0, random_state=args.seed)
    batches = np.array_split(np.arange(len(rest)), args.batches)
    seed_csv = root / "train-20.csv"
    seed_part.to_csv(seed_csv, index=False)

    test_v = ws.ingest(args.data / "test.csv", name=f"{NAME}-test", text=text_col, label=label_col)
    seed_v = ws.ingest(seed_csv, name=f"{NAME}-train", text=text_col, label=label_col)
    t = time.perf_counter()
    first = train_model(ws, seed_v.ref, model=args.model, name=NAME, test=test_v.ref, budget=args.budget,
                        learning_curve=False)
    initial = {"ref": first.record.ref, "rows": int(seed_v.num_rows), "accuracy": first.evaluation["accuracy"],
               "accuracy_ci": first.evaluation["accuracy_ci"], "seconds": round(time.perf_counter() - t, 1)}
    log(f"champion {first.record.ref} on {seed_v.num_rows} rows: accuracy {initial['accuracy']:.4f}")

    rounds = []
    for i, idx in enumerate(batches, start=1):
        t = time.perf_counter()
        fb = predict_and_feedback(ws, rest.iloc[idx], text_col, label_col, i)
        fb_s = time.perf_counter() - t
        t = time.perf_counter()
        decision = retrain(ws, NAME, model=args.model, budget=args.budget, alpha=args.alpha,
                           progress=lambda m: log(f"  {m}"))
        f = decision.figures
        rounds.append({
            "round": i, "feedback": fb, "rows": f["rows"], "champion": score_dict(f["champion"]),
            "challenger": score_dict(f["challenger"]), "promoted": decision.promoted, "p_value": f["mcnemar_p"],
            "bootstrap_ci": f["bootstrap_ci"], "dropped_by_reason": f["dropped_by_reason"], "reason": decision.reason,
            "seconds": {"predict_and_feedback": round(fb_s, 1), "retrain": round(time.perf_counter() - t, 1),
                        "retrain_stages": f["timings_s"]},
        })
        log(f"round {i}: {decision.reason}")

    from datamoat.models.training import models_registry

    final = models_registry(ws).resolve(f"{NAME}@champion")
    full_v = ws.ingest(args.data / "train.csv", name=f"{NAME}-full", text=text_col, label=label_col)
    t = time.perf_counter()
    ref = train_model(ws, full_v.ref, model=args.model, name=f"{NAME}-full", test=test_v.ref, budget=args.budget,
                      learning_curve=False)
    reference = {"ref": ref.record.ref, "rows": int(full_v.num_rows), "accuracy": ref.evaluation["accuracy"],
                 "accuracy_ci": ref.evaluation["accuracy_ci"], "seconds": round(time.perf_counter() - t, 1)}
    final_fig = {"ref": final.ref, "accuracy": final.metrics["accuracy"], "accuracy_ci": final.metrics["accuracy_ci"],
                 "train_rows": ws.version_by_id(final.train_version_id).num_rows}
    champions = [initial["accuracy"]] + [
        r["challenger"]["accuracy"] if r["promoted"] else r["champion"]["accuracy"] for r in rounds]
    cis = [initial["accuracy_ci"]] + [
        r["challenger"]["accuracy_ci"] if r["promoted"] else r["champion"]["accuracy_ci"] for r in rounds]
    # "rises within CI": each round's champion is not below the previous one's interval
    rises = all(champions[k + 1] >= cis[k][0] for k in range(len(champions) - 1))
    gap = round(100 * (reference["accuracy"] - final_fig["accuracy"]), 2)
    ws.close()
    return {
        "model": args.model, "alpha": args.alpha, "batches": args.batches,
        "rows": {"train": len(train), "seed": int(seed_v.num_rows), "arriving": len(rest), "test": int(test_v.num_rows)},
        "initial": initial, "rounds": rounds, "champion_accuracy_by_round": [round(a, 4) for a in champions],
        "final": final_fig, "reference": reference, "gap_to_full_points": gap,
        "rises_each_round_within_ci": rises, "within_2_points": gap <= 2.0,
        "review_total": sum(r["feedback"]["review"] for r in rounds), "cores": os.cpu_count(),
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="embed-linear", help="trainer kind of the champion and every retrain")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--budget", default="10m")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="embedding cache shared between runs ('' for none)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="datamoat-flywheel-") as tmp:
        result = run(args, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
