"""Omni-MATH: 4,428 olympiad-level problems (KbsdJames/Omni-MATH), graded by the math grader and by
the reference's LLM math judge (``math_judge``): many answers (intervals, sets, expressions in
words) cannot be compared symbolically, so the judge's ``judge_correct`` is the score.

The judge defaults are the reference's JUDGE_PIPELINE_ARGS: ``gpt-4.1`` through the OpenAI API
(``OPENAI_API_KEY``), or any ``--judge_*`` option for a self-hosted judge (docs/judge.md).

Beyond the recipe of docs/architecture.md, this benchmark needed the math judge itself: a core
program (``skills.inference.math_judge``, ``generation_type=math_judge``) and the judge columns of
the core math metrics, both usable by any math benchmark; this package only names the program in
its ``JudgeDefaults``.
"""

from skills.registry.spec import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="omni-math",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
    judge=JudgeDefaults(
        model="gpt-4.1",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        generation_type="math_judge",
    ),
)

UPSTREAM_FILE = "Omni-Math.jsonl"
URL = f"https://raw.githubusercontent.com/KbsdJames/Omni-MATH/refs/heads/main/{UPSTREAM_FILE}"
