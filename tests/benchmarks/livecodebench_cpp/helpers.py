"""A tiny LiveCodeBench-CPP mirror in the upstream schema (``tests/fixtures/livecodebench-cpp/``):
invented problems, stdin (AtCoder) and call-based (LeetCode: the test is a ``main`` appended to the
program, which must exit 0), private tests in the upstream encoding. ``python -m
tests.benchmarks.livecodebench_cpp.helpers`` rewrites the files."""

from __future__ import annotations

import json

from tests.benchmarks.livecodebench.helpers import problem, stdin
from tests.helpers.paths import FIXTURES

MIRROR = FIXTURES  # --mirror: <MIRROR>/livecodebench-cpp/test_<split>.jsonl

SUM = problem("abc400_a", "Sum", "atcoder", "abc400", "2025-04-05T00:00:00", "easy",
              "Given integers A and B, print A + B.", [stdin("1 2\n", "3\n")],
              [stdin("10 20\n", "30\n"), stdin("-5 5\n", "0\n")])
MAX = problem("abc401_b", "Largest", "atcoder", "abc401", "2025-04-12T00:00:00", "medium",
              "Given N and N integers, print the largest.", [stdin("3\n1 9 4\n", "9\n")],
              [stdin("1\n-7\n", "-7\n")])
ADD = {**problem("3600", "add-two", "leetcode", "weekly-contest-440", "2025-03-09T00:00:00", "hard",
                 "Return a + b.", [{"input": "int main() { Solution s; return s.add(2, 3) == 5 ? 0 : 1; }",
                                    "output": "", "testtype": "functional"}], []),
       "starter_code": "class Solution {\npublic:\n    int add(int a, int b) {\n        \n    }\n};",
       "metadata": json.dumps({"func_name": "add"})}
SPLITS = {"v5_2408_2501": [], "v6_2408_2505": [SUM, MAX, ADD]}

HEAD = "#include <bits/stdc++.h>\nusing namespace std;\n"  # stdin programs bring their own (call-based get it)
SOLUTIONS = {  # name -> (problem id, C++ program, passes)
    "sum": ("abc400_a", HEAD + "int main() { long long a, b; cin >> a >> b; cout << a + b << endl; }", True),
    "sum_wrong": ("abc400_a", HEAD + "int main() { long long a, b; cin >> a >> b; cout << a - b << endl; }", False),
    "sum_no_compile": ("abc400_a", "int main() { cout << undefined_name; }", False),
    "sum_loops": ("abc400_a", HEAD + "int main() { volatile long x = 0; while (true) x++; }", False),
    "max": ("abc401_b", HEAD + "int main() { int n; cin >> n; long long m = LLONG_MIN, x;"
                        " while (n--) { cin >> x; m = max(m, x); } cout << m << '\\n'; }", True),
    "max_crashes": ("abc401_b", HEAD + "int main() { int *p = nullptr; *p = 1; cout << 9; }", False),
    "add": ("3600", "class Solution {\npublic:\n    int add(int a, int b) { return a + b; }\n};", True),
    "add_wrong": ("3600", "class Solution {\npublic:\n    int add(int a, int b) { return a * b; }\n};", False),
}


def write() -> None:
    folder = MIRROR / "livecodebench-cpp"
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in SPLITS.items():
        (folder / f"test_{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    write()
