"""omni-math without servers: data preparation from a fixture in the upstream schema (the upstream
file is not obtainable here), and the plans of ``ns eval`` with its default API judge, a self-hosted
judge, and the math judge opted into by another math benchmark in the reference's spellings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from skills.cli.app import main
from tests.helpers.paths import FIXTURES

UPSTREAM = FIXTURES / "omni-math" / "Omni-Math.jsonl"


def reference_rows(path: Path) -> str:
    """The reference's prepare.py rule: answer -> expected_answer, solution -> reference_solution,
    each popped and appended in that order, json.dumps per line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        entry["expected_answer"] = entry.pop("answer")
        entry["reference_solution"] = entry.pop("solution")
        out.append(json.dumps(entry) + "\n")
    return "".join(out)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    data = tmp_path / "data"
    assert main(["prepare_data", "omni-math", f"--data_dir={data}", f"--mirror={FIXTURES}", "--no-prompts"]) == 0
    return data


def test_prepared_rows_are_the_references(data):
    got = (data / "omni-math" / "test.jsonl").read_text()
    assert got == reference_rows(UPSTREAM)
    first = json.loads(got.splitlines()[0])
    assert list(first) == ["domain", "difficulty", "problem", "source", "expected_answer", "reference_solution"]


def test_download_code_fetches_upstream(tmp_path, monkeypatch):
    import skills.benchmarks.omni_math.prepare as prep

    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    asked = []

    def fake_download(url, dest, **_):
        asked.append(url)
        shutil.copyfile(UPSTREAM, dest)
        return dest

    monkeypatch.setattr(prep, "download", fake_download)
    assert main(["prepare_data", "omni-math", f"--data_dir={tmp_path}", "--no-prompts"]) == 0
    assert asked == ["https://raw.githubusercontent.com/KbsdJames/Omni-MATH/refs/heads/main/Omni-Math.jsonl"]
    assert (tmp_path / "omni-math" / "test.jsonl").read_text() == reference_rows(UPSTREAM)


def test_bad_mirror_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    assert main(["prepare_data", "omni-math", f"--data_dir={tmp_path}/d", f"--mirror={mirror}", "--no-prompts"]) == 2
    assert "omni-math/Omni-Math.jsonl" in capsys.readouterr().err
    (mirror / "omni-math").mkdir()
    (mirror / "omni-math" / "Omni-Math.jsonl").write_text('{"problem": "p", "answer": "1"}\n')
    assert main(["prepare_data", "omni-math", f"--data_dir={tmp_path}/d", f"--mirror={mirror}", "--no-prompts"]) == 2
    err = capsys.readouterr().err
    assert "Omni-Math.jsonl:1" in err and "solution" in err and "Traceback" not in err
    assert not (tmp_path / "d" / "omni-math" / "test.jsonl").exists()


