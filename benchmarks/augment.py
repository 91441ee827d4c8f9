"""Does augmentation help small text datasets, and does the gate keep it only when it helps?

BANKING77 (../shared/data/banking77: official train and test files, 77 intents) with the
training file subsampled to 5, 10 and 20 examples per class (seeded; 3 seeds each), for
tfidf-linear and embed-linear, scored on the whole official test file (3,080 rows):

* ``without``: the trainer fitted on the subsample;
* ``with``: the same trainer fitted on the subsample + the synthetic rows of
  :func:`datamoat.clean.augment.augment_text` (defaults, chosen by ``benchmarks/augment_dev.py``
  on training rows outside the subsample: 4 synonym replacements per row by the bundled
  encoder's word-embedding neighbours, alpha 0.1), made from the subsample only;
* ``auto``: what ``--augment auto`` does for that kind: ``select_model(candidates=(kind,),
  augment=True, search=False)`` (3-fold CV on the subsample, synthetic rows made from each
  fold's training rows only, kept only when it passes the flywheel's McNemar + bootstrap test
  on the out-of-fold predictions), its refitted winner scored on the test file; ``kept`` lists
  the gate's decision per seed.

Accuracy is a percentage; mean and std over the seeds. Target (issue 15): ``with`` beats
``without`` by >= 2 points for tfidf-linear at 10 per class; ``auto`` is never worse than
``without`` (it equals one of the two arms, the gate picks which).

Usage: python benchmarks/augment.py [--data DIR] [--per-class 5,10,20] [--seeds 3]
       [--kinds tfidf-linear,embed-linear]
Prints one JSON object. Figures taken on a shared, busy 2-core machine say so in ``note``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"


def subsample(train: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """``per_class`` rows of each category (seeded), indexed by a stable row id."""
    picked = train.groupby("category", group_keys=False).sample(n=per_class, random_state=seed)
    return picked.sort_index()


def accuracy(trainer: Any, test: pd.DataFrame) -> float:
    """Accuracy (%) of ``trainer`` on ``test``."""
    return 100.0 * float(np.mean(np.asarray(trainer.predict(test)) == test["category"].to_numpy()))


def make(kind: str, cache: Path) -> Any:
    from datamoat.models.trainers.contract import create_trainer

    trainer = create_trainer(kind, text_column="text", label_column="category")
    if hasattr(trainer, "use_embedding_cache"):
        trainer.use_embedding_cache(cache)
    return trainer


def one_setting(kind: str, part: pd.DataFrame, test: pd.DataFrame, seed: int, cache: Path) -> dict[str, Any]:
    """The three arms for one subsample."""
    from datamoat.clean.augment import augment_text
    from datamoat.models.augment_gate import with_synthetic
    from datamoat.models.select import select_model

    out: dict[str, Any] = {}
    t = time.perf_counter()
    out["without"] = accuracy(make(kind, cache).fit(part), test)
    made = augment_text(part, text_column="text", label_column="category", seed=seed)
    out["with"] = accuracy(make(kind, cache).fit(with_synthetic(part, made)), test)
    sel = select_model(part, label_column="category", text_column="text", candidates=(kind,), search=False,
                       augment=True, seed=seed, cache_dir=cache, budget_s=3600)
    out["auto"] = accuracy(sel.trainer, test)
    decision = sel.augmentation or {}
    out["kept"] = bool(decision.get("kept"))
    out["method"] = made.method
    out["gate"] = {k: decision.get(k) for k in ("raw", "augmented", "test", "reason")}
    out["seconds"] = round(time.perf_counter() - t, 1)
    return out


def summary(values: list[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 2), "std": round(float(np.std(values)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-class", default="5,10,20")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kinds", default="tfidf-linear,embed-linear")
    args = parser.parse_args()
    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    import warnings

    warnings.filterwarnings("ignore")  # scikit-learn's convergence notes on tiny folds
    train = pd.read_csv(args.data / "train.csv")
    train.index = pd.Index([f"b77-{i}" for i in range(len(train))], name="_dm_row_id")
    test = pd.read_csv(args.data / "test.csv")
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "embeddings"
        for kind in args.kinds.split(","):
            for per_class in (int(n) for n in args.per_class.split(",")):
                runs = [one_setting(kind, subsample(train, per_class, seed), test, seed, cache)
                        for seed in range(args.seeds)]
                row = {"kind": kind, "per_class": per_class, "train_rows": per_class * train["category"].nunique(),
                       **{arm: summary([r[arm] for r in runs]) for arm in ("without", "with", "auto")},
                       "auto_kept": [r["kept"] for r in runs],
                       "gain_with": round(float(np.mean([r["with"] - r["without"] for r in runs])), 2),
                       "auto_minus_without": [round(r["auto"] - r["without"], 2) for r in runs],
                       "gates": [r["gate"] for r in runs], "seconds": [r["seconds"] for r in runs]}
                results.append(row)
                print(json.dumps({k: row[k] for k in ("kind", "per_class", "without", "with", "auto", "auto_kept")}),
                      flush=True)
    target = next((r for r in results if r["kind"] == "tfidf-linear" and r["per_class"] == 10), None)
    print(json.dumps({
        "benchmark": "augment", "data": "BANKING77 official train (subsampled per class) / official test",
        "test_rows": len(test), "seeds": args.seeds, "accuracy": "percent, mean and std over the seeds",
        "settings": results,
        "target_tfidf_10_per_class_gain": None if target is None else target["gain_with"],
        "target_met": None if target is None else target["gain_with"] >= 2.0,
        "auto_never_worse": all(d >= -1e-9 for r in results for d in r["auto_minus_without"]),
        "seconds": round(time.perf_counter() - started, 1),
        "note": "taken on a shared, busy 2-core machine; times are indicative only",
    }, indent=1))


if __name__ == "__main__":
    main()
