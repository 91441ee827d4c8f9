"""The main job on BANKING77 with its official test split, next to two plain baselines.

Runs ``datamoat run TRAIN --text text --label category --test TEST --json`` with the default
budget (10 minutes) in a fresh workspace, as a user would, and reads the test accuracy and
the wall time. In the same run, two peers are trained on the same raw train file and scored
on the same test file:

- ``tfidf_svm``: scikit-learn TfidfVectorizer (word 1-2 grams, sublinear tf) + LinearSVC;
- ``minilm_logreg``: the bundled all-MiniLM-L6-v2 mean-pooled, normalised embeddings +
  LogisticRegression (C=10, the best of 1/10/30/100 on this test set, which flatters it).

Data: ../shared/data/banking77/{train,test}.csv (columns text, category; 10,003 / 3,080 rows).
Usage: python benchmarks/banking77.py [--data DIR] [--budget 10m] [--no-peers]
Prints one JSON object: {"datamoat": {"accuracy", "accuracy_ci", "macro_f1", "model", "wall_s",
"candidates"}, "peers": {...}, "cores": n}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"


def run_datamoat(data: Path, budget: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "datamoat", "-w", str(Path(tmp) / "ws"), "run", str(data / "train.csv"),
               "--text", "text", "--label", "category", "--test", str(data / "test.csv"), "--budget", budget, "--json"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"datamoat run failed: {proc.stderr.strip()}")
        res = json.loads(proc.stdout)
    return {
        "accuracy": res["test"]["accuracy"], "accuracy_ci": res["test"]["accuracy_ci"],
        "macro_f1": res["test"]["macro_f1"], "test_rows": res["test"]["rows"], "model": res["model"]["kind"],
        "wall_s": round(wall, 1), "timings_s": res["timings_s"], "dropped": res["dropped"],
        "candidates": [{k: c.get(k) for k in ("name", "status", "cv_mean", "seconds", "reason")}
                       for c in res["candidates"]],
    }


def run_peers(data: Path) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from datamoat.models.trainers.encoder import TextEncoder

    train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv")
    out = {}
    t = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    clf = LinearSVC().fit(vec.fit_transform(train.text), train.category)
    acc = float(np.mean(clf.predict(vec.transform(test.text)) == test.category))
    out["tfidf_svm"] = {"accuracy": round(acc, 4), "wall_s": round(time.perf_counter() - t, 1)}
    t = time.perf_counter()
    enc = TextEncoder("bundled")
    lr = LogisticRegression(C=10, max_iter=3000).fit(enc.embed(train.text.tolist()), train.category)
    acc = float(np.mean(lr.predict(enc.embed(test.text.tolist())) == test.category))
    out["minilm_logreg"] = {"accuracy": round(acc, 4), "wall_s": round(time.perf_counter() - t, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--budget", default="10m")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    result = {"datamoat": run_datamoat(args.data, args.budget), "cores": len(os.sched_getaffinity(0))}
    print(json.dumps(result), file=sys.stderr, flush=True)  # kept even if a peer fails
    if not args.no_peers:
        result["peers"] = run_peers(args.data)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
