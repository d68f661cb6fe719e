"""LiveCodeBench-CPP: prepared rows from the fixture mirror (the question built with the reference's
two C++ sentences), the plan, and C++ programs compiled and run in the sandbox by the reference's
fork of the harness (``run_test_cpp``), against the same harness run directly."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path


from skills.benchmarks.livecodebench_cpp.prepare import SENTENCE_SHA256, build_question, format_row, sentences_from
from skills.cli.app import main
from tests.benchmarks.livecodebench_cpp.helpers import MIRROR, SOLUTIONS, SPLITS
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing, missing, not_staged

TESTS = MIRROR / "livecodebench-cpp" / "test_v6_2408_2505.jsonl"
TIMEOUT = 12  # the harness's per-test limit also bounds g++ (6 s by default: tight on a loaded 2-core machine)


def test_committed_fixture_is_what_helpers_build(tmp_path, monkeypatch):
    for split, rows in SPLITS.items():
        assert (MIRROR / "livecodebench-cpp" / f"test_{split}.jsonl").read_text() == "".join(
            json.dumps(r) + "\n" for r in rows)


def test_question_layout_with_any_sentences():
    s = {"FORMATTING_MESSAGE_WITH_STARTER_CODE": "WITH.", "FORMATTING_WITHOUT_STARTER_CODE": "WITHOUT."}
    stdin_row, call_row = SPLITS["v6_2408_2505"][0], SPLITS["v6_2408_2505"][2]
    assert build_question(stdin_row, s) == stdin_row["question_content"] + "\n\nWITHOUT.\n\n```cpp\n// YOUR CODE HERE\n```\n\n"
    assert build_question(call_row, s) == (call_row["question_content"] + "\n\nWITH.\n```cpp\n"
                                           + call_row["starter_code"].replace("    ", "\t") + "\n```\n\n")
    row = format_row(stdin_row, "v6_2408_2505", s)
    assert list(row) == ["contest_date", "difficulty", "task_id", "question", "subset_for_metrics", "release_version"]
    assert (row["contest_date"], row["task_id"], row["subset_for_metrics"], row["release_version"]) == (
        "2025-04-05 00:00:00", "abc400_a", "easy", "v6_2408_2505")


def reference_script() -> Path:
    """The reference's prepare.py (the sentences' source) as the data mirror stages it."""
    path = Path(os.environ.get("SKILLS_DATA_MIRROR", "")) / "livecodebench-cpp" / "prepare.py"
    if not path.is_file():
        not_staged(f"NeMo-Skills' nemo_skills/dataset/livecodebench-cpp/prepare.py at 0b012df8 ({path})")
    return path


def test_prepare_from_the_mirror(tmp_path):
    mirror = tmp_path / "mirror" / "livecodebench-cpp"
    shutil.copytree(MIRROR / "livecodebench-cpp", mirror)
    shutil.copy(reference_script(), mirror / "prepare.py")
    data = tmp_path / "data"
    assert main(["prepare_data", "livecodebench-cpp", f"--mirror={mirror.parent}", f"--data_dir={data}"]) == 0
    sentences = sentences_from(reference_script().read_text())
    assert {k: hashlib.sha256(sentences[k].encode()).hexdigest() for k in SENTENCE_SHA256} == SENTENCE_SHA256
    for split, rows in SPLITS.items():
        got = read_jsonl(data / "livecodebench-cpp" / f"{split}.jsonl")
        expected = [{"contest_date": r["contest_date"].replace("T", " "), "difficulty": r["difficulty"],
                     "task_id": r["question_id"], "question": build_question(r, sentences),
                     "subset_for_metrics": r["difficulty"], "release_version": split} for r in rows]
        assert got == expected
        tests = read_jsonl(data / "livecodebench-cpp" / f"{split}.tests.jsonl")
        assert [t["question_id"] for t in tests] == [r["question_id"] for r in rows]


def test_dry_run_plan(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "livecodebench-cpp").mkdir(parents=True)
    (data / "livecodebench-cpp" / "v6_2408_2505.jsonl").write_text('{"question": "q"}\n')
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=livecodebench-cpp", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
               "--dry_run", "--dry_run_format=json", f"++prompt_config={MIRROR / 'lcb_prompt.yaml'}"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    jobs = json.loads(out.out)["jobs"]
    assert [s["name"] for s in jobs[0]["sidecars"]] == ["sandbox"]
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    for token in ("++eval_type=livecodebench", "++eval_config.language=cpp", "++eval_config.split=v6_2408_2505"):
        assert token in text


DIRECT = textwrap.dedent("""
    import importlib.util, json, os, sys
    spec = importlib.util.spec_from_file_location("h", os.path.join(sys.prefix, sys.argv[1]))
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    out = []
    for sample, code in json.load(open(sys.argv[2])):
        res, _ = h.run_test_cpp({"input_output": sample}, test=code, timeout=int(sys.argv[3]))
        out.append(all(r is True or (not isinstance(r, bool) and r > 0) for r in res))
    print(json.dumps(out))
""")


def test_programs_in_the_sandbox_get_the_harness_verdicts(tmp_path):
    from skills.benchmarks.livecodebench.grader import LiveCodeBenchConfig, grade
    from skills.benchmarks.livecodebench.problems import evaluation_sample, find_problems
    from skills.benchmarks.livecodebench.upstream import FORK_HARNESS
    from skills.evaluation.registry import GradeContext

    python = environment_or_missing("sandbox", "sandbox")
    if not (Path(python).parent.parent / FORK_HARNESS).is_file():
        not_staged("the fork's C++ harness (wasiahmad/livecodebench; stage <mirror>/livecodebench-fork-upstream "
                   "and build it: python -m skills.environments build sandbox)")
    if shutil.which("g++") is None:
        missing("g++ is not installed")
    rows = [{"task_id": pid, "release_version": "v6_2408_2505", "generation": f"Here:\n```cpp\n{code}\n```\n"}
            for pid, code, _ in SOLUTIONS.values()]
    grade(rows, LiveCodeBenchConfig(language="cpp", timeout=TIMEOUT, test_file=str(TESTS)), GradeContext())
    ours = [r["graded_list"][0] for r in rows]
    assert ours == [ok for _, _, ok in SOLUTIONS.values()]  # compile errors, wrong answers, loops, crashes fail

    # the harness directly on the same programs (the endless loop left out: it only costs the limit again)
    names = [n for n in SOLUTIONS if n != "sum_loops"]
    rows = [r for n, r in zip(SOLUTIONS, rows) if n in names]
    ours = [r["graded_list"][0] for r in rows]
    problems = find_problems({r["task_id"] for r in rows}, "v6_2408_2505", str(TESTS), {}, "cpp")
    jobs = [(evaluation_sample(problems[r["task_id"]])[0], r["completion"]) for r in rows]
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run([python, "-c", DIRECT, FORK_HARNESS, str(tmp_path / "jobs.json"), str(TIMEOUT)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ours == json.loads(done.stdout.strip().splitlines()[-1])
