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
# Two pytest-xdist workers (docs/testing.md): most tests wait on subprocesses, servers or timeouts,
# so a second worker keeps both cores busy. tests/conftest.py keeps a shared server's tests, the
# Slurm tests and each module together, longest first (not reordered by xdist). SKILLS_TEST_WORKERS=0
# runs in one process (-s, --pdb).
exec .venv/bin/python -m pytest -n "${SKILLS_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder "$@"
