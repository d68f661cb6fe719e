"""The judge's request body is the reference's (pipeline.md 4.2) for OpenAI reasoning and
non-reasoning judges and for a self-hosted (vLLM) judge: HLE judged through `ns eval` against stub
endpoints that record every body, compared with the body the reference's client rules give.

The reference's OpenAI client sends, for o-series / gpt-5 models, the messages (system as
``developer``), ``max_completion_tokens`` and the seed, and no sampling fields; for other models it
adds temperature, top_p and ``presence_penalty`` = ``repetition_penalty`` (1.0 by default: what the
tutorials' gpt-4o judges get). A vLLM judge gets the vLLM-family body (``max_tokens``,
``repetition_penalty``, ``min_p``, ``spaces_between_special_tokens``) and no presence_penalty.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.helpers.files import read_jsonl

from skills.cli.app import main
from skills.prompt_sets.fetch import fetch_prompt_set
from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import FIXTURES, NS

JUDGE_TEXT = "extracted_final_answer: 42\nJudgement: yes"


@pytest.fixture(scope="module")
def hle_data(tmp_path_factory, mirror_dir) -> Path:
    data = tmp_path_factory.mktemp("data")
    env = os.environ.pop("SKILLS_DATA_MIRROR", None)
    try:
        assert main(["prepare_data", "hle", f"--data_dir={data}", f"--mirror={FIXTURES}",
                     "--no-prompts"]) == 0
    finally:
        if env is not None:
            os.environ["SKILLS_DATA_MIRROR"] = env
    fetch_prompt_set(data, None, mirror_dir)  # the reference's judge/hle wording
    return data


def judged_bodies(hle_data: Path, tmp_path: Path, judge_args: list) -> list:
    out = tmp_path / "out"
    record = tmp_path / "judge.jsonl"
    with StubProcess(answer="Reasoning... The answer is \\boxed{42}.") as gen, \
            StubProcess(answer=JUDGE_TEXT, record=record) as judge:
        res = subprocess.run(
            [NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={gen.base_url}", "--model=m",
             f"--judge_server_address={judge.base_url}", *judge_args, "--benchmarks=hle:1",
             f"--data_dir={hle_data}", f"--output_dir={out}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "OPENAI_API_KEY": "sk-x"})
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = read_jsonl(out / "tmp-eval-results" / "hle" / "output-rs0.jsonl")
    bodies = [json.loads(line)["body"] for line in record.read_text().splitlines()]
    assert len(bodies) == len(rows)
    return sorted(bodies, key=lambda b: b["messages"][-1]["content"]), rows


def reference_messages(hle_data: Path, rows: list) -> list:
    """judge/hle of the fetched reference set, filled as the reference fills it (str.format over the row)."""
    sets = list((hle_data / ".prompt-sets" / "nemo-skills").glob("*/config/judge/hle.yaml"))
    template = yaml.safe_load(sets[0].read_text())
    assert set(template) == {"user"}  # no system message to rename
    return sorted(([{"role": "user", "content": template["user"].format(**row)}] for row in rows),
                  key=lambda m: m[-1]["content"])


@pytest.mark.parametrize("model, reference", [
    ("o3-mini-20250131", {"seed": 0}),
    ("gpt-4o-20240806", {"seed": 0, "temperature": 0.0, "top_p": 0.95, "presence_penalty": 1.0}),
])
def test_openai_judge_body_is_the_reference_s(hle_data, tmp_path, model, reference):
    bodies, rows = judged_bodies(hle_data, tmp_path, ["--judge_server_type=openai", f"--judge_model={model}"])
    messages = reference_messages(hle_data, rows)
    assert bodies == [{"model": model, "messages": m, **reference} for m in messages]


def test_self_hosted_judge_body_is_the_reference_s(hle_data, tmp_path):
    bodies, rows = judged_bodies(hle_data, tmp_path, ["--judge_server_type=vllm", "--judge_model=judge-m",
                                                      "--extra_judge_args=++inference.tokens_to_generate=64"])
    messages = reference_messages(hle_data, rows)
    assert bodies == [{"model": "judge-m", "messages": m, "seed": 0, "temperature": 0.0, "top_p": 0.95,
                       "max_tokens": 64, "min_p": 0.0, "repetition_penalty": 1.0,
                       "spaces_between_special_tokens": False} for m in messages]
