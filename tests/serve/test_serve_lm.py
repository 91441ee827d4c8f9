"""A served language model against a real uvicorn server: int8 compression, /v1/generate as JSON
and as server-sent events, its limits, the prediction log's redaction, feedback on generations,
and the retrain that turns that feedback into training documents of a new corpus version."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from conftest import auth
from live_server import LiveServer

pytest.importorskip("fastapi")
pytest.importorskip("transformers")

WORDS = "the cat sat on a mat and the dog ran to the park while small birds sang".split()
TINY = {"layers": 2, "heads": 2, "width": 32, "context": 32, "batch_size": 16, "max_steps": 30, "eval_every": 15}
PHONE = "415-555-0199"


def _corpus_csv(path: Path, n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    rows = ["text"] + [" ".join(rng.choice(WORDS, 12)) for _ in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def lm_served(tmp_path_factory: pytest.TempPathFactory):
    """A tiny causal-lm champion trained once (train / valid / test versions), keys, a live server."""
    from datamoat.models.lm_training import train_lm
    from datamoat.serve.api_keys import create_key
    from datamoat.serve.app import create_app
    from datamoat.serve.settings import ServeSettings
    from datamoat.workspace import Workspace

    root = tmp_path_factory.mktemp("serve-lm")
    ws = Workspace.init(root / "ws")
    for split, n, seed in (("train", 40, 0), ("valid", 6, 1), ("test", 6, 2)):
        ws.ingest(_corpus_csv(root / f"{split}.csv", n, seed), name=f"corpus-{split}", text="text")
    result = train_lm(ws, "corpus-train", valid="corpus-valid", test="corpus-test", name="corpus", params=TINY,
                      canaries=0, samples=1, budget="10m")
    keys = {role: create_key(ws.catalog, role, f"{role}-user")[0] for role in ("client", "admin")}
    ws.close()
    app = create_app(root / "ws", model_name="corpus", web=False, settings=ServeSettings(
        key_cache_s=0.0, reload_interval_s=0.0, max_text_chars=200, max_generate_tokens=40, max_body_bytes=50_000))
    server = LiveServer(app)
    url = server.start()
    yield SimpleNamespace(url=url, keys=keys, root=root, ws_root=root / "ws", record=result.record, app=app,
                          engine=sa.create_engine(f"sqlite:///{root / 'ws' / '.datamoat' / 'catalog.db'}"))
    server.stop()


def _generate(served, **body):
    return httpx.post(f"{served.url}/v1/generate", json=body, headers=auth(served.keys["client"]), timeout=60)


def _events(text: str) -> list[tuple[str, dict]]:
    """(event, data) pairs of a text/event-stream body, parsed by the SSE rules."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_generate_json_and_stream_agree_and_are_logged_redacted(lm_served) -> None:
    from datamoat.models.training import models_registry
    from datamoat.workspace import Workspace

    prompt = f"call {PHONE} the cat"
    r = _generate(lm_served, prompt=prompt, max_tokens=12, temperature=0)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokens"] >= 1 and body["finish_reason"] in ("length", "end")
    assert body["model"]["ref"] == lm_served.record.ref and len(body["generation_id"]) == 32

    with httpx.stream("POST", f"{lm_served.url}/v1/generate", headers=auth(lm_served.keys["client"]), timeout=60,
                      json={"prompt": prompt, "max_tokens": 12, "temperature": 0, "stream": True}) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        events = _events(s.read().decode("utf-8"))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"} and len(kinds) >= 2
    streamed = "".join(d["text"] for e, d in events if e == "token")
    done = events[-1][1]
    assert streamed == done["text"] == body["text"]  # greedy: the same text both ways
    assert done["generation_id"] != body["generation_id"]

    ws = Workspace.open(lm_served.ws_root)
    try:
        trainer = models_registry(ws).load(lm_served.record.ref)
        # the model continued the redacted prompt, as a classifier predicts on redacted text
        redacted = lm_served.app.state.dm.generator.redact(prompt)[0]
        assert PHONE not in redacted
        assert body["text"] == trainer.generate(redacted, max_new_tokens=12, temperature=0)
    finally:
        ws.close()
    lm_served.app.state.dm.predictions.flush()
    with lm_served.engine.connect() as conn:
        row = conn.execute(sa.text("select text, output, label, score, pii_count from predictions where id = :i"),
                           {"i": done["generation_id"]}).one()
    assert row.label == "generated" and row.text == redacted and PHONE not in row.text
    assert row.output == lm_served.app.state.dm.generator.redact(done["text"])[0] and row.pii_count >= 1
    assert 0 < row.score <= 1


