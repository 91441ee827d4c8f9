"""The server as a separate process: SIGKILL mid-load loses no acknowledged feedback, its log
holds no raw PII or keys; and the whole serve path on a real PostgreSQL catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import free_port
from live_server import LiveServer
from textgen import intent_rows

pytest.importorskip("fastapi")


def _workspace_with_model(root: Path) -> tuple[dict[str, str], str]:
    """A workspace at root/ws with a tfidf-linear champion; keys per role and the catalog URL."""
    from datamoat.models.training import train_model
    from datamoat.serve.api_keys import ROLES, create_key
    from datamoat.workspace import Workspace

    csv = root / "tickets.csv"
    intent_rows(30, seed=3).to_csv(csv, index=False)
    with Workspace.init(root / "ws") as ws:
        ws.ingest(csv, name="tickets", text="text", label="intent", id="id")
        train_model(ws, "tickets", model="tfidf-linear", learning_curve=False)
        keys = {role: create_key(ws.catalog, role, f"{role}-user")[0] for role in ROLES}
        url = str(ws.catalog.engine.url.render_as_string(hide_password=False))
    return keys, url


def test_sigkill_mid_load_loses_no_acknowledged_feedback(tmp_path: Path) -> None:
    keys, catalog_url = _workspace_with_model(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = tmp_path / "server.log"
    with open(log_file, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "datamoat", "-w", str(tmp_path / "ws"), "serve", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "DATAMOAT_DEBUG": "1"},
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"server did not start: {log_file.read_text()[-2000:]}")
        acknowledged: list[int] = []
        lock = threading.Lock()
        stop = threading.Event()
        email = "mary.major@example.com"

        def client(n: int) -> None:
            with httpx.Client(headers={"X-API-Key": keys["client"]}, timeout=10) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = c.post(f"{url}/v1/feedback", json={
                            "text": f"card declined, write to {email} ({n}-{i})", "label": "card"})
                    except httpx.HTTPError:
                        return  # the server died under us: that request was never acknowledged
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append(r.json()["record_id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) >= 40
    engine = sa.create_engine(catalog_url)
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(sa.text("select id from feedback_records"))}
        texts = [r[0] for r in conn.execute(sa.text("select text from feedback_records"))]
        assert conn.execute(sa.text("pragma integrity_check")).scalar_one() == "ok"
    engine.dispose()
    assert set(acknowledged) <= stored, f"lost {len(set(acknowledged) - stored)} acknowledged feedback records"
    assert all(email not in t for t in texts)
    log_text = log_file.read_text()
    assert email not in log_text
    assert all(key not in log_text for key in keys.values())


def test_serve_on_postgres(tmp_path: Path, postgres_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from datamoat.serve.app import create_app

    url = postgres_server.new_database()
    monkeypatch.setenv("DATAMOAT_CATALOG_URL", url)
    keys, _ = _workspace_with_model(tmp_path)
    app = create_app(tmp_path / "ws", web=False)
    with LiveServer(app) as base:
        headers = {"Authorization": f"Bearer {keys['client']}"}
        r = httpx.post(f"{base}/v1/predict", json={"texts": ["refund please", "I cannot log in"]}, headers=headers)
        assert r.status_code == 200, r.text
        ids = [p["prediction_id"] for p in r.json()["predictions"]]
        r = httpx.post(f"{base}/v1/feedback", json={"prediction_id": ids[1], "label": "login"}, headers=headers)
        assert r.status_code == 200 and r.json()["status"] == "ready"
        assert httpx.get(f"{base}/v1/models", headers=headers).status_code == 403
        r = httpx.get(f"{base}/v1/queue", headers={"X-API-Key": keys["annotator"]})
        assert r.status_code == 200
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url)
    with engine.connect() as conn:
        logged = conn.execute(sa.text("select count(*) from predictions where id = any(:ids)"), {"ids": ids}).scalar_one()
        record = conn.execute(sa.text("select status, final_label from feedback_records where prediction_id = :p"),
                              {"p": ids[1]}).one()
    engine.dispose()
    assert logged == 2
    assert tuple(record) == ("ready", "login")
