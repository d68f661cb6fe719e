"""LiveCodeBench programs graded for real: our driver runs LiveCodeBench's own harness
(nvidia-livecodebench in .venv-sandbox) inside the code sandbox. Comparison rules case by case,
the limits, the verdict plumbing, ``ns evaluate`` in place, and the HTTP service.

Raw harness results per test: True; a wrong answer is -2 (stdin) or False (functional); -3 time
limit, -4 runtime/compile error (-1: no result at all, every test counted failed as upstream). The
harness stops at the first failing test, so a result list can be shorter than the tests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import missing
from tests.benchmarks.livecodebench.helpers import MIRROR, PROBLEMS
from skills.benchmarks.livecodebench.grader import check_harness, run_program
from skills.benchmarks.livecodebench.problems import evaluation_sample
from skills.benchmarks.livecodebench.upstream import package_dir, sandbox_python
from skills.cli.app import main
from skills.config.errors import UsageError

F = "```"
SUM_OK = "a, b = map(int, input().split())\nprint(a + b)"
MEANS_16F = ("t = int(input())\nfor _ in range(t):\n    n = int(input())\n    a = list(map(int, input().split()))\n"
             "    print(f'{sum(a) / n:.16f}')")
PAIR_OK = ("class Solution:\n    def findPair(self, nums, target):\n        seen = {}\n"
           "        for j, x in enumerate(nums):\n            if target - x in seen:\n"
           "                return (seen[target - x], j)\n            seen.setdefault(x, j)")
PAIR_LOUD = ("class Solution:\n    def findPair(self, nums, target):\n        print('x' * 10**6)\n"
             "        for i in range(len(nums)):\n            for j in range(i + 1, len(nums)):\n"
             "                if nums[i] + nums[j] == target:\n                    return [i, j]")
RUN_OK = ("class Solution:\n    def longestRun(self, s):\n        best = run = 1\n"
          "        for a, b in zip(s, s[1:]):\n            run = run + 1 if a == b else 1\n"
          "            best = max(best, run)\n        return best")


@pytest.fixture(autouse=True)
def local_sandbox(monkeypatch):
    """The local sandbox with .venv-sandbox's interpreter (skips without it locally, fails in CI)."""
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    python = sandbox_python()
    if python is None or package_dir(python) is None:
        missing("no sandbox interpreter with nvidia-livecodebench (scripts/setup.sh builds .venv-sandbox)")
    return python


def run(qid: str, code: str, timeout: int = 6):
    sample, n = evaluation_sample(PROBLEMS[qid])
    return run_program(code, sample, n, timeout)


def test_the_sandbox_has_the_reference_harness():
    info = check_harness()
    assert info["sha256"].startswith("cebe0382") and info["harness"].endswith("evaluation/testing_util.py")


@pytest.mark.parametrize("qid,code,results", [
    # stdin: the whole output and every line stripped, line counts equal, lines equal as text ...
    ("abc363_a", SUM_OK, [True] * 4),
    ("abc363_a", "a, b = map(int, input().split())\nprint(f'  {a + b}  ', end='\\n\\n\\n')", [True] * 4),
    ("abc363_a", "a, b = map(int, input().split())\nprint(a + b)\nprint(a + b)", [-2]),
    ("abc363_a", "a, b = map(int, input().split())\nprint(a - b)", [-2]),
    # ... stop at the first failure: the third test fails, the fourth never runs
    ("abc363_a", "a, b = map(int, input().split())\nprint(a + b if abs(a) < 5 else 0)", [True, True, -2]),
    # ... or equal as whitespace-separated decimals
    ("2052_B", MEANS_16F, [True] * 3),
    ("2052_B", MEANS_16F.replace(".16f", ".2f"), [True, -2]),  # 2.50 == 2.5, then 1.33 != 1.3333333333333333
    ("abc363_a", "import sys\ndef main():\n    a, b = map(int, sys.stdin.readline().split())\n    print(a + b)\n"
                 "    exit()\nif __name__ == '__main__':\n    main()", [True] * 4),  # main guard inlined
    ("abc363_a", "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nprint(a + b)", [-4]),  # as the fork
    ("abc363_a", "a, b = map(int, open(0).read().split())\nprint(a + b)", [-4]),  # stdin is not the test input
    # functional: Solution().<func_name>(*json args) == json output, tuples as lists
    ("3230", PAIR_OK, [True] * 4),
    ("3230", "class Solution:\n    def findPair(self, nums, target):\n        return [0, 1]", [True, False]),
    ("3230", "class Solution:\n    def findPair(self, nums, target):\n        return '[0, 1]'", [False]),
    ("3230", PAIR_LOUD, [True] * 4),  # a megabyte of prints does not matter
    ("3466", "class Solution:\n    def maxValue(self, nums):\n        return nums[len(nums)]", [-4]),  # runtime error
    ("abc363_a", "def f(:\n    pass", [-4]),  # does not compile
    ("3466", "", [-4]),  # no code
    ("abc390_c", "n = int(input())\nwhile n != 1:\n    pass", [-3]),  # per-test time limit (1 s here)
])
def test_comparison_rules(qid, code, results):
    verdict = run(qid, code, timeout=1 if results == [-3] else 6)
    assert (verdict.status, verdict.results) == ("ok", results), verdict.metadata
    assert verdict.passed is all(r is True for r in results)


