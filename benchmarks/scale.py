"""The default clean recipe on N short texts: LocalExecutor next to RayExecutor with 1 and 2 workers.

Data: N texts made on the fly, seeded (``near_dup.make_corpus``: 8-20 words from a synthetic
vocabulary, ~5% near copies with 1-2 word edits) after one of 10 topic words, the text's
intent; ~2% exact copies with other case and spacing, ~1% blank or too short; 3% of the labels
changed at random so ``label_issues`` has something to find. It is
ingested once into a fresh workspace (not timed).

Each configuration then runs in its own Python process (so each Ray gets exactly its CPUs) and
applies the default clean recipe (normalize_text, drop_missing, strip_whitespace,
length_filter, exact_dedup, near_dedup, label_issues) to the same version, the way
``datamoat clean`` does (:func:`datamoat.pipeline.apply.apply_recipe`: the run plus writing
the new version):

* ``local``: LocalExecutor with 1 worker (everything in one process);
* ``ray_1`` / ``ray_2``: RayExecutor on a local Ray started with 1 / 2 CPUs (``ray.init`` is
  timed apart, as ``ray_start_s``).

Printed: ``{"rows", "local_s", "ray_1_s", "ray_2_s", "ray_overhead_share", "scaling_1_to_2",
"same_hash", "hashes", ...}`` with ``ray_overhead_share = ray_1_s / local_s - 1`` (equal cores),
``scaling_1_to_2 = ray_1_s / ray_2_s``, ``same_hash`` (all three versions have one content
hash), the Ray start times and each Ray run's stages (``ray_*_stages``: upload, each
materialization, each fit with where it ran, the last map + output stream). Stages named
``(driver)`` run in the driver process whatever the number of workers: they bound the scaling.

Each configuration's ``*_peak_gb`` is how far the machine's memory in use (total minus
available, sampled every 0.5 s; it counts every Ray worker and Ray's shared-memory object store)
rose above where it was before the configuration started.

Usage: python benchmarks/scale.py [--rows 1000000] [--seed 0] [--configs local,ray_1,ray_2]
Prints one JSON object; the ratios need the configurations they divide. A configuration that
fails is listed under ``failed`` (its last error line) and the others are still printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

CONFIGS = ("local", "ray_1", "ray_2")
TOPICS = ("billing", "card", "refund", "delivery", "login", "password", "account", "transfer", "fees", "limits")
"""The word each text starts with: its intent (so the label is learnable and label_issues flags
mostly the 3% of labels changed at random)."""


def make_table(rows: int, seed: int):
    """The benchmark's texts and labels as an Arrow table (see the module docstring)."""
    import numpy as np
    import pyarrow as pa

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from near_dup import make_corpus

    texts, _, _ = make_corpus(rows, seed=seed)
    rng = np.random.default_rng(seed + 1)
    intents = rng.integers(0, 10, size=rows)
    texts = [f"{TOPICS[k]} {t}" for k, t in zip(intents.tolist(), texts, strict=True)]
    labels = np.array([f"intent_{k}" for k in intents], dtype=object)
    noisy = rng.random(rows) < 0.03
    labels[noisy] = [f"intent_{k}" for k in rng.integers(0, 10, size=int(noisy.sum()))]
    copies = np.flatnonzero(rng.random(rows) < 0.02)
    sources = rng.integers(0, rows, size=len(copies))
    for c, s in zip(copies, sources, strict=True):
        texts[c] = "  " + texts[s].upper().replace(" ", "  ")
    for b in np.flatnonzero(rng.random(rows) < 0.01):
        texts[b] = ["", "   ", "ok"][int(b) % 3]
    return pa.table({"text": pa.array(texts, pa.string()), "label": pa.array(labels.tolist(), pa.string())})


