"""Prompt configs and message building (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills.config.errors import UsageError
from skills.inference.config import GenerateConfig
from skills.inference.prompts import PromptBuilder, load_prompt_config
from skills.resources import prompts_dir

ROW = {"problem": "What is 6*7?", "question": "Q?", "generation": "Answer: 42",
       "expected_answer": "42"}
SHIPPED = ["generic/default", "generic/math", "generic/general-boxed", "generic/hle",
           "eval/aai/mcq-4choices", "eval/aai/mcq-10choices", "eval/aai/mcq-4choices-boxed",
           "eval/aai/mcq-10choices-boxed", "judge/hle"]


def cfg(**kw) -> GenerateConfig:
    c = GenerateConfig(prompt_config=kw.pop("prompt_config", "generic/math"), prompt_set_dir="none", prompt_source="own")
    for k, v in kw.items():
        setattr(c, k, v)
    return c


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_prompts_fill(name):
    msgs = PromptBuilder(cfg(prompt_config=name)).messages(ROW, "in.jsonl:1")
    assert msgs[-1]["role"] == "user" and msgs[-1]["content"]
    assert "{" not in msgs[-1]["content"].replace("\\boxed{}", "").replace("\\boxed{X}", "")


def test_prompt_contents_match_graders():
    math = PromptBuilder(cfg()).messages(ROW, "x")[0]["content"]
    assert "\\boxed{}" in math and ROW["problem"] in math
    judge = PromptBuilder(cfg(prompt_config="judge/hle")).messages(ROW, "x")[0]["content"]
    for part in (ROW["problem"], ROW["generation"], ROW["expected_answer"], "Judgement:"):
        assert part in judge
    hle = PromptBuilder(cfg(prompt_config="generic/hle")).messages(ROW, "x")
    assert hle[0]["role"] == "system" and "Answer:" in hle[0]["content"] and "Confidence:" in hle[0]["content"]
    assert hle[1]["content"] == ROW["problem"]
    mcq = PromptBuilder(cfg(prompt_config="eval/aai/mcq-4choices")).messages(ROW, "x")[0]["content"]
    assert "Answer: X" in mcq
    boxed = PromptBuilder(cfg(prompt_config="eval/aai/mcq-10choices-boxed")).messages(ROW, "x")[0]["content"]
    assert "Answer: \\boxed{X}" in boxed


def test_system_message_none_empty_and_value():
    hle = "generic/hle"
    default = PromptBuilder(cfg(prompt_config=hle)).messages(ROW, "x")
    empty = PromptBuilder(cfg(prompt_config=hle, system_message="")).messages(ROW, "x")
    think = PromptBuilder(cfg(prompt_config="generic/math", system_message="/think")).messages(ROW, "x")
    none_math = PromptBuilder(cfg()).messages(ROW, "x")
    assert default[0]["role"] == "system" and default[0]["content"]
    assert empty[0] == {"role": "system", "content": ""} and len(empty) == 2
    assert think[0] == {"role": "system", "content": "/think"}
    assert [m["role"] for m in none_math] == ["user"]


def test_prompt_suffix_and_openai_format():
    msgs = PromptBuilder(cfg(prompt_suffix=" /no_think")).messages(ROW, "x")
    assert msgs[-1]["content"].endswith("What is 6*7? /no_think")
    c = cfg(prompt_format="openai", prompt_config=None, system_message="sys")
    row = {"messages": [{"role": "user", "content": "hi"}]}
    assert PromptBuilder(c).messages(row, "x") == [{"role": "system", "content": "sys"},
                                                  {"role": "user", "content": "hi"}]
    row = {"messages": [{"role": "system", "content": "old"}, {"role": "user", "content": "hi"}]}
    assert PromptBuilder(c).messages(row, "x")[0]["content"] == "sys"
    assert row["messages"][0]["content"] == "old"  # the input row is not modified
    with pytest.raises(UsageError, match="in.jsonl:3"):
        PromptBuilder(c).messages({"problem": "no messages"}, "in.jsonl:3")


def test_unknown_field_names_prompt_key_and_line():
    with pytest.raises(UsageError) as err:
        PromptBuilder(cfg(prompt_config="generic/default")).messages({"problem": "p"}, "data.jsonl:7")
    msg = err.value.message
    assert "data.jsonl:7" in msg and "'question'" in msg and "default.yaml" in msg


def test_few_shot_examples_and_paths(tmp_path: Path):
    path = tmp_path / "fs.yaml"
    path.write_text(
        "system: Be brief.\n"
        "few_shot_examples:\n  prefix: \"Examples:\\n\"\n  template: \"Q: {q} A: {a}\\n\"\n  suffix: \"---\\n\"\n"
        "examples:\n  - {q: '1+1', a: '2'}\n  - {q: '2+2', a: '4'}\n"
        "user: '{examples}Q: {problem}'\n")
    msgs = PromptBuilder(cfg(prompt_config=str(path))).messages(ROW, "x")
    assert msgs[0] == {"role": "system", "content": "Be brief."}
    assert msgs[1]["content"] == "Examples:\nQ: 1+1 A: 2\nQ: 2+2 A: 4\n---\nQ: What is 6*7?"
    one = PromptBuilder(cfg(prompt_config=str(path), few_shot_examples=1)).messages(ROW, "x")
    assert "2+2" not in one[1]["content"]


def test_missing_and_broken_configs(tmp_path: Path):
    with pytest.raises(UsageError, match="did you mean generic/math"):
        load_prompt_config("generic/maht")
    with pytest.raises(UsageError, match="not found"):
        load_prompt_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("user: 'unbalanced {problem'\n")
    with pytest.raises(UsageError, match="bad.yaml"):
        load_prompt_config(str(bad))
    assert (prompts_dir() / "generic" / "math.yaml").is_file()
