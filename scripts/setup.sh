#!/usr/bin/env bash
# Build the environments and the test/demo models. Idempotent: every step leaves a stamp file,
# so a re-run is near-instant. Works from a fresh clone on a fresh CPU-only machine.
#
#   .venv          skills (editable) + nemo-run + test tools       (orchestrator, built here)
#   .venv-<name>   every declared environment: the code sandbox's packages, the vLLM server, and
#                  those benchmark families declare (IFBench's checkers, BFCL's gorilla, RULER's
#                  generators, ...), whose dependencies clash with ours or with each other
#   .cache/models  every declared test model (tiny models trained offline, SmolLM2 for the demo)
#
# The declarations are Python (skills/environments/core.py, and a family's EXTENSIONS
# "environment" / "test_model"); `python -m skills.environments list -v` shows them in build
# order. A new benchmark family adds its own without touching this script.
# `bash scripts/setup.sh --demo` builds only what scripts/demo.sh uses: .venv without extras and,
# at the same time, the vLLM environment, then SmolLM2 (~2.5 min and ~4.2 GB instead of ~9 min and ~7 GB).
# Knobs: SKILLS_VLLM_VENV (server venv, default <repo>/.venv-vllm), SKILLS_SANDBOX_VENV, PYTHON
#        (default python3), SKILLS_SKIP_VLLM=1 (no server environment nor models),
#        SKILLS_SKIP_SMOLLM2=1 (no 540 MB demo model), SKILLS_SKIP_BFCL=1 (no BFCL environment nor
#        tiny tool model), SKILLS_SKIP_RULER=1 (no RULER generators): any declaration's skip_env.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"

PROFILE=all
for arg in "$@"; do
  case "$arg" in
    --demo) PROFILE=demo ;;
    *) echo "scripts/setup.sh: unknown argument '$arg' (--demo builds only what scripts/demo.sh uses)" >&2; exit 2 ;;
  esac
done

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
# A stamp records the inputs of a step; the step re-runs when they change.
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
# pip, minus the per-package noise some machines' pip.conf (missing local index folders) produces,
# and minus setuptools' 10-line notice on every editable install of a package whose resource
# folders are mapped into it (setup.py: prompts/ -> skills.resources.prompts), which is on purpose.
pip_in() {
  local venv="$1"; shift
  "$venv/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" \
    | awk '/BuildBackendWarning: Editable installation/ {n = 12} n > 0 {n--; if ($0 ~ /WheelFile\(/) n = 0; next} {print}' >&2)
}

# --- .venv: orchestrator -------------------------------------------------------------------------
# The demo needs only skills itself; the full set-up adds nemo-run (Slurm), test tools and HF datasets.
MAIN_KEY="$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)"
MAIN_STAMP="$VENV/.skills-setup-stamp"
CORE_STAMP="$VENV/.skills-setup-stamp-core"
setup_main() {
  if stamp_ok "$MAIN_STAMP" "$MAIN_KEY" || { [ "$PROFILE" = demo ] && stamp_ok "$CORE_STAMP" "$MAIN_KEY"; }; then
    log ".venv up to date"
    return
  fi
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  pip_in "$VENV" install -q --upgrade pip
  if [ "$PROFILE" = demo ]; then
    log "creating .venv (skills only; ~30 s)"
    pip_in "$VENV" install -q -e .
    "$VENV/bin/python" -c 'import skills'
    echo "$MAIN_KEY" >"$CORE_STAMP"
  else
    log "creating .venv (skills + nemo-run + tests)"
    pip_in "$VENV" install -q -e '.[slurm,test,hf]'
    "$VENV/bin/python" -c 'import nemo_run, skills'
    echo "$MAIN_KEY" >"$MAIN_STAMP"
  fi
  log ".venv ready"
}

# .venv beside the other environments (the builds mostly wait on downloads and disks). In the demo
# profile at a lower priority: it takes the CPU the vLLM install and the SmolLM2 conversion leave
# idle (they are the critical path; neither needs it).
if [ "$PROFILE" = demo ]; then
  ( renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true; setup_main ) & MAIN_PID=$!
else
  ( setup_main 2>&1 | sed -u 's/^/[.venv] /' ) & MAIN_PID=$!
fi

# --- declared environments and test models ----------------------------------------------------
# One generic builder per declaration (python -m skills.environments build NAME); it runs on the
# plain interpreter from the checkout (standard library only), so it does not wait for .venv.
declared() { "$PY" -m skills.environments "$@"; }
if [ "$PROFILE" = demo ]; then
  declared build vllm smollm2-135m-instruct  # what scripts/demo.sh uses
  wait "$MAIN_PID" || { log ".venv failed (see above)"; exit 1; }  # SmolLM2 did not need it
else
  # Up-to-date ones cost a stamp read. The environments three at a time beside .venv, then the
  # test models two at a time (one may need .venv: a fixture prepared with ns); each line of a
  # build starts with its name. SKILLS_SETUP_JOBS=1 builds one after another.
  JOBS="${SKILLS_SETUP_JOBS:-3}"
  # shellcheck disable=SC2086
  declared build --jobs "$JOBS" $(declared list --kind environment) || { wait "$MAIN_PID" || true; exit 1; }
  wait "$MAIN_PID" || { log ".venv failed (see above)"; exit 1; }
  # shellcheck disable=SC2086
  declared build --jobs "$(( JOBS > 2 ? 2 : JOBS ))" $(declared list --kind test_model)
fi
log "done"
