"""``ns eval --dry_run`` of a reference-style command plans every math-shelf benchmark with the
reference's defaults (generic/math prompt, math grader, default split, math metrics)."""

from __future__ import annotations

import json

import pytest

from skills.cli.app import main
from skills.registry.benchmarks import get_benchmark

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")

SHELF = ("gsm8k", "amc23", "hmmt_feb25", "brumo25", "beyond-aime", "algebra222", "asdiv", "college_math",
         "comp-math-24-25", "gaokao2023en", "gsm-plus", "hendrycks_math", "math-odyssey", "mawps",
         "minerva_math", "olympiadbench", "svamp")


@pytest.fixture
def shelf_data(tmp_path, reference_prompt_sets):
    root = tmp_path / "data"
    for bench in SHELF:
        (root / bench).mkdir(parents=True)
        (root / bench / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": 2}\n')
    (root / ".prompt-sets").symlink_to(reference_prompt_sets)
    return root


def plan_for(capsys, argv):
    rc = main(["eval", *argv, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


@pytest.mark.parametrize("bench", SHELF)
def test_declared_as_the_reference(bench):
    spec = get_benchmark(bench)
    assert (spec.eval_split, spec.metrics_type, spec.dataset_group) == ("test", "math", "math")
    assert spec.default_overrides() == ("++prompt_config=generic/math", "++eval_type=math")
    assert spec.judge is None and not spec.is_group


def test_reference_style_command_plans_every_benchmark(capsys, tmp_path, shelf_data):
    out = tmp_path / "out"
    plan = plan_for(capsys, [
        "--cluster=local", "--model=/workspace/Qwen2.5-Math-7B-Instruct", "--server_type=vllm", "--server_gpus=1",
        f"--output_dir={out}", f"--data_dir={shelf_data}", "--benchmarks=" + ",".join(f"{b}:2" for b in SHELF),
        "++inference.tokens_to_generate=2048"])
    argvs = [a for j in plan["jobs"] if j["kind"] == "generation" for a in j["programs"]
             if "skills.inference.generate" in a]
    assert len(argvs) == 2 * len(SHELF)
    for bench in SHELF:
        mine = [a for a in argvs if f"++input_file={shelf_data / bench / 'test.jsonl'}" in a]
        assert sorted(next(t for t in a if t.startswith("++output_file=")) for a in mine) == [
            f"++output_file={out / 'eval-results' / bench}/output-rs{s}.jsonl" for s in (0, 1)]
        for argv in mine:
            assert argv.index("++prompt_config=generic/math") < argv.index("++eval_type=math") \
                < argv.index("++inference.tokens_to_generate=2048")
            assert "++eval_config.split=test" in argv
    metrics = {j["name"]: j["programs"] for j in plan["jobs"] if j["kind"] == "metrics"}
    for bench in SHELF:
        (argv,) = [a for progs in metrics.values() for a in progs if a[a.index("--benchmarks") + 1] == bench]
        assert argv[-1] == str(out / "eval-results" / bench / "metrics.json")
