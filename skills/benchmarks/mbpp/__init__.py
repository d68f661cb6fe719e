"""MBPP+ (EvalPlus, v0.2.0): 378 sanitized MBPP problems, graded by the pinned EvalPlus on the
original tests (``passing_base_tests``) and EvalPlus's extra ones (``passing_plus_tests``).
The grader and metric type are the ``evalplus`` family's (``skills/benchmarks/evalplus``)."""

from skills.registry.spec import BenchmarkSpec, GradingInput

BENCHMARK = BenchmarkSpec(
    name="mbpp",
    prompt_config="generic/codegen",
    eval_type="evalplus",
    generation_args=("++eval_config.evalplus.dataset=mbpp",),
    metrics_type="evalplus",
    dataset_group="code",
    grading_inputs=(GradingInput("mbpp/MbppPlus-v0.2.0.jsonl", setting="problem_file",
                                 hint="run `ns prepare_data mbpp`"),),
)
