"""SuperGPQA: 26,529 graduate-level questions with up to 10 options in 13 disciplines; options shuffled at prepare time."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="supergpqa",
    eval_split="test",
    prompt_config="eval/aai/mcq-10choices",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)

HF_REPO = "m-a-p/SuperGPQA"
HF_FILE = "SuperGPQA-all.jsonl"
SPLITS = ("test", "science")  # "all" (the default) writes both
