"""HumanEval+ and MBPP+ (the ``evalplus`` family): prepared rows against rows computed here from
the mirror, the plan, the metric type against the reference's table, and verdicts of our grader
(every program in the sandbox) against the pinned EvalPlus's own ``evaluate`` run directly on the
same samples: canonical solutions pass, crafted wrong ones fail exactly as EvalPlus says."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from skills.cli.app import main
from skills.config.errors import UsageError
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing, missing

RELEASES = {"human-eval": ("HumanEvalPlus.jsonl.gz", "HumanEvalPlus-v0.1.9.jsonl", 164),
            "mbpp": ("MbppPlus.jsonl.gz", "MbppPlus-v0.2.0.jsonl", 378)}


def mirror() -> Path:
    value = os.environ.get("SKILLS_DATA_MIRROR")
    if not value or not (Path(value) / "human-eval" / "HumanEvalPlus.jsonl.gz").is_file():
        missing(f"the EvalPlus data is not in the mirror (SKILLS_DATA_MIRROR={value!r})")
    return Path(value)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data")
    assert main(["prepare_data", "human-eval", "mbpp", "--mirror", str(mirror()), "--data_dir", str(data)]) == 0
    return data


# -- prepare ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bench", sorted(RELEASES))
def test_prepared_rows_are_the_upstream_rows_as_the_reference_writes_them(prepared, bench):
    gz, plain_name, count = RELEASES[bench]
    plain = gzip.decompress((mirror() / bench / gz).read_bytes())
    expected = []
    for line in plain.decode().splitlines():
        task = json.loads(line)
        row = {k: v for k, v in task.items() if k not in ("base_input", "plus_input")}
        row["question"] = task["prompt"].replace("    ", "\t")
        expected.append(row)
    got = read_jsonl(prepared / bench / "test.jsonl")
    assert len(got) == count and got == expected
    assert [list(r) for r in got] == [list(r) for r in expected]  # the reference's key order
    assert all("    " not in r["question"] for r in got) and any("\t" in r["question"] for r in got)
    # the grader's copy of the upstream file, byte for byte (EvalPlus keys its cache on its md5)
    assert (prepared / bench / plain_name).read_bytes() == plain


def test_prepare_refuses_another_release(tmp_path):
    fake = tmp_path / "mirror" / "mbpp"
    fake.mkdir(parents=True)
    (fake / "MbppPlus.jsonl.gz").write_bytes(gzip.compress(b'{"task_id": "Mbpp/2"}\n'))
    with pytest.raises(UsageError, match="is not MbppPlus v0.2.0"):
        from skills.benchmarks.mbpp.prepare import prepare
        from skills.registry.spec import PrepareContext

        prepare(PrepareContext(data_dir=tmp_path / "data", mirror=tmp_path / "mirror"))


# -- configuration, plan, metrics ------------------------------------------------------------------

def test_reference_flags_are_accepted_and_typos_refused():
    from skills.benchmarks.evalplus.grader import EvalPlusConfig, flags

    got = flags(EvalPlusConfig(evalplus={"dataset": "mbpp", "min_time_limit": 2}))
    assert (got["dataset"], got["min_time_limit"], got["gt_time_limit_factor"], got["base_only"]) == ("mbpp", 2, 4.0, False)
    for bad, error in (({"dataset": "apps"}, "must be one of humaneval, mbpp"),
                       ({"dataset": "mbpp", "min_time_limt": 1}, "unknown eval_config.evalplus key"),
                       ({"dataset": "mbpp", "mini": True}, "not supported"),
                       ({"dataset": "mbpp", "gt_time_limit_factor": 0}, "positive number")):
        with pytest.raises(UsageError, match=error):
            flags(EvalPlusConfig(evalplus=bad))


@pytest.mark.parametrize("bench, dataset", [("human-eval", "humaneval"), ("mbpp", "mbpp")])
def test_dry_run_plans_generation_graded_in_the_sandbox(prepared, tmp_path, capsys, bench, dataset):
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", f"--benchmarks={bench}:2", f"--data_dir={prepared}", f"--output_dir={tmp_path / 'out'}",
               "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert [j["kind"] for j in jobs] == ["generation", "metrics"]  # graded inline, as the reference
    (sidecar,) = jobs[0]["sidecars"]
    assert sidecar["name"] == "sandbox"
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    for token in ("++prompt_config=generic/codegen", "++eval_type=evalplus", f"++eval_config.evalplus.dataset={dataset}",
                  f"++input_file={prepared}/{bench}/test.jsonl"):
        assert token in text


def test_missing_problem_file_stops_the_plan(prepared, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "mbpp").mkdir(parents=True)
    (data / ".prompt-sets").symlink_to(prepared / ".prompt-sets")
    (data / "mbpp" / "test.jsonl").write_text('{"question": "q", "task_id": "Mbpp/2"}\n')
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=mbpp", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--dry_run"])
    assert rc == 2
    assert "MbppPlus-v0.2.0.jsonl" in capsys.readouterr().err


def test_metric_type_and_table(tmp_path, capsys):
    from skills.benchmarks.evalplus.metrics import EvalPlusScorer
    from skills.metrics.types import make_scorer, metric_type_for

    assert isinstance(make_scorer("evalplus"), EvalPlusScorer)
    assert metric_type_for("human-eval") == metric_type_for("mbpp") == "evalplus"
    bench = tmp_path / "eval-results" / "mbpp"
    bench.mkdir(parents=True)
    grades = [[(True, True), (True, False)], [(False, False), (True, True)]]  # per seed: problem 1, problem 2
    for seed, rows in enumerate(grades):
        (bench / f"output-rs{seed}.jsonl").write_text("".join(
            json.dumps({"task_id": f"Mbpp/{i}", "num_generated_tokens": 10, "is_correct": b, "is_correct-plus": p}) + "\n"
            for i, (b, p) in enumerate(rows)))
    assert main(["summarize_results", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "evaluation_mode  | num_entries | avg_tokens | passing_base_tests | passing_plus_tests"
    # pass@1[avg-of-2]: base 3/4 (runs 100%, 50%), plus 2/4 (50%, 50%); pass@2: any seed right
    assert [c.strip() for c in out[2].split("|")] == ["pass@1[avg-of-2]", "2", "10", "75.00% ± 35.36%", "50.00% ± 0.00%"]
    assert [c.strip() for c in out[3].split("|")] == ["pass@2", "2", "10", "100.00%", "100.00%"]


# -- verdicts: our grader in the sandbox against the pinned EvalPlus run directly -----------------

# Crafted programs per task (the model's code, the completion after the prompt); "canonical" is the
# task's own solution. Chosen to cover: wrong on base tests, right on base but wrong on plus tests,
# float tolerance, the special oracles (find_zero, MBPP set equality and not-None tasks), exceptions,
# syntax errors, infinite loops, output floods and exit().
SOLUTIONS = {
    "humaneval": {
        "HumanEval/0": {
            "constant": "def has_close_elements(numbers, threshold):\n    return False\n",
            "adjacent_only": "def has_close_elements(numbers, threshold):\n    return any(abs(a - b) < threshold "
                             "for a, b in zip(numbers, numbers[1:]))\n",
            "loops": "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n",
            "syntax": "def has_close_elements(numbers, threshold:\n    return False\n",
            "exits": "import sys\ndef has_close_elements(numbers, threshold):\n    sys.exit(0)\n",
        },
        "HumanEval/2": {
            "close_enough": "def truncate_number(number):\n    return number - int(number) + 1e-9\n",
            "rounded": "def truncate_number(number):\n    return round(number % 1.0, 2)\n",
        },
        "HumanEval/32": {
            "zero": "def find_zero(xs):\n    return 0.0\n",
        },
        "HumanEval/13": {
            "noisy": "def greatest_common_divisor(a, b):\n    print('x' * 100000)\n    while b:\n        a, b = b, a % b\n"
                     "    return a\n",
            "raises": "def greatest_common_divisor(a, b):\n    raise ValueError(a)\n",
            "small_only": "def greatest_common_divisor(a, b):\n    return max(d for d in range(1, min(a, b, 50) + 1) "
                          "if a % d == 0 and b % d == 0)\n",
        },
    },
    "mbpp": {
        "Mbpp/2": {
            "any_order": "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n",
            "first_only": "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b)))[:1]\n",
        },
        "Mbpp/787": {
            "truthy": "def text_match_three(text):\n    return 'abbb' in text\n",
            "none": "def text_match_three(text):\n    return None\n",
        },
        "Mbpp/3": {
            "misses_squares": "def is_not_prime(n):\n    return any(n % i == 0 for i in range(2, int(n ** 0.5)))\n",
        },
    },
}


def samples(dataset: str, problems: dict) -> list:
    """(task_id, name, completion) for the canonical and crafted programs of ``dataset``."""
    out = []
    for task_id, crafted in SOLUTIONS[dataset].items():
        task = problems[task_id]
        out.append((task_id, "canonical", task["prompt"] + task["canonical_solution"]))  # the whole function
        out.extend((task_id, name, code) for name, code in crafted.items())
    return out


DIRECT = textwrap.dedent("""
    import sys
    from argparse import Namespace
    from evalplus.evaluate import evaluate
    evaluate(Namespace(dataset=sys.argv[1], samples=sys.argv[2], base_only=False, parallel=2, i_just_wanna_run=False,
                       test_details=False, min_time_limit=1, gt_time_limit_factor=4.0, mini=False, noextreme=False,
                       version="default"))
