"""Humanity's Last Exam (text-only): graded by an LLM judge, plus boxed-answer symbolic check."""

from skills.benchmarks.base import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="hle",
    eval_split="text",
    prompt_config="generic/hle",
    eval_type="math",
    metrics_type="hle",
    dataset_group="math",
    judge=JudgeDefaults(
        model="o3-mini-20250131",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        args=("++prompt_config=judge/hle", "++generation_key=judgement", "++add_generation_stats=False"),
    ),
    description="HLE text-only questions (cais/hle, gated)",
)
