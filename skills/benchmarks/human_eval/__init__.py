"""HumanEval+ (EvalPlus, v0.1.9): 164 Python functions from docstrings, graded by the pinned EvalPlus
on the original tests (``passing_base_tests``) and EvalPlus's extra ones (``passing_plus_tests``).
The grader and metric type are the ``evalplus`` family's (``skills/benchmarks/evalplus``)."""

from skills.registry.spec import BenchmarkSpec, GradingInput

BENCHMARK = BenchmarkSpec(
    name="human-eval",
    prompt_config="generic/codegen",
    eval_type="evalplus",
    generation_args=("++eval_config.evalplus.dataset=humaneval",),
    metrics_type="evalplus",
    dataset_group="code",
    grading_inputs=(GradingInput("human-eval/HumanEvalPlus-v0.1.9.jsonl", setting="problem_file",
                                 hint="run `ns prepare_data human-eval`"),),
)
