#!/usr/bin/env bash
# The README's main job, end to end on a machine without a GPU:
#   set up the environments -> prepare five benchmarks from a local mirror of the upstream files
#   -> ns eval with an in-job vLLM (CPU) server on SmolLM2-135M-Instruct, several seeds
#   -> grading -> metrics.json -> result tables -> an HTML report (demo-output/eval-results/report.html).
# Small on purpose (a few problems per benchmark, short generations) so it finishes in minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
START=$SECONDS

MIRROR="${SKILLS_DATA_MIRROR:-$REPO/../shared/datasets}"
OUT="${DEMO_OUTPUT_DIR:-$REPO/demo-output}"
MODEL="$REPO/.cache/models/smollm2-135m-instruct"
NS="$REPO/.venv/bin/ns"

# What can fail in a second is checked before minutes of set-up.
if [ ! -d "$MIRROR" ]; then
  echo "No data mirror at $MIRROR: set SKILLS_DATA_MIRROR to a folder laid out like the upstream sources." >&2
  exit 2
fi
if ! "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "The demo needs Python >= 3.10 (${PYTHON:-python3} is $("${PYTHON:-python3}" -V 2>&1 || echo missing))." >&2
  exit 2
fi

# Only what the demo uses: the orchestrator and the vLLM environment side by side, then SmolLM2
# (~2.5 min and ~4.2 GB on a fresh clone; `bash scripts/setup.sh` builds everything the tests need).
bash scripts/setup.sh --demo

echo "== Preparing data from $MIRROR"
"$NS" prepare_data math-500 aime24 aime25 gpqa mmlu-pro --data_dir "$OUT/data" --mirror "$MIRROR"

# bf16 where the CPU computes it natively (AVX512-BF16 / AMX: 1.6x the tokens/s of f32 on a 2-core
# EPYC), f32 elsewhere (emulated bf16 is several times slower).
DTYPE=float32
if grep -qE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null; then DTYPE=bfloat16; fi

echo "== Evaluating SmolLM2-135M-Instruct on vLLM (CPU, $DTYPE)"
# --no-enable-chunked-prefill: vLLM's CPU build crashes ("CPU Generator does not use offset") when a
# seeded request's prompt is prefilled in chunks; see docs/cluster-configs.md.
"$NS" eval \
    --cluster=cpu-local \
    --model="$MODEL" \
    --server_type=vllm \
    --server_gpus=1 \
    --server_args="--dtype $DTYPE --max-model-len 2048 --enforce-eager --no-enable-chunked-prefill --max-num-batched-tokens 2048" \
    --output_dir="$OUT" \
    --data_dir="$OUT/data" \
    --benchmarks=math-500:3,aime24:3,aime25:3,gpqa:3,mmlu-pro:3 \
    ++max_samples=6 \
    ++inference.tokens_to_generate=192 \
    ++inference.temperature=0.6 \
    ++inference.top_p=0.95

echo "== Results"
"$NS" summarize_results "$OUT/eval-results"

echo "== Report"
"$NS" report "$OUT/eval-results"
echo "== Demo done in $(( (SECONDS - START) / 60 )) min $(( (SECONDS - START) % 60 )) s"
