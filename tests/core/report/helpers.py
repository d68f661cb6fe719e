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


SYSTEM = "You are a careful assistant."


def write_manifest(root: Path, benches: Dict[str, Dict[str, Any]], run_id: str = "20260101-000000-eval-1") -> Path:
    """``<root>/manifest.json`` and ``<root>/manifests/<run>.json`` as ``ns eval`` writes them
    (``skills.pipeline.manifest``), for benchmarks {name: {"overrides": [...], "seeds": [...]}}."""
    import hashlib

    from skills.resources import prompts_dir

    entries = {}
    for name, spec in benches.items():
        config = next(o.split("=", 1)[1] for o in spec["overrides"] if o.startswith("++prompt_config="))
        prompt = prompts_dir() / f"{config}.yaml"
        entries[name] = {
            "split": "test", "data": {"file": f"/data/{name}/test.jsonl", "sha256": "ab" * 32, "rows": 120},
            "prompt_config": config, "examples_type": None, "overrides": spec["overrides"], "seeds": spec["seeds"],
            "model": "/models/tiny", "generation_module": "skills.inference.generate", "eval_type": "multichoice",
            "metrics_type": "multichoice",
            "prompt": {"config": config, "file": str(prompt), "sha256": hashlib.sha256(prompt.read_bytes()).hexdigest(),
                       "source": "skills-builtin"},
        }
    record = {
        "run": run_id, "started": "2026-01-01T00:00:00+0000", "finished": "2026-01-01T01:02:03+0000", "exit_code": 0,
        "command": "ns eval --cluster=local --model=/models/tiny --benchmarks=gpqa:4 ++inference.temperature=0.6",
        "expname": "eval", "cluster": "local", "executor": "local", "git_commit": "c0ffee" * 6 + "abcd",
        "git_dirty": False, "packages": {"skills": "0.1.0", "vllm (server)": "0.32.0"},
        "server": {"type": "vllm", "model": "/models/tiny", "args": "--max-model-len 2048", "gpus": 1, "nodes": 1,
                   "command": "python -m vllm.entrypoints.openai.api_server"},
        "benchmarks": entries, "jobs": [],
    }
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "manifests" / f"{run_id}.json").write_text(json.dumps(record))
    merged = {"runs": [run_id], "benchmarks": {k: {**v, "run": run_id} for k, v in entries.items()}, "files": {}}
    (root / "manifest.json").write_text(json.dumps(merged))
    return root


def make_report_runs(root: Path) -> Dict[str, Path]:
    """Run A (gpqa 4 seeds, hle 2 seeds judged, math-500 greedy) and a better run B (gpqa only);
    both with a run manifest for gpqa (its prompt: our generic/math, with a system message)."""
    a, b = root / "a", root / "b"
    write_run(a, "gpqa", 120, 4, lambda i, s: (i + s) % 3 != 0, row_extra=sample_extra)
    write_run(b, "gpqa", 120, 4, lambda i, s: (i + s) % 5 != 0 and i % 7 != 3, row_extra=sample_extra)
    judged = lambda i, s: {"judgement": f"Judgement: {'yes' if (i + s) % 2 else 'no'}\nThe answers match."}  # noqa: E731
    write_run(a, "hle", 30, 2, lambda i, s: i % 3 == 0, row_extra=judged)
    write_run(a, "math-500", 40, 0, lambda i, s: i % 4 != 0)
    overrides = ["++prompt_config=generic/math", "++eval_type=multichoice", f"++system_message={SYSTEM}",
                 "++inference.temperature=0.6", "++inference.tokens_to_generate=2048"]
    for root_dir in (a, b):
        write_manifest(root_dir, {"gpqa": {"overrides": overrides, "seeds": [0, 1, 2, 3]}})
    return {"a": a, "b": b}
