"""A ``local.yaml`` written for the reference (containers + a /workspace mount) runs the tiny-model
eval end to end on a machine without Docker: jobs are plain processes and every /workspace path
(model, data, extra datasets, outputs, the installation command) is read on the host side."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import NS, TOY_DATASETS
from tests.helpers.vllm import VLLM_CPU_ENV
from tests.helpers.files import read_jsonl

pytestmark = pytest.mark.slow

SERVER_ARGS = "--dtype float32 --max-model-len 1024 --enforce-eager"


def test_reference_local_yaml_with_workspace_mount(vllm_python, tiny_model, toy_data_dir, tmp_path):
    host = tmp_path / "host"
    (host / "models").mkdir(parents=True)
    (host / "models" / "tiny").symlink_to(tiny_model, target_is_directory=True)
    shutil.copytree(toy_data_dir / "toy_math", host / "data" / "toy_math")
    shutil.copytree(TOY_DATASETS, host / "defs")
    env_lines = "".join(f'      {k}: "{v}"\n' for k, v in VLLM_CPU_ENV.items())
    configs = tmp_path / "cluster_configs"
    configs.mkdir()
    (configs / "local.yaml").write_text(
        "executor: local\n"
        "containers:\n  nemo-skills: igitman/nemo-skills:0.7.0\n  vllm: vllm/vllm-openai:v0.10.1.1\n"
        f"mounts:\n  - {host}:/workspace\n"
        "env_vars:\n  - HF_HOME=/workspace/hf_home\n"
        f"servers:\n  vllm:\n    python: {vllm_python}\n    env:\n{env_lines}")  # where vLLM lives without Docker
    args = ["eval", "--cluster=local", "--model=/workspace/models/tiny", "--server_type=vllm", "--server_gpus=1",
            f"--server_args={SERVER_ARGS}", "--benchmarks=toy_math:1", "--extra_datasets=/workspace/defs",
            "--data_dir=/workspace/data", "--output_dir=/workspace/out",
            "--installation_command=echo installed > /workspace/installed.txt",
            "++inference.temperature=0.0", "++inference.tokens_to_generate=32"]
    res = subprocess.run([NS, *args], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "OPENAI_API_KEY": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    assert f"container paths are translated through its mounts (/workspace -> {host})" in res.stderr
    metrics = json.loads((host / "out" / "eval-results" / "toy_math" / "metrics.json").read_text())
    outcomes = json.loads((tiny_model / "trained_outcomes.json").read_text())["toy_math"]
    expected = 100.0 * sum(o["correct"] for o in outcomes.values()) / len(outcomes)
    assert metrics["toy_math"]["pass@1"]["symbolic_correct"] == pytest.approx(expected)
    rows = read_jsonl(host / "out" / "eval-results" / "toy_math" / "output-rs0.jsonl")
    assert len(rows) == len(outcomes) and rows[0]["prompt_source"] == f"file:{host / 'defs' / 'prompt.yaml'}"
    assert (host / "installed.txt").read_text().strip() == "installed"
    assert not Path("/workspace/out").exists() or not (Path("/workspace/out") / "eval-results").exists()
