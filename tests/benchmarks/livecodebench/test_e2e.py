"""``ns eval --benchmarks=livecodebench:2`` end to end on this machine: a vLLM (CPU) server on the
tiny code model (scripts/make_tiny_code_model.py), generation, grading inline with the sandbox
sidecar, metrics job, summarize table. The model writes known programs for the fixture's default
split, so every verdict is known: 3230, 2052_B, arc195_a pass; 3401 (wrong answer), abc390_c
(never ends: the 6 s per-test limit) and 3466 (IndexError) fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import exclusive, read_jsonl
from tests.helpers.paths import FIXTURES, MODELS, NS, REPO_ROOT
from tests.helpers.vllm import cpu_cluster_yaml
from tests.benchmarks.livecodebench.helpers import MIRROR
from skills.cli.app import main

pytestmark = pytest.mark.slow

SERVER_ARGS = "--dtype float32 --max-model-len 1024 --enforce-eager"
PROMPT = FIXTURES / "lcb_prompt.yaml"
SPLIT = "test_v6_2408_2505"
VERDICTS = {"3230": True, "2052_B": True, "3401": False, "abc390_c": False, "3466": False, "arc195_a": True}
GEN_ARGS = [f"++prompt_config={PROMPT}", "++inference.temperature=0.0", "++inference.tokens_to_generate=200"]


def prepare(root: Path) -> Path:
    data = root / "data"
    assert main(["prepare_data", "livecodebench", f"--data_dir={data}", f"--mirror={MIRROR}", f"--split={SPLIT}"]) == 0
    return data


@pytest.fixture(scope="session")
def tiny_code_model(vllm_python, model_build_lock, tmp_path_factory) -> Path:
    """The model scripts/setup.sh builds; built here when .cache lacks it."""
    model = MODELS / "tiny-code"
    with exclusive(model_build_lock):  # parallel workers build it once
        if not (model / ".done").exists():
            data = prepare(tmp_path_factory.mktemp("lcb-train"))
            res = subprocess.run([str(vllm_python), str(REPO_ROOT / "scripts" / "make_tiny_code_model.py"),
                                  "--questions", str(data / "livecodebench" / f"{SPLIT}.jsonl"),
                                  "--model-dir", str(model)],
                                 env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
            if res.returncode != 0:
                pytest.fail(f"building the tiny code model failed:\n{res.stdout}\n{res.stderr}")
    return model


def check_results(out: Path, model: Path, capsys) -> None:
    """Both seeds: the trained programs, their exact verdicts, metrics.json and the table."""
    outcomes = json.loads((model / "trained_outcomes.json").read_text())
    bench = out / "eval-results" / "livecodebench"
    for seed in (0, 1):
        rows = read_jsonl(bench / f"output-rs{seed}.jsonl")
        assert [r["task_id"] for r in rows] == list(VERDICTS)
        assert (bench / f"output-rs{seed}.jsonl.done").exists()
        for row in rows:
            assert row["generation"].strip() == outcomes[row["task_id"]]["generation"]
            assert row["completion"] == outcomes[row["task_id"]]["generation"].split("\n", 1)[1].rsplit("\n", 1)[0]
            assert row["graded_list"] == [VERDICTS[row["task_id"]]], row["task_id"]
            assert row["code_list"] == [row["completion"]] and row["question_id"] == row["task_id"]
    metrics = json.loads((bench / "metrics.json").read_text())
    assert list(metrics) == ["livecodebench", "livecodebench-medium", "livecodebench-hard", "livecodebench-easy"]
    acc = {name: (m["pass@1[avg-of-2]"]["accuracy"], m["pass@2"]["accuracy"], m["pass@2"]["num_entries"])
           for name, m in metrics.items()}
    assert acc == {"livecodebench": (50.0, 50.0, 6), "livecodebench-medium": (100.0, 100.0, 2),
                   "livecodebench-hard": (0.0, 0.0, 2), "livecodebench-easy": (50.0, 50.0, 2)}
    capsys.readouterr()
    assert main(["summarize_results", str(out), "--benchmarks=livecodebench"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].strip("-") == " livecodebench "
    assert lines[1].split(" | ")[0].strip() == "evaluation_mode" and lines[1].split(" | ")[-1].strip() == "accuracy"
    assert lines[2].startswith("pass@1[avg-of-2] | 6 ") and lines[2].endswith("| 50.00% ± 0.00%")
    assert lines[3].startswith("pass@2           | 6 ") and lines[3].rstrip().endswith("| 50.00%")


def test_ns_eval_livecodebench_locally(vllm_python, tiny_code_model, tmp_path, capsys):
    data = prepare(tmp_path)
    out = tmp_path / "out"
    cfg = cpu_cluster_yaml(tmp_path, vllm_python)
    res = subprocess.run(
        [NS, "eval", f"--cluster={cfg}",
         f"--model={tiny_code_model}", "--server_type=vllm", "--server_gpus=1", f"--server_args={SERVER_ARGS}",
         "--benchmarks=livecodebench:2", f"--data_dir={data}", f"--output_dir={out}", *GEN_ARGS],  # default split
        cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    check_results(out, tiny_code_model, capsys)
    logs = [p.name for p in (out / "eval-logs").rglob("*.log")]
    assert "eval-livecodebench-sandbox.log" in logs, logs  # the sidecar ran next to the job


@pytest.mark.slurm
def test_ns_eval_livecodebench_on_slurm(local_slurm, vllm_python, tiny_code_model, tmp_path, monkeypatch,
                                        capsys):
    """The same run as a Slurm job: the sandbox sidecar starts inside the job, next to the server."""
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S

    home = tmp_path / "nemo_run"
    home.mkdir()
    monkeypatch.setenv("NEMORUN_HOME", str(home))
    # jobs import this checkout's skills (a worktree may differ from the editable install)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    cfg = cpu_cluster_yaml(tmp_path, vllm_python, "slurm", f"account: test\npartition: {local_slurm}\n"
                           f"job_dir: {home}\nenv_vars: [PYTHONPATH]\n")
    data = prepare(tmp_path)
    out = tmp_path / "out"
    rc = main(["eval", f"--cluster={cfg}", f"--model={tiny_code_model}", "--server_type=vllm", "--server_gpus=1",
               f"--server_args={SERVER_ARGS}", "--benchmarks=livecodebench:2", f"--data_dir={data}",
               f"--output_dir={out}", "--expname=slurm-lcb", *GEN_ARGS])
    assert rc == 0, capsys.readouterr().out
    assert S.wait_for("slurm-lcb", get_cluster_config(str(cfg)), poll_s=2, timeout_s=1500) == 0, \
        "\n".join(p.read_text(errors="replace")[-2000:] for p in (out / "eval-logs").rglob("*.log"))
    check_results(out, tiny_code_model, capsys)
    assert list((out / "eval-logs").rglob("*sandbox*.log")), "no sandbox sidecar log"
