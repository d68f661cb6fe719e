"""BFCL v3 generation program: config checks, both parsing modes, the multi-turn loop (holdout turns,
step limit, context errors) against a scripted client, the local chat template (checked against
transformers), the client parser, and the real executor in .venv-bfcl (confined)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests.helpers.paths import REPO_ROOT
from skills.benchmarks.bfcl_v3 import chat_template
from skills.benchmarks.bfcl_v3.generate import BFCLGenerateConfig, BFCLTask
from skills.benchmarks.bfcl_v3.parsers import skills_json
from skills.config.errors import UsageError
from skills.inference.client import Completion, GenerationError
from skills.inference.program import load_config

TOOLS = [{"type": "function", "function": {"name": "ls", "description": "list", "parameters": {
    "type": "object", "properties": {"a": {"type": "boolean"}}}}}]
TEMPLATE = (  # a small tool-aware template of our own, in the style of real ones
    "{% if tools %}<|im_start|>system\nTools:{% for t in tools %} {{ t.function.name }}"
    "{{ t.function.parameters | tojson }}{% endfor %}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.content %}{{ m.content }}{% endif %}"
    "{% for c in m.tool_calls or [] %}{% set f = c.function if c.function is defined else c %}"
    "<call>{{ f.name }} {{ f.arguments | tojson }}</call>{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}{{ eos_token }}")


def config(*overrides: str) -> BFCLGenerateConfig:
    cfg = load_config(["++output_file=/dev/null", *overrides], BFCLGenerateConfig, check=False)
    BFCLTask.check(cfg)
    return cfg


# ------------------------------------------------------------------------------------------- config
@pytest.mark.parametrize("overrides, error", [
    ([], r"needs exactly one of \+\+model_name"),
    (["++model_name=x", "++client_parser=skills_json"], "needs exactly one of"),
    (["++client_parser=skills_json"], r"give \+\+inference.tokens_to_generate"),
    (["++client_parser=nope", "++inference.tokens_to_generate=8"], "unknown client_parser 'nope'"),
    (["++use_client_parsing=False", "++client_parser=skills_json"], "only applies to client-side parsing"),
    (["++use_client_parsing=False", "++prompt_config=generic/math"], r"drop \+\+prompt_config"),
    (["++use_client_parsing=False", "++inference.endpoint_type=text", "++inference.tokens_to_generate=8"],
     "leave inference.endpoint_type"),
])
def test_config_errors(overrides, error):
    with pytest.raises(UsageError, match=error):
        config(*overrides)


def test_config_ok():
    assert config("++use_client_parsing=False").prompt_format == "ns"  # no prompt config needed
    cfg = config("++model_name=Qwen/Qwen3-8B", "++inference.tokens_to_generate=64")
    from skills.benchmarks.bfcl_v3.generate import model_name

    assert model_name(cfg) == "Qwen/Qwen3-8B-FC"  # the function-calling handler, as the reference assumes


def test_member_specs_and_plan(tmp_path, capsys):
    from skills.registry.benchmarks import get_benchmark, group_members
    from skills.cli.app import main

    group = get_benchmark("bfcl_v3")
    assert group.is_group and len(group_members(group)) == 17
    spec = get_benchmark("bfcl_v3.multi_turn_miss_func")
    assert (spec.eval_type, spec.metrics_type, spec.generation_module) == (
        "bfcl", "bfcl", "skills.benchmarks.bfcl_v3.generate")
    with pytest.raises(UsageError, match="unknown member 'bfcl_v3.nope'"):
        get_benchmark("bfcl_v3.nope")
    data = tmp_path / "data"
    for m in group.members:
        (data / "bfcl_v3" / m.split(".")[1]).mkdir(parents=True)
        (data / "bfcl_v3" / m.split(".")[1] / "test.jsonl").write_text("{}\n")
    argv = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1", "--model=m",
            "--benchmarks=bfcl_v3", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--dry_run",
            "--dry_run_format=json", "++use_client_parsing=False"]
    assert main(argv) == 0
    jobs = {j["name"]: j for j in json.loads(capsys.readouterr().out)["jobs"]}
    gen = next(j for j in jobs.values() if j["kind"] == "generation")
    name = gen["name"]  # 17 member names: cut as the reference cuts long task names
    assert name.startswith("eval-bfcl_v3.simple-bfcl_v3.parallel-") and name.endswith("-name-cut") and len(name) == 109
    # 17 runs of the member's program (in lanes: `-m skills.inference.lane --run <module> ...`)
    assert len(re.findall(r"(?:-m|--run) skills\.benchmarks\.bfcl_v3\.generate ", gen["commands"][0])) == 17
    assert "++eval_type=bfcl" in gen["commands"][0] and "++skip_grading=True" in gen["commands"][0]
    grade = jobs["eval-bfcl_v3-grade"]  # one grading step for the 17 members (bfcl-eval imported once)
    assert "--eval_type bfcl" in grade["commands"][0] and len(grade["benchmarks"]) == 17
    assert "eval-results/bfcl_v3/bfcl_v3.simple/output.jsonl" in grade["commands"][0]
    score = jobs["eval-bfcl_v3-compute-score"]
    assert "--score_module bfcl_v3" in score["commands"][0] and len(score["dependencies"]) == 17
    assert main(argv[:-1]) == 2  # client-side parsing (the default) without a model name
    assert "needs exactly one of ++model_name" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- parsers
def test_skills_json_parser():
    call = '<tool_calls>[{"name": "ls", "arguments": {"a": true}}, {"name": "cd", "arguments": {"folder": "x"}}]'
    assert skills_json("Sure. " + call) == {"role": "assistant", "content": "Sure.", "tool_calls": [
        {"name": "ls", "arguments": {"a": True}}, {"name": "cd", "arguments": {"folder": "x"}}]}
    assert skills_json("plain text") == {"role": "assistant", "content": "plain text"}
    truncated = '<tool_calls>[{"name": "ls", "argu'
    assert skills_json(truncated) == {"role": "assistant", "content": truncated}
    assert "tool_calls" not in skills_json('<tool_calls>[1, "x"]')


# ------------------------------------------------------------------------------------------- chat template
def write_tokenizer(folder: Path, template: str = TEMPLATE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "chat_template": template, "eos_token": {"content": "<|im_end|>"}, "bos_token": None,
        "tokenizer_class": "PreTrainedTokenizerFast"}))
    return folder


HISTORY = [{"role": "user", "content": "List files"},
           {"role": "assistant", "content": None, "tool_calls": [{"name": "ls", "arguments": {"a": True}}]},
           {"role": "tool", "content": "a.txt", "tool_call_id": 0}]


def test_chat_template_render(tmp_path):
    folder = write_tokenizer(tmp_path / "tok")
    text = chat_template.render(str(folder), HISTORY, TOOLS)
    assert text.startswith('<|im_start|>system\nTools: ls{"type": "object", "properties": {"a": {"type": "boolean"}}}')
    assert '<call>ls {"a": true}</call>' in text and text.endswith("<|im_start|>assistant\n<|im_end|>")
    no_tools = chat_template.render(str(folder), HISTORY[:1], None, add_generation_prompt=False)
    assert no_tools == "<|im_start|>user\nList files<|im_end|>\n<|im_end|>"
    with pytest.raises(UsageError, match="no chat template"):
        chat_template.render(str(tmp_path), HISTORY, None)


def test_chat_template_matches_transformers(tmp_path, vllm_python):
    """Our rendering equals transformers' apply_chat_template (in the vLLM environment)."""
    folder = write_tokenizer(tmp_path / "tok", TEMPLATE.replace("{{ eos_token }}", "{% generation %}x{% endgeneration %}"
                                                                 "{{ raise_exception('no') if false }}"))
    ours = chat_template.render(str(folder), HISTORY, TOOLS)
    script = ("import json, sys; from transformers import PreTrainedTokenizerFast; from tokenizers import Tokenizer, "
              "models; t = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), eos_token='<|im_end|>'); "
              "t.chat_template = json.load(open(sys.argv[1]))['chat_template']; h, tools = json.load(sys.stdin); "
              "print(json.dumps(t.apply_chat_template(h, tools=tools, tokenize=False, add_generation_prompt=True)))")
    out = subprocess.run([str(vllm_python), "-c", script, str(folder / "tokenizer_config.json")], capture_output=True,
                         text=True, input=json.dumps([HISTORY, TOOLS]), timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == ours


# ------------------------------------------------------------------------------------------- the loop
class ScriptedClient:
    """Answers from a script: ``answer(request_index, body) -> Completion``; records every request."""

    def __init__(self, answer: Callable[[int, dict], Completion]):
        self.answer, self.requests = answer, []

    async def complete(self, cfg, messages=None, prompt=None, **fields):
        body = {"messages": json.loads(json.dumps(messages)) if messages is not None else None, "prompt": prompt,
                **fields}
        self.requests.append(body)
        result = self.answer(len(self.requests) - 1, body)
        if isinstance(result, Exception):
            raise result
        return result


class FakeWorker:
    """The executor's protocol without bfcl-eval: every call 'succeeds' with result r<n>."""

    isolation = "bwrap"

    def __init__(self, max_steps: int = 20):
        self.proc, self.calls, self.max_steps, self.incarnation = object(), [], max_steps, 1

    def call(self, op, **req):
        self.calls.append((op, req))
        if op == "constants":
            return {"max_steps": self.max_steps, "holdout_prompt": "HOLDOUT"}
        if op == "tools":
            return {"functions": req["functions"], "tools": [{"name": f["name"]} for f in req["functions"]]}
        if op == "execute":
            gen = req["generation"]
            if not isinstance(gen, list) or not gen:
                return {"calls": [], "_incarnation": self.incarnation}
            return {"calls": [list(c)[0] for c in gen], "results": [f"r{i}" for i in range(len(gen))],
                    "_incarnation": self.incarnation}
        return {}


def tool_call(name, args, i=0):
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def run_entry(task: BFCLTask, row: dict, client) -> dict:
    return asyncio.run(task.process(row, row, client))


MT_ROW = {"id": "multi_turn_miss_func_7", "single_turn": False, "initial_config": {}, "involved_classes": ["X"],
          "question": [[{"role": "user", "content": "first"}], [], [{"role": "user", "content": "third"}]],
          "function": [{"name": "ls"}], "tools": [{"name": "ls"}], "missed_function": {"1": [{"name": "cd"}]}}


def test_multi_turn_server_parsing():
    task = BFCLTask(config("++use_client_parsing=False"))
    task.worker = FakeWorker()

    def answer(i, body):  # per turn: one call, then text
        if body["messages"][-1]["role"] == "tool":
            return Completion("Done.", 3)
        return Completion("", 5, extra={"tool_calls": [tool_call("ls", {"a": True})]})

    client = ScriptedClient(answer)
    out = run_entry(task, MT_ROW, client)
    step = [{"ls": '{"a": true}'}]
    assert out["generation"] == [[step, []], [step, []], [step, []]]  # text steps are [] with server parsing
    assert out["num_generated_tokens_list"] == [5, 3] * 3 and out["num_generated_tokens"] == 24
    assert out["bfcl_sandbox"] == "bwrap" and "error" not in out and out["id"] == MT_ROW["id"]
    first, holdout = client.requests[0], client.requests[2]
    assert first["tools"] == [{"name": "ls"}]
    assert holdout["tools"] == [{"name": "ls"}, {"name": "cd"}]  # the held-out function is added
    assert holdout["messages"][-1] == {"role": "user", "content": "HOLDOUT"}
    msgs = client.requests[1]["messages"]
    assert msgs[1] == {"role": "assistant", "content": None, "tool_calls": [tool_call("ls", {"a": True})]}
    assert msgs[2] == {"role": "tool", "content": "r0", "tool_call_id": "call_0"}
    assert len(client.requests[-1]["messages"]) == 3 * 3 + 2  # user, call, tool, text per turn; last text pending
    ops = [op for op, _ in task.worker.calls]
    assert ops[0] == "constants" and ops.count("tools") == 1 and ops[-1] == "drop"


def test_step_limit_and_context_error():
    task = BFCLTask(config("++use_client_parsing=False"))
    task.worker = FakeWorker(max_steps=2)
    client = ScriptedClient(lambda i, b: Completion("", 1, extra={"tool_calls": [tool_call("ls", {})]}))
    out = run_entry(task, MT_ROW, client)
    assert out["generation"] == [[[{"ls": "{}"}]] * 3]  # 3 executed steps > limit 2: the entry stops
    assert "error" not in out and len(client.requests) == 3

    def overflow(i, body):
        if i == 2:
            return GenerationError("HTTP 400 from x: This model's maximum context length is 1024 tokens")
        return Completion("", 1, extra={"tool_calls": [tool_call("ls", {})]}) if i == 0 else Completion("ok", 1)

    out = run_entry(task, MT_ROW, ScriptedClient(overflow))
    assert out["generation"] == [[[{"ls": "{}"}], []], []] and out["error"] == "_ran_out_of_context_"
    other = ScriptedClient(lambda i, b: GenerationError("HTTP 500 from x: boom"))
    with pytest.raises(GenerationError, match="boom"):
        run_entry(task, MT_ROW, other)

    def restart(i, body):  # another entry's calls end the executor between two steps of this one
        task.worker.incarnation += i == 1
        return Completion("", 1, extra={"tool_calls": [tool_call("ls", {})]}) if i < 2 else Completion("ok", 1)

    with pytest.raises(GenerationError, match="simulated state is lost"):
        run_entry(task, MT_ROW, ScriptedClient(restart))


def test_single_turn_both_modes(tmp_path):
    row = {"id": "simple_0", "single_turn": True, "question": [[{"role": "user", "content": "area?"}]],
           "tools": TOOLS, "function": []}
    server = BFCLTask(config("++use_client_parsing=False", "++system_message=Be brief."))
    client = ScriptedClient(lambda i, b: Completion("", 4, extra={"tool_calls": [tool_call("ls", {"a": True})]}))
    out = run_entry(server, row, client)
    assert out["generation"] == [{"ls": '{"a": true}'}] and out["num_generated_tokens"] == 4
    assert client.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert client.requests[0]["tools"] == TOOLS
    folder = write_tokenizer(tmp_path / "tok")
    cli = BFCLTask(config("++client_parser=skills_json", "++inference.tokens_to_generate=32", f"++tokenizer={folder}"))
    cli.prepare([(1, row)], tmp_path / "in.jsonl")
    text = ScriptedClient(lambda i, b: Completion('<tool_calls>[{"name": "ls", "arguments": {"a": false}}]', 9))
    out = run_entry(cli, row, text)
    assert out["generation"] == [{"ls": '{"a": false}'}]
    assert text.requests[0]["prompt"] == chat_template.render(str(folder), row["question"][0], TOOLS)
    assert "tools" not in text.requests[0]  # the tools are in the prompt
    plain = run_entry(cli, row, ScriptedClient(lambda i, b: Completion("No function fits.", 3)))
    assert plain["generation"] == "No function fits."  # client parsing keeps text, as the reference
    ooc = ScriptedClient(lambda i, b: GenerationError("HTTP 400 from x: maximum context length exceeded"))
    out = run_entry(cli, row, ooc)
    assert (out["generation"], out["num_generated_tokens"], out["error"]) == ("", 0, "_ran_out_of_context_")


def test_prepare_checks_rows(tmp_path):
    task = BFCLTask(config("++use_client_parsing=False"))
    with pytest.raises(UsageError, match=r"in.jsonl:3: not a prepared BFCL entry \(no tools\)"):
        task.prepare([(3, {"id": "simple_0", "question": [[]], "single_turn": True})], tmp_path / "in.jsonl")
    cli = BFCLTask(config("++client_parser=skills_json", "++inference.tokens_to_generate=8",
                          "++server.model=org/remote-model"))
    with pytest.raises(UsageError, match="renders the chat template locally"):
        cli.prepare([], tmp_path / "in.jsonl")


# ------------------------------------------------------------------------------------------- the real executor
def test_executor_in_bfcl_environment(bfcl_python, bwrap, monkeypatch, tmp_path):
    from skills.benchmarks.bfcl_v3.runtime import Worker, WorkerDied, WorkerError

    monkeypatch.setenv("SKILLS_TEST_SECRET", "s3cret")
    worker = Worker(str(bfcl_python))
    try:
        workspace = {"type": "directory", "contents": {"log.txt": {"type": "file", "content": "Error: x"}}}
        entry = {"id": "multi_turn_base_1", "involved_classes": ["GorillaFileSystem"], "initial_config": {
            "GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": {"workspace": workspace}}}}}}
        ls = worker.call("execute", key=1, generation=[{"ls": "{}"}], **entry)
        assert ls["calls"] == ["ls()"] and "workspace" in ls["results"][0]
        assert worker.call("execute", key=1, generation=[{"cd": '{"folder": "workspace"}'}], **entry)["results"]
        state = worker.call("execute", key=1, generation=[{"ls": "{}"}], **entry)["results"][0]
        assert "log.txt" in state  # state carried between steps of one entry
        worker.call("drop", key=1, id=entry["id"])
        assert "workspace" in worker.call("execute", key=1, generation=[{"ls": "{}"}], **entry)["results"][0]
        assert worker.call("execute", key=2, generation="just text", **entry)["calls"] == []
        assert worker.call("execute", key=2, generation=[], **entry)["calls"] == []
        # model-chosen names reach eval(): no secrets, no writes outside the sandbox
        leak = worker.call("execute", key=3, generation=[{"__import__('os').getenv": '{"key": "SKILLS_TEST_SECRET"}'}],
                           **entry)
        assert leak["results"] == ["None"]
        marker = tmp_path / "marker"
        worker.call("execute", key=3, generation=[{"__import__('os').makedirs": json.dumps({"name": str(marker)})}],
                    **entry)
        assert not marker.exists() and worker.isolation == "bwrap"
        printed = worker.call("execute", key=3, generation=[{"print": '{"end": "garbage\\n"}'}], **entry)
        assert printed["results"] == ["None"]  # stdout of model code does not reach the protocol
        first = printed["_incarnation"]
        with pytest.raises(WorkerDied):
            worker.call("execute", key=3, generation=[{"__import__('os').abort": "{}"}], **entry)
        assert worker.call("constants")["_incarnation"] == first + 1  # a fresh worker answers
        converted = worker.call("tools", functions=[{"name": "a.b", "description": "d", "parameters": {
            "type": "dict", "properties": {"x": {"type": "float", "description": "x"}}}}], category="multi_turn_base")
        assert converted["tools"][0]["function"]["name"] == "a_b"
        assert converted["functions"][0]["description"].endswith("Python 3 syntax.")
        assert worker.call("constants")["max_steps"] == 20
        assert worker.call("model", model_name="Qwen/Qwen3-8B-FC")["known"] is True
        parsed = worker.call("parse", model_name="Qwen/Qwen3-8B-FC",
                             text='<tool_call>\n{"name": "ls", "arguments": {"a": true}}\n</tool_call>')
        assert parsed["message"]["tool_calls"] == [{"name": "ls", "arguments": {"a": True}}]
        with pytest.raises(WorkerError, match="KeyError"):
            worker.call("nope")
    finally:
        worker.close()


