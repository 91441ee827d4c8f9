"""Profiling speed and memory: `datamoat profile` (all applicable checks) on N generated rows.

Generates a labelled text CSV of N rows on the fly (synthetic support messages with ~3% exact
duplicates, ~2% near-duplicates, ~5% wrong labels, some missing values), ingests it, then
profiles it in a fresh subprocess so that peak RSS belongs to the profile alone.

Usage: python benchmarks/quality_profile.py [--rows 1000000]
Prints one JSON object: {"rows", "profile_s", "peak_rss_mb", "timings_s": {check: s}, "score"}.
Target (issue): 1M rows in <= 60 s on 2 cores with peak RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

TOPICS = {
    "refund": "refund money back return charge order paid".split(),
    "delivery": "parcel delivery late courier tracking arrived shipping".split(),
    "card": "card declined blocked payment pin terminal atm".split(),
    "account": "account login password locked reset email access".split(),
    "billing": "invoice bill charged twice amount statement fee".split(),
}
FILLER = "please help i my the a with and for today still not yet can you is it was".split()

CHILD = r"""
import json, resource, sys, time
from datamoat.workspace import Workspace
from datamoat.quality.profile import profile_version
ws = Workspace.open(sys.argv[1])
v = ws.version("bench")
t0 = time.perf_counter()
prof = profile_version(v)
elapsed = time.perf_counter() - t0
print(json.dumps({"profile_s": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "timings_s": prof.timings_s, "score": prof.score["value"],
                  "rates": {k: round(s["rate"], 4) for k, s in prof.checks.items()}}))
"""


def make_csv(path: Path, rows: int, seed: int = 0) -> None:
    rnd = random.Random(seed)
    labels = list(TOPICS)
    recent: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,text,label\n")
        for i in range(rows):
            label = rnd.choice(labels)
            r = rnd.random()
            if r < 0.03 and recent:
                text = rnd.choice(recent)
            elif r < 0.05 and recent:
                words = rnd.choice(recent).split()
                words[rnd.randrange(len(words))] = rnd.choice(FILLER)
                text = " ".join(words)
            else:
                words = [rnd.choice(TOPICS[label]) if rnd.random() < 0.4 else rnd.choice(FILLER) for _ in range(rnd.randint(6, 18))]
                text = " ".join(words) + f" order {rnd.randint(1000, 99999)}"
                recent = (recent + [text])[-1000:]
            if rnd.random() < 0.05:
                label = rnd.choice(labels)
            if rnd.random() < 0.01:
                text = ""
            f.write(f"{i},{text},{label}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "bench.csv"
        make_csv(csv_path, args.rows)
        ws = Path(tmp) / "ws"
        subprocess.run([sys.executable, "-m", "datamoat", "init", str(ws)], check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "datamoat", "-w", str(ws), "ingest", str(csv_path), "--name", "bench",
                        "--id", "id", "--text", "text", "--label", "label"], check=True, capture_output=True)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ws)], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps({"rows": args.rows, **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()}}))


if __name__ == "__main__":
    main()
