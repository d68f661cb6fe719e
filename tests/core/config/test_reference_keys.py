"""``++`` keys of the reference's generation program: implemented ones work against the stub server,
the others are refused with one line naming the reference key and what to use instead."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from skills.config.errors import UsageError
from skills.config.overrides import validate_overrides
from skills.inference.request_body import resolve_base_url
from skills.inference.config import GenerateConfig, ServerConfig
from skills.inference.context_retry import parse_context_error
from tests.helpers.stub_server import StubProcess, generate_cmd
from tests.helpers.files import read_jsonl


def _run(stub, tmp: Path, *overrides: str) -> subprocess.CompletedProcess:
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"problem": f"p{i}"}) + "\n" for i in range(2)))
    return subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={tmp / 'out.jsonl'}",
                                       "++prompt_config=generic/math", "++prompt_set_dir=none", "++prompt_source=own", *overrides),
                          cwd=tmp, capture_output=True, text=True, timeout=120)


def _bodies(record: Path):
    return read_jsonl(record) if record.exists() else []


def _rows(tmp: Path):
    return read_jsonl(tmp / "out.jsonl")


@pytest.mark.parametrize("token,words", [
    ("++server.ssh_server=me@login", ["server.ssh_server", "ssh -N -L", "server.base_url"]),
])
def test_reference_only_keys_are_refused_with_what_to_use(token, words):
    with pytest.raises(UsageError) as err:
        validate_overrides([token], GenerateConfig)
    assert all(w in err.value.message for w in words) and "\n" not in err.value.message


@pytest.mark.parametrize("token", ["++inference.timeout=null", "++inference.endpoint_type=responses",
                                   "++enable_litellm_cache=True", "++server.enable_soft_fail=True",
                                   "++server.context_limit_retry_strategy=reduce_generation", "++code_tags=qwen",
                                   "++server.use_v1_endpoint=False", "++server.num_special_tokens_budget=50",
                                   "++tool_modules=[PythonTool]", "++tool_overrides.PythonTool.exec_timeout_s=30",
                                   "++parallel_thinking.mode=genselect", "++parallel_thinking.window_size=4",
                                   "++parallel_thinking.genselect.prompt_config=openmath/genselect",
                                   "++code_execution=True", "++total_code_executions_in_prompt=[1,4]",
                                   "++override_max_code_executions=True",
                                   "++server.code_execution.max_code_executions=3"])
def test_reference_keys_are_accepted(token):
    assert validate_overrides([token], GenerateConfig) == [token]


def test_use_v1_endpoint():
    assert resolve_base_url(ServerConfig(host="h", port=1)) == "http://h:1/v1"
    assert resolve_base_url(ServerConfig(host="h", port=1, use_v1_endpoint=False)) == "http://h:1"


def test_context_error_texts():
    assert parse_context_error("This model's maximum context length is 4096 tokens. However, you requested 5000 "
                               "tokens (1000 in the messages, 4000 in the completion).") == (4096, 1000)
    assert parse_context_error("maximum context length is 40960 tokens and your request has 142 input tokens") == \
        (40960, 142)
    assert parse_context_error("The input (187537 tokens) is longer than the model's context length (131072 "
                               "tokens).") == (131072, 187537)
    assert parse_context_error("some other 400") is None


def test_reduce_generation_retries_once_with_what_fits(tmp_path):
    record = tmp_path / "req.jsonl"
    with StubProcess(answer="\\boxed{1}", record=record, max_context=50) as stub:
        res = _run(stub, tmp_path, "++inference.tokens_to_generate=100", "++server.enable_soft_fail=True",
                   "++server.context_limit_retry_strategy=reduce_generation", "++server.num_special_tokens_budget=5",
                   "++max_concurrent_requests=1")
        assert res.returncode == 0, res.stderr
        # each row: one request too long for the context, one retry with what fits (50 - 5 - 10 prompt)
        assert sorted(b["body"]["max_tokens"] for b in _bodies(record)) == [35, 35, 100, 100]
        assert [r["generation"] for r in _rows(tmp_path)] == ["\\boxed{1}"] * 2
        # soft fail without a strategy: the line records the error, the run goes on
        res = _run(stub, tmp_path, "++inference.tokens_to_generate=100", "++server.enable_soft_fail=True")
        assert res.returncode == 0, res.stderr
        rows = _rows(tmp_path)
        assert all(r["finish_reason"] == "error" and "maximum context length" in r["error"] for r in rows)
        # neither: the run stops (exit 1), as before
        assert _run(stub, tmp_path, "++inference.tokens_to_generate=100").returncode == 1
    bad = _run(stub, tmp_path, "++server.context_limit_retry_strategy=reduce_prompt_from_start",
               "++server.enable_soft_fail=True")
    assert bad.returncode == 2 and "reduce_generation" in bad.stderr
    bad = _run(stub, tmp_path, "++start_assistant_response_key=generation")  # chat: refused, as in the reference
    assert bad.returncode == 2 and "endpoint_type=text" in bad.stderr


def test_responses_endpoint_timeout_null_and_litellm_cache(tmp_path):
    record = tmp_path / "req.jsonl"
    with StubProcess(answer="Answer: \\boxed{7}", record=record, reasoning_content="thinking") as stub:
        res = _run(stub, tmp_path, "++inference.endpoint_type=responses", "++inference.tokens_to_generate=64",
                   "++inference.timeout=null", "++enable_litellm_cache=True")
    assert res.returncode == 0, res.stderr
    assert "resume journal" in res.stderr
    sent = _bodies(record)
    assert {b["path"] for b in sent} == {"/v1/responses"}
    body = sent[0]["body"]
    assert body["input"][0]["role"] == "user" and "messages" not in body
    assert body["max_output_tokens"] == 64 and "max_tokens" not in body
    rows = _rows(tmp_path)
    assert rows[0]["generation"] == "Answer: \\boxed{7}" and rows[0]["reasoning_content"] == "thinking"
    assert rows[0]["finish_reason"] == "completed" and rows[0]["num_generated_tokens"] == 2
