"""FLORES-200 (FLORES+ on Hugging Face): every ordered pair of 6 languages (en de es fr it ja),
1,012 ``devtest`` sentences each, scored with corpus BLEU per pair (metric type ``translation``)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="flores200",
    eval_split="devtest",
    metrics_type="translation",
    generation_args=("++prompt_config=multilingual/segment-translation",),
    dataset_group="chat",
)

HF_REPO = "openlanguagedata/flores_plus"  # gated: accept its terms on huggingface.co, set HF_TOKEN
LANGUAGES = ("en", "de", "es", "fr", "it", "ja")
SPLITS = ("dev", "devtest")
