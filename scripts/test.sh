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
# Three pytest-xdist workers by default (CI, 2 cores): many tests wait on subprocesses, servers, sandbox
# limits, Slurm or plain sleeps, so one worker more than the cores keeps both busy (measured: 15.4 min
# against 17.5 with two). tests/helpers/units.py schedules them: whole units (a shared server's tests,
# the Slurm tests, ...), longest first. SKILLS_TEST_WORKERS=0 runs one process, =N runs N workers.
# See docs/testing.md.
WORKERS="${SKILLS_TEST_WORKERS:-3}"
if [ "$WORKERS" = 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$WORKERS" "$@"
