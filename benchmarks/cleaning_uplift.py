"""Does datamoat's default cleaning help, and never hurt? Raw vs default-cleaned test accuracy.

For each dataset, the same model kind (``--model``, default tfidf-linear) is trained twice by
the main job, ``datamoat.run_loop``, and scored on the same untouched test rows:

* ``raw``: ``run_loop(..., recipe=[])``: the ingested training rows as they are (an empty
  recipe: no normalisation, no drops, and no label-cleaning candidate);
* ``default``: ``run_loop(...)`` with its defaults (the training recipe: normalise, drop
  missing, length filter, exact dedup; label cleaning is a selection candidate that must pass
  the gate of :mod:`datamoat.models.cleaning_gate`). Its gate decision is
  ``selection["label_cleaning"]``; run_loop consults the gate only under ``model="auto"``;
* ``default_gated`` (only when ``default`` had no gate decision, i.e. a fixed ``--model``):
  the gate run for that one kind on the default run's training rows, as ``model="auto"`` runs
  it for its best candidate (``select_model(candidates=(kind,), label_cleaning=True)``: each
  ``label_issues`` action, drop and relabel, judged on untouched validation folds), then scored
  on the same test rows. It shows what the gate does for this kind.

Both arms get the same test treatment (run_loop's serving transforms and PII redaction); no
test row is dropped or relabelled. Datasets:

* ``banking77``: ../shared/data/banking77 official train/test (``--banking-rows N`` subsamples
  train, seeded; the output says so);
* ``generated_noisy``: support tickets written by :mod:`datamoat.demo.compose` (seeded), 20%
  of ALL labels (train and test) flipped to another intent uniformly, then 10% of the training
  rows duplicated exactly. The test labels are noisy too, so ``accuracy`` is against the
  labels a user would have; ``truth_accuracy`` is against the generator's true labels;
* ``generated_clean``: the same rows, the same split and duplicates, no flipped label.

``recovered_share = (default - raw_noisy) / (raw_clean - raw_noisy)`` on the generated data,
by true labels (flips are symmetric, so the share is about the same by noisy labels).
Targets (from the issue): on clean data the default loses no more than the raw arm's CI half
width; it recovers >= 50% of the accuracy lost to the noise.

Usage: python benchmarks/cleaning_uplift.py [--data DIR] [--model tfidf-linear] [--rows 3000]
       [--seed 0] [--banking-rows N] [--skip-banking77]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"
NOISE = 0.2
DUPLICATES = 0.1
TEST_SHARE = 0.2
AMBIGUOUS = 0.6
"""Share of generated tickets that also state a related intent's request (see ``generate``)."""
TYPOS = 0.3


