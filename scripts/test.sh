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
# One process by default (CI): the sandbox's timing-bound tests need the cores a vLLM start on a
# second worker would take. SKILLS_TEST_WORKERS=2 runs two pytest-xdist workers; tests/conftest.py
# keeps a shared server's tests, the Slurm tests, the sandbox's tests and each module together,
# longest first (not reordered by xdist). See docs/testing.md.
WORKERS="${SKILLS_TEST_WORKERS:-0}"
if [ "$WORKERS" = 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$WORKERS" --dist loadgroup --no-loadscope-reorder "$@"
