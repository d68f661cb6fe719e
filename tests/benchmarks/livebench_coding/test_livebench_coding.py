"""LiveBench coding: prepared rows and tests from the invented fixture mirror (the dataset's columns),
the plan, and programs (generation and completion problems) graded in the sandbox by the fork's
harness against the same harness run directly."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from skills.cli.app import main
from tests.benchmarks.livebench_coding.helpers import MIRROR, PROGRAMS, ROWS
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing, not_staged


def prepared(tmp_path: Path) -> Path:
    assert main(["prepare_data", "livebench-coding", f"--mirror={MIRROR}", f"--data_dir={tmp_path}", "--no-prompts"]) == 0
    return tmp_path


def test_prepared_rows_and_tests(tmp_path):
    data = prepared(tmp_path)
    rows = read_jsonl(data / "livebench-coding" / "test.jsonl")
    assert rows == [{"question_id": r["question_id"], "task": r["task"], "partial_solution": r["partial_solution"],
                     "question": r["turns"][0].replace("    ", "\t")} for r in ROWS]
    tests = read_jsonl(data / "livebench-coding" / "test.tests.jsonl")
    assert tests == [{"question_id": r["question_id"], "public_test_cases": r["public_test_cases"],
                      "private_test_cases": r["private_test_cases"], "metadata": r["original_json"]["metadata"]}
                     for r in ROWS]


def test_dry_run_plan(tmp_path, capsys):
    data = prepared(tmp_path / "data")
    capsys.readouterr()
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=livebench-coding", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
               "--dry_run", "--dry_run_format=json", "++prompt_source=own"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    jobs = json.loads(out.out)["jobs"]
    assert [s["name"] for s in jobs[0]["sidecars"]] == ["sandbox"]
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    assert "++eval_type=livebench_coding" in text and "++prompt_config=generic/default" in text


DIRECT = textwrap.dedent("""
    import importlib.util, json, os, sys
    spec = importlib.util.spec_from_file_location("h", os.path.join(sys.prefix, sys.argv[1]))
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    sample, code = json.load(open(sys.argv[2]))[int(sys.argv[3])]  # one per process, as upstream forks one
    res, _ = h.run_test({"input_output": sample}, test=code, debug=False, timeout=6)
    print(json.dumps(all(bool(r is True or (not isinstance(r, bool) and r > 0)) for r in res)))
""")


def test_programs_in_the_sandbox_get_the_harness_verdicts(tmp_path):
    from skills.benchmarks.livebench_coding.grader import LiveBenchCodingConfig, grade
    from skills.benchmarks.livecodebench.problems import evaluation_sample, scan
    from skills.benchmarks.livecodebench.upstream import FORK_HARNESS
    from skills.evaluation.registry import GradeContext

    python = environment_or_missing("sandbox", "sandbox")
    if not (Path(python).parent.parent / FORK_HARNESS).is_file():
        not_staged("the fork's harness (wasiahmad/livecodebench) in the sandbox's environment "
                   "(<mirror>/livecodebench-fork-upstream)")
    data = prepared(tmp_path / "data")
    src = {r["question_id"]: r for r in read_jsonl(data / "livebench-coding" / "test.jsonl")}
    rows = [dict(src[q], generation=g) for q, g, _ in PROGRAMS.values()]
    grade(rows, LiveBenchCodingConfig(), GradeContext(pipeline={"data_dir": str(data)}))
    ours = [r["graded_list"][0] for r in rows]
    assert ours == [ok for _, _, ok in PROGRAMS.values()]
    square = rows[list(PROGRAMS).index("square")]
    assert square["code_list"] == [square["partial_solution"] + "\n" + "\n        return x * x\n"]
    assert list(square)[-3:] == ["completion", "code_list", "graded_list"]

    problems: dict = {}
    scan(data / "livebench-coding" / "test.tests.jsonl", set(src), problems)
    jobs = [(evaluation_sample(problems[r["question_id"]])[0], r["code_list"][0]) for r in rows]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    theirs = []
    for i in range(len(jobs)):
        done = subprocess.run([python, "-c", DIRECT, FORK_HARNESS, str(tmp_path / "jobs.json"), str(i)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        theirs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert ours == theirs
