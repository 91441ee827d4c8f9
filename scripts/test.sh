#!/usr/bin/env bash
# The README's second command: set up with the test tools and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true RAY_USAGE_STATS_ENABLED=0
.venv/bin/python -m ruff check src tests benchmarks
.venv/bin/python -m pytest "$@"
