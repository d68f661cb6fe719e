"""The LLM math judge program (``--judge_generation_type=math_judge``) against the stub server: the
reference's prefilled verdicts, the predicted answer it extracts when a row has none, the judge
prompt from the fetched prompt set, and the judged line's fields."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skills.inference.math_judge import IDENTICAL, NO_ANSWER, prefilled_judgement
from tests.helpers.files import read_jsonl, write_jsonl
from tests.helpers.stub_server import StubProcess

PIN = "0b012df8a09cd4730d31b16e90a0d8f13d145fb8"


@pytest.mark.parametrize("predicted, expected, verdict", [
    (None, "5", NO_ANSWER), ("", "5", NO_ANSWER), ("5", "5", IDENTICAL), (" 5 \n", "5", IDENTICAL),
    (5, "5", IDENTICAL), ("5", " 5", IDENTICAL), ("5.0", "5", None), ("  ", "5", None), ("x", None, None),
])
def test_prefilled_verdicts(predicted, expected, verdict):
    # the reference's prefill_judgement: None/"" -> No; equal after str() and strip() -> Yes; else ask
    assert prefilled_judgement({"predicted_answer": predicted, "expected_answer": expected}) == verdict


def test_judge_program(tmp_path, reference_prompt_sets):
    rows = [
        {"problem": "p0", "expected_answer": "5", "predicted_answer": None, "generation": "no box",
         "symbolic_correct": False, "num_generated_tokens": 7},
        {"problem": "p1", "expected_answer": "5", "predicted_answer": "5", "generation": "\\boxed{5}",
         "symbolic_correct": True, "num_generated_tokens": 8},
        {"problem": "p2", "expected_answer": "0.5", "predicted_answer": "1/2", "generation": "\\boxed{1/2}",
         "symbolic_correct": True, "num_generated_tokens": 9},
        {"problem": "p3", "expected_answer": "8", "generation": "so \\boxed{7}.", "num_generated_tokens": 10},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    record = tmp_path / "requests.jsonl"
    prompt_set = reference_prompt_sets / "nemo-skills" / PIN
    with StubProcess(answer="Reasoning: compared.\nJudgement: Yes", record=record) as stub:
        res = subprocess.run(
            [sys.executable, "-m", "skills.inference.math_judge", "++server.server_type=vllm",
             f"++server.base_url={stub.base_url}", "++server.model=judge", f"++input_file={src}",
             f"++output_file={out}", f"++prompt_set_dir={prompt_set}"],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                                          "SKILLS_PROMPT_SOURCE": "reference"})
    assert res.returncode == 0, res.stderr
    judged = read_jsonl(out)
    assert [r["judgement"] for r in judged] == [NO_ANSWER, IDENTICAL, "Reasoning: compared.\nJudgement: Yes",
                                                "Reasoning: compared.\nJudgement: Yes"]
    # only the two undecided rows reach the model, with the fetched judge/math prompt filled from the row
    sent = [r["body"]["messages"] for r in read_jsonl(record) if "messages" in (r.get("body") or {})]
    template = yaml.safe_load((prompt_set / "config" / "judge" / "math.yaml").read_text())["user"]
    assert sorted(sent, key=str) == [
        [{"role": "user", "content": template.format(problem="p2", predicted_answer="1/2", expected_answer="0.5")}],
        [{"role": "user", "content": template.format(problem="p3", predicted_answer="7", expected_answer="8")}],
    ]
    assert judged[3]["predicted_answer"] == "7"  # extracted from the generation, kept in the judged line
    for line, row in zip(judged, rows):
        assert list(line)[0] == "judgement"
        assert {k: line[k] for k in row} == row  # the generation's fields, its token count included
        assert "generation_time" not in line and line["judgement_prompt_source"] == f"nemo-skills@{PIN}"
    assert Path(f"{out}.done").exists()
