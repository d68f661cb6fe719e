"""ns eval plans for the Nemotron-Nano-9B-v2 tutorial commands (dry run, JSON)."""

import json
import os
from pathlib import Path

import pytest

from tests.helpers.paths import FIXTURES, REPO_ROOT

from skills.cli.app import main

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")

MODEL = "/workspace/NVIDIA-Nemotron-Nano-9B-v2"
COMMON = ["--model=" + MODEL, "--server_type=vllm", "--server_gpus=1",
          "--server_args=--mamba_ssm_cache_dtype float32 "]  # the shell already removed the quotes
USER = ["++inference.tokens_to_generate=32768", "++inference.temperature=0.6", "++inference.top_p=0.95",
        "++system_message=/think"]  # ++system_message='/think' after the shell


def plan_for(capsys, argv):
    rc = main(["eval", *argv, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def gen_argv(job):
    """Each eval's generate argv inside a job (the plan lists every program's argv)."""
    return [argv for argv in job["programs"] if "skills.inference.generate" in argv]


def base_args(tmp_path, data_dir, benchmarks, cluster="--cluster=local"):
    return [cluster, *COMMON, f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}",
            f"--benchmarks={benchmarks}"]


def test_tutorial_math_mc_local(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "mmlu-pro:8,math-500:8,aime24:8,aime25:8"), *USER])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert len(gen) == 1  # local default: one job, one server
    server = gen[0]["server"]
    assert server["command"].endswith("--mamba_ssm_cache_dtype float32")
    assert "vllm.entrypoints.openai.api_server" in server["command"]
    argvs = gen_argv(gen[0])
    assert len(argvs) == 32
    out = tmp_path / "out" / "eval-results"
    for bench in ("mmlu-pro", "math-500", "aime24", "aime25"):
        outputs = sorted(a for argv in argvs for a in argv if a.startswith(f"++output_file={out / bench}/"))
        assert outputs == sorted(f"++output_file={out / bench}/output-rs{s}.jsonl" for s in range(8))
    for argv in argvs:
        assert argv[:3] == ["python", "-m", "skills.inference.generate"]
        assert "++system_message=/think" in argv and "++inference.tokens_to_generate=32768" in argv
        assert f"++server.base_url=http://127.0.0.1:{server['port']}/v1" in argv
        # user's temperature comes after the sampling default, so it wins
        assert argv.index("++inference.temperature=0.6") > argv.index("++inference.temperature=0.7")
        # server args come before user args, so users can override them
        assert argv.index("++server.model=" + MODEL) < argv.index("++system_message=/think")
    # the 24 math files of the job are graded after it by one step (one pool), not one pool per file
    (grading,) = [j for j in plan["jobs"] if j["kind"] == "grading"]
    assert grading["dependencies"] == [gen[0]["name"]] and grading["name"] == "eval-math-500-aime24-aime25-grade"
    assert sorted(a for a in grading["programs"][0] if a.endswith(".jsonl")) == sorted(
        str(out / b / f"output-rs{s}.jsonl") for b in ("math-500", "aime24", "aime25") for s in range(8))
    for argv in argvs:
        assert ("++skip_grading=True" in argv) == ("++eval_type=math" in argv)
    metrics = [j for j in plan["jobs"] if j["kind"] == "metrics"]
    assert sorted(j["benchmarks"][0] for j in metrics) == ["aime24", "aime25", "math-500", "mmlu-pro"]
    for j in metrics:
        assert j["dependencies"] == [gen[0]["name"] if j["benchmarks"] == ["mmlu-pro"] else grading["name"]]
        assert j["programs"][0][:4] == ["python", "-m", "skills.metrics.summarize", str(out)]


def test_gpqa_general_boxed_and_empty_system_message(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "gpqa:8"), *USER[:-1],
                             "++prompt_config=generic/general-boxed", "++system_message="])
    argvs = gen_argv(plan["jobs"][0])
    assert len(argvs) == 8
    for argv in argvs:
        assert argv[-1] == "++system_message="  # explicit empty string survives
        assert argv.index("++prompt_config=generic/general-boxed") > argv.index("++prompt_config=eval/aai/mcq-4choices")
        assert any(a.endswith("/gpqa/diamond.jsonl") for a in argv)


