"""Tool calling in the generation loop (``++tool_modules``, ``++tool_overrides``) against a scripted stub.

What each request must carry is derived by hand from the reference's ``ToolCallingWrapper`` (at
0b012df8): the tools of every module in the body; after an answer with tool calls, the answer
itself (role assistant, its content, its tool_calls) and then one ``tool`` message per call, in
call order, ``{"role": "tool", "name", "tool_call_id", "content"}`` with a text result as it is and
anything else as ``json.dumps``; ``tokens_to_generate`` is a budget for the whole row; the output
line has the texts joined, tokens summed, ``finish_reason`` per answer, ``num_tool_calls`` and the
``conversation``. The Python tool's schema is the reference's after its hidden arguments
(session_id, timeout) and the titles are removed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from skills.config.errors import UsageError
from skills.inference.config import GenerateConfig
from skills.inference.settings import check_config
from skills.inference.python_tool import PythonTool
from skills.inference.tools import ToolManager
from tests.helpers.files import read_jsonl
from tests.helpers.paths import REPO_ROOT
from tests.helpers.stub_server import StubProcess, generate_cmd

PY = "stateful_python_code_exec"
PY_TOOL = {"type": "function", "function": {
    "name": PY,
    "description": "Run Python code in a stateful, notebook-like session: variables, functions and imports persist "
                   "from one call to the next. Returns what the code printed, the value of a last expression, or the "
                   "error; a run is stopped after 10 seconds.",
    "parameters": {"properties": {"code": {"description": "The Python code to run", "type": "string"}},
                   "required": ["code"], "type": "object"}}}

USER_TOOL = '''
from skills.inference.tools import Tool


class Weather(Tool):
    name = "get_weather"
    description = "The weather in a city"
    parameters = {"type": "object", "properties": {"city": {"type": "string", "title": "City"}},
                  "required": ["city"], "title": "Args"}

    def default_config(self):
        return {"unit": "C"}

    async def call(self, arguments, request_id):
        return {"city": arguments["city"], "temperature": 21, "unit": self.config["unit"]}


class Calculator(Tool):
    """Two functions in one class, the reference's way (list_tools / execute)."""

    async def list_tools(self):
        return [{"name": "add", "description": "a + b", "input_schema": {"type": "object", "properties": {
                    "a": {"type": "number"}, "b": {"type": "number"}}}},
                {"name": "neg", "description": "-a", "input_schema": {"type": "object", "properties": {
                    "a": {"type": "number"}}}}]

    async def execute(self, tool_name, arguments, extra_args=None):
        if tool_name == "add":
            return str(arguments["a"] + arguments["b"])
        return str(-arguments["a"])
