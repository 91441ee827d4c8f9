"""Embeddings of BANKING77's training texts: the local encoder next to a pool of 1 and 2 Ray actors.

Data: ``train.csv`` of BANKING77 (10,003 online-banking queries) from the shared data folder.
The encoder is the bundled all-MiniLM-L6-v2 (torch, 128 tokens, batches of 64, L2-normalised,
as embed-linear uses it).

Each configuration runs in its own Python process (so each Ray gets exactly its CPUs):

* ``local``: :class:`~datamoat.models.trainers.encoder.TextEncoder` in this process, torch with
  the machine's cores as threads (``embed`` sorts by length and pads per batch);
* ``ray_1`` / ``ray_2``: :class:`~datamoat.models.trainers.encoder_pool.RayEncoderPool` with 1 / 2
  actors on a local Ray started with 1 / 2 CPUs (one CPU and one torch thread per actor).

Timed apart: ``ray.init`` (``ray_*_start_s``), the actors' start with their model load plus a
64-text warm-up call (``ray_*_actors_s``; locally the model load plus the same warm-up,
``local_load_s``), then the embedding of all texts (``*_s``, and ``*_texts_per_s``). Each Ray
run's vectors are compared with the local ones: ``max_abs_diff_ray_*``.

Usage: python benchmarks/scale_embed.py [--rows N]   (default: all 10,003 texts)
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "train.csv"
CONFIGS = ("local", "ray_1", "ray_2")
BATCH = 64


def load_texts(rows: int | None) -> list[str]:
    import pandas as pd

    texts = pd.read_csv(DATA)["text"].astype(str).tolist()
    return texts[:rows] if rows else texts


def child(config: str, rows: int | None, out: Path) -> dict:
    """Run one configuration; write its vectors to ``out`` and return its timings."""
    import numpy as np

    from datamoat.models.trainers.encoder import TextEncoder

    texts = load_texts(rows)
    result: dict = {}
    encoder = TextEncoder("bundled")
    if config == "local":
        t = time.perf_counter()
        encoder.embed(texts[:BATCH], batch_size=BATCH)
        result["local_load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        vectors = encoder.embed(texts, batch_size=BATCH)
        seconds = time.perf_counter() - t
    else:
        import ray

        from datamoat.models.trainers.encoder_pool import RayEncoderPool

        actors = int(config.split("_")[1])
        t = time.perf_counter()
        ray.init(num_cpus=actors, include_dashboard=False, log_to_driver=False)
        result[f"{config}_start_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pool = RayEncoderPool(encoder, actors=actors)
        pool.embed(texts[: BATCH * CHUNK_WARMUP * actors], BATCH)  # every actor loads its model
        result[f"{config}_actors_s"] = time.perf_counter() - t
        t = time.perf_counter()
        vectors = pool.embed(texts, BATCH)
        seconds = time.perf_counter() - t
        pool.close()
        ray.shutdown()
    np.save(out, vectors)
    result[f"{config}_s"] = seconds
    result[f"{config}_texts_per_s"] = len(texts) / seconds
    return result


CHUNK_WARMUP = 1
"""Chunks of the warm-up call per actor (a chunk goes to a free actor; one each when all are free)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="only the first N texts (default: all)")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.out)))
        return
    if not DATA.is_file():
        sys.exit(f"{DATA}: BANKING77 is missing (see the shared data folder's README).")
    import numpy as np

    report: dict = {"texts": len(load_texts(args.rows)), "encoder": "bundled all-MiniLM-L6-v2", "batch": BATCH,
                    "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        for config in CONFIGS:
            cmd = [sys.executable, __file__, "--child", config, "--out", str(Path(tmp) / f"{config}.npy")]
            if args.rows:
                cmd += ["--rows", str(args.rows)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{config} failed:\n{done.stderr[-3000:]}")
            report.update(json.loads(done.stdout.strip().splitlines()[-1]))
        local = np.load(Path(tmp) / "local.npy")
        for config in CONFIGS[1:]:
            report[f"max_abs_diff_{config}"] = float(np.abs(np.load(Path(tmp) / f"{config}.npy") - local).max())
    report["scaling_1_to_2"] = report["ray_1_s"] / report["ray_2_s"]
    report["ray_2_vs_local"] = report["local_s"] / report["ray_2_s"]
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}))


if __name__ == "__main__":
    main()
