"""A tiny BigCodeBench mirror (``tests/fixtures/bigcodebench/bigcodebench/data/v0.1.4-00000-of-00001.parquet``):
invented tasks in the dataset's columns, standard library only (the library stack installs on Python
3.10 only). ``python -m tests.benchmarks.bigcodebench.helpers`` rewrites the file."""

from __future__ import annotations

from tests.helpers.paths import FIXTURES

MIRROR = FIXTURES
PARQUET = MIRROR / "bigcodebench" / "bigcodebench" / "data" / "v0.1.4-00000-of-00001.parquet"
STARTER = "You should write self-contained code starting with:"


def task(i, doc, imports, body, tests):
    code_prompt = f"{imports}\ndef task_func(x):\n"
    return {"task_id": f"BigCodeBench/{i}",
            "complete_prompt": f"{imports}\n\ndef task_func(x):\n    \"\"\"\n    {doc}\n    \"\"\"\n",
            "instruct_prompt": f"{doc}\n    (an indented line)\n{STARTER}\n```\n{code_prompt}```",
            "canonical_solution": body, "code_prompt": code_prompt,
            "test": "import unittest\nclass TestCases(unittest.TestCase):\n" + "".join(
                f"    def test_{n}(self):\n        self.assertEqual(task_func({a!r}), {e!r})\n" for n, (a, e) in enumerate(tests)),
            "entry_point": "task_func", "doc_struct": "{}", "libs": f"[{imports.split()[-1]!r}]"}


TASKS = [
    task(0, "Return the factorial of x.", "import math", "    return math.factorial(x)\n", [(5, 120), (0, 1)]),
    task(1, "Return the words of x in reverse order, joined by single spaces.", "import re",
         "    return ' '.join(reversed(re.findall(r'\\S+', x)))\n", [("a b  c", "c b a"), ("", "")]),
]
PROGRAMS = {  # name -> (task_id, the model's code, passes)
    "factorial": ("BigCodeBench/0", "import math\ndef task_func(x):\n    return math.prod(range(1, x + 1))", True),
    "factorial_off": ("BigCodeBench/0", "import math\ndef task_func(x):\n    return math.prod(range(1, x))", False),
    "reverse": ("BigCodeBench/1", "def task_func(x):\n    return ' '.join(x.split()[::-1])", True),
    "reverse_raises": ("BigCodeBench/1", "def task_func(x):\n    raise RuntimeError(x)", False),
}


def write() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    PARQUET.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(TASKS), PARQUET)


if __name__ == "__main__":
    write()
