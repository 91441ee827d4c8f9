"""How much of the accuracy lost to label noise datamoat's cleaning wins back (BANKING77).

1. ``clean_acc``: the model trained on the original train file, scored on the official test.
2. 20% of the training labels are replaced by a different, uniformly drawn label (seeded).
   ``noisy_acc``: the same model kind trained on the noisy file.
3. ``cleaned_acc``: the noisy file is ingested into a fresh workspace and cleaned with the
   default recipe (``datamoat clean``: normalisation, duplicates, cleanlab label issues
   dropped); the same model kind is trained on what is left.

``recovered_share = (cleaned_acc - noisy_acc) / (clean_acc - noisy_acc)``; the target is >= 0.5.
Also printed: how many of the flipped rows the cleaning dropped (recall) and what share of
the dropped rows were flipped ones (precision).

Usage: python benchmarks/noise_uplift.py [--data DIR] [--noise 0.2] [--model tfidf-linear] [--seed 0]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"


def accuracy(kind: str, train: pd.DataFrame, test: pd.DataFrame) -> float:
    from datamoat.models.trainers.contract import create_trainer

    trainer = create_trainer(kind, text_column="text", label_column="category").fit(train)
    return float(np.mean(trainer.predict(test) == test["category"].astype(str).to_numpy()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--noise", type=float, default=0.2)
    ap.add_argument("--model", default="tfidf-linear")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from datamoat.clean.default_recipe import default_clean_recipe
    from datamoat.workspace import Workspace

    train = pd.read_csv(args.data / "train.csv")
    test = pd.read_csv(args.data / "test.csv")
    rng = np.random.default_rng(args.seed)
    labels = np.array(sorted(train["category"].unique()))
    noisy = train.copy()
    noisy["row"] = [f"r{i}" for i in range(len(noisy))]
    flip = rng.random(len(noisy)) < args.noise
    for i in np.flatnonzero(flip):
        choices = labels[labels != noisy.at[i, "category"]]
        noisy.at[i, "category"] = rng.choice(choices)
    flipped_ids = set(noisy.loc[flip, "row"])

    t0 = time.perf_counter()
    clean_acc = accuracy(args.model, train, test)
    noisy_acc = accuracy(args.model, noisy, test)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noisy.csv"
        noisy.to_csv(path, index=False)
        ws = Workspace.init(Path(tmp) / "ws")
        raw = ws.ingest(str(path), name="noisy", text="text", label="category", id="row")
        t1 = time.perf_counter()
        applied = ws.apply(raw.ref, default_clean_recipe(raw.roles), label="clean")
        clean_seconds = time.perf_counter() - t1
        cleaned = applied.version.to_pandas()
        ws.close()
    kept = set(cleaned.index)
    dropped = set(noisy["row"]) - kept
    cleaned_acc = accuracy(args.model, cleaned.reset_index(), test)
    gap = clean_acc - noisy_acc
    print(json.dumps({
        "model": args.model, "noise": args.noise, "flipped_rows": int(flip.sum()),
        "clean_acc": round(clean_acc, 4), "noisy_acc": round(noisy_acc, 4), "cleaned_acc": round(cleaned_acc, 4),
        "recovered_share": round((cleaned_acc - noisy_acc) / gap, 3) if gap > 0 else None,
        "dropped_rows": len(dropped), "dropped_by_reason": applied.dropped_by_reason,
        "flipped_dropped_recall": round(len(dropped & flipped_ids) / max(1, len(flipped_ids)), 3),
        "dropped_flipped_precision": round(len(dropped & flipped_ids) / max(1, len(dropped)), 3),
        "clean_seconds": round(clean_seconds, 1), "total_seconds": round(time.perf_counter() - t0, 1),
        "cores": len(os.sched_getaffinity(0)),
    }, indent=2))


if __name__ == "__main__":
    main()
