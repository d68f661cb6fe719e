"""A benchmark family made only of extension points (tests/fixtures/toy_family) runs through `ns eval`.

The toy family brings its own generation module (``++toy_turns``), a grader that runs as a
grading step of its own and needs a sidecar service, a metric type with its own denominator and a
group score. Nothing under skills/ names it: the benchmarks are defined in an --extra_datasets
folder and everything else is found through ``module:attribute`` paths.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES, NS, TOY_DATA
from tests.helpers.vllm import cpu_cluster_yaml, cpu_server_args

DEFS = FIXTURES / "toy_family_defs"


@pytest.fixture
def toy_env(monkeypatch):
    """The toy family importable here and in every job (PYTHONPATH is inherited)."""
    path = os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.syspath_prepend(str(FIXTURES))
    return {"PYTHONPATH": path}


def toy_data(tmp_path: Path, rows: int = 40) -> Path:
    """``<data>/toy_group/{math,mcq}/test.jsonl`` from the tiny model's toy problems."""
    data = tmp_path / "data"
    for member, src in (("math", "toy_math"), ("mcq", "toy_mcq")):
        (data / "toy_group" / member).mkdir(parents=True)
        lines = (TOY_DATA / src / "test.jsonl").read_text().splitlines(keepends=True)
        (data / "toy_group" / member / "test.jsonl").write_text("".join(lines[:rows]))
    return data


def plan(tmp_path: Path, *extra: str) -> dict:
    from skills.cli.app import main

    data = tmp_path / "data"
    if not data.exists():
        for member in ("math", "mcq"):
            (data / "toy_group" / member).mkdir(parents=True)
            (data / "toy_group" / member / "test.jsonl").write_text('{"problem": "What is 1 + 1?", '
                                                                     '"expected_answer": "2"}\n')
    argv = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=m", "--benchmarks=toy_group:2", f"--extra_datasets={DEFS}", f"--data_dir={data}",
            f"--output_dir={tmp_path / 'out'}", "--dry_run", "--dry_run_format=json", *extra]
    return argv, main


def test_toy_family_plan(tmp_path, toy_env, capsys):
    argv, main = plan(tmp_path)
    assert main(argv) == 0
    jobs = {j["name"]: j for j in json.loads(capsys.readouterr().out)["jobs"]}
    gen = jobs["eval-toy_group.math-toy_group.mcq"]
    assert gen["commands"][0].count("-m toy_family.generate") == 4  # 2 members x 2 seeds, own module
    assert "++skip_grading=True" in gen["commands"][0] and not gen["sidecars"]
    out = tmp_path / "out"
    grade = jobs["eval-toy_group-grade"]  # the members share the grader: one grading step for both
    assert grade["kind"] == "grading" and grade["dependencies"] == [gen["name"]]
    assert [s["name"] for s in grade["sidecars"]] == ["toy_oracle"]
    assert grade["env"]["TOY_ORACLE_URL"] == f"http://127.0.0.1:{grade['sidecars'][0]['port']}"
    assert "-m toy_family.oracle --port" in grade["sidecars"][0]["command"]
    for member in ("math", "mcq"):
        files = [str(out / "eval-results" / "toy_group" / f"toy_group.{member}" / f"output-rs{s}.jsonl") for s in (0, 1)]
        assert all(f in grade["programs"][0] for f in files)
        metrics = jobs[f"eval-toy_group.{member}-summarize-results"]
        assert metrics["dependencies"] == [grade["name"]]
        assert f"{out / 'eval-results' / 'toy_group'} --benchmarks toy_group.{member}" in metrics["commands"][0]
    group = jobs["eval-toy_group-compute-score"]
    assert group["kind"] == "group-metrics"
    assert sorted(group["dependencies"]) == ["eval-toy_group.math-summarize-results",
                                             "eval-toy_group.mcq-summarize-results"]
    assert "--score_module toy_family.score:SCORE" in group["commands"][0]


@pytest.mark.parametrize("override,error", [
    ("++toy_turns=0", "toy_turns must be >= 1"),  # the module's own check, at plan time
    ("++toy_turnz=1", "toy_turns"),  # its own schema: a typo gets a suggestion
    ("++eval_config.answer_patern=x", "unknown eval_config key 'answer_patern' for eval_type toy"),
])
def test_toy_family_bad_overrides_fail_at_plan_time(tmp_path, toy_env, capsys, override, error):
    argv, main = plan(tmp_path, override)
    assert main(argv) == 2
    assert error in capsys.readouterr().err


def test_module_schema_keys_are_rejected_for_the_default_module(tmp_path, capsys):
    from skills.cli.app import main

    src = tmp_path / "in.jsonl"
    src.write_text('{"problem": "x"}\n')
    rc = main(["generate", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1", "--model=m",
               f"--input_file={src}", f"--output_dir={tmp_path / 'o'}", "--dry_run",
               "++prompt_config=generic/default", "++toy_turns=2"])
    assert rc == 2 and "toy_turns" in capsys.readouterr().err


