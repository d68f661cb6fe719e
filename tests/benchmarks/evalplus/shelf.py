"""The code shelf's end-to-end data and the programs the tiny code-shelf model is trained to write.

Two HumanEval+ tasks, two MBPP+ tasks (from the data mirror, else the upstream downloads) and the
three LiveCodeBench-CPP fixture problems (their question worded with stand-in sentences: the wording
does not matter to the model, only that training and the test see the same text). Every program's
verdict is known: it was checked against the pinned EvalPlus / the C++ harness
(tests/benchmarks/evalplus/test_evalplus.py, tests/benchmarks/livecodebench_cpp).

    python -m tests.benchmarks.evalplus.shelf --data-dir DIR --questions FILE
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from skills.benchmarks.livecodebench.prepare import TEST_FIELDS
from skills.benchmarks.livecodebench_cpp.prepare import format_row
from skills.registry.spec import PrepareContext
from tests.benchmarks.livecodebench_cpp.helpers import HEAD, SPLITS

CPP_SPLIT = "v6_2408_2505"
WORDS = {"FORMATTING_MESSAGE_WITH_STARTER_CODE": "Use the starter code.", "FORMATTING_WITHOUT_STARTER_CODE": "Use stdin."}
# task_id -> (benchmark, fence language, program, verdict): (base, plus) for EvalPlus, passed for C++
PROGRAMS = {
    "HumanEval/2": ("human-eval", "python", "def truncate_number(number):\n    return number - int(number) + 1e-9",
                    (True, True)),
    "HumanEval/13": ("human-eval", "python", "def greatest_common_divisor(a, b):\n    return max(d for d in range(1, "
                     "min(a, b, 50) + 1) if a % d == 0 and b % d == 0)", (True, False)),
    "Mbpp/2": ("mbpp", "python", "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))",
               (True, True)),
    "Mbpp/3": ("mbpp", "python", "def is_not_prime(n):\n    return any(n % i == 0 for i in range(2, int(n ** 0.5)))",
               (False, False)),
    "abc400_a": ("livecodebench-cpp", "cpp", HEAD + "int main() { long long a, b; cin >> a >> b; cout << a + b << endl; }",
                 True),
    "abc401_b": ("livecodebench-cpp", "cpp", HEAD + "int main() { int *p = nullptr; *p = 1; cout << 9; }", False),
    "3600": ("livecodebench-cpp", "cpp", "class Solution {\npublic:\n    int add(int a, int b) { return a + b; }\n};", True),
}


def answer(task_id: str) -> str:
    _, lang, program, _ = PROGRAMS[task_id]
    return f"```{lang}\n{program}\n```"


def write_data(data: Path, mirror) -> None:
    """``<data>/{human-eval,mbpp}`` prepared and cut to the chosen tasks; ``<data>/livecodebench-cpp``."""
    from skills.benchmarks.human_eval.prepare import prepare as prepare_human_eval
    from skills.benchmarks.mbpp.prepare import prepare as prepare_mbpp

    for bench, prepare in (("human-eval", prepare_human_eval), ("mbpp", prepare_mbpp)):
        prepare(PrepareContext(data_dir=data, mirror=Path(mirror) if mirror else None))
        split = data / bench / "test.jsonl"
        keep = [ln for ln in split.read_text().splitlines(keepends=True)
                if PROGRAMS.get(json.loads(ln)["task_id"], ("",))[0] == bench]
        split.write_text("".join(keep))
    folder = data / "livecodebench-cpp"
    folder.mkdir(parents=True, exist_ok=True)
    rows = SPLITS[CPP_SPLIT]
    (folder / f"{CPP_SPLIT}.jsonl").write_text("".join(json.dumps(format_row(r, CPP_SPLIT, WORDS)) + "\n" for r in rows))
    (folder / f"{CPP_SPLIT}.tests.jsonl").write_text("".join(json.dumps({k: r[k] for k in TEST_FIELDS}) + "\n"
                                                             for r in rows))


def questions(data: Path) -> list:
    out = []
    for bench, name in (("human-eval", "test"), ("mbpp", "test"), ("livecodebench-cpp", CPP_SPLIT)):
        for line in (data / bench / f"{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            out.append({"task_id": row["task_id"], "question": row["question"], "answer": answer(row["task_id"])})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    args = ap.parse_args()
    write_data(args.data_dir, os.environ.get("SKILLS_DATA_MIRROR"))
    rows = questions(args.data_dir)
    assert sorted(r["task_id"] for r in rows) == sorted(PROGRAMS), rows
    args.questions.parent.mkdir(parents=True, exist_ok=True)
    args.questions.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
