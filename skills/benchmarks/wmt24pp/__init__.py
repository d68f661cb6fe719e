"""WMT24++: English -> 5 languages by default (de_DE, es_MX, fr_FR, it_IT, ja_JP), 998 segments each,
scored with corpus BLEU per language pair (metric type ``translation``)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="wmt24pp",
    eval_split="test",
    metrics_type="translation",
    generation_args=("++prompt_config=multilingual/segment-translation",),
    dataset_group="chat",
)

HF_REPO = "google/wmt24pp"
TARGET_LANGUAGES = ("de_DE", "es_MX", "fr_FR", "it_IT", "ja_JP")