def _expected(tiny_model: Path, bench: str) -> dict:
    return json.loads((tiny_model / "trained_outcomes.json").read_text())[bench]


@pytest.mark.slow
def test_toy_family_end_to_end_local(vllm_server, tiny_model, tmp_path, toy_env):
    """On the session's server (the family's own parts are the point; the same run with in-job servers
    on Slurm is tests/system/test_e2e_slurm.py)."""
    data = toy_data(tmp_path)
    out = tmp_path / "out"
    res = subprocess.run([NS, "eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=toy_group:2",
                          f"--extra_datasets={DEFS}", f"--data_dir={data}", f"--output_dir={out}",
                          "++inference.temperature=0.0", "++inference.tokens_to_generate=32"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1200, env={**os.environ, **toy_env})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    check_toy_results(out, tiny_model)
    assert "overall accuracy" in res.stdout  # the group job printed the group's own table
    # summarize_results on the folder: members, and the group scored by its own module
    table = subprocess.run([NS, "summarize_results", str(out / "eval-results"), f"--extra_datasets={DEFS}"],
                           capture_output=True, text=True, env={**os.environ, **toy_env})
    assert table.returncode == 0, table.stderr
    assert table.stdout.index("--- toy_group ---") < table.stdout.index(" toy_group.math ")
    saved = json.loads((out / "eval-results" / "metrics.json").read_text())
    group = json.loads((out / "eval-results" / "toy_group" / "metrics.json").read_text())
    assert saved["toy_group"] == group and set(saved) >= {"toy_group.math", "toy_group.mcq"}


def check_toy_results(out: Path, tiny_model: Path) -> None:
    accs, entries = [], 0
    for member, bench in (("math", "toy_math"), ("mcq", "toy_mcq")):
        folder = out / "eval-results" / "toy_group" / f"toy_group.{member}"
        outcomes = _expected(tiny_model, bench)
        for seed in (0, 1):
            rows = read_jsonl(folder / f"output-rs{seed}.jsonl")
            assert (folder / f"output-rs{seed}.jsonl.done").exists()  # written by the grading step
            for row in rows:
                assert row["turns"] == [outcomes[row["id"]]["generation"]] * 2  # two requests per row
                assert row["is_correct"] is outcomes[row["id"]]["correct"]  # the oracle's verdict
        metrics = json.loads((folder / "metrics.json").read_text())[f"toy_group.{member}"]["pass@1[avg-of-2]"]
        expected = 100.0 * sum(o["correct"] for o in outcomes.values()) / len(outcomes)
        assert metrics["accuracy"] == pytest.approx(expected)
        assert metrics["turns_per_problem"] == 2.0  # the metric type's own denominator
        accs.append(expected)
        entries += len(outcomes)
    group = json.loads((out / "eval-results" / "toy_group" / "metrics.json").read_text())
    assert group["overall"]["accuracy"] == pytest.approx(sum(accs) / 2)
    assert group["overall"]["num_entries"] == entries == 60


@pytest.mark.slow
@pytest.mark.slurm
def test_toy_family_extension_points_on_slurm(local_slurm, vllm_python, tiny_model, tmp_path, monkeypatch, capsys):
    """The toy family (own generation module, grading step with a sidecar, metric type, group score)
    through `ns eval` on Slurm: the same results as locally."""
    from skills.cli.app import main
    from skills.config.cluster import get_cluster_config
    from skills.pipeline.executors import slurm as S

    home = tmp_path / "nemo_run"
    home.mkdir()
    monkeypatch.setenv("NEMORUN_HOME", str(home))
    monkeypatch.setenv("PYTHONPATH", str(FIXTURES))
    monkeypatch.syspath_prepend(str(FIXTURES))
    cfg = cpu_cluster_yaml(tmp_path, vllm_python, "slurm", f"account: test\npartition: {local_slurm}\n"
                           f"job_dir: {home}\nenv_vars: [PYTHONPATH]\n")
    data = toy_data(tmp_path)
    out = tmp_path / "out"
    rc = main(["eval", f"--cluster={cfg}", f"--model={tiny_model}", "--server_type=vllm", "--server_gpus=1",
               f"--server_args={cpu_server_args(2048)}", "--benchmarks=toy_group:2", f"--extra_datasets={DEFS}",
               f"--data_dir={data}", f"--output_dir={out}", "--expname=slurm-toy", "--num_jobs=1",
               "++inference.temperature=0.0", "++inference.tokens_to_generate=32"])
    assert rc == 0, capsys.readouterr().out
    cluster = get_cluster_config(str(cfg))
    assert S.wait_for("slurm-toy", cluster, poll_s=2, timeout_s=1200) == 0, \
        "\n".join(p.read_text(errors="replace")[-2000:] for p in (out / "eval-logs").rglob("*.log"))
    check_toy_results(out, tiny_model)
    logs = [p.name for p in (out / "eval-logs").rglob("toy_oracle_*.log")]
    assert len(logs) == 1  # the group's grading job started its sidecar, logged next to the job's logs
