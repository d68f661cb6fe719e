#!/usr/bin/env bash
# The README's test command: set up the environments (idempotent), then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SKILLS_SHARED_DIR:-}" ] && [ -d ../shared ]; then
  SKILLS_SHARED_DIR="$(cd ../shared && pwd)"
  export SKILLS_SHARED_DIR
fi
if [ -n "${SKILLS_SHARED_DIR:-}" ] && [ -z "${SKILLS_DATA_MIRROR:-}" ]; then
  export SKILLS_DATA_MIRROR="$SKILLS_SHARED_DIR/datasets"
fi
bash scripts/setup.sh  # the mirror also holds the pinned upstream code setup installs (gorilla, RULER)
exec .venv/bin/python -m pytest "$@"
