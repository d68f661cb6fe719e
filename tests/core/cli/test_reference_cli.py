"""Reference command lines run unchanged: the README tutorial pasted as is (with a reference-style
``cluster_configs/local.yaml`` whose /workspace mount is translated to a host folder), and every
reference option of eval / generate / prepare_data / summarize_results, implemented or explained."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from typing import List

import pytest

from tests.helpers.paths import FIXTURES, REPO_ROOT

from skills.cli.app import main
from skills.prompt_sets import DEFAULT_COMMIT

SPLITS = {"math-500": "test", "aime24": "test", "aime25": "test", "gpqa": "diamond", "mmlu-pro": "test",
          "hle": "text"}
REFERENCE_OPTIONS = [  # appended to a tutorial command: accepted, and each does what it says
    "--single_node_mode=sequential", "--installation_command=pip list", "--check_mounted_paths",
    "--skip_hf_home_check", "--keep_mounts_for_sandbox", "--reuse_code", "--reuse_code_exp=old",
    "--log_samples", "--wandb_name=nano", "--wandb_group=g", "--wandb_project=proj",
    "--metrics_kwargs={\"compute_no_answer\": false}", "--generation_type=generate",
    "--judge_generation_module=skills.inference.generate", "--judge_pipeline_kwargs={\"server_args\": \"\"}",
    "--extra_datasets_type=local",
]


def readme_commands() -> List[List[str]]:
    """The tutorial's commands from README.md, exactly as a user copies them."""
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("## Reproducing the NVIDIA-Nemotron-Nano-9B-v2 evaluations", 1)[1].split("```bash", 1)[1]
    block = block.split("```", 1)[0].replace("\\\n", " ")
    return [shlex.split(line) for line in block.splitlines() if line.strip().startswith("ns ")]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A reference-style local.yaml (containers + /workspace mount) in ./cluster_configs, data prepared."""
    host = tmp_path / "host-workspace"
    host.mkdir()
    configs = tmp_path / "cluster_configs"
    configs.mkdir()
    (configs / "local.yaml").write_text(
        "executor: local\ncontainers:\n  nemo-skills: igitman/nemo-skills:0.7.0\n  vllm: vllm/vllm-openai:v0.10.1.1\n"
        f"mounts:\n  - {host}:/workspace\nenv_vars:\n  - HF_HOME=/workspace/hf_home\n")
    for env in ("SKILLS_CONFIG_DIR", "NEMO_SKILLS_CONFIG_DIR", "SKILLS_CONFIG", "NEMO_SKILLS_CONFIG",
                "SKILLS_PROMPT_SET_DIR"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    for bench, split in SPLITS.items():
        (data / bench).mkdir(parents=True)
        (data / bench / f"{split}.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    monkeypatch.setenv("SKILLS_DATA_DIR", str(data))
    return host


def plan_of(capsys, argv):
    rc = main([*argv, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out), err


def test_readme_tutorial_pasted_unchanged(capsys, workspace, tmp_path, monkeypatch, mirror_dir):
    cmds = readme_commands()
    assert [c[:2] for c in cmds] == [["ns", "prepare_data"], ["ns", "eval"], ["ns", "eval"], ["ns", "summarize_results"]]
    # prepare_data as pasted: data and the prompt set from a mirror (HLE is gated: the test fixture stands in)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in ("gpqa", "mmlu-pro", "math-500", "aime24", "aime25", "nemo-skills-prompts"):
        (mirror / name).symlink_to(mirror_dir / name, target_is_directory=True)
    (mirror / "hle").symlink_to(FIXTURES / "hle", target_is_directory=True)
    data = tmp_path / "prepared"
    monkeypatch.setenv("SKILLS_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("SKILLS_DATA_DIR", str(data))
    assert main(cmds[0][1:]) == 0
    out = capsys.readouterr().out
    assert f"prompts: nemo-skills@{DEFAULT_COMMIT} -> {data}/.prompt-sets/nemo-skills/{DEFAULT_COMMIT}" in out
    for argv in cmds[1:3]:
        plan, err = plan_of(capsys, argv[1:])
        assert not [n for n in plan["notes"] if "own wording" in n]  # the reference's words are used
        assert {j["env"]["SKILLS_PROMPT_SET_DIR"] for j in plan["jobs"] if j["kind"] in ("generation", "judge")} == \
            {f"{data}/.prompt-sets/nemo-skills/{DEFAULT_COMMIT}"}
        assert "container paths are translated through its mounts (/workspace -> " in err
        gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
        assert gen and all(str(workspace / "NVIDIA-Nemotron-Nano-9B-v2") in j["server"]["command"] for j in gen)
        out_dir = str(workspace / "nvidia_nemotron_nano_9b_v2")
        assert plan["output_dir"].rstrip("/") == out_dir and "/workspace" not in json.dumps(plan)
        assert all(j["env"].get("HF_HOME") == str(workspace / "hf_home") for j in plan["jobs"])
    # the same commands with every reference option added still plan, each with its effect
    plan, err = plan_of(capsys, cmds[2][1:] + REFERENCE_OPTIONS)
    assert "--reuse_code/--reuse_code_exp does not apply here" in err
    assert "--keep_mounts_for_sandbox does not apply here" in err
    jobs = plan["jobs"]
    assert all(j["commands"][0].startswith("python -m skills.pipeline.install_guard ") for j in jobs)
    (gen,) = [j for j in jobs if j["kind"] == "generation"]
    assert gen["commands"][1].count("skills.inference.generate") == 8 and " & pids+=" not in gen["commands"][1]
    assert gen["commands"][1].count("skills.metrics.wandb_log") == 1  # first seed only
    metrics = [j for j in jobs if j["kind"] == "metrics"][0]["commands"][1]
    assert "--wandb_name nano --wandb_project proj --wandb_group g" in metrics
    assert "--metrics_kwargs '{\"compute_no_answer\": false}'" in metrics
    # summarize_results pasted unchanged reads the container path through $NEMO_SKILLS_CONFIG's mount
    results = workspace / "nvidia_nemotron_nano_9b_v2" / "eval-results" / "aime24"
    results.mkdir(parents=True)
    (results / "output-rs0.jsonl").write_text(json.dumps({"symbolic_correct": True, "predicted_answer": "2",
                                                          "expected_answer": "2", "generation": "2"}) + "\n")
    monkeypatch.setenv("NEMO_SKILLS_CONFIG", str(tmp_path / "cluster_configs" / "local.yaml"))
    assert main(cmds[3][1:]) == 0
    assert "aime24" in capsys.readouterr().out
    assert (results.parent / "metrics.json").exists()


def test_without_the_prompt_set_the_plan_says_so(capsys, workspace):
    plan, _ = plan_of(capsys, ["eval", "--cluster=local", "--model=/workspace/m", "--server_type=vllm",
                               "--server_gpus=1", "--benchmarks=gpqa,math-500", "--output_dir=/workspace/out"])
    notes = [n for n in plan["notes"] if "own wording" in n]
    assert len(notes) == 2 and notes[0].startswith("gpqa: prompt eval/aai/mcq-4choices: using skills' own wording")
    assert "ns prepare_data" in notes[0]


def test_path_outside_the_mounts_fails_fast(capsys, workspace, tmp_path):
    rc = main(["eval", "--cluster=local", "--model=/workspace/m", "--server_type=vllm", "--server_gpus=1",
               "--benchmarks=aime24", "--output_dir=/elsewhere/out", "--dry_run"])
    err = capsys.readouterr().err
    assert rc == 2 and "--output_dir /elsewhere/out is not under any mount" in err
    assert f"{workspace}:/workspace" in err


def test_single_node_mode_and_sequential_packing(capsys, workspace):
    base = ["eval", "--cluster=local", "--model=/workspace/m", "--server_type=vllm", "--server_gpus=1",
            "--benchmarks=aime24:2,gpqa:1", "--output_dir=/workspace/out"]
    par, _ = plan_of(capsys, base)
    seq, _ = plan_of(capsys, base + ["--single_node_mode=sequential"])
    assert " & pids+=" in par["jobs"][0]["commands"][0]
    cmd = seq["jobs"][0]["commands"][0]
    assert " & " not in cmd and cmd.count(") && (") == 2
    assert main(base + ["--single_node_mode=both", "--dry_run"]) == 2


def test_generation_and_judge_modules(capsys, workspace, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    toy = str(FIXTURES / "toy_family" / "generate.py")
    plan, _ = plan_of(capsys, ["eval", "--cluster=local", "--model=m", "--server_type=openai", "--benchmarks=hle",
                               "--output_dir=/workspace/out", f"--generation_module={toy}", "++toy_turns=3",
                               f"--judge_generation_module={toy}",
                               '--judge_pipeline_kwargs={"model": "judge-x", "server_address": "http://j:1/v1"}'])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"][0]["commands"][0]
    judge = [j for j in plan["jobs"] if j["kind"] == "judge"][0]["commands"][0]
    assert gen.startswith(f"python {toy} ") and "++toy_turns=3" in gen
    assert judge.startswith(f"python {toy} ") and "++server.model=judge-x" in judge and "http://j:1/v1" in judge
    for argv, words in ((["--generation_type=contamination"], "must be one of generate, math_judge, check_contamination"),
                        (["--judge_type=nvembed"], "nvembed"),
                        (['--judge_pipeline_kwargs={"temperature": 1}'], "unknown key 'temperature'"),
                        (["--generation_type=generate", "--generation_module=x"], "not both")):
        rc = main(["eval", "--cluster=local", "--model=m", "--server_type=openai", "--benchmarks=hle",
                   "--output_dir=/workspace/out", *argv, "--dry_run"])
        assert rc == 2 and words in capsys.readouterr().err


def test_server_entrypoint_megatron_and_generic(capsys, workspace):
    base = ["eval", "--cluster=local", "--server_gpus=2", "--benchmarks=aime24", "--output_dir=/workspace/out",
            "--model=/workspace/m"]
    plan, _ = plan_of(capsys, base + ["--server_type=vllm", "--server_entrypoint=-m my.serve"])
    server = plan["jobs"][0]["server"]["command"]
    assert re.search(r"python3? -m my\.serve --model \S+/m --num_gpus 2 --num_nodes 1 --port \d+$", server)
    plan, _ = plan_of(capsys, base + ["--server_type=megatron"])
    job = plan["jobs"][0]
    assert "torchrun --nproc_per_node 2 tools/run_text_generation_server.py --load" in job["server"]["command"]
    assert "--tensor-model-parallel-size 2 --pipeline-model-parallel-size 1" in job["server"]["command"]
    assert re.search(r"\+\+server\.base_url=http://127\.0\.0\.1:\d+ ", job["commands"][0])  # no /v1 for Megatron
    assert main(base + ["--server_type=generic", "--dry_run"]) == 2
    assert "needs --server_entrypoint" in capsys.readouterr().err


def test_generate_pre_post_commands_and_reference_options(capsys, workspace, tmp_path):
    src = workspace / "in.jsonl"
    src.write_text('{"problem": "1+1"}\n')
    plan, err = plan_of(capsys, ["generate", "--cluster=local", "--model=m", "--server_type=openai",
                                 "--server_address=http://x/v1", "--input_file=/workspace/in.jsonl",
                                 "--output_dir=/workspace/gen", "--num_random_seeds=2", "++prompt_config=generic/math",
                                 "--preprocess_cmd=echo pre {random_seed} /workspace/a",
                                 "--postprocess_cmd=echo post {random_seed}", "--generation_type=generate",
                                 "--installation_command=true", "--log_samples", "--reuse_code_exp=x"])
    cmds = [j["commands"] for j in plan["jobs"]]
    assert len(cmds) == 2 and all(c[0].startswith("python -m skills.pipeline.install_guard") for c in cmds)
    assert cmds[0][1].startswith(f"( echo pre 0 {workspace}/a ) && python -m skills.inference.generate")
    assert "( echo post 1 )" in cmds[1][1] and "wandb_log" in cmds[0][1] and "wandb_log" not in cmds[1][1]
    assert "--reuse_code/--reuse_code_exp does not apply here" in err


def test_prepare_data_reference_options(capsys, workspace, tmp_path, mirror_dir):
    rc = main(["prepare_data", "aime24", f"--data_dir={tmp_path / 'd'}", f"--mirror={mirror_dir}", "--partition=cpu",
               "--num_nodes=2", "--reuse_code", "--skip_hf_home_check", "--no-prompts"])
    err = capsys.readouterr().err
    assert rc == 0 and (tmp_path / "d" / "aime24" / "test.jsonl").exists()
    assert "--partition does not apply here" in err and "--num_nodes does not apply here" in err
    assert not (tmp_path / "d" / ".prompt-sets").exists()
    slurm = tmp_path / "cluster_configs" / "slurm.yaml"
    slurm.write_text("executor: slurm\naccount: a\npartition: gpu\njob_dir: /tmp/jobs\ncontainers:\n  nemo-skills: img\n"
                     "mounts:\n  - /lustre:/workspace\n")
    rc = main(["prepare_data", "aime24", "--cluster=slurm", "--data_dir=/workspace/data", "--partition=cpu",
               "--qos=low", "--num_gpus=0", "--dry_run"])
    out = capsys.readouterr().out
    assert rc == 0 and "gpus=0 nodes=1 partition=cpu qos=low container=img" in out
    assert "HF_HOME is not among the cluster config's env_vars" in out
    rc = main(["prepare_data", "aime24", "--cluster=slurm", "--data_dir=/workspace/data", "--skip_hf_home_check",
               "--dry_run"])
    assert rc == 0 and "HF_HOME" not in capsys.readouterr().out


def test_check_mounted_paths_creates_the_host_folders(capsys, workspace, tmp_path):
    (tmp_path / "cluster_configs" / "two.yaml").write_text(
        f"executor: local\nmounts:\n  - {tmp_path / 'a'}:/workspace\n  - {tmp_path / 'b'}:/data\n")
    (tmp_path / "b" / "aime24").mkdir(parents=True)
    (tmp_path / "b" / "aime24" / "test.jsonl").write_text(json.dumps({"problem": "1 + 1", "expected_answer": "2"}) + "\n")
    argv = ["eval", "--cluster=two", "--model=/workspace/m", "--server_type=vllm", "--server_gpus=1",
            "--benchmarks=aime24", "--output_dir=/workspace/out", "--data_dir=/data"]
    plan_of(capsys, argv)
    assert not (tmp_path / "a").exists()
    plan, _ = plan_of(capsys, argv + ["--check_mounted_paths"])
    assert (tmp_path / "a").is_dir()
    assert f"++input_file={tmp_path / 'b' / 'aime24' / 'test.jsonl'}" in plan["jobs"][0]["commands"][0]


def test_summarize_reference_options(capsys, tmp_path, monkeypatch):
    d = tmp_path / "eval-results" / "aime24"
    d.mkdir(parents=True)
    (d / "output-rs0.jsonl").write_text(json.dumps({"symbolic_correct": False, "predicted_answer": None,
                                                    "expected_answer": "2", "generation": ""}) + "\n")
    assert main(["summarize_results", str(tmp_path), "--remote_tar_dir=/x", "--verbose"]) == 0
    cap = capsys.readouterr()
    assert "--remote_tar_dir does not apply here" in cap.err and "--verbose/--no-verbose does not apply" in cap.err
    with_no_answer = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())["aime24"]["pass@1"]
    assert main(["summarize_results", str(tmp_path), '--metrics_kwargs={"compute_no_answer": false}']) == 0
    without = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())["aime24"]["pass@1"]
    assert "no_answer" in with_no_answer and "no_answer" not in without
    assert main(["summarize_results", str(tmp_path), "--extra_datasets_type=cluster"]) == 2
    assert main(["summarize_results", str(tmp_path), '--metrics_kwargs={"bogus": 1}']) == 2


def _wandb_or_skip():
    try:
        import wandb  # noqa: F401
    except ImportError:
        from tests.helpers.prereqs import missing

        missing("the wandb package is not installed (pip install 'skills[wandb]')")


def test_wandb_metrics_and_samples_offline(tmp_path, monkeypatch, capsys):
    _wandb_or_skip()
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    (tmp_path / "wb").mkdir()
    d = tmp_path / "eval-results" / "gpqa"
    d.mkdir(parents=True)
    rows = [{"symbolic_correct": i % 2 == 0, "predicted_answer": "A", "expected_answer": "A", "generation": "A",
             "problem": f"q{i}"} for i in range(4)]
    (d / "output-rs0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["summarize_results", str(tmp_path), "--wandb_name=nano", "--wandb_project=proj"]) == 0
    assert "synced to wandb project proj under the name nano" in capsys.readouterr().out
    (run,) = (tmp_path / "wb" / "wandb").glob("offline-run-*nano-proj")
    data = b"".join(p.read_bytes() for p in run.glob("*.wandb"))  # W&B's own record file of the run
    assert b"gpqa/pass@1/symbolic_correct" in data and b"gpqa/pass@1/num_entries" in data
    res = subprocess.run([sys.executable, "-m", "skills.metrics.wandb_log", str(d / "output-rs0.jsonl"),
                          "--name", "nano-samples", "--num_samples", "3"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=300)
    assert res.returncode == 0, res.stderr
    (run,) = (tmp_path / "wb" / "wandb").glob("offline-run-*nano-samples")
    samples = json.loads((run / "files" / "samples.json").read_text())
    assert len(samples) == 3 and all(v["problem"].startswith("q") for v in samples.values())
