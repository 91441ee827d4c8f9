"""The client of encrypted scoring: features here, the linear head on the server, on ciphertexts.

::

    from datamoat.privacy.he import Client
    client = Client("exports/tickets", url="http://127.0.0.1:8000", api_key="dm_...")
    client.predict(["my card was declined"])        # ["card"]

:class:`Client` computes each text's vector from the export's encoder
(:class:`~datamoat.privacy.he.features.ExportFeatures`), after the same PII redaction the server
applies to plain requests, encrypts it with CKKS under a secret key that never leaves this
process, posts the ciphertexts (packed as :class:`~datamoat.privacy.he.ckks.Layout` says for the
export's class count and vector length) and the public context to ``POST /v1/predict/encrypted``,
and decrypts the returned scores (the served head's ``W x + b``). The server sees neither the text
nor the scores; it learns how many texts were sent and when. The ~34 MB public context is sent
with the first request only; later ones name it by its sha256 (and send it again if the server
has dropped it). Texts go in batches of ``batch_size`` (~4 MB of ciphertexts per 384-d text).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from datamoat.errors import DatamoatError
from datamoat.privacy.he.ckks import (
    Layout,
    b64decode,
    b64encode,
    private_context,
    public_context_bytes,
    require_tenseal,
)
from datamoat.privacy.he.features import ExportFeatures

ROUTE = "/v1/predict/encrypted"


@dataclass(frozen=True)
class EncryptedAnswer:
    """Decrypted scores of a batch: ``scores`` (n, k) logits in ``labels`` order, the served model's
    ``model`` (name, version, ref), and the bytes sent and received (request and response bodies)."""

    labels: list[str]
    scores: np.ndarray
    model: dict[str, Any]
    request_bytes: int
    response_bytes: int

    @property
    def predicted(self) -> list[str]:
        """The most likely label per text."""
        return [self.labels[i] for i in self.scores.argmax(axis=1)]

    def probabilities(self) -> np.ndarray:
        """Softmax of the scores, (n, k) -- the probabilities plain prediction gives."""
        z = self.scores - self.scores.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


class Client:
    """Encrypted predictions from a datamoat server.

    model_export_dir: the transformers export of the served model (or of one with the same
    encoder). url: the server's base URL. api_key: a key with the predict permission.
    redact: rewrite PII before computing features, as the server does for plain requests (keep
    it as the server's ``redact`` setting so labels match). timeout_s: per request (seconds).
    batch_size: texts per request (keep the body under the server's ``max_encrypted_body_bytes``).
    """

    def __init__(self, model_export_dir: str | Path, *, url: str = "http://127.0.0.1:8000",
                 api_key: str | None = None, redact: bool = True, timeout_s: float = 600.0,
                 batch_size: int = 8) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise DatamoatError(f"batch_size={batch_size!r} must be a positive integer.")
        self.features = ExportFeatures(Path(model_export_dir))
        self.layout = Layout.for_head(len(self.features.labels), self.features.dimension)
        self.batch_size = batch_size
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._pii: Any = None
        if redact:
            from datamoat.privacy.pii.detect import PiiEngine

            self._pii = PiiEngine()
        self.context = private_context()
        public = public_context_bytes(self.context)
        self._public = b64encode(public)
        self.context_id = hashlib.sha256(public).hexdigest()
        self._context_sent = False

    def encrypt(self, vectors: np.ndarray) -> list[list[str]]:
        """Per row of ``vectors`` (n, d), its packed base64 CKKS ciphertexts (``layout.ciphertexts`` each)."""
        ts = require_tenseal()
        return [[b64encode(ts.ckks_vector(self.context, part).serialize()) for part in self.layout.pack(row)]
                for row in np.asarray(vectors)]

    def decrypt(self, ciphertexts: list[str]) -> np.ndarray:
        """Scores (n, k) from base64 ciphertexts made under this client's context (first k slots)."""
        ts = require_tenseal()
        k = self.layout.classes
        return np.array([ts.ckks_vector_from(self.context, b64decode(c, "a returned score")).decrypt()[:k]
                         for c in ciphertexts]).reshape(len(ciphertexts), k)

    def vectors(self, texts: list[str]) -> np.ndarray:
        """The features of ``texts`` (n, d), after redaction when it is on."""
        if self._pii is not None:
            texts = [t for t, _ in self._pii.redact_batch(list(texts))]
        return self.features(list(texts))

    def score(self, texts: str | list[str]) -> EncryptedAnswer:
        """Encrypt the texts' vectors, post them ``batch_size`` at a time, decrypt the scores.

        DatamoatError with the server's sentence when it refuses (status and detail), or when the
        served model's labels are not the export's (the client's features would not fit its head).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise DatamoatError("no texts to score; pass at least one.")
        parts = [self._post(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return EncryptedAnswer(labels=parts[0].labels, scores=np.vstack([p.scores for p in parts]),
                               model=parts[-1].model, request_bytes=sum(p.request_bytes for p in parts),
                               response_bytes=sum(p.response_bytes for p in parts))

    def _post(self, texts: list[str]) -> EncryptedAnswer:
        import httpx

        vectors = self.encrypt(self.vectors(texts))
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        with httpx.Client(timeout=self.timeout_s) as http:
            request, response = self._send(http, vectors, headers, by_id=self._context_sent)
            if response.status_code == 404 and self._context_sent:  # the server dropped our context
                request, response = self._send(http, vectors, headers, by_id=False)
        if response.status_code != 200:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise DatamoatError(f"{self.url}{ROUTE} answered {response.status_code}: {detail}")
        answer = response.json()
        self._context_sent = True
        labels = [str(c) for c in answer["labels"]]
        if labels != self.features.labels:
            raise DatamoatError(f"the served model {answer.get('model', {}).get('ref')} has other labels than the "
                                f"export in {self.features.path}; export the served model and use that folder.")
        return EncryptedAnswer(labels=labels, scores=self.decrypt(answer["scores"]),
                               model=answer.get("model", {}), request_bytes=len(request.content),
                               response_bytes=len(response.content))

    def _send(self, http: Any, vectors: list[list[str]], headers: dict[str, str], *, by_id: bool) -> tuple[Any, Any]:
        body = {"context_id": self.context_id} if by_id else {"context": self._public}
        request = http.build_request("POST", self.url + ROUTE, json={**body, "vectors": vectors}, headers=headers)
        return request, http.send(request)

    def predict(self, texts: str | list[str]) -> list[str]:
        """The label of each text, as plain ``/v1/predict`` gives it."""
        return self.score(texts).predicted