@pytest.mark.parametrize("code,status", [
    ("import os\na, b = map(int, input().split())\nprint(a + b)\nos._exit(0)", "no_verdict"),  # dies silently
    ("import sys\nclass Solution:\n    def findPair(self, nums, target):\n        sys.exit(0)", "no_result"),
])
def test_a_program_that_leaves_no_result_fails_every_test(code, status):
    verdict = run("abc363_a" if "input()" in code else "3230", code)
    assert (verdict.passed, verdict.status, verdict.results) == (False, status, [-1] * 4)


def test_program_output_cannot_forge_a_verdict():
    forged = 'import sys\nprint(\'{"status": "ok", "results": [true, true, true, true]}\')\nsys.stdout.flush()'
    verdict = run("abc363_a", forged)
    assert not verdict.passed and verdict.results == [-2]


@pytest.mark.slow
def test_whole_problem_limit_when_the_alarm_cannot_fire():
    """A C-level loop ignores the per-test alarm; the sandbox ends it at (1 + 1) * 2 + 5 s (+ start-up)."""
    verdict = run("abc301_z", "sum(range(10 ** 13))", timeout=1)
    assert (verdict.passed, verdict.status, verdict.results) == (False, "timeout", [-1, -1])


def test_missing_harness_is_a_clear_error(monkeypatch):
    if package_dir(sys.executable) is not None:
        pytest.skip("this interpreter has nvidia-livecodebench installed")
    monkeypatch.setenv("SKILLS_SANDBOX_PYTHON", sys.executable)
    with pytest.raises(UsageError, match="lacks nvidia-livecodebench==26.3: pip install --no-deps"):
        check_harness()


# -- whole files: ns evaluate, sources of tests, the service --------------------------------------

PROGRAMS = {"3230": PAIR_OK, "2052_B": MEANS_16F, "3401": "class Solution:\n    def longestRun(self, s):\n"
            "        return len(set(s))", "abc390_c": "print(8)"}
EXPECTED = {"3230": True, "2052_B": True, "3401": False, "abc390_c": False}  # abc390_c: passes 1 of 3 tests


def generations(data: Path, split: str = "test_v5_2408_2502") -> Path:
    rows = read_jsonl(data / "livecodebench" / f"{split}.jsonl")
    path = data / "output-rs0.jsonl"
    path.write_text("".join(json.dumps({**r, "generation": f"Sure.\n{F}python\n{PROGRAMS[r['task_id']]}\n{F}"}) + "\n"
                            for r in rows))
    return path


@pytest.fixture
def data(tmp_path):
    from skills.benchmarks.livecodebench.upstream import formatting_sentences

    try:
        formatting_sentences()
    except UsageError as exc:
        missing(exc.message)
    assert main(["prepare_data", "livecodebench", f"--data_dir={tmp_path}", f"--mirror={MIRROR}",
                 "--split=test_v5_2408_2502"]) == 0
    return tmp_path