# ------------------------------------------------------------------------------------------- the vLLM plugin
PLUGIN_TEXTS = ['<tool_calls>[{"name": "area", "arguments": {"base": 10, "height": 5}}]',
                'Sure. <tool_calls>[{"name": "a", "arguments": {"x": [1, "ü"]}}, {"name": "b", "arguments": {}}]',
                'I cannot help with that.', '<tool_calls>[{"name": "a", "argu', '<tool_calls>{"name": "a"}',
                '<tool_calls>[{"name": "a", "arguments": "x"}, {"name": "b"}]']


@pytest.mark.slow  # imports vLLM (a minute on a busy machine)
def test_vllm_plugin_matches_client_parser(vllm_python):
    """vLLM loads the plugin file by path (--tool-parser-plugin) and parses like parsers.skills_json."""
    plugin = REPO_ROOT / "skills" / "benchmarks" / "bfcl_v3" / "vllm_tool_parser.py"
    script = f"""
import json, sys
from vllm.tool_parsers.abstract_tool_parser import ToolParserManager
ToolParserManager.import_tool_parser({str(plugin)!r})
parser = ToolParserManager.get_tool_parser("skills_json")(None)
out = []
for text in json.load(sys.stdin):
    r = parser.extract_tool_calls(text, None)
    out.append([r.tools_called, r.content, [[c.function.name, c.function.arguments] for c in r.tool_calls]])
stream, prev = parser.__class__(None), ""
text = 'Ok <tool_calls>[{{"name": "f", "arguments": {{"k": 1}}}}]'
deltas = []
for i in range(3, len(text) + 3, 3):
    d = stream.extract_tool_calls_streaming(prev, text[:i], text[len(prev):i], [], [], [], None)
    deltas.append(d.model_dump(exclude_none=True) if d else None)
    prev = text[:i]
print(json.dumps([out, [d for d in deltas if d]]))
"""
    res = subprocess.run([str(vllm_python), "-c", script], input=json.dumps(PLUGIN_TEXTS), capture_output=True,
                         text=True, timeout=600, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    parsed, deltas = json.loads(res.stdout.strip().splitlines()[-1])
    for text, (called, content, calls) in zip(PLUGIN_TEXTS, parsed):
        ours = skills_json(text)
        assert called == ("tool_calls" in ours), text
        assert calls == [[c["name"], json.dumps(c["arguments"])] for c in ours.get("tool_calls", [])], text
        assert content == ((ours["content"] or None) if called else text), text
    assert "".join(d.get("content", "") for d in deltas) == "Ok "
    assert [d["tool_calls"][0]["function"] for d in deltas if "tool_calls" in d] == [
        {"name": "f", "arguments": '{"k": 1}'}]


# ------------------------------------------------------------------------------------------- confinement
def test_isolation_modes(bfcl_python, bwrap, monkeypatch, capsys, tmp_path):
    from skills.benchmarks.bfcl_v3 import runtime
    from skills.sandbox import probe

    monkeypatch.setenv("OPENAI_API_KEY", tmp_path.name)  # a caller's key must not reach the worker
    probe._cache.clear()
    try:
        run = runtime.confined([str(bfcl_python), "-c", "pass"], str(tmp_path))
        assert run.isolation == "bwrap" and run.argv[0].endswith("bwrap")
        assert "OPENAI_API_KEY" not in run.env and "SKILLS_SHARED_DIR" not in run.env
        monkeypatch.setenv("SKILLS_SANDBOX_ISOLATION", "none")
        run = runtime.confined([str(bfcl_python), "-c", "pass"], str(tmp_path))
        assert run.isolation == "none" and "bwrap" not in " ".join(run.argv)
        assert "warning: sandbox:" in capsys.readouterr().err
        monkeypatch.setenv("SKILLS_SANDBOX_ISOLATION", "bwrap")
        monkeypatch.setenv("PATH", "/nonexistent")
        probe._cache.clear()
        with pytest.raises(UsageError, match="bwrap"):
            runtime.confined([str(bfcl_python), "-c", "pass"], str(tmp_path))
    finally:
        probe._cache.clear()
    env = runtime.worker_env()
    assert "OPENAI_API_KEY" not in env and "SKILLS_SHARED_DIR" not in env
