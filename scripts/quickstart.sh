#!/usr/bin/env bash
# The README's first command: set up, make the built-in example, run the main job on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh ml,serve
rm -rf demo-workspace
.venv/bin/datamoat demo-data demo-workspace/data
.venv/bin/datamoat --workspace demo-workspace run demo-workspace/data/tickets.csv --id ticket_id --text text --label intent --role timestamp=created_at --budget 3m
