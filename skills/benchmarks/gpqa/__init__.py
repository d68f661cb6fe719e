"""GPQA diamond: 198 four-option science questions; options shuffled deterministically at prepare time."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="gpqa",
    eval_split="diamond",
    prompt_config="eval/aai/mcq-4choices",
    eval_type="multichoice",
    metrics_type="multichoice",
    dataset_group="multichoice",
)

HF_REPO = "Idavidrein/gpqa"
SPLITS = ("diamond", "main", "extended")  # "all" writes the three, in the reference's order below
ALL_ORDER = ("extended", "main", "diamond")