'''


# a cell that ignores the interrupt sent at the time limit: the reference's server kills its shell
STUBBORN = "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass"


def call(cid: str, name: str, arguments: Any) -> Dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": text}}


def by_turn(answers: List[dict]) -> str:
    """The stub's script: a conversation already holding i answers gets ``answers[i]``."""
    return json.dumps([{"turn": i, "answer": a} for i, a in enumerate(answers)])


def run_generate(tmp: Path, script: List[dict], *overrides: str, rows=None, env=None):
    (tmp / "script.json").write_text(by_turn(script))
    src = tmp / "in.jsonl"
    rows = rows or [{"messages": [{"role": "user", "content": "What is 6*7+1?"}], "id": 0}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    record = tmp / "requests.jsonl"
    with StubProcess(script=tmp / "script.json", record=record) as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={tmp / 'out.jsonl'}",
                                          "++prompt_format=openai", *overrides),
                             cwd=tmp, capture_output=True, text=True, timeout=180,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})})
    bodies = [r["body"] for r in read_jsonl(record)] if record.exists() else []
    rows_out = read_jsonl(tmp / "out.jsonl") if res.returncode == 0 else []
    return res, bodies, rows_out


def test_python_tool_loop_requests_and_output(tmp_path, monkeypatch):
    code1 = "import os\nx = 6*7\nprint('secret:', os.environ.get('I31C_SECRET'))\nx"
    script = [
        {"content": None, "tool_calls": [call("c1", PY, {"code": code1})], "completion_tokens": 7},
        {"content": "Checking. ", "tool_calls": [call("c2", PY, {"code": "x + 1"}), call("c3", PY, {"code": "1/0"})],
         "completion_tokens": 9, "reasoning_content": "think"},
        {"content": "The answer is \\boxed{43}.", "completion_tokens": 6},
    ]
    res, bodies, rows = run_generate(tmp_path, script, "++tool_modules=[PythonTool]",
                                     env={"I31C_SECRET": "do-not-leak"})
    assert res.returncode == 0, res.stderr
    assert len(bodies) == 3
    user = [{"role": "user", "content": "What is 6*7+1?"}]
    a1 = {"role": "assistant", "content": None, "tool_calls": script[0]["tool_calls"]}
    # the code ran in the sandbox: the generation program's environment did not reach it
    t1 = {"role": "tool", "name": PY, "tool_call_id": "c1", "content": "secret: None\n42"}
    a2 = {"role": "assistant", "content": "Checking. ", "reasoning_content": "think",
          "tool_calls": script[1]["tool_calls"]}
    t2 = {"role": "tool", "name": PY, "tool_call_id": "c2", "content": "43"}  # x survived: the session is stateful
    # IPython's plain traceback, its "File <ipython-input-...>" line removed (the reference's sandbox
    # cleans it so), the final newline dropped (the reference's tool)
    t3 = {"role": "tool", "name": PY, "tool_call_id": "c3",
          "content": "Traceback (most recent call last):\n    1/0\nZeroDivisionError: division by zero"}
    assert [b["messages"] for b in bodies] == [user, user + [a1, t1], user + [a1, t1, a2, t2, t3]]
    assert all(b["tools"] == [PY_TOOL] for b in bodies)
    assert all("max_tokens" not in b for b in bodies)
    [row] = rows
    assert row["generation"] == "Checking. The answer is \\boxed{43}."
    assert row["num_generated_tokens"] == 22
    assert row["finish_reason"] == ["tool_calls", "tool_calls", "stop"]
    assert row["reasoning_content"] == ["think"]
    assert row["num_tool_calls"] == 3
    assert row["conversation"] == user + [a1, t1, a2, t2, t3, {"role": "assistant", "content": script[2]["content"]}]
    assert row["id"] == 0 and row["messages"] == user and "generation_time" in row


def test_token_budget_spans_the_row_and_overrides_reach_the_tool(tmp_path):
    script = [
        {"content": "", "tool_calls": [call("c1", PY, {"code": "print('x' * 50)"})], "completion_tokens": 7},
        {"content": "", "tool_calls": [call("c2", PY, {"code": STUBBORN})], "completion_tokens": 9},
        {"content": "never sent", "completion_tokens": 1},
    ]
    res, bodies, rows = run_generate(tmp_path, script, "++tool_modules=[PythonTool]",
                                     "++inference.tokens_to_generate=10", "++add_generation_stats=False",
                                     "++tool_overrides.PythonTool.exec_timeout_s=1",
                                     "++tool_overrides.PythonTool.max_output_characters=20",
                                     "++tool_overrides.PythonTool.hide_args={}",
                                     "++tool_overrides.PythonTool.description=Runs Python.")
    assert res.returncode == 0, res.stderr
    # 10 tokens for the row: 7 used, 3 asked next, 9 used -> spent: the second answer's calls still
    # run, and no third request is made
    assert [b.get("max_tokens") for b in bodies] == [10, 3]
    [tool] = bodies[0]["tools"]
    assert tool["function"]["description"] == "Runs Python."
    assert tool["function"]["parameters"] == {  # nothing hidden: the reference's whole schema, titles removed
        "properties": {"code": {"description": "The Python code to run", "type": "string"},
                       "session_id": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None,
                                      "description": "Which session to run the code in"},
                       "timeout": {"default": 10, "description": "Seconds the code may run", "type": "number"}},
        "required": ["code"], "type": "object"}
    [row] = rows
    tools = [m["content"] for m in row["conversation"] if m["role"] == "tool"]
    # each stream is cut at max_output_characters, the timeout notice (stderr) too
    assert tools == ["x" * 20 + "<output cut>", "Execution timed out after 1.0 seconds"[:20] + "<output cut>"]
    assert row["finish_reason"] == ["tool_calls", "tool_calls"] and row["num_tool_calls"] == 2
    assert row["generation"] == "" and "num_generated_tokens" not in row


def test_user_tools_from_a_file_and_a_plugin_module(tmp_path):
    (tmp_path / "my_tools.py").write_text(USER_TOOL)
    plugin = tmp_path / "plug" / "i31c_plugin.py"
    plugin.parent.mkdir()
    plugin.write_text('EXTENSIONS = {"tool": {"Calc": "my_tools:Calculator"}}\n')
    script = [
        {"content": None, "tool_calls": [call("w", "get_weather", {"city": "Oslo"}), call("a", "add", {"a": 2, "b": 3}),
                                         call("n", "neg", {"a": 4}), call("u", "nope", {}),
                                         call("j", "get_weather", "{not json")]},
        {"content": "done"},
    ]
    res, bodies, rows = run_generate(
        tmp_path, script, f"++tool_modules=[{tmp_path / 'my_tools.py'}::Weather,Calc]",
        "++tool_overrides.Weather.unit=F",
        env={"SKILLS_PLUGINS": "i31c_plugin", "PYTHONPATH": f"{REPO_ROOT}:{tmp_path}:{plugin.parent}"})
    assert res.returncode == 0, res.stderr
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == ["get_weather", "add", "neg"]
    assert bodies[0]["tools"][0]["function"] == {
        "name": "get_weather", "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    tool_msgs = [m for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["name"], m["content"]) for m in tool_msgs] == [
        ("w", "get_weather", '{"city": "Oslo", "temperature": 21, "unit": "F"}'),
        ("a", "add", "5"), ("n", "neg", "-4"),
        ("u", "nope", '{"error": "Tool execution failed."}'),
        ("j", "get_weather", '{"error": "Tool argument parsing failed."}')]
    assert rows[0]["num_tool_calls"] == 5 and rows[0]["generation"] == "done"


def test_responses_endpoint_shapes(tmp_path):
    script = [{"content": "", "tool_calls": [call("r1", PY, {"code": "print(2**10)"})]}, {"content": "1024"}]
    res, bodies, rows = run_generate(tmp_path, script, "++tool_modules=[nemo_skills.mcp.servers.python_tool::PythonTool]",
                                     "++inference.endpoint_type=responses")
    assert res.returncode == 0, res.stderr
    assert bodies[0]["tools"] == [{"type": "function", **{k: PY_TOOL["function"][k] for k in
                                                         ("name", "description", "parameters")}, "strict": True}]
    assert bodies[1]["input"][1:] == [
        {"type": "function_call", "call_id": "r1", "name": PY, "arguments": json.dumps({"code": "print(2**10)"})},
        {"type": "function_call_output", "call_id": "r1", "output": "1024"}]
    assert rows[0]["generation"] == "1024" and rows[0]["num_tool_calls"] == 1


def cfg_with(**kw) -> GenerateConfig:
    cfg = GenerateConfig(prompt_format="openai", output_file="out.jsonl")
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.mark.parametrize("settings,words", [
    ({"tool_modules": ["/nowhere/t.py::T"]}, ["/nowhere/t.py", "not found"]),
    ({"tool_modules": ["json::NoSuchTool"]}, ["json", "NoSuchTool"]),
    ({"tool_modules": ["no_such_module_i31c::T"]}, ["cannot import no_such_module_i31c"]),
    ({"tool_modules": ["PyhtonTool"]}, ["unknown tool 'PyhtonTool'", "PythonTool"]),
    ({"tool_modules": ["nemo_skills.mcp.servers.exa_tool::ExaTool"]}, ["Exa", "internet"]),
    ({"tool_modules": ["a::"]}, ["module::Class"]),
    ({"tool_modules": []}, ["non-empty list"]),
    ({"tool_modules": ["PythonTool"], "tool_overrides": {"Weather": {"unit": "F"}}}, ["tool_overrides.Weather",
                                                                                        "PythonTool"]),
    ({"tool_overrides": {"PythonTool": {"exec_timeout_s": 3}}}, ["needs ++tool_modules"]),
    ({"tool_modules": ["PythonTool"], "tools": [{"type": "function"}]}, ["++tools and ++tool_modules"]),
])
def test_bad_settings_are_one_line(settings, words):
    with pytest.raises(UsageError) as err:
        check_config(cfg_with(**settings))
    assert all(w in err.value.message for w in words), err.value.message
    assert "\n" not in err.value.message


@pytest.mark.parametrize("overrides,words", [
    ({"PythonTool": {"exec_timeot_s": 3}}, ["exec_timeot_s", "unknown setting", "exec_timeout_s"]),
    ({"PythonTool": {"client_params": {}}}, ["client_params", "sandbox"]),
    ({"PythonTool": {"exec_timeout_s": -1}}, ["exec_timeout_s", "positive"]),
    ({"PythonTool": {"enabled_tools": ["run_shell"]}}, ["enabled_tools", "run_shell"]),
])
def test_bad_overrides_are_one_line(overrides, words):
    with pytest.raises(UsageError) as err:
        manager = ToolManager(["PythonTool"], overrides)
        asyncio.run(manager.list_all())
    assert all(w in err.value.message for w in words), err.value.message
    assert "\n" not in err.value.message


def test_a_task_making_its_own_requests_refuses_tool_modules():
    from skills.inference.task import GenerationTask

    class Own(GenerationTask):
        async def process(self, row, request, client):
            return {}

    GenerationTask.check(cfg_with(tool_modules=["PythonTool"]))
    with pytest.raises(UsageError, match="Own makes its own requests"):
        Own.check(cfg_with(tool_modules=["PythonTool"]))
    Own.check(cfg_with())


def test_bad_spec_stops_the_program_with_one_line(tmp_path):
    res, bodies, _ = run_generate(tmp_path, [{"content": "x"}], "++tool_modules=[PythonTool,ExaMCPTool]")
    assert res.returncode == 2 and not bodies
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "Exa" in res.stderr
    assert "Traceback" not in res.stderr


def test_ns_generate_plans_tool_modules_and_refuses_bad_ones(capsys, tmp_path, no_cluster_config_env):
    from skills.cli.app import main

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    base = ["generate", "--cluster=local", "--model=/m", "--server_type=vllm", "--server_gpus=1",
            f"--input_file={src}", f"--output_dir={tmp_path / 'g'}", "++prompt_format=openai", "--dry_run",
            "--dry_run_format=json"]
    assert main([*base, "++tool_modules=[PythonTool]", "++tool_overrides.PythonTool.exec_timeout_s=30"]) == 0
    plan = json.loads(capsys.readouterr().out)
    argv = [a for job in plan["jobs"] for prog in job["programs"] for a in prog]
    assert "++tool_modules=[PythonTool]" in argv and "++tool_overrides.PythonTool.exec_timeout_s=30" in argv
    assert main([*base, "++tool_modules=[PythonTool]", "++tool_overrides.PythonTool.exec_timeot_s=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert "did you mean exec_timeout_s?" in err and len(err.splitlines()) == 1


def test_python_tool_session_rules():
    """The session as the reference's IPython shell keeps it (its tool runs in the same sandbox
    sessions as code execution): a failed cell keeps what ran before its error; a last expression
    shows its value (not after ``;``); a cell interrupted at the time limit shows IPython's
    KeyboardInterrupt and the session lives on; a cell that ignores the interrupt is a timeout, the
    shell is restarted and restored from the cells that completed (the reference's client-side
    history), each of which must complete again or the session starts empty."""
    tool = PythonTool()
    tool.configure({"exec_timeout_s": 1}, {})

    async def go(cells):
        outs = [await tool.call({"code": c}, request_id="r") for c in cells]
        await tool.end_request("r")
        return outs

    outs = asyncio.run(go(["a = 1", "b = 2\nraise ValueError('boom')", "'b' in dir()", "print(a); b",
                           "c = [1, 2];", "c", "def f(\n", "None"]))
    assert outs[0] == ""
    assert outs[1] == "Traceback (most recent call last):\n    raise ValueError('boom')\nValueError: boom"
    assert outs[2] == "True"  # b was set before the error
    assert outs[3] == "1\n2"
    assert outs[4] == "" and outs[5] == "[1, 2]"
    assert "SyntaxError" in outs[6] and outs[7] == ""
    outs = asyncio.run(go(["a = 1", "b = 2\nraise ValueError('boom')", "import time\ntime.sleep(5)", "a + b",
                           STUBBORN, "a", "a = 5", "c = a * 2", STUBBORN, "c", "b"]))
    assert outs[2] == "Traceback (most recent call last):\n    time.sleep(5)\nKeyboardInterrupt"
    assert outs[3] == "3"  # not restarted by the interrupt
    assert outs[4] == "Execution timed out after 1.0 seconds"
    # restarted: restored from the completed cells (a = 1, a + b), each of which must complete again;
    # "a + b" cannot (b was set by a cell that raised): the session is cleared and the model told so
    assert outs[5].startswith("RuntimeError: the sandbox could not restore this session's state")
    assert outs[6] == "" and outs[7] == ""  # a fresh session
    # this restoration works (a = 5, c = a * 2); the failed cell's b is gone
    assert outs[8] == "Execution timed out after 1.0 seconds" and outs[9] == "10"
    assert outs[10].endswith("NameError: name 'b' is not defined")
    assert not tool.sessions


def test_python_tool_uses_the_sandbox_service_when_one_is_named(monkeypatch):
    """With $SKILLS_SANDBOX_URL (what --with_sandbox sets) the code goes to the service, as the
    driver plus its job file; a service that cannot be reached is told to the model."""
    import base64
    import gzip
    import http.server
    import threading

    seen = []

    class Fake(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            job = json.loads(gzip.decompress(base64.b64decode(body["files"]["job.json.gz"]["base64"])))
            seen.append((body["code"], job))
            verdict = {"status": "ok", "fired": False, "stdout": "from the service\n", "stderr": ""}
            answer = json.dumps({"stdout": job["nonce"] + json.dumps(verdict) + "\n", "stderr": "", "returncode": 0,
                                 "status": "completed", "duration_s": 0.1}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SKILLS_SANDBOX_URL", f"http://127.0.0.1:{server.server_address[1]}")
        tool = PythonTool()
        tool.configure({}, {})
        assert asyncio.run(tool.call({"code": "print(7)"}, request_id="r")) == "from the service"
    finally:
        server.shutdown()
    [(code, job)] = seen
    assert "TerminalInteractiveShell" in code and job["code"] == "print(7)" and job["replay"] == []
    assert job["timeout"] == 10.0 and job["verbosity"] == "Plain"


@pytest.mark.usefixtures("no_cluster_config_env")
def test_ns_generate_with_sandbox_sidecar(tmp_path):
    """ns generate against an API (the stub), the Python tool calling the job's sandbox sidecar."""
    script = [{"content": None, "tool_calls": [call("c1", PY, {"code": "import sys\nprint(sys.version_info[0])"})]},
              {"content": "three"}]
    (tmp_path / "script.json").write_text(by_turn(script))
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"messages": [{"role": "user", "content": "py?"}]}) + "\n")
    with StubProcess(script=tmp_path / "script.json") as stub:
        res = subprocess.run([sys.executable, "-m", "skills.cli.app", "generate", "--cluster=local",
                              "--server_type=openai", f"--server_address={stub.base_url}", "--model=stub-model",
                              f"--input_file={src}", f"--output_dir={tmp_path / 'g'}", "--with_sandbox",
                              "++prompt_format=openai", "++tool_modules=[PythonTool]"],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "starting sidecar sandbox" in res.stdout + res.stderr
    [row] = read_jsonl(tmp_path / "g" / "output.jsonl")
    assert [m["content"] for m in row["conversation"] if m["role"] == "tool"] == ["3"]
    assert row["generation"] == "three"
