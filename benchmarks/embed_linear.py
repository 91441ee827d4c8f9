"""embed-linear train + evaluate time and accuracy on BANKING77 (official split), no cache.

Fits the ``embed-linear`` trainer (bundled MiniLM, frozen, + logistic regression) on the
train file and evaluates it on the test file with :func:`datamoat.models.evaluation.evaluate.evaluate_model`
(bootstrap CIs included), in a fresh process without the embedding cache, ``--repeats`` times.
Target from the issue: train + evaluate within 3 minutes on 2 cores.

Usage: python benchmarks/embed_linear.py [--data DIR] [--repeats 3]
Prints one JSON object: {"seconds": [...], "median_s", "fit_s", "evaluate_s", "accuracy", "cores"}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"


def one_run(data: Path) -> dict:
    import pandas as pd

    from datamoat.models.evaluation.evaluate import evaluate_model
    from datamoat.models.trainers.contract import create_trainer

    train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv")
    t0 = time.perf_counter()
    trainer = create_trainer("embed-linear", text_column="text", label_column="category").fit(train)
    t1 = time.perf_counter()
    ev = evaluate_model(trainer, test)
    t2 = time.perf_counter()
    return {"fit_s": t1 - t0, "evaluate_s": t2 - t1, "total_s": t2 - t0, "accuracy": ev["accuracy"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_run(args.data)))
        return
    runs = []
    for _ in range(args.repeats):  # a fresh process each time: model load included, no warm cache
        out = subprocess.run([sys.executable, __file__, "--one", "--data", str(args.data)],
                             capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({
        "seconds": [round(r["total_s"], 1) for r in runs],
        "median_s": round(statistics.median(r["total_s"] for r in runs), 1),
        "fit_s": round(statistics.median(r["fit_s"] for r in runs), 1),
        "evaluate_s": round(statistics.median(r["evaluate_s"] for r in runs), 1),
        "accuracy": round(runs[0]["accuracy"], 4), "cores": len(os.sched_getaffinity(0)),
    }, indent=2))


if __name__ == "__main__":
    main()
