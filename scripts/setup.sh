#!/usr/bin/env bash
# Set up datamoat in ./.venv on a fresh machine (Python >= 3.11 needed).
#   scripts/setup.sh            core: data, quality, privacy
#   scripts/setup.sh dev        + the test tools
#   scripts/setup.sh all        everything (ml, serve, scale, dev)
# torch is installed first, pinned, when an extra needs it: plain `torch` pulls a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [[ "$EXTRAS" == *ml* || "$EXTRAS" == *all* ]]; then
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi
if [ -n "$EXTRAS" ]; then
  .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
echo "datamoat $(.venv/bin/datamoat --version) is set up in .venv (extras: ${EXTRAS:-none})"