def child(config: str, workspace: Path) -> dict:
    """Run one configuration on the workspace's ``bench@1``; its seconds, hash and stages."""
    from datamoat.clean.default_recipe import default_clean_recipe
    from datamoat.pipeline.apply import apply_recipe
    from datamoat.pipeline.executor_local import LocalExecutor
    from datamoat.workspace import Workspace

    out: dict = {}
    ws = Workspace.open(workspace)
    version = ws.version("bench@1")
    if config == "local":
        executor = LocalExecutor(workers=1, scratch_dir=ws.store.tmp)
    else:
        from datamoat.pipeline.executor_ray import RayExecutor, ensure_ray

        cpus = int(config.split("_")[1])
        start = time.perf_counter()
        ensure_ray(num_cpus=cpus)
        out["ray_start_s"] = round(time.perf_counter() - start, 2)
        executor = RayExecutor(workers=cpus)
    start = time.perf_counter()
    result = apply_recipe(ws.catalog, ws.store, version, default_clean_recipe(version.roles),
                          executor=executor, output=f"bench_{config}", label="clean")
    out["seconds"] = round(time.perf_counter() - start, 2)
    out["hash"] = result.version.hash
    out["rows_out"] = result.rows_out
    out["dropped"] = result.dropped_by_reason
    if config != "local":
        out["stages"] = {k: round(v, 2) for k, v in executor.timings.items()}  # type: ignore[attr-defined]
    ws.close()
    return out


def run_child(config: str, workspace: Path) -> dict:
    """Run one configuration in its own process; its result with ``peak_gb`` added."""
    import psutil

    def in_use() -> int:
        memory = psutil.virtual_memory()
        return memory.total - memory.available

    base = in_use()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], in_use())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        finished = subprocess.run(
            [sys.executable, __file__, "--child", config, "--workspace", str(workspace)],
            capture_output=True, text=True, check=False,
        )
    finally:
        done.set()
        sampler.join()
    if finished.returncode != 0:
        lines = finished.stderr.strip().splitlines() or [f"exit status {finished.returncode}"]
        return {"failed": lines[-1][:500]}
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    result["peak_gb"] = round((peak[0] - base) / 2**30, 2)
    return result


def summary(rows: int, runs: dict[str, dict]) -> dict:
    """The printed JSON: each run's seconds and peak memory, and the ratios its runs allow."""
    out: dict = {"rows": rows}
    for config, run in runs.items():
        out[f"{config}_s"] = run["seconds"]
    if "local" in runs and "ray_1" in runs:
        out["ray_overhead_share"] = round(runs["ray_1"]["seconds"] / runs["local"]["seconds"] - 1, 3)
    if "ray_1" in runs and "ray_2" in runs:
        out["scaling_1_to_2"] = round(runs["ray_1"]["seconds"] / runs["ray_2"]["seconds"], 3)
    out["same_hash"] = len({r["hash"] for r in runs.values()}) == 1
    out["hashes"] = {config: run["hash"][:12] for config, run in runs.items()}
    first = next(iter(runs.values()))
    out["rows_out"] = first["rows_out"]
    out["dropped"] = first["dropped"]
    for config, run in runs.items():
        out[f"{config}_rows_per_s"] = round(rows / run["seconds"])
        out[f"{config}_peak_gb"] = run["peak_gb"]
        if config != "local":
            out[f"{config}_start_s"] = run["ray_start_s"]
            out[f"{config}_stages"] = run["stages"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help="comma-separated subset of local,ray_1,ray_2 (default: all three)")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workspace)))
        return

    configs = [c for c in args.configs.split(",") if c]
    if not configs or set(configs) - set(CONFIGS):
        parser.error(f"--configs takes a comma-separated subset of {','.join(CONFIGS)}")

    import pyarrow.parquet as pq

    from datamoat.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="datamoat-scale-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        pq.write_table(make_table(args.rows, args.seed), root / "bench.parquet")
        with Workspace.init(root / "ws") as ws:
            ws.ingest(root / "bench.parquet", name="bench", text="text", label="label")
        prepare_s = time.perf_counter() - start
        runs: dict[str, dict] = {}
        failed: dict[str, str] = {}
        for config in configs:  # a configuration that fails (e.g. out of memory) keeps the others' figures
            result = run_child(config, root / "ws")
            if "failed" in result:
                failed[config] = result["failed"]
            else:
                runs[config] = result
    if not runs:
        sys.exit(f"every configuration failed: {failed}")
    out = summary(args.rows, runs)
    if failed:
        out["failed"] = failed
    out["prepare_s"] = round(prepare_s, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
