"""Cost of the feedback store's writes on the default SQLite catalog: pooled vs unpooled connections.

In a fresh workspace with a small tfidf-linear model, for each connection setting:

* ``add_feedback_ms``: one text + label feedback, committed (what ``POST /v1/feedback`` waits
  for), ``--calls`` sequential calls; median and p95 in milliseconds;
* ``prediction_log_s``: ``--rows`` predictions added to the batched PredictionLog, then
  ``flush()`` (everything committed); seconds.

Settings: ``pooled`` is the catalog as datamoat opens it (a small QueuePool); ``nullpool`` is the
same database and connection settings with SQLAlchemy's NullPool, which closes the connection
after every transaction, so SQLite checkpoints and removes its WAL file each time (what the
catalog did before pooling). Settings alternate over ``--rounds``; medians are reported.

Usage: python benchmarks/feedback_store.py [--calls 300] [--rows 10000] [--rounds 3]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from datamoat.catalog.db import SQLITE_BUSY_TIMEOUT_S, _configure_sqlite
from datamoat.feedback.predictions import PredictionLog, PredictionRow, hash_text, new_prediction_id
from datamoat.feedback.records import FeedbackStore
from datamoat.models.training import train_model
from datamoat.workspace import Workspace


def nullpool_engine(url: str) -> sa.Engine:
    """The catalog's SQLite settings (WAL, BEGIN IMMEDIATE, busy timeout) without a pool."""
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
                              poolclass=sa.pool.NullPool)
    _configure_sqlite(engine)
    return engine


def measure(ws: Workspace, engine: sa.Engine, model_id: int, calls: int, rows: int, tag: str) -> dict:
    catalog = ws.catalog
    saved = catalog.engine
    if engine is not saved:
        saved.dispose()  # no pooled connection may stay open, or SQLite keeps its WAL file between transactions
    catalog.engine = engine
    try:
        store = FeedbackStore(catalog)
        times = []
        for i in range(calls):
            started = time.perf_counter()
            store.add_feedback(model_name="tickets", user="bench", text=f"{tag} feedback text number {i}", label="card")
            times.append((time.perf_counter() - started) * 1000)
        log = PredictionLog(catalog)
        started = time.perf_counter()
        for i in range(rows):
            text = f"{tag} prediction {i}"
            log.add(PredictionRow.from_scores(model_name="tickets", model_id=model_id, scores={"card": 0.8, "login": 0.2},
                                              text=text, text_hash=hash_text(text), id=new_prediction_id()))
        log.flush()
        log_s = time.perf_counter() - started
        log.close()
    finally:
        catalog.engine = saved
    ordered = sorted(times)
    return {"add_feedback_ms_p50": statistics.median(times), "add_feedback_ms_p95": ordered[int(0.95 * (len(ordered) - 1))],
            "prediction_log_s": log_s}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "t.csv"
        pd.DataFrame({"text": [f"card problem {i}" for i in range(20)] + [f"login problem {i}" for i in range(20)],
                      "intent": ["card"] * 20 + ["login"] * 20}).to_csv(csv, index=False)
        with Workspace.init(Path(tmp) / "ws") as ws:
            ws.ingest(csv, name="tickets", text="text", label="intent")
            model_id = train_model(ws, "tickets", model="tfidf-linear", learning_curve=False).record.id
            url = str(ws.catalog.engine.url)
            results: dict[str, list[dict]] = {"pooled": [], "nullpool": []}
            for r in range(args.rounds):
                results["pooled"].append(measure(ws, ws.catalog.engine, model_id, args.calls, args.rows, f"p{r}"))
                null = nullpool_engine(url)
                results["nullpool"].append(measure(ws, null, model_id, args.calls, args.rows, f"n{r}"))
                null.dispose()
    out: dict = {"calls": args.calls, "rows": args.rows, "rounds": args.rounds}
    for name, runs in results.items():
        out[name] = {k: round(statistics.median(run[k] for run in runs), 3) for k in runs[0]}
    out["add_feedback_speedup"] = round(out["nullpool"]["add_feedback_ms_p50"] / out["pooled"]["add_feedback_ms_p50"], 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
