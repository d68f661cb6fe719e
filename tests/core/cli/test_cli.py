"""The ns command line: tutorial commands verbatim, option spellings, and one-line errors (exit 2)."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO_ROOT

from skills.cli.app import main

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")

# Nemotron-Nano-9B-v2 tutorial (scicode left out: not built yet); only paths differ.
TUTORIAL = [
    "ns eval --cluster=local --model=/workspace/NVIDIA-Nemotron-Nano-9B-v2 --output_dir=OUT/ "
    "--benchmarks=mmlu-pro:8,math-500:8,aime24:8,aime25:8 --server_type=vllm --server_gpus=1 "
    "--server_args=\"--mamba_ssm_cache_dtype float32 \" ++inference.tokens_to_generate=32768 "
    "++inference.temperature=0.6 ++inference.top_p=0.95 ++system_message='/think'",
    "ns eval --cluster=local --model=/workspace/NVIDIA-Nemotron-Nano-9B-v2 --output_dir=OUT/ "
    "--benchmarks=gpqa:8 --server_type=vllm --server_gpus=1 --server_args=\"--mamba_ssm_cache_dtype float32 \" "
    "++inference.tokens_to_generate=32768 ++inference.temperature=0.6 ++inference.top_p=0.95 "
    "++system_message='/think' ++prompt_config=generic/general-boxed",
    "ns eval --cluster=local --model=/workspace/NVIDIA-Nemotron-Nano-9B-v2 --output_dir=OUT/ --benchmarks=hle:8 "
    "--server_type=vllm --server_gpus=1 --server_args=\"--mamba_ssm_cache_dtype float32 \" "
    "--judge_model=\"o3-mini-20250131\" --extra_judge_args=\"++inference.tokens_to_generate=4096 "
    "++max_concurrent_requests=8\" ++inference.tokens_to_generate=32768 ++inference.temperature=0.6 "
    "++inference.top_p=0.95 ++system_message='/think'",
]


def run(capsys, argv):
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def tutorial_argv(cmd, tmp_path, data_dir, extra=()):
    argv = shlex.split(cmd.replace("OUT/", str(tmp_path / "out") + "/"))[1:]
    return [*argv, f"--data_dir={data_dir}", "--dry_run", "--dry_run_format=json", *extra]


def generate_argvs(plan, kind="generation"):
    out = []
    for job in plan["jobs"]:
        if job["kind"] != kind:
            continue
        out += [argv for argv in job["programs"] if "skills.inference.generate" in argv]
    return out


@pytest.mark.parametrize("idx", range(3))
def test_tutorial_commands(capsys, tmp_path, data_dir, idx):
    rc, out, err = run(capsys, tutorial_argv(TUTORIAL[idx], tmp_path, data_dir))
    assert rc == 0, err
    plan = json.loads(out)
    benches = {0: ["mmlu-pro", "math-500", "aime24", "aime25"], 1: ["gpqa"], 2: ["hle"]}[idx]
    argvs = generate_argvs(plan)
    assert len(argvs) == 8 * len(benches)
    for bench in benches:
        seeds = sorted(a.rsplit("output-rs", 1)[1] for argv in argvs for a in argv
                       if a.startswith("++output_file=") and f"/{bench}/" in a)
        assert seeds == sorted(f"{s}.jsonl" for s in range(8))
    for argv in argvs:
        assert "++system_message=/think" in argv and "++inference.top_p=0.95" in argv
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert all(j["server"]["command"].endswith("--mamba_ssm_cache_dtype float32") for j in gen)
    metrics = [j for j in plan["jobs"] if j["kind"] == "metrics"]
    assert sorted(j["benchmarks"][0] for j in metrics) == sorted(benches)
    judges = [j for j in plan["jobs"] if j["kind"] == "judge"]
    if idx == 2:
        # HLE's 8 math files of the one generation job are graded in one step, which the judge waits for
        grading = [j["name"] for j in plan["jobs"] if j["kind"] == "grading"]
        assert judges and all(set(j["dependencies"]) <= {g["name"] for g in gen} | set(grading) for j in judges)
        assert len(generate_argvs(plan, "judge")) == 8
        assert all("++inference.tokens_to_generate=4096" in a for a in generate_argvs(plan, "judge"))
        assert metrics[0]["dependencies"] == [j["name"] for j in judges]
    else:
        assert not judges


def test_tutorial_with_slurm_config(capsys, tmp_path, data_dir):
    argv = tutorial_argv(TUTORIAL[2].replace("--cluster=local", "--cluster=example-slurm"), tmp_path, data_dir,
                         [f"--config_dir={REPO_ROOT / 'cluster_configs'}"])
    rc, out, err = run(capsys, argv)
    assert rc == 0, err
    plan = json.loads(out)
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    judges = [j for j in plan["jobs"] if j["kind"] == "judge"]
    assert len(gen) == 8 and len(judges) == 8
    for j in judges:  # each judge after exactly the job that produced its seed
        seed = j["name"].rsplit("-rs", 1)[1]
        assert j["dependencies"] == [f"eval-hle-rs{seed}"]


def test_text_dry_run_shows_commands(capsys, tmp_path, data_dir):
    argv = tutorial_argv(TUTORIAL[0], tmp_path, data_dir)[:-1]
    rc, out, err = run(capsys, argv)
    assert rc == 0, err
    assert "--mamba_ssm_cache_dtype float32" in out and "python -m skills.inference.generate" in out
    assert "summarize-results" in out and not (tmp_path / "out").exists()


def test_dashed_spellings_and_flags(capsys, tmp_path, data_dir):
    argv = ["eval", "--cluster", "local", "--model", "/m", "--output-dir", str(tmp_path / "o"),
            "--data-dir", str(data_dir), "--benchmarks", "aime24:2", "--server-type", "vllm", "--server-gpus", "1",
            "--num-jobs", "2", "--no-auto_summarize_results", "--dry-run", "--dry-run-format", "json"]
    rc, out, err = run(capsys, argv)
    assert rc == 0, err
    plan = json.loads(out)
    assert len(plan["jobs"]) == 2 and all(j["kind"] == "generation" for j in plan["jobs"])


def test_version(capsys):
    rc, out, _ = run(capsys, ["--version"])
    assert rc == 0 and out.startswith("skills ")


@pytest.mark.parametrize("extra,needle", [
    (["--ouput_dir=/x"], "did you mean --output_dir?"),
    (["--server_gpu=1"], "did you mean --server_gpus?"),
    (["--benchmarks=aime42"], "unknown benchmark 'aime42'"),
    (["--benchmarks=aime24, gpqa"], "must not contain spaces"),
    (["--benchmarks=aime24:x"], "number of samples"),
    (["--benchmarks=aime24:-1"], "number of samples"),
    (["++inference.temprature=0.7"], "did you mean inference.temperature"),
    (["++inference.temperature=abc"], "inference.temperature=abc"),
    (["--cluster=nope"], "cluster config 'nope' not found"),
    (["--num_chunks=2", "--chunk_ids=3"], "out of range"),
    (["--sbatch_kwargs={bad"], "--sbatch_kwargs must be a JSON object"),
    (["--server_type=vllmm"], "--server_type must be one of"),
    (["--extra_judge_args=++inference.temprature=1", "--judge_model=x"], "inference.temprature"),
    (["++output_file=/elsewhere"], "output_file is set by ns"),
    (["--server_args=--foo 'bar"], "No closing quotation"),
    (["--extra_judge_args=++system_message='a b", "--judge_model=x"], "No closing quotation"),
    (["--expname=a b/c"], "--expname 'a b/c'"),
    (["--num_jobs=0"], "--num_jobs must be >= 1"),
    (["--benchmarks=AIME24"], "did you mean aime24?"),
    (["--server_address=http://127.0.0.1:9/v1"], "not both"),
    (["--extra_datasets=/nonexistent-folder"], "--extra_datasets /nonexistent-folder is not a folder"),
    # generation settings written as options: the ++ override, with the value given
    (["--temperature", "0.6"], "generation settings are ++key=value overrides: did you mean ++inference.temperature=0.6 or ++parallel_thinking.temperature=0.6?"),
    (["--top-p=0.9"], "did you mean ++inference.top_p=0.9?"),
    (["--system_message", "/think"], "did you mean ++system_message=/think?"),
    # a split that is not prepared: the prepared ones, the closest, how to prepare another
    (["--split=tset"], "aime24 has no split 'tset' in "),
    (["--split=tset"], "the prepared splits are test (did you mean --split=test?)"),
])
def test_bad_input_one_line_exit_2(capsys, tmp_path, data_dir, extra, needle):
    argv = ["eval", "--cluster=local", "--model=/m", f"--output_dir={tmp_path}", f"--data_dir={data_dir}",
            "--benchmarks=aime24:2", "--server_type=vllm", "--server_gpus=1", "--dry_run"]
    # later options win in click, so the bad value replaces the good one
    rc, out, err = run(capsys, [*argv, *extra])
    assert rc == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_eval_help_explains_overrides(capsys):
    for command in ("eval", "generate"):
        rc, out, _ = run(capsys, [command, "--help"])
        assert rc == 0
        help_text = " ".join(out.split())
        assert "Generation settings are not --options: pass them as ++key=value overrides" in help_text
        assert "++inference.temperature=0.6 sampling temperature" in help_text
        assert f"Example: ns {command} --cluster=local" in help_text
        # the examples keep their lines (click does not re-flow them)
        assert "\n    ++inference.top_p=0.95             nucleus sampling\n" in out


def test_self_hosted_without_model(capsys, tmp_path, data_dir):
    rc, _, err = run(capsys, ["eval", "--cluster=local", f"--output_dir={tmp_path}", f"--data_dir={data_dir}",
                              "--benchmarks=aime24", "--server_type=vllm", "--server_gpus=1", "--dry_run"])
    assert rc == 2 and "needs --model" in err


def test_missing_required_and_data(capsys, tmp_path, data_dir):
    rc, _, err = run(capsys, ["eval", "--cluster=local", "--benchmarks=aime24", "--server_type=vllm"])
    assert rc == 2 and "--output_dir" in err
    rc, _, err = run(capsys, ["eval", "--cluster=local", "--model=/m", f"--output_dir={tmp_path}",
                              f"--data_dir={tmp_path / 'nodata'}", "--benchmarks=aime24", "--server_type=vllm",
                              "--server_gpus=1", "--dry_run"])
    assert rc == 2 and "ns prepare_data aime24" in err


def test_malformed_cluster_config(capsys, tmp_path, data_dir):
    (tmp_path / "broken.yaml").write_text("executor: local\nservers: [vllm]\n")
    rc, _, err = run(capsys, ["eval", "--cluster=broken", f"--config_dir={tmp_path}", "--model=/m",
                              f"--output_dir={tmp_path}", f"--data_dir={data_dir}", "--benchmarks=aime24",
                              "--server_type=vllm", "--server_gpus=1", "--dry_run"])
    assert rc == 2 and "broken.yaml" in err and "servers" in err


def test_subprocess_errors_have_no_traceback(tmp_path):
    """The installed entry point: click usage errors and ours both give exit 2 and one line."""
    for argv in (["eval", "--ouput_dir=x"], ["evl"], ["summarize_results"], ["eval", "--server_gpus=abc"]):
        res = subprocess.run([sys.executable, "-m", "skills.cli.app", *argv], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        assert res.returncode == 2, (argv, res.stderr)
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_generate_plan(capsys, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"problem": "1 + 1"}\n')  # read at plan time: a line lacking the prompt's field fails now
    rc, out, err = run(capsys, ["generate", "--cluster=local", "--model=/m", "--server_type=vllm",
                                "--server_gpus=1", f"--input_file={inp}", f"--output_dir={tmp_path / 'g'}",
                                "--num_random_seeds=2", "--num_chunks=2", "++prompt_config=generic/math",
                                "--dry_run", "--dry_run_format=json"])
    assert rc == 0, err
    plan = json.loads(out)
    assert [j["name"] for j in plan["jobs"]] == ["generate-rs0-chunk0", "generate-rs0-chunk1",
                                                 "generate-rs1-chunk0", "generate-rs1-chunk1"]
    assert len({j["server"]["port"] for j in plan["jobs"]}) == 4
    argv = generate_argvs(plan)[3]
    assert f"++output_file={tmp_path / 'g'}/output-rs1.jsonl" in argv and "++chunk_id=1" in argv


def test_run_cmd_plan(capsys):
    rc, out, err = run(capsys, ["run_cmd", "--cluster=local", "--dry_run", "--dry_run_format=json",
                                "echo", "hi", "--flag"])
    assert rc == 0, err
    plan = json.loads(out)
    assert plan["jobs"][0]["commands"] == ["echo hi --flag"]
    rc, _, err = run(capsys, ["run_cmd", "--clustr=local", "echo"])
    assert rc == 2 and "did you mean --cluster?" in err


def test_prepare_data_typo_is_error(capsys, tmp_path):
    rc, _, err = run(capsys, ["prepare_data", "aime24", "--data_dri", str(tmp_path)])
    assert rc == 2 and "did you mean --data_dir?" in err


def test_startup_imports_stay_light():
    """``ns --help`` must not pull in Hydra/OmegaConf/httpx/nemo_run/planners (start-up time)."""
    probe = ("import sys, skills.cli.app; heavy = ('hydra', 'omegaconf', 'httpx', 'nemo_run', 'skills.pipeline'); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('skills.pipeline')))")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert res.returncode == 0 and res.stdout.strip() == "[]", res.stdout + res.stderr


def test_cluster_config_unknown_server_type(capsys, tmp_path, data_dir):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("executor: local\nservers:\n  vlm:\n    venv: /x\n")
    rc, _, err = run(capsys, ["eval", f"--cluster={cfg}", "--model=/m", f"--output_dir={tmp_path}",
                              f"--data_dir={data_dir}", "--benchmarks=aime24", "--server_type=vllm",
                              "--server_gpus=1", "--dry_run"])
    assert rc == 2 and "servers.vlm: unknown server type" in err and "did you mean vllm?" in err


def test_undecodable_cluster_config_is_one_line(capsys, tmp_path, data_dir):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"executor: local\n\xff\xfe: 1\n")
    rc, _, err = run(capsys, ["eval", f"--cluster={cfg}", "--model=/m", f"--output_dir={tmp_path}",
                              f"--data_dir={data_dir}", "--benchmarks=aime24", "--server_type=vllm",
                              "--server_gpus=1", "--dry_run"])
    assert rc == 2 and "not valid UTF-8" in err and len(err.strip().splitlines()) == 1


def test_generate_duplicate_seeds_and_reserved_output(capsys, tmp_path, data_dir):
    base = ["generate", "--cluster=local", "--model=/m", "--server_type=vllm", "--server_gpus=1",
            f"--output_dir={tmp_path / 'g'}", "--benchmark=aime24", f"--data_dir={data_dir}", "--dry_run"]
    rc, _, err = run(capsys, [*base, "--random_seeds=1,1"])
    assert rc == 2 and "lists an id twice" in err
    rc, _, err = run(capsys, [*base, "++output_file=/elsewhere.jsonl"])
    assert rc == 2 and "is set by ns from --input_file/--output_dir" in err


@pytest.mark.parametrize("argv,needle", [
    (["summarize_results", "/tmp", "--max_seq_len", "-5"], "--max_seq_len must be > 0"),
    (["run_cmd", "--num_gpus=-1", "--dry_run", "echo hi"], "--num_gpus must be >= 0"),
    (["start_server", "--model=/m", "--timeout=-1"], "--timeout must be > 0"),
    (["start_server", "--model=/m", "--port=70000"], "--port must be in 1..65535"),
    (["start_server", "--model=/m", "--server_nodes=2"], "a server over several nodes runs inside Slurm jobs"),
])
def test_out_of_range_values(capsys, argv, needle):
    rc, _, err = run(capsys, argv)
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1