# ----------------------------------------------------------------------------- plans
def plan(capsys, data: Path, *args: str) -> dict:
    capsys.readouterr()  # what preparing the data printed
    rc = main(["eval", "--cluster=local", "--model=m", "--server_type=openai", "--server_address=http://gen:1/v1",
               f"--data_dir={data}", "--output_dir=/tmp/never-written", *args, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def jobs(p: dict, kind: str) -> list:
    return [j for j in p["jobs"] if j["kind"] == kind]


def test_default_judge_is_the_references(capsys, data, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    p = plan(capsys, data, "--benchmarks=omni-math:2")
    judge = jobs(p, "judge")[0]
    assert [prog[:3] for prog in judge["programs"]] == [["python", "-m", "skills.inference.math_judge"]] * 2
    tokens = judge["programs"][0]
    assert {"++server.server_type=openai", "++server.base_url=https://api.openai.com/v1", "++server.model=gpt-4.1",
            "++server.api_key_env_var=OPENAI_API_KEY"} <= set(tokens)
    assert not any("prompt_config" in t or "generation_key" in t for t in tokens)  # the program's own defaults
    assert "/tmp-eval-results/omni-math/output-rs0.jsonl" in tokens[3] and judge["secret_env"] == ["OPENAI_API_KEY"]
    gen = jobs(p, "generation")[0]["programs"][0]
    assert "++prompt_config=generic/math" in gen and "++eval_type=math" in gen
    assert jobs(p, "metrics")[0]["dependencies"] == [judge["name"]]


def test_missing_api_key_stops_before_anything(capsys, data, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rc = main(["eval", "--cluster=local", "--model=m", "--server_type=openai", "--server_address=http://gen:1/v1",
               f"--data_dir={data}", f"--output_dir={tmp_path}/out", "--benchmarks=omni-math"])
    assert rc == 2 and "OPENAI_API_KEY" in capsys.readouterr().err
    assert not (tmp_path / "out" / "eval-results").exists()


def test_self_hosted_judge_keeps_the_math_judge(capsys, data):
    p = plan(capsys, data, "--benchmarks=omni-math", "--judge_model=/models/judge", "--judge_server_type=vllm",
             "--judge_server_address=http://judge:5000/v1", "--extra_judge_args=++inference.tokens_to_generate=512")
    tokens = jobs(p, "judge")[0]["programs"][0]
    assert tokens[:3] == ["python", "-m", "skills.inference.math_judge"]
    assert {"++server.server_type=vllm", "++server.base_url=http://judge:5000/v1", "++server.model=/models/judge",
            "++inference.tokens_to_generate=512"} <= set(tokens)
    assert not any("api_key" in t for t in tokens)


@pytest.mark.parametrize("opt_in", [
    ("--judge_generation_type=math_judge",),
    ('--judge_pipeline_kwargs={"generation_type": "math_judge"}',),
])
def test_any_math_benchmark_opts_into_the_math_judge(capsys, data, opt_in):
    (data / "math-500").mkdir()
    (data / "math-500" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    p = plan(capsys, data, "--benchmarks=math-500,omni-math", "--judge_model=j", "--judge_server_type=vllm",
             "--judge_server_address=http://judge:5000/v1", *opt_in)
    for job in jobs(p, "judge"):
        tokens = job["programs"][0]
        assert tokens[:3] == ["python", "-m", "skills.inference.math_judge"]
        assert not any("judge/generic" in t for t in tokens)  # the math judge's own prompt, judge/math
    assert {j["benchmarks"][0] for j in jobs(p, "judge")} == {"math-500", "omni-math"}


def test_reference_style_definition_with_judge_pipeline_args(capsys, data, tmp_path):
    defs = tmp_path / "defs" / "my_math"
    defs.mkdir(parents=True)
    (defs / "__init__.py").write_text(
        'DATASET_GROUP = "math"\nMETRICS_TYPE = "math"\nGENERATION_ARGS = "++prompt_config=generic/math ++eval_type=math"\n'
        'JUDGE_PIPELINE_ARGS = {"generation_type": "math_judge", "model": "gpt-4.1", "server_type": "openai",'
        ' "server_address": "http://judge:1/v1"}\n')
    (data / "my_math").mkdir()
    (data / "my_math" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    p = plan(capsys, data, "--benchmarks=my_math", f"--extra_datasets={tmp_path / 'defs'}",
             "--judge_server_type=vllm")
    tokens = jobs(p, "judge")[0]["programs"][0]
    assert tokens[:3] == ["python", "-m", "skills.inference.math_judge"]
    assert "++server.model=gpt-4.1" in tokens and "++server.server_type=vllm" in tokens


def test_pipeline_kwargs_point_only_judged_benchmarks_elsewhere(capsys, data):
    # as in the reference, --judge_pipeline_kwargs does not opt other benchmarks in (the --judge_* options do)
    (data / "math-500").mkdir()
    (data / "math-500" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    p = plan(capsys, data, "--benchmarks=math-500,omni-math",
             '--judge_pipeline_kwargs={"model": "j", "server_type": "vllm", "server_address": "http://judge:5000/v1"}')
    assert [j["benchmarks"] for j in jobs(p, "judge")] == [["omni-math"]]
    tokens = jobs(p, "judge")[0]["programs"][0]
    assert tokens[:3] == ["python", "-m", "skills.inference.math_judge"] and "++server.model=j" in tokens


def test_generate_judges_finished_results_as_the_references_page_does(capsys, tmp_path, monkeypatch):
    # the reference's llm-as-a-judge page: ns generate --generation_type=math_judge over eval-results/<bench>
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    results = tmp_path / "eval-results" / "math-500"
    results.mkdir(parents=True)
    for seed in (0, 1):
        (results / f"output-rs{seed}.jsonl").write_text(
            '{"problem": "p", "generation": "\\\\boxed{1}", "expected_answer": "2", "predicted_answer": "1"}\n')
    capsys.readouterr()
    rc = main(["generate", "--generation_type=math_judge", "--cluster=local", "--model=gpt-4o", "--server_type=openai",
               "--server_address=https://api.openai.com/v1", f"--output_dir={tmp_path}/judged", f"--input_dir={results}",
               "--num_random_seeds=2", "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    programs = [prog for job in json.loads(out)["jobs"] for prog in job["programs"]]
    assert len(programs) == 2 and all(prog[:3] == ["python", "-m", "skills.inference.math_judge"] for prog in programs)
