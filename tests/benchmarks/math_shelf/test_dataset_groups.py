"""Dataset groups (the reference's ``DATASET_GROUP``): ``ns prepare_data --dataset_groups math``,
``ns eval --benchmarks=math`` (the prepared members) and ``ns summarize_results --benchmarks=math``
(the members with results). Membership is each benchmark's own declaration, so a benchmark added
later (omni-math) joins its group without any list changing."""

from __future__ import annotations

import json

import pytest

from skills.cli.app import main
from skills.config.errors import UsageError
from skills.metrics.summarize import summarize_results
from skills.registry.benchmarks import builtin_names, dataset_group_members, get_benchmark
from tests.benchmarks.math_shelf.test_eval_plan import SHELF, plan_for

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")


def test_math_group_is_every_math_declaration():
    members = dataset_group_members("math")
    assert set(SHELF) | {"aime24", "aime25", "math-500", "hle"} <= set(members)
    assert members == sorted(n for n in builtin_names() if get_benchmark(n).dataset_group == "math")
    assert "gpqa" in dataset_group_members("multichoice") and "gpqa" not in members


def test_a_new_benchmark_joins_its_group(tmp_path):
    (tmp_path / "my-math").mkdir()
    (tmp_path / "my-math" / "__init__.py").write_text('DATASET_GROUP = "math"\nMETRICS_TYPE = "math"\n')
    assert "my-math" in dataset_group_members("math", str(tmp_path))
    assert "my-math" not in dataset_group_members("math")


@pytest.fixture
def two_prepared(tmp_path, reference_prompt_sets):
    root = tmp_path / "data"
    for bench in ("gsm8k", "svamp", "gpqa"):
        (root / bench).mkdir(parents=True)
        split = "diamond" if bench == "gpqa" else "test"
        (root / bench / f"{split}.jsonl").write_text('{"problem": "1+1", "expected_answer": 2}\n')
    (root / ".prompt-sets").symlink_to(reference_prompt_sets)
    return root


def eval_args(tmp_path, data_dir, benchmarks):
    return ["--cluster=local", "--model=/m", "--server_type=vllm", "--server_gpus=1",
            f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}", f"--benchmarks={benchmarks}"]


def test_eval_plans_the_prepared_members(capsys, tmp_path, two_prepared):
    plan = plan_for(capsys, eval_args(tmp_path, two_prepared, "math:2"))
    inputs = sorted({t for j in plan["jobs"] for a in j["programs"] for t in a if t.startswith("++input_file=")})
    assert inputs == [f"++input_file={two_prepared / b / 'test.jsonl'}" for b in ("gsm8k", "svamp")]
    (note,) = [n for n in plan["notes"] if n.startswith("dataset group math")]
    assert "2 of" in note and "hendrycks_math" in note and "gsm8k" not in note.split("not evaluated:")[1]


@pytest.mark.parametrize("benchmarks, message", [
    ("code", "no benchmark of dataset group 'code' is prepared in .*ns prepare_data --dataset_groups code"),
    ("math,gsm8k", "'gsm8k' is listed twice"),
    ("lean4", "dataset group 'lean4' has no benchmarks here"),
])
def test_eval_group_errors(capsys, tmp_path, two_prepared, benchmarks, message):
    assert main(["eval", *eval_args(tmp_path, two_prepared, benchmarks), "--dry_run"]) == 2
    assert __import__("re").search(message, capsys.readouterr().err)


def test_prepare_data_dataset_groups(capsys, tmp_path, mirror_dir):
    rc = main(["prepare_data", "--dataset_groups", "math", f"--data_dir={tmp_path}", f"--mirror={mirror_dir}",
               "--no-prompts"])
    out, err = capsys.readouterr()
    members = dataset_group_members("math")
    prepared = {p.name for p in tmp_path.iterdir()}
    assert set(SHELF) - {"brumo25", "beyond-aime", "gsm-plus", "hendrycks_math"} <= prepared <= set(members)
    failed = sorted(set(members) - prepared)  # not in the mirror: the unstaged ones and the gated HLE
    assert rc == 2 and f"{len(failed)} of {len(members)} benchmarks failed" in err
    assert all(f"{name}: " in err for name in failed) and "gpqa" not in out + err
    assert "brumo25: missing mirror file" in err


@pytest.mark.parametrize("argv, message", [
    (["--dataset_groups", "maths"], "unknown dataset group 'maths'"),
    (["gsm8k", "--dataset_groups", "math"], "not both"),
])
def test_prepare_data_group_errors(capsys, tmp_path, argv, message):
    assert main(["prepare_data", *argv, f"--data_dir={tmp_path}", "--no-prompts"]) == 2
    assert message in capsys.readouterr().err


def test_summarize_a_dataset_group(tmp_path):
    rows = {"gsm8k": [True, False], "svamp": [True, True], "gpqa": [False]}
    for bench, oks in rows.items():
        folder = tmp_path / "eval-results" / bench
        folder.mkdir(parents=True)
        (folder / "output.jsonl").write_text("".join(
            json.dumps({"predicted_answer": "1", "expected_answer": "1", "symbolic_correct": ok}) + "\n" for ok in oks))
    text, path = summarize_results(str(tmp_path), benchmarks="math")
    metrics = json.loads(path.read_text())
    assert sorted(metrics) == ["gsm8k", "svamp"]
    assert metrics["gsm8k"]["pass@1"]["symbolic_correct"] == 50.0 and "gpqa" not in text
    with pytest.raises(UsageError, match="no results of dataset group 'code'"):
        summarize_results(str(tmp_path), benchmarks="code")
