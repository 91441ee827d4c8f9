"""Load test of ``datamoat serve`` against a plain FastAPI + transformers pipeline server.

Setup (in a temporary workspace, through the CLI): ingest ``--train-rows`` rows of BANKING77
train and the test file, train ``embed-linear`` (fp32 MiniLM + logistic regression), compress
it (``datamoat compress``: int8 ONNX), create an admin key, then start two servers on loopback,
one after the other:

* datamoat: ``datamoat serve --model NAME@<int8 version>`` (auth, PII redaction, prediction log,
  micro-batching), access log off;
* the peer: benchmarks/serve_peer.py (FastAPI + ``transformers.pipeline`` over the same fp32
  encoder and the same head), access log off.

Each server first gets ``--single`` sequential one-text requests (``single_p50_ms``: latency of
one text with no queueing), then ``--clients`` concurrent httpx clients for ``--seconds``:
datamoat gets ``/v1/predict`` with one text, and every ``--feedback-every``-th request is a
``/v1/feedback`` on an earlier prediction; the peer gets its ``/predict``. Texts cycle through the
test set. The load generator runs in this process on the same machine (it costs both servers
the same). After the datamoat run the server is stopped and the feedback rows are counted in
the catalog: ``feedback_stored`` must equal ``feedback_sent`` (acknowledged with 2xx).

Usage: python benchmarks/serve_load.py [--seconds 60] [--clients 8] [--train-rows 3000]
Prints one JSON object: requests, rps, p50_ms, p99_ms, errors_5xx, feedback_sent, feedback_stored,
single_p50_ms, peer_rps, peer_p50_ms, peer_p99_ms, peer_single_p50_ms, rps_ratio, ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "banking77"
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--train", type=Path, default=DATA / "train.csv")
    p.add_argument("--test", type=Path, default=DATA / "test.csv")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="category")
    p.add_argument("--train-rows", type=int, default=3000, help="training rows (speed does not depend on them)")
    p.add_argument("--seconds", type=float, default=60.0, help="load duration per server")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients")
    p.add_argument("--single", type=int, default=200, help="sequential one-text requests before the load")
    p.add_argument("--feedback-every", type=int, default=4, help="every Nth datamoat request is feedback")
    p.add_argument("--threads", type=int, default=None, help="datamoat serve --threads (default: every core)")
    p.add_argument("--workspace", type=Path, default=None,
                   help="keep the workspace here; when it already holds the models, the setup is skipped")
    p.add_argument("--skip-peer", action="store_true", help="measure datamoat only (for tuning runs)")
    p.add_argument("--serve-args", default="", help="extra arguments for datamoat serve (e.g. '--no-redact')")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dm(ws: Path, *args: str) -> str:
    """Run a datamoat CLI command; its stdout."""
    done = subprocess.run([sys.executable, "-m", "datamoat", "-w", str(ws), *args], capture_output=True, text=True,
                          env=ENV, check=False)
    if done.returncode != 0:
        raise SystemExit(f"datamoat {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server {url} did not answer /health within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def single_latency(url: str, path: str, texts: list[str], n: int, headers: dict[str, str]) -> float:
    """Median ms of ``n`` sequential one-text requests."""
    times = []
    with httpx.Client(headers=headers, timeout=30) as client:
        for i in range(n):
            started = time.perf_counter()
            r = client.post(url + path, json={"text": texts[i % len(texts)]})
            times.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
    return statistics.median(times)


async def load(url: str, path: str, texts: list[str], *, clients: int, seconds: float, headers: dict[str, str],
               feedback_every: int = 0) -> dict[str, Any]:
    """``clients`` concurrent loops for ``seconds``; predict latencies, status counts, feedback acks."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acknowledged: list[int] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(w: int, client: httpx.AsyncClient) -> None:
        n = 0
        last_prediction: str | None = None
        while time.monotonic() < deadline:
            n += 1
            try:
                if feedback_every and last_prediction and n % feedback_every == 0:
                    # one vote per prediction: each acknowledged vote is one stored record
                    r = await client.post(url + "/v1/feedback", json={"prediction_id": last_prediction, "vote": "up"})
                    last_prediction = None
                    if 200 <= r.status_code < 300:
                        acknowledged.append(r.json()["record_id"])
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    continue
                started = time.perf_counter()
                r = await client.post(url + path, json={"text": texts[(w + n * clients) % len(texts)]})
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 200 and feedback_every:
                    last_prediction = r.json()["predictions"][0]["prediction_id"]
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)

    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(w, client) for w in range(clients)))
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies), "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(latencies, 0.5), 2), "p99_ms": round(pct(latencies, 0.99), 2),
        "errors_5xx": sum(v for k, v in statuses.items() if k >= 500), "statuses": statuses,
        "transport_errors": len(errors), "feedback_ids": acknowledged,
        "all_requests_rps": round(sum(statuses.values()) / elapsed, 1),
    }


