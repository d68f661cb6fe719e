"""Code execution during generation (``++code_execution=True``) against a scripted stub model.

Every expected request body and generation below is written out by hand from the reference's rules
(NeMo-Skills 0b012df8, ``CodeExecutionWrapper``, ``format_code_output`` and its sandbox server):
each request stops at the code-end marker too; a reply with one more opening than closing marker
gets the closing marker appended; a reply ending in an open block has the block run and its output
(``llama``: status line and ``[stdout]``/``[stderr]`` sections; ``qwen``: the bare streams) added
to the prompt; ``max_tokens`` shrinks by the tokens used; at most ``max_code_executions`` blocks run
and one more turn follows; chat requests grow by an assistant message (the output appended to it)
and a user ``continue``. Code runs in the real sandbox with IPython (the sandbox environment).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from skills.inference.code_execution import code_to_run, format_code_output, in_open_block
from skills.inference.python_session import clean_output, cut
from tests.helpers.files import read_jsonl
from tests.helpers.paths import MODELS, REPO_ROOT
from tests.helpers.stub_server import StubProcess, generate_cmd

SANDBOX_PYTHON = REPO_ROOT / ".venv-sandbox" / "bin" / "python"
TOKENIZER = MODELS / "tiny-llama"  # its chat template: <|im_start|>user\n...<|im_end|>\n<|im_start|>assistant\n

QWEN = {"begin": "```python\n", "end": "```\n", "out_begin": "```output\n", "out_end": "```\n"}
LLAMA = {"begin": "<|python_tag|>", "end": "<|eom_id|>", "out_begin": "<|start_header_id|>ipython<|end_header_id|>",
         "out_end": "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"}
LEFT_1 = ("```system\nRemaining code executions: 1. You will not be able to call code when you run out of executions, "
          "so use it wisely. Note that you can still continue solving the problem without code after that.\n```\n")
NONE_LEFT = ("```system\nYou have run out of code executions! You can no longer write or execute code. Now you should "
             "continue solving the problem by relying on your mathematical reasoning and analytical skills.\n```\n")


def needs_sandbox_ipython():
    probe = subprocess.run([str(SANDBOX_PYTHON), "-c", "import IPython"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the sandbox environment has no IPython (python -m skills.environments build sandbox)")


# -- the formatting rules, by hand -----------------------------------------------------------------

def test_llama_and_qwen_output_formats():
    res = {"process_status": "completed", "stdout": "42\n", "stderr": "warn\n"}
    assert format_code_output(res, "<B>", "<E>", "llama") == "<B>\n\ncompleted\n[stdout]\n42\n[/stdout]\n[stderr]\nwarn\n[/stderr]<E>\n\n"
    assert format_code_output(res, "<B>", "<E>", "qwen") == "<B>42\nwarn\n<E>"
    empty = {"process_status": "error", "stdout": "", "stderr": ""}
    assert format_code_output(empty, "<B>", "<E>", "llama") == "<B>\n\nerror<E>\n\n"
    assert format_code_output(empty, "<B>", "<E>", "qwen") == "<B><E>"
    # the note about executions left: inside the markers for llama, after them for qwen
    assert format_code_output(empty, "<B>", "<E>", "llama", 1) == f"<B>\n\nerror{LEFT_1}<E>\n\n"
    assert format_code_output(res, "<B>", "<E>", "qwen", 0) == f"<B>42\nwarn\n<E>{NONE_LEFT}"
    with pytest.raises(ValueError):
        format_code_output(res, "<B>", "<E>", "markdown")


def test_block_extraction_and_the_open_block_rule():
    text = "a <c>x=1</c> b <c>y=2\nprint(y)</c>"
    assert code_to_run(text, "<c>", "</c>") == "y=2\nprint(y)"
    assert in_open_block(text, "<c>", "</c>")
    assert not in_open_block("a <c>x=1</c> no more code</c>", "<c>", "</c>")  # the last block was closed before
    assert not in_open_block("<c>x=1</c> text", "<c>", "</c>")  # does not end with the marker
    # markers that are prefixes of each other (qwen: ``` python / ```\n)
    assert in_open_block("see\n```python\nx\n```\n", QWEN["begin"], QWEN["end"])
    assert not in_open_block("```python\nx\n```\nthen\n```\n", QWEN["begin"], QWEN["end"])


def test_output_cleaning_and_truncation():
    raw = ("\x1b[31mTraceback\x1b[39m (most recent call last):\n  File \x1b[32m<ipython-input-1-ab>:2\x1b[39m\n"
           "    1/0\nZeroDivisionError: division by zero\n\n")
    assert clean_output(raw, "Plain") == "Traceback (most recent call last):\n    1/0\nZeroDivisionError: division by zero\n"
    assert clean_output("\nOut[3]: 10\n", "Plain") == "10\n"
    assert clean_output("\n\n", "Minimal") == ""
    assert clean_output("\x1b[31mx\x1b[39m\n\n", "Verbose") == "\x1b[31mx\x1b[39m\n\n"  # left alone
    assert cut({"stdout": "abcdef", "stderr": "ab"}, 3) == {"stdout": "abc<output cut>", "stderr": "ab"}


# -- the loop against a scripted model -------------------------------------------------------------

def turns(script: Dict[str, List[dict]]) -> str:
    """The stub's script: a request whose body holds a key gets that key's next reply ({text, tokens})."""
    return json.dumps([{"in_body": key, "answers": [{"content": r["text"], **({"completion_tokens": r["tokens"]}
                                                                            if "tokens" in r else {})}
                                                    for r in replies]}
                       for key, replies in script.items()])


def run_generate(tmp_path: Path, data_dir: Path, rows, script, *overrides: str):
    """Run the generation program on ``rows`` against the scripted stub; (output rows by problem,
    request bodies by script key). ``data_dir`` holds the fetched reference prompt set (code_tags/)."""
    needs_sandbox_ipython()
    inp, out, record = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "requests.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prompt = tmp_path / "prompt.yaml"
    prompt.write_text("user: |-\n  {problem}\n")
    (tmp_path / "script.json").write_text(turns(script))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with StubProcess(script=tmp_path / "script.json", record=record) as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={inp}", f"++output_file={out}",
                                          f"++prompt_config={prompt}", f"++data_dir={data_dir}", "++code_execution=True",
                                          *overrides),
                             capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    sent = [json.loads(line)["body"] for line in record.read_text().splitlines()] if record.exists() else []
    by_key = {key: [b for b in sent if key in json.dumps(b)] for key in script}
    return {r["problem"]: r for r in read_jsonl(out)}, by_key


def text_prompt(problem: str) -> str:
    return f"<|im_start|>user\n{problem}<|im_end|>\n<|im_start|>assistant\n"


def test_text_endpoint_qwen_tags_state_remaining_and_token_budget(tmp_path, data_dir):
    if not (TOKENIZER / "tokenizer.json").is_file():
        pytest.skip("tiny-llama test model not built")
    r1 = "Let me compute.\n```python\nx = 6*7\nprint(x)\n"  # the server dropped the stop phrase
    r2 = "Now one more:\n```python\nx + 1\n```\n"  # this one kept it
    r3 = "So the answer is \\boxed{43}."
    script = {
        "PROBLEM-A": [{"text": r1, "tokens": 10}, {"text": r2, "tokens": 10}, {"text": r3, "tokens": 5}],
        "PROBLEM-B": [{"text": "```python\nprint(1)\n", "tokens": 100}],  # the whole budget: no execution
        "PROBLEM-C": [{"text": "```python\nprint(x)\n```\n", "tokens": 3}, {"text": "No x here.", "tokens": 3}],
        "PROBLEM-D": [{"text": "No code at all.", "tokens": 4}],
    }
    rows = [{"problem": p} for p in script]
    out, sent = run_generate(tmp_path, data_dir, rows, script, "++code_tags=qwen", "++inference.endpoint_type=text",
                             f"++tokenizer={TOKENIZER}", "++inference.tokens_to_generate=100",
                             "++server.code_execution.max_code_executions=2",
                             "++server.code_execution.add_remaining_code_executions=True")
    p0 = text_prompt("PROBLEM-A")
    o1 = f"```output\n42\n```\n{LEFT_1}"  # qwen: the note after the output markers
    o2 = f"```output\n43\n```\n{NONE_LEFT}"  # x survived from the first block; the last expression is shown
    a = sent["PROBLEM-A"]
    assert [b["prompt"] for b in a] == [p0, p0 + r1 + "```\n" + o1, p0 + r1 + "```\n" + o1 + r2 + o2]
    assert [b["max_tokens"] for b in a] == [100, 90, 80]
    assert all(b["stop"] == ["```\n"] for b in a)
    row = out["PROBLEM-A"]
    assert row["generation"] == r1 + "```\n" + o1 + r2 + o2 + r3
    assert row["code_rounds_executed"] == 2 and row["num_code_timeouts"] == 0
    assert row["num_generated_tokens"] == 20  # the turn after the last execution is not counted (as the reference)
    assert row["stopped_on_repetition"] is False and "code_execution_time" in row

    assert len(sent["PROBLEM-B"]) == 1  # 100 tokens used: the loop ends before running the block
    assert out["PROBLEM-B"]["generation"] == "```python\nprint(1)\n```\n" and out["PROBLEM-B"]["code_rounds_executed"] == 0

    # every generation has its own state: x of PROBLEM-A does not exist here
    c = sent["PROBLEM-C"]
    err = "Traceback (most recent call last):\n    print(x)\nNameError: name 'x' is not defined\n"
    oc = f"```output\n{err}```\n{LEFT_1}"
    assert [b["prompt"] for b in c] == [text_prompt("PROBLEM-C"), text_prompt("PROBLEM-C") + "```python\nprint(x)\n```\n" + oc]
    assert out["PROBLEM-C"]["generation"] == "```python\nprint(x)\n```\n" + oc + "No x here."

    assert len(sent["PROBLEM-D"]) == 1 and out["PROBLEM-D"]["generation"] == "No code at all."
    assert out["PROBLEM-D"]["code_rounds_executed"] == 0


def test_chat_endpoint_llama_tags_prompt_limit_truncation_and_stop_phrase(tmp_path, data_dir):
    r1 = "Step.<|python_tag|>import time\nprint('a' * 30)\ntime.sleep(5)"
    r2 = "Done: \\boxed{1}<END> trailing"
    script = {"PROBLEM-E": [{"text": r1, "tokens": 12}, {"text": r2, "tokens": 4}, {"text": "never asked"}]}
    out, sent = run_generate(tmp_path, data_dir, [{"problem": "PROBLEM-E"}], script, "++code_tags=llama3",
                             "++inference.tokens_to_generate=50", "++stop_phrase='<END>'",
                             "++total_code_executions_in_prompt=1", "++override_max_code_executions=True",
                             "++server.code_execution.code_execution_timeout=1",
                             "++server.code_execution.max_code_output_characters=20")
    # the block is interrupted after 1 s: IPython reports the KeyboardInterrupt, so the status is error
    # (the reference's server does the same); its stdout (30 a's + the traceback) is cut to 20 characters
    o1 = f"{LLAMA['out_begin']}\n\nerror\n[stdout]\n{'a' * 20}<output cut>[/stdout]{LLAMA['out_end']}\n\n"
    m0 = [{"role": "user", "content": "PROBLEM-E"}]
    first = r1 + LLAMA["end"] + o1
    e = sent["PROBLEM-E"]
    assert [b["messages"] for b in e] == [m0, m0 + [{"role": "assistant", "content": first},
                                                    {"role": "user", "content": "continue"}]]
    assert [b["max_tokens"] for b in e] == [50, 38]
    assert all(b["stop"] == ["<END>", "<|eom_id|>"] for b in e)
    row = out["PROBLEM-E"]
    assert row["total_code_executions"] == 1
    # the assistant turns joined by newlines, cut at the stop phrase
    assert row["generation"] == first + "\n" + "Done: \\boxed{1}"
    assert row["code_rounds_executed"] == 1 and row["num_code_timeouts"] == 0


def test_block_ignoring_the_interrupt_times_out_and_headers_go_first(tmp_path, data_dir):
    stubborn = "<|python_tag|>import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass"
    script = {"PROBLEM-F": [{"text": "<|python_tag|>print(x0)", "tokens": 5},
                            {"text": stubborn + "<|eom_id|>", "tokens": 5},
                            {"text": "<|python_tag|>print(x0)", "tokens": 5},
                            {"text": "unused"}]}
    out, sent = run_generate(tmp_path, data_dir, [{"problem": "PROBLEM-F"}], script, "++code_tags=llama3",
                             "++inference.tokens_to_generate=40", "++server.code_execution.max_code_executions=2",
                             "++server.code_execution.code_execution_timeout=1",
                             "++server.code_execution.code_execution_headers=['x0=5;']")
    # the header goes right before each block (no separator, as the reference joins them)
    o1 = f"{LLAMA['out_begin']}\n\ncompleted\n[stdout]\n5\n[/stdout]{LLAMA['out_end']}\n\n"
    o2 = f"{LLAMA['out_begin']}\n\ntimeout\n[stderr]\nExecution timed out after 1.0 seconds\n[/stderr]{LLAMA['out_end']}\n\n"
    first = "<|python_tag|>print(x0)<|eom_id|>" + o1
    second = stubborn + "<|eom_id|>" + o2
    third = "<|python_tag|>print(x0)<|eom_id|>"  # the turn after the last execution: closed, not run
    f = sent["PROBLEM-F"]
    assert len(f) == 3 and [b["max_tokens"] for b in f] == [40, 35, 30]
    assert f[2]["messages"][1:] == [{"role": "assistant", "content": first}, {"role": "user", "content": "continue"},
                                    {"role": "assistant", "content": second}, {"role": "user", "content": "continue"}]
    row = out["PROBLEM-F"]
    assert row["generation"] == "\n".join([first, second, third])
    assert row["code_rounds_executed"] == 2 and row["num_code_timeouts"] == 1


def test_session_replay_keeps_state_of_errors_and_interrupts():
    """The cells of one generation share state through replay, including what a block did before it
    raised or was interrupted (a live session keeps it); a killed block resets the state to the blocks
    that completed."""
    needs_sandbox_ipython()
    import asyncio

    from skills.inference.python_session import PythonSession
    from skills.sandbox import Sandbox

    sandbox = Sandbox(python=str(SANDBOX_PYTHON))

    async def cells():
        s = PythonSession(sandbox, timeout=1.0)
        a = await s.run("n = 1\nprint('side effect')")
        b = await s.run("n += 1\nimport time\ntime.sleep(5)")  # interrupted after n += 1 and the import
        c = await s.run("n")
        d = await s.run("n += 10; 1/0")  # raises after the change: replayed, as a live session keeps it
        e = await s.run("n")
        f = await s.run("import time\nwhile True:\n    try:\n        time.sleep(10)\n    except KeyboardInterrupt:\n        pass")
        g = await s.run("n")
        return a, b, c, d, e, f, g

    try:
        a, b, c, d, e, f, g = asyncio.run(cells())
    finally:
        sandbox.close()
    assert a == {"process_status": "completed", "stdout": "side effect\n", "stderr": ""}  # replays print nothing
    assert b["process_status"] == "error" and b["stdout"].endswith("KeyboardInterrupt\n")
    assert c == {"process_status": "completed", "stdout": "2\n", "stderr": ""}
    assert d["process_status"] == "error" and "ZeroDivisionError" in d["stdout"]
    assert e == {"process_status": "completed", "stdout": "12\n", "stderr": ""}
    # killed after ignoring the interrupt: the reference restarts the shell and replays only the blocks
    # that completed, so the change made by the block that raised is gone
    assert f == {"process_status": "timeout", "stdout": "", "stderr": "Execution timed out after 1.0 seconds\n"}
    assert g == {"process_status": "completed", "stdout": "1\n", "stderr": ""}


def test_settings_are_checked(tmp_path, data_dir):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    base = [sys.executable, "-m", "skills.inference.generate", "++input_file=x.jsonl", "++output_file=o.jsonl",
            "++prompt_config=generic/math", f"++data_dir={data_dir}", "++code_execution=True"]
    for extra, words in ((["++code_tags=qwen", "++server.code_execution.code_execution_language=lean4"],
                          "ipython or python"),
                         ([], "needs ++code_tags"),
                         (["++code_tags=qwen", "++total_code_executions_in_prompt=[5,2]"], "[min, max]"),
                         (["++code_tags=qwen", "++server.code_execution.sandbox_traceback_verbosity=loud"],
                          "traceback_verbosity")):
        res = subprocess.run(base + extra, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert res.returncode == 2 and words in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_the_time_budget_is_counted_from_the_start_of_the_row(tmp_path, data_dir):
    """Each request's limit is what is left of inference.timeout, in whole seconds counted from the
    row's start second (the reference's int(timeout - elapsed)): with 1 s nothing is left at once, so
    no request is sent and the generation is empty."""
    script = {"PROBLEM-G": [{"text": "x"}]}
    out, sent = run_generate(tmp_path, data_dir, [{"problem": "PROBLEM-G"}], script, "++code_tags=qwen",
                             "++inference.timeout=1")
    assert sent["PROBLEM-G"] == [] and out["PROBLEM-G"]["generation"] == ""
    assert out["PROBLEM-G"]["code_rounds_executed"] == 0


def test_python_language_runs_each_block_alone():
    needs_sandbox_ipython()
    import asyncio

    from skills.inference.python_session import PythonSession
    from skills.sandbox import Sandbox

    sandbox = Sandbox(python=str(SANDBOX_PYTHON))

    async def cells():
        s = PythonSession(sandbox, language="python", timeout=1.0, max_output=200)
        return [await s.run("n = 1\nprint(n)"), await s.run("print(n)"), await s.run("while True: pass")]

    try:
        a, b, c = asyncio.run(cells())
    finally:
        sandbox.close()
    assert a == {"process_status": "completed", "stdout": "1\n", "stderr": ""}
    # as the reference's plain-python runs: no state, and a failing program still "completed"
    assert b["process_status"] == "completed" and b["stdout"] == "" and "NameError: name 'n'" in b["stderr"]
    assert c == {"process_status": "timeout", "stdout": "", "stderr": "Execution timed out after 1.0 seconds\n"}


def test_an_unreachable_sandbox_service_stops_the_run_with_one_line(tmp_path, data_dir, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("SKILLS_SANDBOX_URL", f"http://127.0.0.1:{port}")
    script = {"PROBLEM-I": [{"text": "```python\nprint(1)\n"}]}
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"problem": "PROBLEM-I"}) + "\n")
    (tmp_path / "script.json").write_text(turns(script))
    (tmp_path / "prompt.yaml").write_text("user: |-\n  {problem}\n")
    with StubProcess(script=tmp_path / "script.json") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={inp}", f"++output_file={tmp_path / 'o.jsonl'}",
                                          f"++prompt_config={tmp_path / 'prompt.yaml'}", f"++data_dir={data_dir}",
                                          "++code_execution=True", "++code_tags=qwen", "++soft_fail=True"),
                             capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                             cwd=tmp_path)
    assert res.returncode == 1 and "code execution: sandbox service" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o.jsonl.done").exists()


def test_an_interpreter_without_ipython_is_one_clear_error():
    import asyncio
    import importlib.util

    from skills.config.errors import UsageError
    from skills.inference.python_session import PythonSession
    from skills.sandbox import Sandbox

    if importlib.util.find_spec("IPython") is not None:
        pytest.skip("this interpreter has IPython")
    sandbox = Sandbox(python=sys.executable)
    try:
        with pytest.raises(UsageError, match="no IPython"):
            asyncio.run(PythonSession(sandbox).run("1"))
    finally:
        sandbox.close()
