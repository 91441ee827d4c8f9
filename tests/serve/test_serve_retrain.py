"""A retrain started from the API runs in a worker process: the server keeps answering, a promotion
is swapped in, a worker past its hard timeout is killed, and the port is free after a stop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil
import pytest
from conftest import auth, free_port
from live_server import LiveServer
from textgen import keyword_texts

pytest.importorskip("fastapi")

MODEL = "intent"


def workspace_with_champion(root: Path) -> SimpleNamespace:
    """A workspace whose ``intent`` champion (tfidf-linear) saw 12 rows, tested on 300; admin and client keys."""
    from datamoat.models.training import train_model
    from datamoat.serve.api_keys import create_key
    from datamoat.workspace import Workspace

    ws = Workspace.init(root / "ws")
    refs = {}
    for name, df in (("intent-train", keyword_texts(160, 1).iloc[:12]), ("intent-test", keyword_texts(300, 2))):
        df.to_csv(root / f"{name}.csv", index=False)
        refs[name] = ws.ingest(root / f"{name}.csv", name=name, text="text", label="label").ref
    record = train_model(ws, refs["intent-train"], model="tfidf-linear", name=MODEL, test=refs["intent-test"],
                         learning_curve=False).record
    keys = {role: create_key(ws.catalog, role, f"{role}-user")[0] for role in ("admin", "client")}
    ws.close()
    return SimpleNamespace(root=root / "ws", champion=record, keys=keys)


def serve(ws_root: Path, port: int | None = None, **settings: object) -> LiveServer:
    from datamoat.serve.app import create_app
    from datamoat.serve.settings import ServeSettings

    app = create_app(ws_root, settings=ServeSettings(key_cache_s=0.0, **settings), web=False)
    return LiveServer(app, port=port)


def retrain_workers() -> list[psutil.Process]:
    """Live worker processes started by this test process."""
    return [p for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
            and "datamoat.serve.retrain_process" in " ".join(p.cmdline())]


def test_retrain_from_the_api_keeps_serving_promotes_and_frees_the_port(tmp_path: Path) -> None:
    made = workspace_with_champion(tmp_path)
    budget_s, margin_s = 60.0, 60.0
    port = free_port()
    server = serve(made.root, port, retrain_budget=f"{budget_s:g}s", retrain_margin_s=margin_s, reload_interval_s=0.5)
    url = server.start()
    client, admin = auth(made.keys["client"]), auth(made.keys["admin"])
    feedback = keyword_texts(160, 1).iloc[12:]
    try:
        with httpx.Client(base_url=url, timeout=30) as http, ThreadPoolExecutor(4) as pool:
            def give(row: tuple[str, str]) -> int:
                return http.post("/v1/feedback", json={"text": row[0], "label": row[1]}, headers=client).status_code

            assert set(pool.map(give, zip(feedback["text"], feedback["label"], strict=True))) == {200}
            for text in keyword_texts(20, 3)["text"]:
                assert http.post("/v1/predict", json={"text": text}, headers=client).status_code == 200

        stop, answers = threading.Event(), []

        def keep_predicting() -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                while not stop.is_set():
                    try:
                        r = http.post("/v1/predict", json={"texts": ["bill0 w1 w2", "acco3 w4"]}, headers=client)
                        answers.append((r.status_code, r.json()["predictions"][0]["model"]["version"]))
                    except (httpx.HTTPError, ValueError, KeyError) as exc:
                        answers.append((type(exc).__name__, None))

        predictor = threading.Thread(target=keep_predicting)
        predictor.start()
        started = time.monotonic()
        try:
            r = httpx.post(f"{url}/v1/retrain", json={"wait": True}, headers=admin, timeout=budget_s + margin_s + 30)
        finally:
            elapsed = time.monotonic() - started
            time.sleep(0.5)
            stop.set()
            predictor.join()
        job = r.json()
        assert job["status"] == "done", job
        assert elapsed < budget_s + margin_s
        assert job["decision"]["promoted"], job["decision"]["reason"]
        assert any(line.startswith("cleaned ") for line in job["progress"])  # the worker's progress came back
        # every concurrent prediction was answered, and the promotion was swapped in at once
        assert len(answers) >= 5 and {code for code, _ in answers} == {200}, answers[:5]
        assert answers[-1][1] == 2
        assert httpx.get(f"{url}/health").json()["model"] == f"{MODEL}@2"
        assert retrain_workers() == []
    finally:
        server.stop()
    # nothing (no forked child) holds the listening socket: a new server binds the same port
    again = serve(made.root, port)
    with again as url2:
        assert httpx.get(f"{url2}/health").json()["model"] == f"{MODEL}@2"


def test_a_retrain_past_its_hard_timeout_is_killed_and_reported_failed(tmp_path: Path) -> None:
    from datamoat.feedback.records import FeedbackStore
    from datamoat.workspace import Workspace

    made = workspace_with_champion(tmp_path)
    ws = Workspace.open(made.root)
    store = FeedbackStore(ws.catalog)
    rows = keyword_texts(40, 4)
    for text, label in zip(rows["text"], rows["label"], strict=True):
        store.add_feedback(model_name=MODEL, user="ann", text=text, label=label)
    ws.close()
    # a retrain cannot even import its libraries in half a second: the worker is killed
    with serve(made.root, retrain_budget="0.5s", retrain_margin_s=0.0) as url:
        started = time.monotonic()
        r = httpx.post(f"{url}/v1/retrain", json={"wait": True}, headers=auth(made.keys["admin"]), timeout=60)
        job = r.json()
        assert job["status"] == "failed", job
        assert "ran past its hard timeout of 0.5 s" in job["error"] and job["error"].endswith(".")
        assert time.monotonic() - started < 20
        assert retrain_workers() == []
        r = httpx.post(f"{url}/v1/predict", json={"text": "bill3 w2"}, headers=auth(made.keys["client"]))
        assert r.status_code == 200 and r.json()["predictions"][0]["model"]["version"] == 1
        ws = Workspace.open(made.root)
        try:
            from datamoat.flywheel import list_decisions

            assert list_decisions(ws.catalog, MODEL) == []
            assert len(FeedbackStore(ws.catalog).ready_records(MODEL)) == 40  # left for the next retrain
        finally:
            ws.close()
