"""Arena-Hard (v0.1): 500 hard user prompts; an LLM judge compares each answer with gpt-4-0314's in
both orders (``skills.inference.pairwise_judge``, prompt ``judge/arena``), and the metric type
``arena`` turns the verdicts into a win rate with a bootstrap interval. Only the standard library is
imported here: every registry lookup imports this file.
"""

from skills.registry.spec import BenchmarkSpec, JudgeDefaults

BENCHMARK = BenchmarkSpec(
    name="arena-hard",
    eval_split="test",
    prompt_config="generic/default",
    metrics_type="arena",
    dataset_group="chat",
    judge=JudgeDefaults(
        model="gpt-4.1",
        server_type="openai",
        server_address="https://api.openai.com/v1",
        args=("++prompt_config=judge/arena", "++generation_key=judgement"),
        generation_module="skills.inference.pairwise_judge",
    ),
)

EXTENSIONS = {"metrics": {"arena": "skills.benchmarks.arena_hard.metrics:ArenaScorer"}}
