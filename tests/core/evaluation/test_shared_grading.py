"""One grading pool for all files of a step, the no-sympy fast path, one external grader process for
all files of ``ns evaluate`` (issue 26 item 4): the same verdicts and files as grading file by file."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from skills.evaluation import grade_file, regrade_files
from skills.evaluation.math_grader import quick_equal, slow_equal
from skills.evaluation.pool import MathChecker


def test_the_fast_path_agrees_with_math_verify_on_plain_integers():
    rng = random.Random(7)
    pairs = [("12", "12"), ("12", "012"), ("0", "00"), ("7", "8"), ("100", "1e2"), ("3", "3.0"), ("10", "10%")]
    pairs += [(str(a), str(b)) for a, b in ((rng.randrange(1000), rng.randrange(1000)) for _ in range(40))]
    pairs += [(str(a), str(a)) for a in (rng.randrange(10**18) for _ in range(10))]
    for expected, predicted in pairs:
        quick = quick_equal(expected, predicted)
        if quick is not None:  # decided without sympy: must be what math-verify says
            assert quick == slow_equal(expected, predicted), (expected, predicted)
    # only plain digit strings (and no answer, and take_modulo) are decided without sympy
    assert quick_equal("3", "3.0") is None and quick_equal("\\frac{1}{2}", "0.5") is None
    assert quick_equal("10", "10%") is None and quick_equal("-5", "-5") is None
    assert quick_equal("5", None) is False and quick_equal("17", "5", take_modulo=12) is True


def test_integer_answers_start_no_worker():
    with MathChecker(workers=1) as checker:
        kwargs = {"take_modulo": None, "numeric_precision": 15, "timeout_seconds": 10}
        assert checker.check_many([("73", "73", kwargs), ("73", "074", kwargs), ("1", None, kwargs)]) == \
            [True, False, False]
        assert checker._workers == []  # nothing needed sympy
        assert checker.check_many([("\\frac{1}{2}", "0.5", kwargs), ("2", "2", kwargs)]) == [True, True]
        assert len(checker._workers) == 1  # one answer needed a worker: one was started
        # the same question again (another seed's same answer): the first verdict, no worker asked
        checker._workers[0].conn.close()  # a worker asked now would fail the check
        assert checker.check_many([("\\frac{1}{2}", "0.5", kwargs)] * 3) == [True] * 3


MATH_ROWS = [  # (expected, generation): integers (fast path), latex needing sympy, no answer
    ("73", "so \\boxed{73}"), ("73", "\\boxed{074}"), ("\\frac{1}{2}", "\\boxed{0.5}"),
    ("\\frac{1}{2}", "\\boxed{1/3}"),
    ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}"), ("(1,2)", "\\boxed{(1, 2)}"), ("10", "no box here"), ("5", "\\boxed{5.0}"),
    ("\\{1,2\\}", "\\boxed{\\{2,1\\}}"), ("x^2", "\\boxed{x\\cdot x}"), ("0", "\\boxed{0}"), ("C", "\\boxed{C}"),
]


def _write(path: Path, shift: int) -> None:
    rows = MATH_ROWS[shift:] + MATH_ROWS[:shift]
    path.write_text("".join(json.dumps({"id": i, "expected_answer": e, "generation": g}) + "\n"
                            for i, (e, g) in enumerate(rows)))


def test_one_pool_for_all_files_grades_them_as_file_by_file(tmp_path):
    from skills.evaluation.step import main as step

    per_file, shared = tmp_path / "per-file", tmp_path / "shared"
    per_file.mkdir()
    for k in range(3):
        _write(per_file / f"output-rs{k}.jsonl", shift=k * 5)
    shutil.copytree(per_file, shared)
    for path in sorted(per_file.glob("*.jsonl")):
        grade_file(path, "math", {"num_workers": 1})  # a pool of its own per file (as in each generation command)
    files = sorted(shared.glob("*.jsonl"))
    one = ["--eval_type", "math", "--eval_config", '{"num_workers": 1}']
    assert step([*one, *map(str, files)]) == 0  # one process, one pool
    for path in files:
        assert path.read_bytes() == (per_file / path.name).read_bytes()
        assert (path.parent / (path.name + ".done")).exists()
    verdicts = [json.loads(x)["symbolic_correct"] for x in (per_file / "output-rs0.jsonl").read_text().splitlines()]
    assert verdicts == [True, False, True, False, True, True, False, True, True, True, True, True]
    # a step killed half-way: graded files keep their .done, the rest are graded on the rerun
    (files[1].parent / (files[1].name + ".done")).unlink()
    _write(files[1], shift=5)
    assert step([*one, *map(str, files)]) == 0
    assert files[1].read_bytes() == (per_file / files[1].name).read_bytes()


def test_ns_evaluate_runs_one_external_grader_for_all_files(tmp_path, monkeypatch):
    import skills.evaluation.external as external

    calls = []

    def fake_run_external(grader, eval_type, paths, cfg, generation_key, pipeline, mark_done=False):
        calls.append([str(p) for p in paths])
        return {str(p): {"entries": 1} for p in paths}

    monkeypatch.setattr(external, "run_external", fake_run_external)
    files = []
    for k in range(5):
        path = tmp_path / f"output-rs{k}.jsonl"
        path.write_text(json.dumps({"id": "simple_0", "generation": "[]"}) + "\n")
        files.append(str(path))
    counts = regrade_files(files, "bfcl", {})
    assert calls == [files]  # one grader process (one import, one bfcl worker), not one per file
    assert counts == {f: {"entries": 1} for f in files}


@pytest.mark.parametrize("files", [0, 1])
def test_ns_evaluate_checks_every_path_first(tmp_path, files):
    from skills.config.errors import UsageError

    paths = [str(tmp_path / "missing.jsonl")] if files else []
    with pytest.raises(UsageError):
        regrade_files(paths, "bfcl", {})