""")


def evalplus_directly(python: str, dataset: str, subset: Path, sample_rows: list, tmp: Path) -> list:
    """(base_status, plus_status) per sample from the pinned EvalPlus's ``evaluate`` (the reference's
    call), on a problem file holding only the sampled tasks."""
    path = tmp / f"{dataset}-samples.jsonl"
    path.write_text("".join(json.dumps({"task_id": t, "completion": c}) + "\n" for t, _, c in sample_rows))
    override = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}[dataset]
    env = {**os.environ, override: str(subset), "XDG_CACHE_HOME": str(tmp / "cache"), "HOME": str(tmp)}
    subprocess.run([python, "-c", DIRECT, dataset, str(path)], env=env, check=True, capture_output=True, timeout=600)
    results = json.loads(path.with_name(path.stem + "_eval_results.json").read_text())["eval"]
    seen: dict = {}
    out = []
    for task_id, _, _ in sample_rows:
        i = seen[task_id] = seen.get(task_id, -1) + 1
        entry = results[task_id][i]
        out.append((entry["base_status"], entry["plus_status"]))
    return out


@pytest.mark.parametrize("bench, dataset", [("human-eval", "humaneval"), ("mbpp", "mbpp")])
def test_verdicts_in_the_sandbox_equal_the_pinned_evalplus(prepared, tmp_path, monkeypatch, bench, dataset):
    from skills.benchmarks.evalplus import problems_file_name
    from skills.benchmarks.evalplus.grader import EvalPlusConfig, grade
    from skills.evaluation.registry import GradeContext

    python = environment_or_missing("sandbox", "sandbox")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "ours"))  # our expected outputs computed afresh
    wanted = set(SOLUTIONS[dataset])
    lines = [ln for ln in (prepared / bench / problems_file_name(dataset)).read_text().splitlines()
             if json.loads(ln)["task_id"] in wanted]
    subset = tmp_path / problems_file_name(dataset)
    subset.write_text("\n".join(lines) + "\n")
    problems = {json.loads(ln)["task_id"]: json.loads(ln) for ln in lines}
    sample_rows = samples(dataset, problems)

    # the reference's rows: a generation whose code block is the program after the prompt
    rows = [{"task_id": t, "generation": f"Here it is:\n```python\n{c}\n```\n"} for t, _, c in sample_rows]
    grade(rows, EvalPlusConfig(evalplus={"dataset": dataset}, problem_file=str(subset)), GradeContext())
    ours = [(r["is_correct"], r["is_correct-plus"]) for r in rows]

    # EvalPlus gets what the reference hands it: the extracted completion of each row
    extracted = [(t, n, r["completion"]) for (t, n, _), r in zip(sample_rows, rows)]
    theirs = evalplus_directly(python, dataset, subset, extracted, tmp_path)
    expected = [(b == "pass", b == "pass" and p == "pass") for b, p in theirs]
    named = [(t, n) for t, n, _ in sample_rows]
    assert dict(zip(named, ours)) == dict(zip(named, expected))
    # the set is meaningful: every canonical program passes, and the crafted ones reach every verdict
    assert all(ours[i] == (True, True) for i, (_, n) in enumerate(named) if n == "canonical")
    assert {(False, False), (True, True)} <= set(ours)
    if dataset == "humaneval":
        assert (True, False) in ours  # right on the original tests, wrong on EvalPlus's extra ones


def test_the_sandbox_environment_runs_the_families_own_build_steps(tmp_path):
    """An addition to an environment may carry a build step and a stamp of its own (EvalPlus and the
    infilling grader are installed from pinned sources into the sandbox's environment)."""
    from skills.environments.build import BuildContext, declarations, env_stamp

    envs, _ = declarations()
    (sandbox,) = [e for e in envs if e.name == "sandbox"]
    builds = [a.build for a in sandbox.additions]
    assert "skills.benchmarks.evalplus.environment:build" in builds
    assert "skills.benchmarks.human_eval_infilling.environment:build" in builds
    stamp = env_stamp(sandbox, BuildContext(tmp_path, tmp_path / ".venv-sandbox", None))
    assert "evalplus@c91370f8beeb" in stamp and "human-eval-infilling@e0a239b08710" in stamp
    assert stamp.startswith("numpy==1.26.4")  # the core's installs first, then the families'
