"""BigCodeBench: prepared rows from the invented fixture mirror (the dataset's columns), the plan, the
metric type, and programs graded in the sandbox (the ``bigcodebench`` environment's interpreter, the
checker's own limits) against BigCodeBench's ``untrusted_check`` run directly."""

from __future__ import annotations

import json
import subprocess
import textwrap


from skills.cli.app import main
from tests.benchmarks.bigcodebench.helpers import MIRROR, PARQUET, PROGRAMS, STARTER, TASKS
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing


def prepared(tmp_path):
    assert main(["prepare_data", "bigcodebench", f"--mirror={MIRROR}", f"--data_dir={tmp_path}", "--no-prompts"]) == 0
    return tmp_path


def test_committed_fixture_is_what_helpers_build():
    import pyarrow.parquet as pq

    assert pq.read_table(PARQUET).to_pylist() == TASKS


def test_prepared_rows_and_problems(tmp_path):
    data = prepared(tmp_path)
    expected = []
    for t in TASKS:
        head = t["instruct_prompt"][:t["instruct_prompt"].index(STARTER)].strip()
        q = head + "\n\n" + STARTER + "\n```python\n" + t["code_prompt"] + "\n```"
        expected.append({"task_id": t["task_id"], "question": q.replace("    ", "\t"), "split": "full"})
    assert read_jsonl(data / "bigcodebench" / "full.jsonl") == expected
    problems = read_jsonl(data / "bigcodebench" / "full.problems.jsonl")
    assert [p["test"] for p in problems] == [t["test"] for t in TASKS]
    assert main(["prepare_data", "bigcodebench", "--split=medium", f"--mirror={MIRROR}", f"--data_dir={tmp_path}"]) == 2


def test_dry_run_plan_and_metric_type(tmp_path, capsys):
    from skills.metrics.types import metric_type_for

    assert metric_type_for("bigcodebench") == "bigcodebench"
    data = prepared(tmp_path / "data")
    capsys.readouterr()
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=bigcodebench", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
               "--dry_run", "--dry_run_format=json", f"++prompt_config={MIRROR / 'lcb_prompt.yaml'}"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    jobs = json.loads(out.out)["jobs"]
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    assert "++eval_type=bigcodebench" in text and f"++input_file={data}/bigcodebench/full.jsonl" in text


DIRECT = textwrap.dedent("""
    import json, sys
    from bigcodebench.eval import untrusted_check
    from bigcodebench.gen.util import trusted_check
    out = []
    for task, solution in json.load(open(sys.argv[1])):
        gt = trusted_check(task["complete_prompt"] + "\\n" + task["canonical_solution"], task["test"], task["task_id"],
                           30 * 1024, 30 * 1024, 10, 1)["time"]
        code = task["code_prompt"] + "\\n    pass\\n" + solution
        out.append(untrusted_check(code, task["test"], task["entry_point"], 30 * 1024, 30 * 1024, 10, 1, gt or 20)[0])
    print(json.dumps(out))
""")


def test_programs_in_the_sandbox_get_the_checkers_verdicts(tmp_path):
    from skills.benchmarks.bigcodebench.grader import BigCodeBenchConfig, grade
    from skills.evaluation.registry import GradeContext

    python = environment_or_missing("bigcodebench", "BigCodeBench")
    data = prepared(tmp_path / "data")
    rows = [{"task_id": t, "split": "full", "generation": f"Sure.\n```python\n{c}\n```"} for t, c, _ in PROGRAMS.values()]
    grade(rows, BigCodeBenchConfig(), GradeContext(pipeline={"data_dir": str(data)}))
    ours = [r["status"] for r in rows]
    assert ours == ["pass" if ok else "fail" for _, _, ok in PROGRAMS.values()]
    assert all(list(r)[-2:] == ["solution", "status"] for r in rows)

    problems = {p["task_id"]: p for p in read_jsonl(data / "bigcodebench" / "full.problems.jsonl")}
    (tmp_path / "jobs.json").write_text(json.dumps([(problems[r["task_id"]], r["solution"]) for r in rows]))
    done = subprocess.run([python, "-c", DIRECT, str(tmp_path / "jobs.json")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ours == json.loads(done.stdout.strip().splitlines()[-1])


def test_summary_table(tmp_path, capsys):
    bench = tmp_path / "eval-results" / "bigcodebench"
    bench.mkdir(parents=True)
    (bench / "output.jsonl").write_text("".join(json.dumps({"task_id": str(i), "status": s}) + "\n"
                                                for i, s in enumerate(["pass", "fail", "timeout", "pass"])))
    assert main(["summarize_results", str(tmp_path)]) == 0
    line = capsys.readouterr().out.splitlines()[2]
    assert [c.strip() for c in line.split("|")][-1] == "50.00%"
