"""Minerva Math (OCWCourses): 272 MIT OpenCourseWare problems, as Qwen2.5-Math ships them.

Beyond the walkthrough: preparation imports the math grader (``skills.evaluation.math_grader``),
since the upstream file has no answer field and the reference takes it from the solution's last
``\\boxed{}`` with that same extraction.
"""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="minerva_math",
    eval_split="test",
    prompt_config="generic/math",
    eval_type="math",
    metrics_type="math",
    dataset_group="math",
)
