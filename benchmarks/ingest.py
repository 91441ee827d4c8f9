"""Ingest speed and memory: datamoat next to pandas.read_csv + to_parquet, in the same run.

Generates a CSV of N rows x 3 columns (int id, float amount, ~60-char text) on the fly, then
runs, each in a fresh subprocess so peak RSS is measured per tool, timing from before the
import of the tool to the end of the write:
  * datamoat: Workspace.ingest into a workspace made beforehand with `datamoat init`
    (sniffing, type inference, row ids, content hash, Parquet shards, catalog registration);
  * pandas: pandas.read_csv(...).to_parquet(...).
Each is run --repeats times; the median throughput and the max peak RSS are reported.

Usage: python benchmarks/ingest.py [--rows 1000000] [--repeats 3]
Prints one JSON object:
  {"rows", "datamoat_rows_per_s", "datamoat_peak_rss_mb", "pandas_rows_per_s",
   "pandas_peak_rss_mb", "speed_ratio", "runs": {...}}
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = "refund order card payment delivery late account locked password reset charge twice invoice".split()

CHILD = r"""
import json, resource, subprocess, sys, time
tool, csv_path, work = sys.argv[1], sys.argv[2], sys.argv[3]
if tool == "datamoat":  # creating the workspace is a one-time setup, like making a folder
    subprocess.run([sys.executable, "-m", "datamoat", "init", work], check=True, capture_output=True)
t0 = time.perf_counter()
if tool == "datamoat":
    from datamoat.workspace import Workspace
    ws = Workspace.open(work)
    v = ws.ingest(csv_path, name="bench")
    rows = v.num_rows
else:
    import pandas as pd
    df = pd.read_csv(csv_path)
    df.to_parquet(work + "/out.parquet")
    rows = len(df)
elapsed = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": elapsed, "peak_rss_mb": peak_mb}))
"""


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` rows of id,amount,text."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,amount,text\n")
        for i in range(rows):
            text = " ".join(rnd.choice(WORDS) for _ in range(8))
            f.write(f"{i},{rnd.random() * 1000:.2f},{text} #{i}\n")


def run_child(tool: str, csv_path: Path, work: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, tool, str(csv_path), str(work)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "bench.csv"
        make_csv(csv_path, args.rows)
        csv_mb = csv_path.stat().st_size / 1e6
        runs: dict[str, list[dict]] = {"datamoat": [], "pandas": []}
        for i in range(args.repeats):
            for tool in ("datamoat", "pandas"):  # interleaved, so machine noise hits both
                work = Path(tmp) / f"{tool}-{i}"
                work.mkdir()
                result = run_child(tool, csv_path, work)
                assert result["rows"] == args.rows, result
                runs[tool].append(result)
    med = {t: statistics.median(r["seconds"] for r in rs) for t, rs in runs.items()}
    peak = {t: max(r["peak_rss_mb"] for r in rs) for t, rs in runs.items()}
    print(json.dumps({
        "rows": args.rows,
        "datamoat_rows_per_s": round(args.rows / med["datamoat"]),
        "datamoat_peak_rss_mb": round(peak["datamoat"], 1),
        "pandas_rows_per_s": round(args.rows / med["pandas"]),
        "pandas_peak_rss_mb": round(peak["pandas"], 1),
        "speed_ratio": round(med["pandas"] / med["datamoat"], 2),
        "csv_mb": round(csv_mb, 1),
        "runs": {t: [round(r["seconds"], 3) for r in rs] for t, rs in runs.items()},
    }))


if __name__ == "__main__":
    main()
