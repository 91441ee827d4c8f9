"""How the DP linear head's fixed settings were chosen: validation accuracy per setting, never test.

BANKING77's official training split only (10,003 texts, 77 intents; the test split is not read).
A stratified 15% of it (seeded) is held out as validation; the rest trains. The bundled MiniLM
embeds every text once (the trainer's embedding cache; ``--cache`` reuses a folder across runs),
each vector L2-normalised as ``embed-linear`` does. Per setting of
:class:`datamoat.models.trainers.dp_sgd.LinearSettings` and seed, the real DP-SGD code path
(:func:`~datamoat.models.trainers.dp_sgd.fit_dp_linear`, Opacus, PRV accountant) trains the head
at ε (δ = 1 / (10 n)) and its validation accuracy is printed; the non-private ``embed-linear``
head (LogisticRegression, C=10) on the same rows is printed first as the reference.

This search reads BANKING77's rows, which are public; the chosen setting is then fixed in
``dp_sgd.LINEAR_DEFAULTS`` for every dataset (never searched on a user's private rows, which
would spend privacy). ``benchmarks/dp_train.py`` reports test accuracy once, for that setting.

Usage: python benchmarks/dp_tune.py [--data DIR] [--eps 8] [--seeds 0,1] [--only NAME,...] [--cache DIR]
Prints one JSON object per line: {"setting", "seed", "eps", "val_accuracy", "noise_multiplier",
"sample_rate", "steps", "seconds", ...settings}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"
VALID_SHARE = 0.15


def candidates() -> dict[str, object]:
    """The settings compared, by name (the one equal to ``dp_sgd.LINEAR_DEFAULTS`` prints ``"default": true``).

    ``-sS``: rows scaled by the fixed factor S (``LinearSettings.feature_scale``) before DP-SGD.
    """
    from datamoat.models.trainers.dp_sgd import LinearSettings

    out = {
        "b1024-e30-lr4-last": LinearSettings(batch_size=1024, epochs=30, lr=4.0, average=0.0),
        "b1024-e30-lr8-avg": LinearSettings(batch_size=1024, epochs=30, lr=8.0, average=0.5),
        "b2048-e60-lr8-avg": LinearSettings(batch_size=2048, epochs=60, lr=8.0, average=0.5),
        "b4096-e120-lr8-avg": LinearSettings(batch_size=4096, epochs=120, lr=8.0, average=0.5),
        "b4096-e120-lr16-clip0.5-avg": LinearSettings(batch_size=4096, epochs=120, lr=16.0, clip=0.5, average=0.5),
        "b2048-e60-lr16-clip0.5-avg": LinearSettings(batch_size=2048, epochs=60, lr=16.0, clip=0.5, average=0.5),
        "full-batch-e300-lr8-avg": LinearSettings(batch_size=10**6, epochs=300, lr=8.0, average=0.5),
    }
    for scale, lr in ((2, 4), (3, 1), (3, 2), (3, 4), (4, 1), (4, 2), (4, 4), (6, 1), (6, 2), (6, 4), (8, 0.5), (8, 1)):
        out[f"b2048-e60-lr{lr:g}-s{scale}-avg"] = LinearSettings(batch_size=2048, epochs=60, lr=float(lr), average=0.5,
                                                                feature_scale=float(scale))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--eps", type=float, default=8.0)
    ap.add_argument("--seeds", default="0,1", help="Comma-separated seeds per setting.")
    ap.add_argument("--only", default=None, help="Comma-separated setting names (default: all).")
    ap.add_argument("--cache", type=Path, default=None, help="Embedding cache folder to reuse (default: a temporary one).")
    args = ap.parse_args()
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1")):
        os.environ.setdefault(var, value)
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from datamoat.models.trainers.contract import create_trainer
    from datamoat.models.trainers.dp_sgd import LINEAR_DEFAULTS, default_delta, fit_dp_linear

    data = pd.read_csv(args.data / "train.csv")
    fit_rows, valid_rows = train_test_split(data, test_size=VALID_SHARE, stratify=data["category"], random_state=0)
    columns = {"text_column": "text", "label_column": "category"}
    settings = candidates()
    names = args.only.split(",") if args.only else list(settings)
    with contextlib.ExitStack() as stack:
        cache = args.cache or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dp-tune-cache-")))
        plain = create_trainer("embed-linear", **columns)
        plain.use_embedding_cache(cache)
        t0 = time.perf_counter()
        plain.fit(fit_rows)
        truth = valid_rows["category"].astype(str).to_numpy()
        print(json.dumps({"setting": "non-private", "val_accuracy": round(float(np.mean(plain.predict(valid_rows) == truth)), 4),
                          "fit_rows": len(fit_rows), "valid_rows": len(valid_rows),
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
        index = {c: i for i, c in enumerate(plain.classes_)}
        X = plain.embed(fit_rows["text"].astype(str).tolist())
        X = X / np.clip(np.linalg.norm(X, axis=1, keepdims=True), 1e-12, None)
        V = plain.embed(valid_rows["text"].astype(str).tolist())
        V = V / np.clip(np.linalg.norm(V, axis=1, keepdims=True), 1e-12, None)
        y = fit_rows["category"].astype(str).map(index).to_numpy()
        y_valid = valid_rows["category"].astype(str).map(index).to_numpy()
        for name in names:
            for seed in (int(s) for s in args.seeds.split(",")):
                t0 = time.perf_counter()
                coef, intercept, facts = fit_dp_linear(X, y, len(index), epsilon=args.eps, delta=default_delta(len(X)),
                                                       seed=seed, features="tuning", settings=settings[name])
                accuracy = float(np.mean((V @ coef.T + intercept).argmax(axis=1) == y_valid))
                print(json.dumps({"setting": name, "default": settings[name] == LINEAR_DEFAULTS, "seed": seed,
                                  "eps": args.eps, "val_accuracy": round(accuracy, 4),
                                  "noise_multiplier": facts.noise_multiplier, "accountant": facts.accountant,
                                  "sample_rate": facts.sample_rate, "steps": facts.steps,
                                  "seconds": round(time.perf_counter() - t0, 1), **asdict(settings[name])}), flush=True)


if __name__ == "__main__":
    main()
