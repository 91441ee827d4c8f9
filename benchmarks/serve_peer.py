"""The peer of benchmarks/serve_load.py: a plain FastAPI server wrapping a transformers pipeline.

What a team would write by hand: ``transformers.pipeline("feature-extraction")`` over the same
fp32 all-MiniLM-L6-v2 encoder, mean pooling and L2 normalisation, then the same scikit-learn
logistic-regression head (loaded with joblib), one request at a time, no auth, no logging.

Usage: python benchmarks/serve_peer.py --encoder DIR --head head.joblib --port 8001
"""

from __future__ import annotations

import argparse

import joblib
import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import pipeline


class Body(BaseModel):
    text: str


def build(encoder: str, head_file: str) -> FastAPI:
    extractor = pipeline("feature-extraction", model=encoder, tokenizer=encoder, framework="pt", device="cpu")
    head, classes = joblib.load(head_file)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: Body) -> dict:
        tokens = np.asarray(extractor(body.text, truncation=True)[0], dtype=np.float32)
        vector = tokens.mean(axis=0)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        proba = head.predict_proba(vector[None, :])[0]
        best = int(np.argmax(proba))
        return {"label": str(classes[head.classes_[best]]), "score": float(proba[best])}

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--encoder", required=True)
    p.add_argument("--head", required=True)
    p.add_argument("--port", type=int, default=8001)
    a = p.parse_args()
    uvicorn.run(build(a.encoder, a.head), host="127.0.0.1", port=a.port, log_level="warning", access_log=False)
