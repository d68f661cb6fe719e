#!/usr/bin/env bash
# The README's test command: set up the environments (idempotent), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${SKILLS_SHARED_DIR:-}" ] && [ -d ../shared ]; then
  SKILLS_SHARED_DIR="$(cd ../shared && pwd)"
  export SKILLS_SHARED_DIR
fi
if [ -n "${SKILLS_SHARED_DIR:-}" ] && [ -z "${SKILLS_DATA_MIRROR:-}" ]; then
  export SKILLS_DATA_MIRROR="$SKILLS_SHARED_DIR/datasets"
fi
exec .venv/bin/python -m pytest "$@"