def test_hle_judge_after_own_generation(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "hle:8,aime24:2"), "--judge_model=o3-mini-20250131",
                             "--extra_judge_args=++inference.tokens_to_generate=4096 ++max_concurrent_requests=8",
                             *USER, "--num_jobs=-1"])
    jobs = {j["name"]: j for j in plan["jobs"]}
    gen_hle = {n for n, j in jobs.items() if j["kind"] == "generation" and j["benchmarks"] == ["hle"]}
    assert len(gen_hle) == 8
    judges = [j for j in plan["jobs"] if j["kind"] == "judge" and j["benchmarks"] == ["hle"]]
    assert judges and set(d for j in judges for d in j["dependencies"]) == gen_hle
    assert "OPENAI_API_KEY" in plan["required_env"]
    out = tmp_path / "out"
    for j in judges:
        assert j["server"] is None and j["secret_env"] == ["OPENAI_API_KEY"]
        for argv in gen_argv(j):
            assert "++server.api_key_env_var=OPENAI_API_KEY" in argv
            assert "++generation_key=judgement" in argv and "++max_concurrent_requests=8" in argv
            assert "++system_message=/think" not in argv  # user generation args are not the judge's
            assert not any(a.startswith("++inference.temperature") for a in argv)  # greedy
            inp = next(a for a in argv if a.startswith("++input_file="))
            assert inp.startswith(f"++input_file={out}/tmp-eval-results/hle/output-rs")
    hle_metrics = jobs["eval-hle-summarize-results"]
    assert hle_metrics["dependencies"] == [j["name"] for j in judges]
    # every job's dependencies come before it
    order = [j["name"] for j in plan["jobs"]]
    for j in plan["jobs"]:
        assert all(order.index(d) < order.index(j["name"]) for d in j["dependencies"])


def test_judge_honours_starting_seed(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "hle:2"), "--starting_seed=5"])
    files = [a for j in plan["jobs"] if j["kind"] == "judge" for argv in gen_argv(j)
             for a in argv if a.startswith("++input_file=")]
    assert sorted(f.rsplit("/", 1)[1] for f in files) == ["output-rs5.jsonl", "output-rs6.jsonl"]


def _evals(plan):
    return sorted(tuple(argv) for j in plan["jobs"] if j["kind"] == "generation"
                  for argv in gen_argv(j))


def _strip_port(evals):
    return sorted(tuple(a for a in e if not a.startswith("++server.base_url")) for e in evals)


@pytest.mark.parametrize("num_jobs,expected", [(1, 1), (3, 3), (5, 5), (-1, 16), (100, 16)])
def test_num_jobs_changes_packing_only(capsys, tmp_path, data_dir, num_jobs, expected):
    args = [*base_args(tmp_path, data_dir, "aime24:8,math-500:8"), *USER]
    ref = plan_for(capsys, args)
    plan = plan_for(capsys, [*args, f"--num_jobs={num_jobs}"])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert len(gen) == expected
    sizes = [len(gen_argv(j)) for j in gen]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)  # contiguous dealing
    # the same evals; where math is graded follows the packing: a job with several math files grades
    # them in one step after it (one pool), a job of one file inside it
    grading = [j for j in plan["jobs"] if j["kind"] == "grading"]
    assert bool(grading) == (expected < 16)
    assert all(("++skip_grading=True" in e) == bool(grading) for e in _evals(plan))
    strip = "++skip_grading=True"
    assert _strip_port([[a for a in e if a != strip] for e in _evals(plan)]) == \
        _strip_port([[a for a in e if a != strip] for e in _evals(ref)])
    assert len({j["server"]["port"] for j in gen}) == expected  # a port per job
    assert len({j["name"] for j in plan["jobs"]}) == len(plan["jobs"])


