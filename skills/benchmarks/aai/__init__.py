"""``aai``: the Artificial Analysis Intelligence Index preset (methodology v2.2, August 2025) as the
reference defines it: eight members with its per-member settings, and the index as its group score.

``ns eval --benchmarks=aai`` runs mmlu-pro and hle greedily (hle with its judge), gpqa greedily,
aime25 with 10 seeds, scicode (``test_aai``) and livecodebench (``test_v5_2407_2412``) with 3,
ifbench with 5 and aalcr (judged) with 4, all at temperature 0; results go to
``eval-results/aai/<member>/`` and the group metrics job writes ``eval-results/aai/metrics.json``.

Member overrides replace the member's ``++`` arguments as in the reference; the member's grader
(``eval_type``) and IFBench's ``++generation_key=response`` are kept, which the reference lost when
it moved ``eval_type`` into its members' GENERATION_ARGS (its aai group then graded nothing).
"""

from skills.registry.spec import BenchmarkSpec

TEMPERATURE_0 = "++inference.temperature=0.0"

BENCHMARK = BenchmarkSpec(
    name="aai",
    is_group=True,
    members=("mmlu-pro", "hle", "gpqa", "aime25", "scicode", "livecodebench", "ifbench", "aalcr"),
    member_overrides={
        "mmlu-pro": {"GENERATION_ARGS": f"++prompt_config=eval/aai/mcq-10choices {TEMPERATURE_0}"},
        "hle": {"GENERATION_ARGS": TEMPERATURE_0, "JUDGE_ARGS": "++prompt_config=judge/hle ++generation_key=judgement"},
        "gpqa": {"GENERATION_ARGS": f"++prompt_config=eval/aai/mcq-4choices {TEMPERATURE_0}"},
        "aime25": {"GENERATION_ARGS": f"++prompt_config=eval/aai/math {TEMPERATURE_0}", "NUM_SAMPLES": 10},
        "scicode": {"GENERATION_ARGS": TEMPERATURE_0, "EVAL_SPLIT": "test_aai", "NUM_SAMPLES": 3},
        "livecodebench": {"GENERATION_ARGS": f"++prompt_config=eval/aai/livecodebench {TEMPERATURE_0}",
                          "EVAL_SPLIT": "test_v5_2407_2412", "NUM_SAMPLES": 3},
        "ifbench": {"GENERATION_ARGS": f"++generation_key=response ++prompt_config=generic/default {TEMPERATURE_0}",
                    "EVAL_SPLIT": "test", "NUM_SAMPLES": 5},
        "aalcr": {"GENERATION_ARGS": TEMPERATURE_0, "NUM_SAMPLES": 4},
    },
    score_module="aai",
)

EXTENSIONS = {
    "group_score": {
        "aai": "skills.benchmarks.aai.score:SCORE",
        "aai-all-seeds": "skills.benchmarks.aai.score:ALL_SEEDS",
        # the module reference-style data dirs name
        "nemo_skills.dataset.aai.aai_score": "skills.benchmarks.aai.score:SCORE",
    },
}
