"""A tiny livebench/coding mirror (``tests/fixtures/livebench-coding/test.jsonl``): invented rows with
the dataset's 15 columns; generation problems (stdin with encoded private tests, functional with
plain-JSON private tests) and a completion problem. ``python -m tests.benchmarks.livebench_coding.helpers``
rewrites the file."""

from __future__ import annotations

import json

from skills.benchmarks.livecodebench.codec import encode_private_tests
from tests.helpers.paths import FIXTURES

MIRROR = FIXTURES


def row(qid, task, turn, public, private, func=None, partial=""):
    meta = json.dumps({"func_name": func} if func else {})
    return {"question_id": qid, "category": "coding", "turns": [turn], "question_title": qid,
            "public_test_cases": json.dumps(public), "private_test_cases": private,
            "original_json": {"question_id": qid, "metadata": meta}, "release_date": "2025-01-01",
            "citation": "invented", "task": task, "livebench_release_date": "2025-04-25",
            "livebench_removal_date": "", "remainder": "", "solution": "", "partial_solution": partial}


def stdin(i, o):
    return {"input": i, "output": o, "testtype": "stdin"}


def call(args, out):
    return {"input": "\n".join(json.dumps(a) for a in args), "output": json.dumps(out), "testtype": "functional"}


ROWS = [
    row("lb_double", "LCB_generation", "Read an integer n and print 2n.\n\n    (four spaces)",
        [stdin("2\n", "4\n")], encode_private_tests([stdin("21\n", "42\n"), stdin("-3\n", "-6\n")])),
    row("lb_sum", "LCB_generation", "Return the sum of a list.", [call([[1, 2]], 3)],
        json.dumps([call([[5, 5, 5]], 15)]), func="listSum"),
    row("lb_square", "coding_completion", "Complete the function so it returns x squared.",
        [call([3], 9)], json.dumps([call([-4], 16)]), func="square",
        partial="class Solution:\n    def square(self, x: int) -> int:"),
]

PROGRAMS = {  # name -> (question_id, generation, passes)
    "double": ("lb_double", "```python\nprint(2 * int(input()))\n```", True),
    "double_wrong": ("lb_double", "```python\nprint(int(input()) + 2)\n```", False),
    "sum": ("lb_sum", "```python\nclass Solution:\n    def listSum(self, xs):\n        return sum(xs)\n```", True),
    "sum_raises": ("lb_sum", "```python\nclass Solution:\n    def listSum(self, xs):\n        raise ValueError\n```",
                   False),
    "square": ("lb_square", "```python\n\t\treturn x * x\n```", True),  # tabs back to spaces, after the partial
    "square_wrong": ("lb_square", "```python\n        return x + x\n```", False),
}


def write() -> None:
    folder = MIRROR / "livebench-coding"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


if __name__ == "__main__":
    write()