def generate(rows: int, seed: int, noise: float, duplicates: float) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """(train, test, truth): support tickets with ``noise`` of all labels flipped, train rows duplicated.

    rows: tickets before duplication; TEST_SHARE of them are the test rows (chosen before any
    noise). Columns ``row`` (id), ``text``, ``label``. truth: row id -> true label. The texts,
    the split and the duplicated rows depend on ``seed`` only, not on ``noise``.
    """
    from datamoat.demo.compose import CHANNEL_WEIGHTS, CHANNELS, compose_english
    from datamoat.demo.corrupt import add_typos
    from datamoat.demo.intents import BY_NAME, CONFUSIONS, INTENTS, fill
    from datamoat.demo.pii import render

    rng = random.Random(seed)
    names, weights = [i.name for i in INTENTS], [i.weight for i in INTENTS]
    texts, labels = [], []
    for _ in range(rows):
        intent = rng.choices(names, weights=weights)[0]
        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        text = render(compose_english(intent, channel, rng))[0]
        if rng.random() < AMBIGUOUS:  # a related intent's request too: the true label is not always clear
            text += " " + fill(rng.choice(BY_NAME[rng.choice(CONFUSIONS[intent])].core), rng)
        texts.append(add_typos(text, rng, 2) if rng.random() < TYPOS else text)
        labels.append(intent)
    data = pd.DataFrame({"row": [f"r{i}" for i in range(rows)], "text": texts, "label": labels})
    truth = dict(zip(data["row"], data["label"], strict=True))
    split_rng, dup_rng, noise_rng = (np.random.default_rng([seed, k]) for k in (1, 2, 3))
    is_test = np.zeros(rows, dtype=bool)
    is_test[split_rng.choice(rows, size=round(rows * TEST_SHARE), replace=False)] = True
    flip = noise_rng.random(rows) < noise
    choices = np.array(names)
    for i in np.flatnonzero(flip):
        data.at[i, "label"] = noise_rng.choice(choices[choices != data.at[i, "label"]])
    train, test = data[~is_test].reset_index(drop=True), data[is_test].reset_index(drop=True)
    copies = train.iloc[dup_rng.choice(len(train), size=round(len(train) * duplicates), replace=False)].copy()
    truth.update({f"d{i}": truth[r] for i, r in enumerate(copies["row"])})
    copies["row"] = [f"d{i}" for i in range(len(copies))]
    train = pd.concat([train, copies], ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return train, test, truth


def run_arm(tmp: Path, train: Path, test: Path, kind: str, budget: str, raw: bool) -> dict[str, Any]:
    """One run_loop call in a fresh workspace; its figures and the fitted model's test frame."""
    from datamoat.flywheel.run import run_loop
    from datamoat.models.training import user_frame
    from datamoat.workspace import Workspace

    ws = Workspace.init(tmp / ("raw" if raw else "default"))
    t = time.perf_counter()
    res = run_loop(ws, train, text="text", label="label", id_column="row", test=test, model=kind, budget=budget,
                   **({"recipe": []} if raw else {}))
    seconds = time.perf_counter() - t
    tr = res.train
    assert tr is not None
    head = tr.headline()
    out: dict[str, Any] = {
        "accuracy": head["accuracy"], "accuracy_ci": head["accuracy_ci"], "test_rows": head["rows"],
        "train_rows": res.rows.get("train"), "rows_dropped": sum(res.dropped.values()), "dropped": res.dropped,
        "label_cleaning": tr.selection.get("label_cleaning"), "seconds": round(seconds, 1),
        "timings_s": {k: round(v, 1) for k, v in res.timings_s.items()},
    }
    test_df = user_frame(ws.version(tr.test_ref))
    train_df = user_frame(ws.version(tr.train_ref))
    ws.close()
    return {"figures": out, "trainer": tr.trainer, "test_df": test_df, "train_df": train_df}


def gated(train_df: pd.DataFrame, test_df: pd.DataFrame, kind: str, seed: int) -> dict[str, Any]:
    """The label-cleaning gate for ``kind`` alone on ``train_df``, as model="auto" runs it; its figures."""
    from datamoat.models.cleaning_gate import cleaned_part
    from datamoat.models.evaluation.evaluate import evaluate_model
    from datamoat.models.select import select_model

    t = time.perf_counter()
    train_df = train_df[train_df["label"].notna()]
    refit: dict[str, Any] = {}

    def clean_train(action: str) -> pd.DataFrame:  # what select_model refits on when a cleaning wins
        rows, changed = cleaned_part(train_df, "text", "label", action, seed)
        refit.update(action=action, rows_changed=changed, rows_dropped=len(train_df) - len(rows))
        return rows

    sel = select_model(train_df, label_column="label", text_column="text", candidates=(kind,), search=False,
                       label_cleaning=True, seed=seed, clean_train=clean_train)
    ev = evaluate_model(sel.trainer, test_df, seed=seed)
    return {"figures": {"accuracy": ev["accuracy"], "accuracy_ci": ev["accuracy_ci"],
                        "label_cleaning": sel.label_cleaning, "chosen": sel.chosen,
                        "refit": refit or {"action": None, "rows_changed": 0, "rows_dropped": 0},
                        "seconds": round(time.perf_counter() - t, 1)},
            "trainer": sel.trainer}


def truth_accuracy(trainer: Any, test_df: pd.DataFrame, truth: dict[str, str]) -> float:
    """Accuracy of ``trainer`` on ``test_df`` against the generator's true labels (by row id)."""
    ids = test_df["row"] if "row" in test_df.columns else pd.Series(test_df.index, index=test_df.index)
    pred = trainer.predict(test_df)
    return round(float(np.mean(np.asarray(pred) == ids.map(truth).to_numpy())), 4)


def compare(tmp: Path, train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace,
            truth: dict[str, str] | None = None) -> dict[str, Any]:
    """raw vs default (and default_gated when the default had no gate) on one dataset."""
    tmp.mkdir()
    train_path, test_path = tmp / "train.csv", tmp / "test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    out: dict[str, Any] = {"train_rows": len(train), "test_rows": len(test)}
    arms = {"raw": run_arm(tmp, train_path, test_path, args.model, args.budget, raw=True),
            "default": run_arm(tmp, train_path, test_path, args.model, args.budget, raw=False)}
    if arms["default"]["figures"]["label_cleaning"] is None:
        arms["default_gated"] = gated(arms["default"]["train_df"], arms["default"]["test_df"], args.model, args.seed)
    for name, arm in arms.items():
        out[name] = arm["figures"]
        if truth is not None:
            out[name]["truth_accuracy"] = truth_accuracy(arm["trainer"], arms["default"]["test_df"], truth)
    half = (out["raw"]["accuracy_ci"][1] - out["raw"]["accuracy_ci"][0]) / 2
    for name in ("default", "default_gated"):
        if name in out:
            out[name]["gain_vs_raw"] = round(out[name]["accuracy"] - out["raw"]["accuracy"], 4)
            out[name]["within_raw_ci"] = out[name]["accuracy"] >= out["raw"]["accuracy"] - half
    return out


def banking77(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """raw vs default on BANKING77's official split (train subsampled with --banking-rows)."""
    train = pd.read_csv(args.data / "train.csv")
    test = pd.read_csv(args.data / "test.csv")
    note = "official train/test"
    if args.banking_rows and args.banking_rows < len(train):
        train = train.sample(n=args.banking_rows, random_state=args.seed)
        note = f"train subsampled to {args.banking_rows:,} of 10,003 rows (seed {args.seed}); official test"
    train = train.rename(columns={"category": "label"}).reset_index(drop=True)
    test = test.rename(columns={"category": "label"})
    train.insert(0, "row", [f"t{i}" for i in range(len(train))])
    test.insert(0, "row", [f"s{i}" for i in range(len(test))])
    return {"data": note, **compare(tmp, train, test, args)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BANKING77 folder (train.csv, test.csv)")
    ap.add_argument("--model", default="tfidf-linear", help="the trainer kind of both arms (tfidf-linear, embed-linear)")
    ap.add_argument("--rows", type=int, default=3000, help="generated tickets before duplication")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", default="10m", help="run_loop's budget per arm")
    ap.add_argument("--banking-rows", type=int, default=0, help="subsample BANKING77 train to N rows (0: all)")
    ap.add_argument("--skip-banking77", action="store_true")
    args = ap.parse_args()
    if not args.skip_banking77 and not (args.data / "train.csv").is_file():
        raise SystemExit(f"no BANKING77 train.csv in {args.data}; pass --data DIR or --skip-banking77.")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    result: dict[str, Any] = {"model": args.model, "seed": args.seed, "datasets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        if not args.skip_banking77:
            result["datasets"]["banking77"] = banking77(base / "banking77", args)
        noisy_train, noisy_test, truth = generate(args.rows, args.seed, NOISE, DUPLICATES)
        clean_train, clean_test, _ = generate(args.rows, args.seed, 0.0, DUPLICATES)
        noisy = compare(base / "noisy", noisy_train, noisy_test, args, truth)
        clean = compare(base / "clean", clean_train, clean_test, args, truth)
    flipped = {"train": int(sum(noisy_train["label"] != noisy_train["row"].map(truth))),
               "test": int(sum(noisy_test["label"] != noisy_test["row"].map(truth)))}
    result["datasets"]["generated_noisy"] = {
        "generator": f"datamoat.demo.compose tickets, {args.rows} rows, seed {args.seed}; {NOISE:.0%} of all labels "
                     f"flipped (train and test), {DUPLICATES:.0%} of training rows duplicated",
        "flipped_labels": flipped, **noisy}
    result["datasets"]["generated_clean"] = {"generator": "the same rows, split and duplicates; no flipped label", **clean}
    gap = clean["raw"]["truth_accuracy"] - noisy["raw"]["truth_accuracy"]
    result["recovered_share"] = {
        name: round((noisy[name]["truth_accuracy"] - noisy["raw"]["truth_accuracy"]) / gap, 3) if gap > 0 else None
        for name in ("default", "default_gated") if name in noisy
    }
    result["recovered_share_rule"] = "(arm - raw_noisy) / (raw_clean - raw_noisy), true labels of the generated test rows"
    result["targets"] = {
        f"{arm}: {check}": ok for arm in ("default", "default_gated") if arm in noisy for check, ok in (
            ("no loss beyond the raw CI on banking77 and generated_clean", all(
                d[arm]["within_raw_ci"] for name, d in result["datasets"].items() if name != "generated_noisy")),
            ("recovers >= 50% of the noise loss", (result["recovered_share"][arm] or 0) >= 0.5))
    }
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    result["cores"] = len(os.sched_getaffinity(0))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
