"""Throughput of IFBench grading with the official checkers, warm (responses/s, strict + loose each).

Grades every IFBench prompt against several synthetic responses (the prompt echoed, plain prose,
upper case, one word per line, a bullet list with ``**``, prose wrapped in a preamble and a
sign-off, eight paragraphs of prose) in one process of the grader environment, after a warm-up pass that loads the package,
the NLTK models and every checker. Prints the import time, the warm-up time and the warm throughput. Not a test:
timings depend on the machine. Run from the repository root (it re-runs itself in .venv-ifbench):

    python tests/perf/bench_ifbench_grading.py [--data FILE] [--nltk_data DIR] [--repeat 2]

Defaults read the mirror: ``$SKILLS_DATA_MIRROR/ifbench/IFBench_test.jsonl`` and ``.../nltk_data``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[2]
PROSE = ("The committee reviewed the proposal carefully, and it decided that the new library would open "
         "next spring. Residents asked many questions about parking! Would the garden stay open? Yes. "
         "Funding came from 3 local groups and 2 grants, so the plan moved forward quickly.")


def responses(prompt: str) -> List[str]:
    words = PROSE.split()
    return [
        prompt,
        PROSE,
        PROSE.upper(),
        "\n".join(words),
        "\n".join(f"* **{w}**" for w in words[:12]),
        f"Sure! Here is my answer:\n{PROSE}\nHope this helps.",
        "\n\n".join([PROSE] * 8),  # ~330 words, the length of a real answer
    ]


def build_rows(data: Path, repeat: int) -> List[dict]:
    base = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    rows = []
    for r in range(repeat):
        for row in base:
            for v, text in enumerate(responses(row["prompt"])):
                prompt = f"{row['prompt']} [{r}.{v}]"  # distinct prompts: responses are looked up by prompt
                rows.append({**row, "key": f"{row['key']}.{r}.{v}", "prompt": prompt, "response": text})
    return rows


def main() -> int:
    mirror = Path(os.environ.get("SKILLS_DATA_MIRROR", ROOT.parent / "shared" / "datasets"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=mirror / "ifbench" / "IFBench_test.jsonl")
    p.add_argument("--nltk_data", type=Path, default=mirror / "nltk_data")
    p.add_argument("--repeat", type=int, default=2, help="copies of the 294 x 7 responses")
    args = p.parse_args()
    if importlib.util.find_spec("ifbench") is None:  # not in the grader environment yet
        from skills.config.interpreters import environment_python

        python = environment_python("ifbench")
        if python is None:
            sys.exit("no .venv-ifbench: run scripts/setup.sh")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        return subprocess.call([python, *sys.argv], env=env)

    from skills.benchmarks.ifbench import checkers

    t0 = time.perf_counter()
    checkers.library()
    t_import = time.perf_counter() - t0
    rows = build_rows(args.data, args.repeat)
    per_prompt = len(responses(""))
    warm = [dict(r) for r in rows[1::per_prompt]]  # prose on every prompt: every checker and NLTK model once
    t0 = time.perf_counter()
    checkers.grade(warm, "response", args.nltk_data)
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    checkers.grade(rows, "response", args.nltk_data)
    t_grade = time.perf_counter() - t0
    errors = sum(len(r.get("checker_errors", ())) for r in rows)
    followed = sum(r["strict_eval"]["follow_all_instructions"] for r in rows)
    print(f"import {t_import:.2f} s; warm-up ({len(warm)} responses) {t_warm:.2f} s")
    print(f"graded {len(rows)} responses ({sum(len(r['instruction_id_list']) for r in rows)} instructions, "
          f"strict + loose) in {t_grade:.2f} s: {len(rows) / t_grade:.0f} responses/s warm "
          f"({followed} prompts followed strictly, {errors} checker errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
