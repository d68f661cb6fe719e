"""``ns eval --benchmarks=aime24:2 ++code_execution=True`` end to end on this machine: the tiny
model on the session's vLLM (CPU) server, the code sandbox as the job's sidecar (planned because
code execution is on), the math grader and the metrics.

The tiny model knows only its toy problems (``The answer is \\boxed{N}.``), so aime24's file holds
toy rows and the code tags (a ``.yaml`` path, as ``++code_tags`` accepts besides the prompt set's
names) make ``\\boxed{`` open a code block and ``}`` close it: vLLM stops at ``}`` (the stop phrase
every request carries), the loop appends it, the block ``N`` runs in the sandbox's IPython, whose
display of the last expression is ``N``, and the model is asked to continue after the output.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.commands import ns
from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES, TOY_DATA

pytestmark = pytest.mark.slow
TOY_PROMPT = FIXTURES / "toy" / "prompt.yaml"
ROWS = 4


def test_aime24_with_code_execution_through_vllm_and_the_sandbox(vllm_server, tiny_model, reference_prompt_sets,
                                                                   tmp_path):
    data = tmp_path / "data"
    (data / "aime24").mkdir(parents=True)
    toy = read_jsonl(TOY_DATA / "toy_math" / "test.jsonl")[:ROWS]
    (data / "aime24" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in toy))
    (data / ".prompt-sets").symlink_to(reference_prompt_sets)
    tags = tmp_path / "boxed-tags.yaml"
    tags.write_text('code_begin: "\\\\boxed{"\ncode_end: "}"\ncode_output_begin: "\\n```output\\n"\n'
                    'code_output_end: "```\\n"\ncode_output_format: qwen\n')
    out = tmp_path / "out"
    res = ns("eval", "--cluster=local", *vllm_server.address_args(), "--benchmarks=aime24:2", f"--data_dir={data}",
             f"--output_dir={out}", f"++prompt_config={TOY_PROMPT}", "++inference.temperature=0.0",
             "++inference.tokens_to_generate=24", "++code_execution=True", f"++code_tags={tags}",
             "++server.code_execution.max_code_executions=1", cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]

    trained = json.loads((tiny_model / "trained_outcomes.json").read_text())["toy_math"]
    for seed in (0, 1):
        path = out / "eval-results" / "aime24" / f"output-rs{seed}.jsonl"
        assert path.with_name(path.name + ".done").exists()
        rows = read_jsonl(path)
        assert [r["id"] for r in rows] == [t["id"] for t in toy]
        for row in rows:
            answer = trained[row["id"]]["generation"]  # The answer is \boxed{N}.
            number = answer[answer.index("{") + 1:answer.index("}")]
            first = f"The answer is \\boxed{{{number}}}\n```output\n{number}\n```\n"  # stopped at }, block run
            assert row["generation"].startswith(first + "\n"), row["generation"]  # then the model's next turn
            assert row["code_rounds_executed"] == 1 and row["num_code_timeouts"] == 0
            assert row["symbolic_correct"] == trained[row["id"]]["correct"] or "\\boxed{" in row["generation"][len(first):]
    logs = list((out / "eval-logs").rglob("*sandbox*"))
    assert logs, "the sandbox sidecar left no log"
    metrics = json.loads((out / "eval-results" / "aime24" / "metrics.json").read_text())
    assert "aime24" in metrics
