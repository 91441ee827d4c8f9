"""Encrypted (CKKS) against plain scoring of BANKING77 test texts with an embed-linear head.

Trains the embed-linear trainer (bundled MiniLM, frozen, + logistic regression) on BANKING77's
train file (vectors cached under ``--cache``), registers it in a fresh tmp workspace, exports it
(``export_hugging_face``), and serves it with ``datamoat serve``'s app on 127.0.0.1. Then, for
``--texts`` test texts drawn with a fixed seed (never chosen by a model), in batches of
``--batch``:

* encrypted: ``datamoat.privacy.he.Client`` (features from the export, CKKS encryption,
  ``POST /v1/predict/encrypted``, decryption), timed end to end;
* plain: ``POST /v1/predict`` on the same texts, timed end to end, and the trainer's own logits
  ``W v + b`` on its own vectors for the score difference.

Both routes run with PII redaction off, so both see the same text.

Usage: python benchmarks/he_score.py [--data DIR] [--texts 200] [--batch 8] [--cache DIR]
Prints one JSON object: {"max_abs_score_diff", "same_label_share", "ms_per_text",
"plain_ms_per_text", "ciphertext_kb": {"request_per_text", "ciphertexts_per_text", "public_context", "response_scores",
"request_per_batch", "response_per_batch"}, "texts", "batch", "params", "cores"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "banking77"
sys.path.insert(0, str(ROOT / "tests"))  # live_server: uvicorn in a thread, the tests' helper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "datamoat-he-bench-cache")
    args = ap.parse_args()

    import httpx
    import numpy as np
    import pandas as pd
    from live_server import LiveServer

    from datamoat.models.export.hf_export import export_hugging_face, linear_head
    from datamoat.models.trainers.embed_linear import EmbedLinearTrainer
    from datamoat.models.training import models_registry
    from datamoat.privacy.he import Client
    from datamoat.privacy.he.ckks import COEFF_MOD_BIT_SIZES, POLY_MODULUS_DEGREE, SCALE_BITS
    from datamoat.serve.api_keys import create_key
    from datamoat.serve.app import create_app
    from datamoat.serve.settings import ServeSettings
    from datamoat.workspace import Workspace

    if not (args.data / "train.csv").is_file():
        sys.exit(f"{args.data}: no train.csv; give the BANKING77 folder with --data.")
    train, test = pd.read_csv(args.data / "train.csv"), pd.read_csv(args.data / "test.csv")
    rows = np.random.default_rng(0).choice(len(test), size=min(args.texts, len(test)), replace=False)
    texts = test["text"].iloc[np.sort(rows)].astype(str).tolist()

    t0 = time.perf_counter()
    trainer = EmbedLinearTrainer(text_column="text", label_column="category")
    trainer.use_embedding_cache(args.cache)
    trainer.fit(train)
    print(f"trained the head in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    weight, bias = linear_head(trainer)
    plain_scores = trainer.embed(texts) @ weight.T + bias
    plain_labels = list(trainer.predict(texts))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = Workspace.init(root / "ws")
        csv = root / "train.csv"
        train.to_csv(csv, index=False)
        version = ws.ingest(csv, name="banking77", text="text", label="category")
        models_registry(ws).register(trainer, "banking77", train_version_id=version.id, aliases=["champion"])
        export = export_hugging_face(trainer, root / "export", card_info={})
        key = create_key(ws.catalog, "client", "bench")[0]
        ws.close()
        app = create_app(root / "ws", settings=ServeSettings(redact=False, reload_interval_s=0, access_log=False,
                                                             max_batch=max(64, args.batch)), web=False)
        with LiveServer(app) as url:
            client = Client(export, url=url, api_key=key, redact=False, batch_size=args.batch)
            batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
            client.score(batches[0][:1])  # warm-up: loads the encoder on both sides
            answers, started = [], time.perf_counter()
            for i, batch in enumerate(batches):
                answers.append(client.score(batch))
                print(f"encrypted batch {i + 1}/{len(batches)}", file=sys.stderr)
            enc_s = time.perf_counter() - started
            plain_started = time.perf_counter()
            served_labels: list[str] = []
            with httpx.Client(timeout=120) as http:
                for batch in batches:
                    r = http.post(f"{url}/v1/predict", json={"texts": batch}, headers={"X-API-Key": key})
                    r.raise_for_status()
                    served_labels += [p["label"] for p in r.json()["predictions"]]
            plain_s = time.perf_counter() - plain_started
            vec = client.encrypt(client.vectors(texts[:1]))[0]
            context_b64, vector_b64 = len(client._public), sum(len(part) for part in vec)

    labels = answers[0].labels
    enc_scores = np.vstack([a.scores for a in answers])
    enc_labels = [labels[i] for i in enc_scores.argmax(axis=1)]
    response_scores_b64 = (answers[0].response_bytes - 200) / len(batches[0])  # minus the JSON around them
    kb = 3 / 4 / 1024  # base64 characters -> binary kilobytes
    print(json.dumps({
        "max_abs_score_diff": float(np.abs(enc_scores - plain_scores).max()),
        "same_label_share": float(np.mean([a == b for a, b in zip(enc_labels, plain_labels, strict=True)])),
        "same_label_share_vs_served_plain": float(np.mean([a == b for a, b in
                                                           zip(enc_labels, served_labels, strict=True)])),
        "ms_per_text": round(enc_s * 1000 / len(texts), 1),
        "plain_ms_per_text": round(plain_s * 1000 / len(texts), 2),
        "ciphertext_kb": {
            "request_per_text": round(vector_b64 * kb, 1),
            "ciphertexts_per_text": client.layout.ciphertexts,
            "public_context": round(context_b64 * kb, 1),
            "response_scores": round(response_scores_b64 * kb, 1),
            "request_per_batch": round(sum(a.request_bytes for a in answers) / len(answers) / 1024, 1),
            "response_per_batch": round(sum(a.response_bytes for a in answers) / len(answers) / 1024, 1),
        },
        "texts": len(texts), "batch": args.batch, "classes": len(labels), "dimension": int(weight.shape[1]),
        "params": {"poly_modulus_degree": POLY_MODULUS_DEGREE, "coeff_mod_bit_sizes": list(COEFF_MOD_BIT_SIZES),
                   "scale_bits": SCALE_BITS},
        "cores": len(os.sched_getaffinity(0)),
    }, indent=2))


if __name__ == "__main__":
    main()
