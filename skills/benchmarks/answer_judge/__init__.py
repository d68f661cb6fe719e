"""answer-judge: a meta-benchmark for LLM judges. The evaluated model plays the math judge
(``judge/math``) on 12 (problem, expected answer, predicted answer) triples whose right verdict is
known; the metric type ``answer-judgement`` scores its verdicts (accuracy, false positives and
negatives, precision, recall, F1)."""

from skills.registry.spec import BenchmarkSpec

BENCHMARK = BenchmarkSpec(
    name="answer-judge",
    eval_split="test",
    metrics_type="answer-judgement",
    generation_args=("++prompt_config=judge/math", "++generation_key=judgement"),
    dataset_group="math",
)

EXTENSIONS = {"metrics": {"answer-judgement": "skills.benchmarks.answer_judge.metrics:AnswerJudgementScorer"}}

UPSTREAM_PREPARE = "nemo_skills/dataset/answer-judge/prepare.py"  # its `data` list is the benchmark