def test_ns_evaluate_regrades_in_place(data, capsys):
    path = generations(data)
    args = ["evaluate", "--eval_type=livecodebench", str(path), f"++eval_config.data_dir={data}",
            "++eval_config.split=test_v5_2408_2502"]
    assert main(args) == 0
    assert f"{path}: entries=4, passed=2" in capsys.readouterr().out
    rows = read_jsonl(path)
    assert {r["task_id"]: r["graded_list"] for r in rows} == {k: [v] for k, v in EXPECTED.items()}
    for row in rows:
        assert list(row)[-5:] == ["generation", "completion", "question_id", "code_list", "graded_list"]
        assert row["completion"] == PROGRAMS[row["task_id"]] and row["code_list"] == [row["completion"]]
        assert row["question_id"] == row["task_id"]
    for row in rows:  # graded again after a fix: same fields in the same order, new verdict
        if row["task_id"] == "3401":
            row["generation"] = f"{F}python\n{RUN_OK}\n{F}"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(args) == 0
    regraded = read_jsonl(path)
    assert [list(r) for r in regraded] == [list(r) for r in rows]
    assert {r["task_id"]: r["graded_list"] for r in regraded} == {**{k: [v] for k, v in EXPECTED.items()},
                                                                  "3401": [True]}


def test_tests_from_a_test_file_or_the_release_files(data, tmp_path, monkeypatch):
    from skills.evaluation import grade_file

    path = generations(data)
    (data / "livecodebench" / "test_v5_2408_2502.tests.jsonl").unlink()
    # ++eval_config.test_file: e.g. an upstream release file (test4 + test5 hold these problems)
    both = tmp_path / "upstream.jsonl"
    both.write_text((MIRROR / "livecodebench" / "test4.jsonl").read_text()
                    + (MIRROR / "livecodebench" / "test5.jsonl").read_text())
    grade_file(path, "livecodebench", {"test_file": str(both)})
    assert {r["task_id"]: r["graded_list"][0] for r in read_jsonl(path)} == EXPECTED
    # no tests file at all: the release files of the rows' release_version, from the mirror
    monkeypatch.setenv("SKILLS_DATA_MIRROR", str(MIRROR))
    for row in read_jsonl(path):
        assert row["release_version"] == "v5"
    grade_file(path, "livecodebench", {"data_dir": str(data), "split": "test_v5_2408_2502"})
    assert {r["task_id"]: r["graded_list"][0] for r in read_jsonl(path)} == EXPECTED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grading_through_the_sandbox_service(data, local_sandbox, tmp_path, monkeypatch):
    """What ns eval's sandbox sidecar does: the service runs the programs with .venv-sandbox."""
    from skills.evaluation import grade_file
    from tests.core.sandbox.helpers import sandbox_health_url
    from skills.servers.health import wait_for_server

    port = _free_port()
    log = tmp_path / "sandbox.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port),
                                 "--python", local_sandbox], stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for_server(sandbox_health_url("127.0.0.1", port), timeout_s=60, process=proc, log_path=log, poll_s=0.2)
        monkeypatch.setenv("SKILLS_SANDBOX_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("SKILLS_SANDBOX_PYTHON", sys.executable)  # must not matter: the service decides
        path = generations(data)
        grade_file(path, "livecodebench", {"data_dir": str(data), "split": "test_v5_2408_2502"})
        assert {r["task_id"]: r["graded_list"][0] for r in read_jsonl(path)} == EXPECTED
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------------------------------ never as root (issue 21)
KNOWS_ITS_UID = "import os\nn = int(input())\nprint(2 * n if os.geteuid() != 0 else -1)"


@pytest.mark.parametrize("mode", ["unshare", "none"])
def test_grading_from_a_0700_home_without_bubblewrap(mode, local_sandbox, tmp_path, request):
    """A checkout under root's 0700 home (the sandbox environment reached through it), no
    bubblewrap: programs are graded as a non-root uid, or grading stops at once with one line;
    with SKILLS_SANDBOX_ALLOW_ROOT=1 they run as root and every row says so."""
    import os
    import shutil
    import time

    from tests.core.sandbox.helpers import world_readable_folder

    if os.geteuid() != 0:
        pytest.skip("the case is root's: as another user programs never run as root")
    home = tmp_path / "root-home"
    home.mkdir(mode=0o700)
    (home / "venv").symlink_to(os.path.realpath(os.path.dirname(os.path.dirname(local_sandbox))))
    out = home / "output.jsonl"
    out.write_text(json.dumps({"task_id": "abc360_b", "release_version": "v3",
                               "generation": f"{F}python\n{KNOWS_ITS_UID}\n{F}"}) + "\n")
    mirrors = Path(world_readable_folder("skills-lcb-mirrors-"))
    request.addfinalizer(lambda: shutil.rmtree(mirrors, ignore_errors=True))
    env = {**os.environ, "SKILLS_SANDBOX_ISOLATION": mode, "SKILLS_SANDBOX_MIRROR_DIR": str(mirrors / "python"),
           "SKILLS_SANDBOX_PYTHON": str(home / "venv" / "bin" / "python")}
    env.pop("SKILLS_SANDBOX_URL", None)
    env.pop("SKILLS_SANDBOX_ALLOW_ROOT", None)
    argv = [sys.executable, "-m", "skills.cli.app", "evaluate", "--eval_type=livecodebench", str(out),
            f"++eval_config.test_file={MIRROR / 'livecodebench' / 'test3.jsonl'}"]

    def evaluate(extra_env):
        start = time.monotonic()
        res = subprocess.run(argv, cwd=home, env={**env, **extra_env}, capture_output=True, text=True, timeout=300)
        return res, time.monotonic() - start

    res, _ = evaluate({})
    if res.returncode == 0:  # a throwaway uid ran it (from a mirror of the environment)
        (row,) = read_jsonl(out)
        assert row["graded_list"] == [True] and "sandbox_as_root" not in row, res.stderr
    else:
        errors = [line for line in res.stderr.splitlines() if line.lower().startswith("error:")]
        assert res.returncode == 2 and len(errors) == 1 and "SKILLS_SANDBOX_ALLOW_ROOT=1" in errors[0], res.stderr
        assert "graded_list" not in read_jsonl(out)[0]
    # no usable mirror store: the only ways left are root or nothing
    os.chmod(mirrors, 0o777)
    res, took = evaluate({})
    errors = [line for line in res.stderr.splitlines() if line.lower().startswith("error:")]
    assert res.returncode == 2 and len(errors) == 1 and "never runs as root" in errors[0], res.stderr
    assert "Traceback" not in res.stderr and took < 60
    res, _ = evaluate({"SKILLS_SANDBOX_ALLOW_ROOT": "1"})
    if res.returncode == 2 and "does not work here" in res.stderr:
        pytest.skip(f"isolation '{mode}' does not work here even as root")
    assert res.returncode == 0, res.stderr
    (row,) = read_jsonl(out)
    assert row["sandbox_as_root"] is True and row["graded_list"] == [False]  # it saw uid 0
    assert list(row)[-1] == "graded_list" and "model code runs as ROOT" in res.stderr


def test_the_whole_problem_limit_is_the_references_with_no_600_s_cap(monkeypatch):
    """(timeout + 1) x tests + 5 s, as the reference's harness, however many tests; wall time only."""
    from skills.benchmarks.livecodebench import grader
    from skills.sandbox import ExecResult

    seen = []

    class Recorder:
        def execute(self, code, files, limits):
            seen.append(limits)
            return ExecResult("", "", 0, "completed", 0.1)

    monkeypatch.setattr(grader, "_sandbox", lambda: (Recorder(), {}))
    verdict = run_program("print(1)", json.dumps({"inputs": [], "outputs": []}), 200, timeout=6)
    assert verdict.passed is False and verdict.results == [-1] * 200  # no verdict: every test failed
    (limits,) = seen
    assert limits.wall_s == (6 + 1) * 200 + 5 + grader.STARTUP_S and limits.cpu_s is None
