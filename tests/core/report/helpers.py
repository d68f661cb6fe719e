"""Hand-made result folders with known answers, for ``ns compare`` and ``ns report`` tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, Optional

Correct = Callable[[int, int], bool]  # (problem, seed) -> correct?


def write_run(root: Path, bench: str, problems: int, seeds: int, correct: Correct,
              row_extra: Optional[Callable[[int, int], Dict[str, Any]]] = None) -> Path:
    """``<root>/eval-results/<bench>/output-rs<s>.jsonl`` (``output.jsonl`` when ``seeds == 0``):
    multiple-choice rows whose ``symbolic_correct`` is ``correct(problem, seed)``."""
    folder = root / "eval-results" / bench
    folder.mkdir(parents=True, exist_ok=True)
    names = ["output.jsonl"] if seeds == 0 else [f"output-rs{s}.jsonl" for s in range(seeds)]
    for s, name in enumerate(names):
        with open(folder / name, "w") as f:
            for i in range(problems):
                ok = correct(i, s)
                expected = "ABCD"[i % 4]
                wrong = "ABCD"[(i + 1) % 4]
                row: Dict[str, Any] = {
                    "problem": f"Question {i}: which letter is number {i % 4}?\n\nA) a\nB) b\nC) c\nD) d",
                    "expected_answer": expected,
                    "subset_for_metrics": "even" if i % 2 == 0 else "odd",
                    "generation": f"Let me think about question {i}. The answer is {expected if ok else wrong}.",
                    "predicted_answer": expected if ok else wrong,
                    "symbolic_correct": ok,
                    "num_generated_tokens": 100 + 10 * i + s,
                    "finish_reason": "stop",
                }
                if row_extra is not None:
                    row.update(row_extra(i, s))
                f.write(json.dumps(row) + "\n")
    return root


LONG = "Step. " * 1000  # 6000 characters: longer than the page's 2000-character preview


def sample_extra(i: int, s: int) -> Dict[str, Any]:
    """Rows with the fields a drill-down shows: reasoning, long texts, truncated samples."""
    extra: Dict[str, Any] = {"reasoning_content": f"Thinking about problem {i} in seed {s}..."}
    if i == 0:
        extra["generation"] = LONG + "The answer is A."
    if i == 5 and s == 1:
        extra["finish_reason"] = "length"
    return extra


def make_report_runs(root: Path) -> Dict[str, Path]:
    """Run A (gpqa 4 seeds, hle 2 seeds judged, math-500 greedy) and a better run B (gpqa only)."""
    a, b = root / "a", root / "b"
    write_run(a, "gpqa", 120, 4, lambda i, s: (i + s) % 3 != 0, row_extra=sample_extra)
    write_run(b, "gpqa", 120, 4, lambda i, s: (i + s) % 5 != 0 and i % 7 != 3, row_extra=sample_extra)
    judged = lambda i, s: {"judgement": f"Judgement: {'yes' if (i + s) % 2 else 'no'}\nThe answers match."}  # noqa: E731
    write_run(a, "hle", 30, 2, lambda i, s: i % 3 == 0, row_extra=judged)
    write_run(a, "math-500", 40, 0, lambda i, s: i % 4 != 0)
    return {"a": a, "b": b}
