"""IFEval: 541 prompts with 834 verifiable instructions, graded by Google's official checker.

The checker is google-research's ``instruction_following_eval`` (as the reference runs it from a
clone), fetched at a pinned commit by ``ns prepare_data ifeval`` into ``<data_dir>/ifeval/google-research``
and run in the grader environment ``ifbench`` (nltk 3.9.2 shared with IFBench, plus langdetect,
immutabledict and absl-py). Metric type ``if`` (strict / loose, prompt / instruction level) is
IFBench's. Only the standard library is imported here: every registry lookup imports this file.
"""

from skills.registry.spec import BenchmarkSpec, GradingInput

CODE_PROBES = ("instruction_following_eval/evaluation_lib.py", "instruction_following_eval/instructions.py",
               "instruction_following_eval/instructions_registry.py",
               "instruction_following_eval/instructions_util.py")
NLTK_PROBES = ("tokenizers/punkt_tab/english",)

BENCHMARK = BenchmarkSpec(
    name="ifeval",
    eval_split="test",
    prompt_config="generic/default",
    eval_type="if",
    metrics_type="if",
    generation_args=("++generation_key=response",),
    grading_inputs=(
        GradingInput("ifeval/google-research", "code_dir", "run `ns prepare_data ifeval` (fetches google-research's "
                     "instruction_following_eval) or pass ++eval_config.code_dir=DIR", contains=CODE_PROBES),
        GradingInput("nltk_data", "nltk_data", "run `ns prepare_data ifeval` (stages <data_dir>/nltk_data) "
                     "or pass ++eval_config.nltk_data=DIR", contains=NLTK_PROBES, env="NLTK_DATA"),
    ),
    dataset_group="chat",
)

EXTENSIONS = {
    "grader": {"if": "skills.benchmarks.ifeval.grader:GRADER"},
    "environment": {"ifeval": "skills.benchmarks.ifeval.environment:CHECKER_PACKAGES"},
}