def test_generate_refuses_bad_bodies_with_one_sentence(lm_served) -> None:
    cases = [
        ({"prompt": "x" * 201}, "the limit is 200"),
        ({"prompt": "the", "max_tokens": 41}, "limit is 40"),
        ({"prompt": "the", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "the", "temperature": -1}, "temperature"),
        ({"prompt": "the", "top_p": 1.5}, "top_p"),
        ({"prompt": "the", "top_k": 0}, "top_k"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "the", "bogus": 1}, "bogus"),
        ({"max_tokens": 3}, "prompt"),
        (b'{"prompt": "\\ud800"}', "UTF-8"),
        (b"[1, 2]", "body"),
    ]
    for body, words in cases:
        r = _generate(lm_served, **body) if isinstance(body, dict) else httpx.post(
            f"{lm_served.url}/v1/generate", content=body,
            headers={**auth(lm_served.keys["client"]), "content-type": "application/json"})
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert words in r.json()["detail"] and "Traceback" not in r.text
    r = httpx.post(f"{lm_served.url}/v1/generate", content=b"{not json", headers={**auth(lm_served.keys["client"]),
                                                                               "content-type": "application/json"})
    assert r.status_code == 422
    assert httpx.post(f"{lm_served.url}/v1/generate", json={"prompt": "the"}).status_code == 401
    r = httpx.post(f"{lm_served.url}/v1/predict", json={"text": "the cat"}, headers=auth(lm_served.keys["client"]))
    assert r.status_code == 409 and "/v1/generate" in r.json()["detail"]


def test_compressed_lm_is_registered_measured_and_generates(lm_served, cli) -> None:
    code, out, err = cli("compress", "corpus", "--json", workspace=lm_served.ws_root)
    assert code == 0, err
    report = json.loads(out)
    assert report["from"] == lm_served.record.ref and report["method"] == "torch-int8-dynamic"
    o, c = report["original"], report["compressed"]
    assert c["size_mb"] < o["size_mb"] and o["tokens_per_s"] > 0 and c["tokens_per_s"] > 0
    assert report["bits_per_char_change"] == pytest.approx(c["bits_per_char"] - o["bits_per_char"])
    assert abs(report["bits_per_char_change"]) < 0.5 and report["documents"] == 6
    code, out, err = cli("generate", report["model"], "the cat", "--max-tokens", "8", "--temperature", "0", "--json",
                         workspace=lm_served.ws_root)
    assert code == 0, err
    assert isinstance(json.loads(out)["continuation"], str)
    code, _, err = cli("compress", report["model"], workspace=lm_served.ws_root)
    assert code != 0 and "int8 already" in err


def test_feedback_on_generations_becomes_training_documents_of_a_retrain(lm_served) -> None:
    from datamoat.flywheel.retrain import retrain
    from datamoat.workspace import Workspace

    gens = [_generate(lm_served, prompt=p, max_tokens=6, temperature=0).json() for p in ("the dog", "a cat", "birds")]
    headers = auth(lm_served.keys["client"])

    def feedback(**body):
        return httpx.post(f"{lm_served.url}/v1/feedback", json=body, headers=headers)

    up = feedback(generation_id=gens[0]["generation_id"], vote="up")
    fixed = feedback(generation_id=gens[1]["generation_id"], vote="down", continuation=f" sat on the mat {PHONE}")
    down = feedback(generation_id=gens[2]["generation_id"], vote="down")
    assert [r.status_code for r in (up, fixed, down)] == [200, 200, 200], (up.text, fixed.text, down.text)
    assert [r.json()["status"] for r in (up, fixed, down)] == ["ready", "ready", "discarded"]
    assert feedback(generation_id="nope", vote="up").status_code == 404
    assert feedback(generation_id=gens[0]["generation_id"]).status_code == 422
    bad = feedback(generation_id=gens[0]["generation_id"], label="x")
    assert bad.status_code == 422 and "does not apply" in bad.json()["detail"]

    ws = Workspace.open(lm_served.ws_root)
    try:
        decision = retrain(ws, "corpus", budget="5m")
        figures = decision.figures
        merged = ws.version(figures["versions"]["merged"])
        base = ws.version(figures["versions"]["base"])
        assert merged.record.parent_refs == [f"{base.dataset}@{base.record.ordinal}"]  # lineage: the base corpus
        assert figures["rows"]["feedback"] == 2 and merged.num_rows == 40 + 2
        texts = merged.to_arrow(["text"]).column("text").to_pylist()
        assert f"the dog{gens[0]['text']}" in texts
        corrected = [t for t in texts if t.startswith("a cat sat on the mat")]
        assert len(corrected) == 1 and PHONE not in corrected[0]
        assert figures["versions"]["valid"] == lm_served.record.info["valid_ref"]
        assert decision.promoted == (figures["challenger"]["nats_per_char"] < figures["champion"]["nats_per_char"])
        with pytest.raises(Exception, match="no new feedback"):
            retrain(ws, "corpus", budget="5m")
    finally:
        ws.close()
