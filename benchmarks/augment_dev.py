"""How the augmentation defaults were chosen, without ever reading the official test file.

Development protocol (issue 15): BANKING77's official *training* file only. For each seed, 10
examples per class are drawn (as ``benchmarks/augment.py`` draws them), and every other
training row (about 9,200) is the development set the setting is scored on. tfidf-linear is
fitted on the subsample alone (``off``) and on the subsample + the synthetic rows of one
setting of :func:`datamoat.clean.augment.augment_text`; the gain is the accuracy difference in
points, mean and std over the seeds.

A setting is ``name=JSON`` with keyword arguments of ``augment_text`` (``per_row``, ``alpha``,
``methods``, ``synonym_k``, ``synonym_threshold``); ``default`` is the shipped defaults. With no
setting given, the grid of :data:`SETTINGS` runs (the one the defaults were chosen from; see
:data:`datamoat.clean.augment.DEFAULT_METHODS` for its figures).

Usage: python benchmarks/augment_dev.py [--data DIR] [--per-class 10] [--seeds 3]
       [--kind tfidf-linear] [SETTING ...]
Prints one JSON line per setting, then a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"
MIX = ["swap", "delete", "insert", "synonym"]
SETTINGS = {
    "default": {},  # what augment_text ships: 4 synonym replacements per row, alpha 0.1
    "mix_4": {"per_row": 4, "methods": MIX},
    "mix_8": {"per_row": 8, "methods": MIX},
    "mix_16_alpha_0.05": {"per_row": 16, "alpha": 0.05, "methods": MIX},
    "mix_typo_5": {"per_row": 5, "methods": [*MIX, "typo"]},
    "mix_4_k10_t0.4": {"per_row": 4, "methods": MIX, "synonym_k": 10, "synonym_threshold": 0.4},
    "insert_synonym_4": {"per_row": 4, "methods": ["insert", "synonym"]},
    "synonym_4_k10_t0.4": {"per_row": 4, "methods": ["synonym"], "synonym_k": 10, "synonym_threshold": 0.4},
    "synonym_4_alpha_0.2": {"per_row": 4, "methods": ["synonym"], "alpha": 0.2},
}
"""The settings tried when none is given on the command line."""


def accuracy(trainer: Any, rows: pd.DataFrame) -> float:
    """Accuracy (%) of ``trainer`` on ``rows``."""
    return 100.0 * float(np.mean(np.asarray(trainer.predict(rows)) == rows["category"].to_numpy()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kind", default="tfidf-linear")
    parser.add_argument("settings", nargs="*", help="name=JSON keyword arguments of augment_text")
    args = parser.parse_args()
    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(key, value)
    import warnings

    warnings.filterwarnings("ignore")  # scikit-learn's convergence notes on tiny sets
    from datamoat.clean.augment import augment_text
    from datamoat.models.augment_gate import with_synthetic
    from datamoat.models.trainers.contract import create_trainer

    settings = dict(SETTINGS)
    if args.settings:
        settings = {}
        for item in args.settings:
            name, _, spec = item.partition("=")
            settings[name] = json.loads(spec) if spec else {}
    train = pd.read_csv(args.data / "train.csv")  # the test file is never read here
    train.index = pd.Index([f"b77-{i}" for i in range(len(train))], name="_dm_row_id")
    splits = []
    for seed in range(args.seeds):
        part = train.groupby("category", group_keys=False).sample(n=args.per_class, random_state=seed).sort_index()
        splits.append((seed, part, train.drop(index=part.index)))

    def fit_score(rows: pd.DataFrame, dev: pd.DataFrame) -> float:
        trainer = create_trainer(args.kind, text_column="text", label_column="category")
        return accuracy(trainer.fit(rows), dev)

    off = [fit_score(part, dev) for _seed, part, dev in splits]
    print(json.dumps({"setting": "off", "accuracy": [round(a, 2) for a in off]}), flush=True)
    results = {}
    for name, options in settings.items():
        started = time.perf_counter()
        if "methods" in options:
            options = {**options, "methods": tuple(options["methods"])}
        gains = []
        for (seed, part, dev), base in zip(splits, off, strict=True):
            made = augment_text(part, text_column="text", label_column="category", seed=seed, **options)
            gains.append(fit_score(with_synthetic(part, made), dev) - base)
        results[name] = {"gain_mean": round(float(np.mean(gains)), 2), "gain_std": round(float(np.std(gains)), 2),
                         "gains": [round(g, 2) for g in gains], "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps({"setting": name, **settings[name], **results[name]}), flush=True)
    print(json.dumps({"benchmark": "augment_dev", "kind": args.kind, "per_class": args.per_class,
                      "seeds": args.seeds, "scored_on": "official training rows outside each subsample",
                      "off_accuracy_mean": round(float(np.mean(off)), 2), "settings": results,
                      "note": "taken on a shared, busy 2-core machine"}, indent=1))


if __name__ == "__main__":
    main()
