"""EvalPlus (HumanEval+ and MBPP+): the graders and metric type that ``human-eval`` and ``mbpp``
share. Not a benchmark itself; the two benchmark packages declare themselves and name this family's
grader (``evalplus``) and metric type (``evalplus``).

Grading follows the reference: EvalPlus at the reference's pin (``evalplus@c91370f``, installed in
the sandbox's environment from the pinned source) decides every verdict, base tests and plus tests,
with its own per-input time limits and special oracles; every program, the canonical solutions that
give the expected outputs included, runs in the code sandbox. See docs/benchmarks.md.
"""

from typing import Dict

EXTENSIONS = {
    "grader": {"evalplus": "skills.benchmarks.evalplus.grader:GRADER"},
    "metrics": {"evalplus": "skills.benchmarks.evalplus.metrics:EvalPlusScorer"},
    "environment": {"sandbox+evalplus": "skills.benchmarks.evalplus.environment:SANDBOX_PACKAGES"},
    "upstream": {"evalplus": "skills.benchmarks.evalplus.environment:EVALPLUS"},
    "test_model": {"tiny-code-shelf": "skills.benchmarks.evalplus.environment:TEST_MODEL"},
}

# The datasets of the pinned EvalPlus: its name for each (``--dataset``), our benchmark's folder,
# the release file it downloads, its version, and the md5 of the plain file (EvalPlus's dataset hash).
DATASETS: Dict[str, Dict[str, str]] = {
    "humaneval": {"benchmark": "human-eval", "name": "HumanEvalPlus", "version": "v0.1.9",
                  "md5": "84f4b93a1270b492e4c54d5212da7a5b"},
    "mbpp": {"benchmark": "mbpp", "name": "MbppPlus", "version": "v0.2.0",
             "md5": "ee43ecabebf20deef4bb776a405ac5b1"},
}


def release_url(dataset: str) -> str:
    d = DATASETS[dataset]
    return (f"https://github.com/evalplus/{d['name'].lower()}_release/releases/download/{d['version']}/"
            f"{d['name']}.jsonl.gz")


def problems_file_name(dataset: str) -> str:
    """The plain problems file, named as EvalPlus caches it (``HumanEvalPlus-v0.1.9.jsonl``)."""
    d = DATASETS[dataset]
    return f"{d['name']}-{d['version']}.jsonl"