def test_slurm_default_one_job_per_seed(capsys, tmp_path, data_dir):
    args = base_args(tmp_path, data_dir, "aime24:8,gpqa:8", cluster="--cluster=example-slurm")
    plan = plan_for(capsys, [*args, f"--config_dir={REPO_ROOT / 'cluster_configs'}", *USER])
    assert plan["executor"] == "slurm"
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert len(gen) == 16 and all(len(gen_argv(j)) == 1 for j in gen)
    assert {j["partition"] for j in gen} == {"batch"}
    metrics = [j for j in plan["jobs"] if j["kind"] == "metrics"]
    assert {j["partition"] for j in metrics} == {"cpu"}
    aime = next(j for j in metrics if j["benchmarks"] == ["aime24"])
    assert len(aime["dependencies"]) == 8 and all("aime24" in d for d in aime["dependencies"])


def test_greedy_and_bare_names(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, base_args(tmp_path, data_dir, "aime24,math-500:0"))
    argvs = gen_argv(plan["jobs"][0])
    assert len(argvs) == 2
    for argv in argvs:
        assert any(a.endswith("/output.jsonl") for a in argv)
        assert not any(a.startswith("++inference.random_seed") for a in argv)


def test_done_markers_skip_unless_rerun(capsys, tmp_path, data_dir):
    done = tmp_path / "out" / "eval-results" / "aime24"
    done.mkdir(parents=True)
    (done / "output-rs0.jsonl.done").write_text("")
    args = base_args(tmp_path, data_dir, "aime24:2")
    assert len(_evals(plan_for(capsys, args))) == 1
    assert len(_evals(plan_for(capsys, [*args, "--rerun_done"]))) == 2


def test_chunks(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "aime24:1"), "--num_chunks=3", "--chunk_ids=1..2",
                             "--num_jobs=-1"])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert [j["name"] for j in gen] == ["eval-aime24-rs0-chunk1", "eval-aime24-rs0-chunk2"]
    assert "++chunk_id=2" in gen_argv(gen[1])[0]
    assert "skills.inference.merge_chunks" in gen[1]["commands"][0]


def test_parallel_evals_fail_the_job(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, base_args(tmp_path, data_dir, "aime24:2"))
    cmd = plan["jobs"][0]["commands"][0]
    assert 'wait "$p" || rc=1' in cmd and "exit $rc" in cmd


def test_openai_server_key_by_name(capsys, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-never-appear")
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--model=gpt-4o", f"--output_dir={tmp_path}",
               f"--data_dir={data_dir}", "--benchmarks=aime24", "--dry_run", "--dry_run_format=json"])
    out = capsys.readouterr().out
    assert rc == 0 and "sk-should-never-appear" not in out
    plan = json.loads(out)
    argv = gen_argv(plan["jobs"][0])[0]
    assert "++server.api_key_env_var=OPENAI_API_KEY" in argv
    assert "++server.base_url=https://api.openai.com/v1" in argv and plan["jobs"][0]["server"] is None


def test_missing_api_key_fails_before_running(capsys, tmp_path, data_dir, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--model=gpt-4o", f"--output_dir={tmp_path}",
               f"--data_dir={data_dir}", "--benchmarks=aime24"])
    err = capsys.readouterr().err
    assert rc == 2 and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "eval-logs").exists()


def test_extra_datasets_folder(capsys, tmp_path, data_dir):
    toy = FIXTURES / "toy"
    (data_dir / "toy_math").mkdir()
    (data_dir / "toy_math" / "test.jsonl").write_text('{"problem": "1 + 1"}\n')
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "toy_math:2"), f"--extra_datasets={toy}"])
    argv = gen_argv(plan["jobs"][0])[0]
    assert "++eval_type=math" in argv and any(a.startswith("++prompt_config=") for a in argv)
    metrics = next(j for j in plan["jobs"] if j["kind"] == "metrics")
    assert "--metric_type math" in metrics["commands"][0]


def test_dependent_jobs_chain(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, [*base_args(tmp_path, data_dir, "aime24:1"), "--dependent_jobs=2"])
    names = [j["name"] for j in plan["jobs"]]
    assert names[:3] == ["eval-aime24-rs0", "eval-aime24-rs0-dep1", "eval-aime24-rs0-dep2"]
    assert plan["jobs"][2]["dependencies"] == ["eval-aime24-rs0-dep1"]
    metrics = next(j for j in plan["jobs"] if j["kind"] == "metrics")
    assert metrics["dependencies"] == ["eval-aime24-rs0-dep2"]


