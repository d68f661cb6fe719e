"""SciCode end to end: `ns eval --benchmarks=scicode:2` with a real vLLM (CPU) server, the sandbox
sidecar and the tiny SciCode model (scripts/make_tiny_scicode_model.py), locally and on Slurm.

The model answers the test problems' steps known right or wrong, and one prompt does not fit its
context, so every number is exact: 1 of 4 problems, 6 of 9 graded steps."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import exclusive, read_jsonl
from tests.helpers.paths import MODELS, NS, REPO_ROOT
from tests.helpers.vllm import cpu_cluster_yaml
from tests.benchmarks.scicode.helpers import PROMPT, fixture_data_dir, sandbox_python
from skills.benchmarks.scicode.steps import OUT_OF_CONTEXT

pytestmark = pytest.mark.slow
SERVER_ARGS = "--dtype float32 --max-model-len 2048 --enforce-eager"
ARGS = [f"++prompt_config={PROMPT}", "++inference.temperature=0.0", "++inference.tokens_to_generate=96"]
C, E = "completed", "error"
EXPECTED = {  # per problem: the graded keys and their statuses
    "9101": {"9101.1": C, "9101.2": C, "9101.3": E},  # 9101.3 returns a wrong value
    "9102": {"9102.1": C, "9102.2": C},
    "9103": {"9103.1": E, "9103.2": C},  # 9103.1 calls math, whose import the extraction removed
    "9105": {"9105.1": C, "9105.2": E},  # 9105.2 overflows: it and 9105.3 under the reference's keys
}


@pytest.fixture(scope="session")
def tiny_scicode(vllm_python, model_build_lock) -> Path:
    """The tiny SciCode model, (re)built when its inputs changed (~1 min)."""
    script = REPO_ROOT / "scripts" / "make_tiny_scicode_model.py"
    spec = importlib.util.spec_from_file_location("make_tiny_scicode_model", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = MODELS / "tiny-scicode"
    done = model / ".done"
    with exclusive(model_build_lock):  # parallel workers build it once
        if not (done.exists() and done.read_text().strip() == module.inputs_digest()):
            res = subprocess.run([str(vllm_python), str(script), "--model-dir", str(model)], capture_output=True,
                                 text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if res.returncode != 0:
                pytest.fail(f"building the tiny SciCode model failed:\n{res.stdout}\n{res.stderr}")
    return model


def check_results(out: Path, model: Path) -> None:
    trained = json.loads((model / "trained_outcomes.json").read_text())["scicode"]
    folder = out / "eval-results" / "scicode"
    for seed in (0, 1):
        assert (folder / f"output-rs{seed}.jsonl.done").exists()
        rows = read_jsonl(folder / f"output-rs{seed}.jsonl")
        assert [r["problem_id"] for r in rows] == list(EXPECTED)
        for row in rows:
            expected = EXPECTED[row["problem_id"]]
            assert list(row["generation"]) == list(expected)
            assert [s["process_status"] for s in row["eval_status"]] == list(expected.values()), row["eval_status"]
            for key, step in row["full_outputs"].items():
                assert step["generation"] == trained[key]["generation"]
        assert rows[3]["generation"]["9105.2"] == OUT_OF_CONTEXT and list(rows[3]["full_outputs"]) == ["9105.1"]
    metrics = json.loads((folder / "metrics.json").read_text())["scicode"]
    for mode in ("pass@1[avg-of-2]", "pass@2"):
        m = metrics[mode]
        assert m["problem_accuracy"] == 25.0 and m["subtask_accuracy"] == pytest.approx(100 * 6 / 9)
        assert (m["num_problems"], m["num_subtasks"]) == (4, 9)
    assert metrics["pass@1[avg-of-2]"]["subtask_accuracy_statistics"]["std_dev_across_runs"] == 0.0


def test_ns_eval_scicode_local(vllm_python, tiny_scicode, tmp_path):
    sandbox_python()
    data = fixture_data_dir(tmp_path / "data")
    out = tmp_path / "out"
    cfg = cpu_cluster_yaml(tmp_path, vllm_python)
    res = subprocess.run([NS, "eval", f"--cluster={cfg}", f"--model={tiny_scicode}", "--server_type=vllm",
                          "--server_gpus=1", f"--server_args={SERVER_ARGS}", "--benchmarks=scicode:2",
                          f"--data_dir={data}", f"--output_dir={out}", *ARGS],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    check_results(out, tiny_scicode)
    printed = [line.split("] ", 1)[-1] for line in res.stdout.splitlines()]  # job-name prefixes dropped
    table = [line for line in printed if line.startswith(("evaluation_mode", "pass@"))]
    assert table[0].split(" | ")[1:] == ["avg_tokens", "gen_seconds", "problem_accuracy", "subtask_accuracy",
                                         "num_problems", "num_subtasks"]
    assert [c.strip() for c in table[1].split(" | ")][3:] == ["25.00% ± 0.00%", "66.67% ± 0.00%", "4", "9"]


@pytest.mark.slurm
def test_ns_eval_scicode_on_slurm(local_slurm, vllm_python, tiny_scicode, tmp_path, monkeypatch, capsys):
    from skills.cli.app import main
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S

    sandbox_python()
    home = tmp_path / "nemo_run"
    home.mkdir()
    monkeypatch.setenv("NEMORUN_HOME", str(home))
    cfg = cpu_cluster_yaml(tmp_path, vllm_python, "slurm",
                           f"account: test\npartition: {local_slurm}\njob_dir: {home}\n")
    data = fixture_data_dir(tmp_path / "data")
    out = tmp_path / "out"
    rc = main(["eval", f"--cluster={cfg}", f"--model={tiny_scicode}", "--server_type=vllm", "--server_gpus=1",
               f"--server_args={SERVER_ARGS}", "--benchmarks=scicode:2", f"--data_dir={data}",
               f"--output_dir={out}", "--expname=slurm-scicode", "--num_jobs=1", *ARGS])
    assert rc == 0, capsys.readouterr().out
    cluster = get_cluster_config(str(cfg))
    assert S.wait_for("slurm-scicode", cluster, poll_s=2, timeout_s=1800) == 0, \
        "\n".join(p.read_text(errors="replace")[-2000:] for p in (out / "eval-logs").rglob("*.log"))
    check_results(out, tiny_scicode)
    assert list((out / "eval-logs").rglob("sandbox_*.log"))  # the grading ran through the job's sidecar