def require_peer() -> None:
    """Stop with one sentence naming benchmarks/requirements.txt when the peer server cannot run."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(f"the peer server needs {', '.join(missing)}, not installed; set up datamoat with "
                         "`scripts/setup.sh all` as benchmarks/requirements.txt says.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_peer()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ws = args.workspace or tmp_path / "ws"
        reuse = (ws / ".datamoat").is_dir()
        texts = pd.read_csv(args.test)[args.text_column].astype(str).tolist()
        t0 = time.perf_counter()
        if reuse:
            models = json.loads(dm(ws, "models", "--json"))["models"]
            refs = [m["ref"] for m in models if "compressed_from" not in m.get("info", {})]
            fp32_ref = refs[0]
            int8_ref = next(m["ref"] for m in models if m.get("info", {}).get("compressed_from") == fp32_ref)
        else:
            fp32_ref, int8_ref = setup(ws, tmp_path, args)
        key = json.loads(dm(ws, "keys", "create", "--role", "admin", "--name", "bench", "--json"))["key"]
        setup_s = time.perf_counter() - t0
        out = run_both(ws, tmp_path, args, texts, fp32_ref, int8_ref, key)
    out["setup_s"] = round(setup_s, 1)
    print(json.dumps(out))
    return 0


def setup(ws: Path, tmp_path: Path, args: argparse.Namespace) -> tuple[str, str]:
    """Ingest, train embed-linear, compress it; the fp32 and int8 model refs."""
    train = pd.read_csv(args.train)
    if args.train_rows:
        train = train.sample(n=min(args.train_rows, len(train)), random_state=0)
    train.to_csv(tmp_path / "train.csv", index=False)
    dm(ws, "init")
    dm(ws, "ingest", str(tmp_path / "train.csv"), "--name", "bank", "--text", args.text_column,
       "--label", args.label_column)
    dm(ws, "ingest", str(args.test), "--name", "bank-test", "--text", args.text_column,
       "--label", args.label_column)
    trained = json.loads(dm(ws, "train", "bank", "--model", "embed-linear", "--test", "bank-test", "--json"))
    fp32_ref = trained["model"]["ref"] if isinstance(trained.get("model"), dict) else trained["model"]
    compressed = json.loads(dm(ws, "compress", fp32_ref, "--json"))
    return fp32_ref, compressed["model"]


def run_both(ws: Path, tmp_path: Path, args: argparse.Namespace, texts: list[str], fp32_ref: str, int8_ref: str,
             key: str) -> dict[str, Any]:
    """Load datamoat then the peer; the figures."""
    # the peer's head: the fp32 model's scikit-learn head and classes
    import joblib
    import sqlalchemy as sa

    from datamoat.models.trainers.contract import Trainer
    from datamoat.models.trainers.encoder import bundled_encoder_path
    from datamoat.workspace import Workspace

    with Workspace.open(ws) as w:
        from datamoat.models.training import models_registry

        fp32 = models_registry(w).load(fp32_ref)
        catalog_url = str(w.catalog.engine.url)
    assert isinstance(fp32, Trainer)
    joblib.dump((fp32.model_, list(fp32.classes_)), tmp_path / "head.joblib")

    # --- datamoat
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "datamoat", "-w", str(ws), "serve", "--model", int8_ref, "--port", str(port),
           "--no-access-log", *args.serve_args.split()]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(url, proc)
        headers = {"Authorization": f"Bearer {key}"}
        single = single_latency(url, "/v1/predict", texts, args.single, headers)
        ours = asyncio.run(load(url, "/v1/predict", texts, clients=args.clients, seconds=args.seconds,
                                headers=headers, feedback_every=args.feedback_every))
    finally:
        stop(proc)
    engine = sa.create_engine(catalog_url)
    with engine.connect() as conn:
        ids = {r[0] for r in conn.execute(sa.text("select id from feedback_records"))}
        stored = sum(1 for i in ours["feedback_ids"] if i in ids)
        logged = conn.execute(sa.text("select count(*) from predictions")).scalar_one()
    engine.dispose()

    # --- the peer
    port = free_port()
    peer_url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "serve_peer.py"), "--encoder",
                             str(bundled_encoder_path()), "--head", str(tmp_path / "head.joblib"), "--port",
                             str(port)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(peer_url, proc)
        peer_single = single_latency(peer_url, "/predict", texts, args.single, {})
        peer = asyncio.run(load(peer_url, "/predict", texts, clients=args.clients, seconds=args.seconds,
                                headers={}))
    finally:
        stop(proc)

    out = {
    "requests": ours["requests"], "rps": ours["rps"], "p50_ms": ours["p50_ms"], "p99_ms": ours["p99_ms"],
    "errors_5xx": ours["errors_5xx"], "transport_errors": ours["transport_errors"],
    "feedback_sent": len(ours["feedback_ids"]), "all_requests_rps": ours["all_requests_rps"], "feedback_stored": int(stored), "predictions_logged": int(logged),
    "single_p50_ms": round(single, 2),
    "peer_rps": peer["rps"], "peer_p50_ms": peer["p50_ms"], "peer_p99_ms": peer["p99_ms"],
    "peer_errors_5xx": peer["errors_5xx"], "peer_single_p50_ms": round(peer_single, 2),
    "rps_ratio": round(ours["rps"] / peer["rps"], 2) if peer["rps"] else None,
    "model": int8_ref, "clients": args.clients, "seconds": args.seconds, "train_rows": args.train_rows,
    "cores": len(os.sched_getaffinity(0)),
    }
    return out


if __name__ == "__main__":
    sys.exit(main())