@pytest.mark.parametrize("bad", ["0", "-2"])
def test_num_jobs_must_be_positive_or_minus_one(capsys, tmp_path, data_dir, bad):
    rc = main(["eval", *base_args(tmp_path, data_dir, "aime24:2"), f"--num_jobs={bad}", "--dry_run"])
    err = capsys.readouterr().err
    assert rc == 2 and "--num_jobs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("override,message", [
    ("++eval_config.foo=1", "unknown eval_config key 'foo'"),
    ("++eval_config.hard_timeout=abc", "hard_timeout must be a number > 0"),
    ("++eval_type=mathx", "unknown eval_type 'mathx'"),
    ("++prompt_config=does/not/exist", "unknown prompt config"),
    ("++max_concurrent_requests=0", "max_concurrent_requests must be >= 1"),
])
def test_program_settings_checked_before_any_job(capsys, tmp_path, data_dir, override, message):
    """What the generation program (or its grader) would reject fails at planning, not hours later."""
    rc = main(["eval", *base_args(tmp_path, data_dir, "aime24:2"), override])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_judge_settings_checked_before_any_job(capsys, tmp_path, data_dir):
    rc = main(["eval", *base_args(tmp_path, data_dir, "aime24:2"), "--judge_model=j",
               "--judge_server_address=http://127.0.0.1:9/v1", "--judge_server_type=openai",
               "--extra_judge_args=++prompt_config=judge/nope", "--dry_run"])
    err = capsys.readouterr().err
    assert rc == 2 and "aime24 judge" in err and "judge/nope" in err


def test_empty_benchmark_is_an_error(capsys, tmp_path, data_dir):
    (data_dir / "aime24" / "test.jsonl").write_text("\n")
    rc = main(["eval", *base_args(tmp_path, data_dir, "aime24:2"), "--dry_run"])
    assert rc == 2 and "input data for aime24 is empty" in capsys.readouterr().err


def test_missing_grader_environment_fails_before_any_job(capsys, tmp_path, data_dir, monkeypatch):
    """IFBench grades in its own environment: a local run without it stops at planning, in one line,
    instead of after hours of generation; mapping the environment (here: its env var) fixes it."""
    from skills.config.cluster import ClusterConfig

    monkeypatch.setattr(ClusterConfig, "environment", lambda self, name: None)
    monkeypatch.delenv("SKILLS_PYTHON_IFBENCH", raising=False)
    (data_dir / "ifbench").mkdir()
    (data_dir / "ifbench" / "test.jsonl").write_text(json.dumps(
        {"key": 1, "prompt": "p", "question": "p", "instruction_id_list": ["count:word_count_range"],
         "kwargs": [{}]}) + "\n")
    argv = ["eval", *base_args(tmp_path, data_dir, "ifbench"), "--dry_run"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "environment 'ifbench', which is not set up" in err and "SKILLS_PYTHON_IFBENCH" in err
    assert "Traceback" not in err
    monkeypatch.setenv("SKILLS_PYTHON_IFBENCH", "/usr/bin/python3")
    # its NLTK data (a grading input the benchmark declares) is checked too: in the data folder or $NLTK_DATA
    monkeypatch.delenv("NLTK_DATA", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"ifbench: grading needs {data_dir / 'nltk_data'} with tokenizers/punkt_tab/english" in err
    assert "run `ns prepare_data ifbench`" in err and len(err.strip().splitlines()) == 1
    nltk = tmp_path / "nltk"
    for probe in ("tokenizers/punkt_tab/english", "corpora/stopwords/english", "taggers/averaged_perceptron_tagger_eng"):
        (nltk / probe).mkdir(parents=True)
    monkeypatch.setenv("NLTK_DATA", f"/nowhere{os.pathsep}{nltk}")
    assert main(argv) == 0, capsys.readouterr().err
