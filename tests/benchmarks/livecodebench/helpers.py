"""A tiny LiveCodeBench mirror in the exact upstream schema (``tests/fixtures/livecodebench/``).

Ten problems over the six release files: stdin and functional (LeetCode) kinds, private tests in
the upstream encoding (base64 of zlib of a protocol-4 pickle of the JSON text), contest dates on
both sides of every default split boundary. ``python -m tests.benchmarks.livecodebench.helpers``
rewrites the files; test_livecodebench.py checks that the committed files equal what this module builds.

Expected split contents (file order):
  test_v5_2407_2412: abc363_a, 3230, 2052_B
  test_v5_2410_2502: 2052_B, 3401, abc390_c
  test_v5_2408_2502: 3230, 2052_B, 3401, abc390_c
  test_v6_2408_2505: 3230, 2052_B, 3401, abc390_c, 3466, arc195_a
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

from skills.benchmarks.livecodebench.codec import encode_private_tests
from skills.benchmarks.livecodebench.releases import FILES
from tests.helpers.paths import FIXTURES

MIRROR = FIXTURES  # --mirror: <MIRROR>/livecodebench/test*.jsonl

SPLITS = {
    "test_v5_2407_2412": ["abc363_a", "3230", "2052_B"],
    "test_v5_2410_2502": ["2052_B", "3401", "abc390_c"],
    "test_v5_2408_2502": ["3230", "2052_B", "3401", "abc390_c"],
    "test_v6_2408_2505": ["3230", "2052_B", "3401", "abc390_c", "3466", "arc195_a"],
}


def stdin(i: str, o: str) -> dict:
    return {"input": i, "output": o, "testtype": "stdin"}


def call(args: list, out) -> dict:
    return {"input": "\n".join(json.dumps(a) for a in args), "output": json.dumps(out), "testtype": "functional"}


def starter(name: str, signature: str) -> str:
    return f"class Solution:\n    def {name}(self, {signature}:\n        "


def problem(qid, title, platform, contest, date, difficulty, content, public, private, func=None, sig=None):
    row = {
        "question_title": title, "question_content": content, "platform": platform, "question_id": qid,
        "contest_id": contest, "contest_date": date, "starter_code": starter(func, sig) if func else "",
        "difficulty": difficulty, "public_test_cases": json.dumps(public),
        "private_test_cases": encode_private_tests(private),
        "metadata": json.dumps({"func_name": func} if func else {}),
    }
    assert all(isinstance(v, str) for v in row.values())
    return row


ECHO = problem("abc301_z", "Echo", "atcoder", "abc301", "2023-05-20T21:00:00", "easy",
               "You are given a string S. Print S.\n\nInput\n\nS\n\nOutput\n\nPrint S.",
               [stdin("hi\n", "hi\n")], [stdin("yo\n", "yo\n")])
DOUBLE = problem("abc360_b", "Double", "atcoder", "abc360", "2024-06-30T12:00:00", "easy",
                 "Print twice the integer N.\n\nSample Input 1\n\n    21\n\nSample Output 1\n\n    42",
                 [stdin("21\n", "42\n")], [stdin("0\n", "0\n")])
SUM = problem("abc363_a", "A + B", "atcoder", "abc363", "2024-07-01T00:00:00", "easy",
              "Given integers A and B, print A+B.\n\nInput\n\nA B\n\nOutput\n\nPrint one integer.",
              [stdin("3 5\n", "8\n")],
              [stdin("0 0\n", "0\n"), stdin("-7 2\n", "-5\n"), stdin("123456789123 987654321987\n", "1111111111110\n")])
PAIR = problem("3230", "find-pair", "leetcode", "weekly-contest-409", "2024-08-03T14:30:00", "medium",
               "Return the indices [i, j] (i < j) of the first pair with nums[i] + nums[j] == target.\n\n"
               "Example 1:\n\nInput: nums = [2,7,11,15], target = 9\nOutput: [0,1]\n\nConstraints:\n\n"
               "    2 <= nums.length <= 1000",
               [call([[2, 7, 11, 15], 9], [0, 1])],
               [call([[3, 2, 4], 6], [1, 2]), call([[1, 5, 5], 10], [1, 2]), call([[0, -3, 9, 3], 0], [1, 3])],
               func="findPair", sig="nums: List[int], target: int) -> List[int]")
MEANS = problem("2052_B", "B. Means", "codeforces", "2052", "2024-12-31T19:30:00", "medium",
                "For each of T test cases print the arithmetic mean of n integers.\n\nInput\n\n"
                "The first line holds T. Each case has n, then a_1 ... a_n.\n\nOutput\n\n"
                "One number per case; answers equal as decimals are accepted.",
                [stdin("2\n2\n2 3\n1\n4\n", "2.5\n4\n")],
                [stdin("1\n3\n1 1 2\n", "1.3333333333333333\n"),
                 stdin("3\n1\n0\n2\n-1 -2\n4\n1 2 3 4\n", "0\n-1.5\n2.5\n")])
RUN = problem("3401", "longest-run", "leetcode", "weekly-contest-431", "2025-01-04T02:30:00", "hard",
              "Return the length of the longest block of equal consecutive characters of s.",
              [call(["aaabb"], 3)], [call(["a"], 1), call(["abcd"], 1), call(["abbbbcc"], 4)],
              func="longestRun", sig="s: str) -> int")
COLLATZ = problem("abc390_c", "Collatz", "atcoder", "abc390", "2025-01-25T12:00:00", "hard",
                  "Print how many steps of n -> n/2 (n even) or n -> 3n+1 (n odd) take N to 1.",
                  [stdin("6\n", "8\n")], [stdin("1\n", "0\n"), stdin("27\n", "111\n")])
MAXV = problem("3466", "max-value", "leetcode", "biweekly-contest-151", "2025-02-28T14:30:00", "easy",
               "Return the largest element of nums.",
               [call([[1, 3, 2]], 3)], [call([[-1]], -1), call([[5, 5]], 5)],
               func="maxValue", sig="nums: List[int]) -> int")
REVERSE = problem("arc195_a", "Reverse Words", "atcoder", "arc195", "2025-05-31T23:59:59", "easy",
                  "Print the words of the line in reverse order, separated by single spaces.",
                  [stdin("hello big world\n", "world big hello\n")], [stdin("a\n", "a\n"), stdin("x y\n", "y x\n")])
MAX3 = problem("abc407_a", "Max of Three", "atcoder", "abc407", "2025-06-01T00:00:00", "easy",
               "Print the largest of A, B and C.", [stdin("1 9 3\n", "9\n")], [stdin("-1 -2 -3\n", "-1\n")])

RELEASES: Dict[str, List[dict]] = {
    "test.jsonl": [ECHO], "test2.jsonl": [], "test3.jsonl": [DOUBLE], "test4.jsonl": [SUM, PAIR],
    "test5.jsonl": [MEANS, RUN, COLLATZ], "test6.jsonl": [MAXV, REVERSE, MAX3],
}
assert tuple(RELEASES) == FILES
PROBLEMS = {row["question_id"]: row for rows in RELEASES.values() for row in rows}


def file_text(name: str) -> str:
    return "".join(json.dumps(row) + "\n" for row in RELEASES[name])


def write_mirror(mirror: Path = MIRROR) -> Path:
    folder = mirror / "livecodebench"
    folder.mkdir(parents=True, exist_ok=True)
    for name in RELEASES:
        (folder / name).write_text(file_text(name), encoding="utf-8")
    return mirror


if __name__ == "__main__":
    print(write_mirror())
