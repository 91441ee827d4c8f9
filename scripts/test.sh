#!/usr/bin/env bash
# The README's second command: set up with the test tools and run the whole test suite.
# Installs Debian's postgresql server and chromium when they are missing (the catalog, server and
# feedback tests run against a real PostgreSQL on 127.0.0.1 as well as SQLite; the web UI tests
# drive /usr/bin/chromium with playwright); needs root or sudo for that one step.
set -euo pipefail
cd "$(dirname "$0")/.."
MISSING=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || MISSING="$MISSING postgresql"
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
if [ -n "$MISSING" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi
bash scripts/setup.sh ml,dev,scale
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MLFLOW_DISABLE_TELEMETRY=true RAY_USAGE_STATS_ENABLED=0
.venv/bin/python -m ruff check src tests benchmarks
.venv/bin/python -m pytest "$@"
