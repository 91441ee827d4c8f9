"""int8 ONNX compression of embed-linear: single-text latency, batch throughput, size, accuracy.

Trains ``embed-linear`` once on ``--train`` (the bundled all-MiniLM-L6-v2 on torch, fp32),
compresses its encoder with :func:`datamoat.models.export.compress.compress_model` (ONNX export +
ONNX Runtime dynamic int8 quantisation) and compares the two on ``--test``:

* latency: ``predict_proba`` on one text per call (tokenizer, encoder and head included),
  ``--repeats`` calls cycling through the test texts after a warm-up; p50 / p95 in ms.
* batch throughput: texts/s of ``predict_proba`` on ``--batch-size`` texts per call over the
  first ``--batch-texts`` test texts.
* size: the model folder saved self-contained (head + encoder weights + tokenizer), MB of 2**20 bytes.
* accuracy on all test rows; ``acc_change_points`` = (int8 - fp32) * 100.

The machine may be shared and noisy: timings are taken in ``--rounds`` rounds that alternate
fp32 and int8, and each figure is the median over rounds. speedup = fp32 p50 / int8 p50.
``--cores N`` pins the process to N CPUs; torch and ONNX Runtime then both run N threads (on
an oversubscribed machine torch's 2-thread single-text calls slow down far more than 1-thread
ones, so ``--cores 1`` is the fairer comparison there).

Usage: python benchmarks/compress.py [--train CSV] [--test CSV] [--repeats 200] [--rounds 3] [--cores N]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from datamoat.models.export.compress import compress_model, measure_latency
from datamoat.models.trainers.contract import create_trainer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--train", type=Path, default=DATA / "train.csv", help="training CSV")
    p.add_argument("--test", type=Path, default=DATA / "test.csv", help="test CSV")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="category")
    p.add_argument("--repeats", type=int, default=200, help="single-text calls timed per round")
    p.add_argument("--rounds", type=int, default=3, help="alternating fp32/int8 timing rounds (medians reported)")
    p.add_argument("--batch-size", type=int, default=64, help="texts per call for the throughput pass")
    p.add_argument("--batch-texts", type=int, default=1024, help="test texts used for the throughput pass")
    p.add_argument("--train-rows", type=int, default=None, help="use only the first N training rows")
    p.add_argument("--cores", type=int, default=None,
                   help="pin the process to this many CPUs (torch and ONNX Runtime use one thread per CPU)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cores:
        # Both backends size their thread pools from the affinity mask, so this sets their threads.
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    for path in (args.train, args.test):
        if not path.is_file():
            print(f"error: {path} does not exist; pass --train / --test.", file=sys.stderr)
            return 2
    train = pd.read_csv(args.train)
    test = pd.read_csv(args.test)
    if args.train_rows:
        train = train.head(args.train_rows)

    fp32 = create_trainer("embed-linear", text_column=args.text_column, label_column=args.label_column)
    start = time.perf_counter()
    fp32.fit(train)
    fit_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="datamoat-compress-bench-") as work:
        start = time.perf_counter()
        int8 = compress_model(fp32, Path(work), method="onnx-int8")
        compress_s = time.perf_counter() - start

        truth = test[args.label_column].astype(str).to_numpy()
        pred32, pred8 = fp32.predict(test), int8.predict(test)
        texts = test[args.text_column].fillna("").astype(str).tolist()
        rounds: dict[str, list[dict[str, float]]] = {"fp32": [], "int8": []}
        for _ in range(args.rounds):
            for name, model in (("fp32", fp32), ("int8", int8)):
                rounds[name].append(measure_latency(
                    model, texts[: args.batch_texts], repeats=args.repeats, batch_size=args.batch_size
                ))

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in rounds[name]))

    fp32_acc, int8_acc = float(np.mean(pred32 == truth)), float(np.mean(pred8 == truth))
    result = {
        "fp32_ms_p50": round(med("fp32", "p50_ms"), 3),
        "int8_ms_p50": round(med("int8", "p50_ms"), 3),
        "fp32_ms_p95": round(med("fp32", "p95_ms"), 3),
        "int8_ms_p95": round(med("int8", "p95_ms"), 3),
        "speedup": round(med("fp32", "p50_ms") / med("int8", "p50_ms"), 2),
        "speedup_per_round": [round(a["p50_ms"] / b["p50_ms"], 2) for a, b in zip(rounds["fp32"], rounds["int8"],
                                                                                    strict=True)],
        "fp32_acc": round(fp32_acc, 4),
        "int8_acc": round(int8_acc, 4),
        "acc_change_points": round(100.0 * (int8_acc - fp32_acc), 2),
        "agreement": round(float(np.mean(pred32 == pred8)), 4),
        "fp32_mb": round(med("fp32", "size_mb"), 1),
        "int8_mb": round(med("int8", "size_mb"), 1),
        "fp32_batch_texts_per_s": round(med("fp32", "batch_texts_per_s"), 1),
        "int8_batch_texts_per_s": round(med("int8", "batch_texts_per_s"), 1),
        "rows_train": len(train),
        "rows_test": len(test),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "rounds": args.rounds,
        "repeats": args.repeats,
        "fit_s": round(fit_s, 1),
        "compress_s": round(compress_s, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
