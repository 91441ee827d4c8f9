"""Encrypted scoring against a real server: ``datamoat.privacy.he.Client`` gets the labels plain
``/v1/predict`` gives, the route needs a key, and bad contexts or ciphertexts are 4xx, never 500.

The served model is an embed-linear head on a tiny randomly initialised BERT (16-d vectors) saved to
a tmp folder, so a text is one ciphertext.
"""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from conftest import auth
from live_server import LiveServer
from textgen import intent_rows
from tiny_models import save_tiny_bert

pytest.importorskip("tenseal")
pytest.importorskip("transformers")

ROUTE = "/v1/predict/encrypted"




@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A workspace whose champion is that embed-linear model, its export, keys and a live server."""
    from datamoat.models.export.hf_export import export_hugging_face
    from datamoat.models.trainers.embed_linear import EmbedLinearTrainer
    from datamoat.models.training import models_registry
    from datamoat.serve.api_keys import create_key
    from datamoat.serve.app import create_app
    from datamoat.serve.settings import ServeSettings
    from datamoat.workspace import Workspace

    root = tmp_path_factory.mktemp("he")
    ws = Workspace.init(root / "ws")
    rows = intent_rows(15, seed=3)
    csv = root / "tickets.csv"
    rows.to_csv(csv, index=False)
    version = ws.ingest(csv, name="tickets", text="text", label="intent", id="id")
    trainer = EmbedLinearTrainer(text_column="text", label_column="intent", encoder=str(save_tiny_bert(root / "enc")),
                                 max_length=32).fit(rows)
    models_registry(ws).register(trainer, "tickets", train_version_id=version.id, aliases=["champion"])
    export = export_hugging_face(trainer, root / "export", card_info={})
    key = create_key(ws.catalog, "client", "he-user")[0]
    ws.close()
    app = create_app(root / "ws", settings=ServeSettings(key_cache_s=0.0, reload_interval_s=0, max_batch=8,
                                                         max_body_bytes=20_000, max_encrypted_body_bytes=80_000_000),
                     web=False)
    server = LiveServer(app)
    url = server.start()
    yield SimpleNamespace(url=url, key=key, export=export)
    server.stop()


@pytest.fixture(scope="module")
def client(served):
    from datamoat.privacy.he import Client

    return Client(served.export, url=served.url, api_key=served.key)


TEXTS = ["my card was declined at the shop", "please refund the double charge", "I cannot log in to the app",
         "card blocked again", "reset my password"]


def test_encrypted_labels_equal_plain_labels(served, client) -> None:
    plain = httpx.post(f"{served.url}/v1/predict", json={"texts": TEXTS}, headers=auth(served.key))
    assert plain.status_code == 200, plain.text
    answer = client.score(TEXTS)
    assert answer.predicted == [p["label"] for p in plain.json()["predictions"]]
    probs = answer.probabilities()
    for row, pred in zip(probs, plain.json()["predictions"], strict=True):
        assert max(row) == pytest.approx(pred["score"], abs=1e-4)  # CKKS noise is ~1e-6 on the logits
    assert answer.model["ref"] == "tickets@1"
    assert answer.request_bytes > 30_000_000  # the public context with its Galois keys travels once
    again = client.score(TEXTS[:2])
    assert again.predicted == answer.predicted[:2]
    assert again.request_bytes < 2_000_000  # then only its id (and ~430 KB of base64 ciphertext per text)


def test_a_context_the_server_does_not_keep_is_404_and_the_client_sends_it_again(served) -> None:
    from datamoat.privacy.he import Client

    r = httpx.post(served.url + ROUTE, json={"context_id": "ab" * 32, "vectors": [["AAAA"]]},
                   headers=auth(served.key))
    assert r.status_code == 404 and "send 'context' again" in r.json()["detail"]
    fresh = Client(served.export, url=served.url, api_key=served.key)
    fresh._context_sent = True  # as if sent before and since dropped by the server
    answer = fresh.score(["card blocked again"])
    assert answer.request_bytes > 30_000_000 and fresh._context_sent


def test_the_route_needs_a_key(served) -> None:
    body = {"context": "AAAA", "vectors": [["AAAA"]]}
    assert httpx.post(served.url + ROUTE, json=body).status_code == 401
    assert httpx.post(served.url + ROUTE, json=body, headers=auth("dm_not_a_key")).status_code == 401


def _refused(served, body: dict, status: int) -> str:
    r = httpx.post(served.url + ROUTE, json=body, headers=auth(served.key), timeout=120)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail.count(". ") == 0 and detail.endswith(".")  # one sentence
    return detail


def test_malformed_inputs_are_422_never_500(served, client) -> None:
    import base64

    import tenseal as ts

    good = client.encrypt(client.vectors(["hello"]))[0]
    assert client.layout.ciphertexts == 1 and len(good) == 1
    assert "base64" in _refused(served, {"context": "%%%", "vectors": [good]}, 422)
    junk = base64.b64encode(b"not a context").decode()
    assert "not a serialised TenSEAL context" in _refused(served, {"context": junk, "vectors": [good]}, 422)
    # one request with the real context and a text per problem: the first bad one is named
    short = base64.b64encode(ts.ckks_vector(client.context, [0.1] * 5).serialize()).decode()
    for bad, says in (([junk], "item 0, ciphertext 0 is not a CKKS vector"), ([short], "holds 5 values"),
                      ([good[0], good[0]], "has 2 ciphertexts")):
        assert says in _refused(served, {"context": client._public, "vectors": [bad]}, 422)
    assert _refused(served, {"context": "AAAA", "vectors": []}, 422)
    assert "not both" in _refused(served, {"context": "AAAA", "context_id": "ab" * 32, "vectors": [good]}, 422)
    assert "limit is 8" in _refused(served, {"context": "AAAA", "vectors": [good] * 9}, 422)


def test_a_context_with_its_secret_key_is_refused(served, client) -> None:
    from datamoat.privacy.he.ckks import b64encode

    secret = b64encode(client.context.serialize(save_secret_key=True))
    vec = client.encrypt(client.vectors(["hello"]))[0]
    assert "secret key" in _refused(served, {"context": secret, "vectors": [vec]}, 422)


def test_an_oversized_body_is_413(served) -> None:
    r = httpx.post(served.url + ROUTE, content=b"x" * 80_000_001, headers={**auth(served.key),
                                                                         "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"] == "the request body is larger than the limit of 80,000,000 bytes."
    # the other routes keep their own, smaller limit
    r = httpx.post(f"{served.url}/v1/predict", json={"text": "x" * 30_000}, headers=auth(served.key))
    assert r.status_code == 413
