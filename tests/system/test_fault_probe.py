"""The second fault-injection probe: ways to get a wrong number with exit 0 (gateway errors sent
with status 200, resumes over changed inputs), hidden results, leaked secrets, bad values that only
failed in the job, waits for processes that are gone, and smaller ones. Each is reproduced here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import NS
from tests.helpers.stub_server import SCRIPT as STUB, StubProcess, generate_cmd



def rows_file(tmp_path: Path, n: int, name: str = "in.jsonl") -> Path:
    src = tmp_path / name
    src.write_text("".join(json.dumps({"id": i, "problem": f"{i} + 1", "expected_answer": str(i + 1)}) + "\n"
                           for i in range(n)))
    return src


def program(stub, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math",
                       "++server.max_retries=2", *extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def errors(stderr: str) -> list:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


# ----------------------------------------------------------------------------- 1. a 200 is not an answer
GATEWAY_BODIES = [
    '{"error": {"message": "upstream timed out", "type": "gateway_error"}}',
    "{}",
    '{"choices": []}',
    '{"choices": null}',
    '{"choices": [{"message": null, "finish_reason": "stop"}]}',
    "[]",
    "null",
    '"x"',
    '{"choices": [null]}',
    '{"choices": [{"message": {"role": "assistant", "content": "4"}}], "usage": "x"}',
    '{"choices": [{"message": {"role": "assistant", "content": 5}}]}',
    '{"choices": "x"}',
]


@pytest.mark.parametrize("body", GATEWAY_BODIES)
def test_a_200_without_a_completion_fails_the_row(tmp_path, body):
    src, out = rows_file(tmp_path, 3), tmp_path / "res" / "output.jsonl"
    with StubProcess(body=body) as stub:
        res = program(stub, src, out)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    err = errors(res.stderr)
    assert len(err) == 1 and f"{src}:" in err[0] and "HTTP 200 without a completion" in err[0], res.stderr
    assert "2 x HTTP 200 without a completion" in res.stderr or "HTTP 200 without a completion" in err[0]
    assert not out.exists() and not Path(f"{out}.done").exists()


def test_a_gateway_error_is_retried_like_a_5xx_then_named(tmp_path):
    src, out = rows_file(tmp_path, 2), tmp_path / "res" / "output.jsonl"
    record = tmp_path / "req.jsonl"
    with StubProcess(body='{"error": {"message": "upstream timed out"}}', record=record) as stub:
        res = program(stub, src, out, "++max_concurrent_requests=1")
    assert res.returncode == 1
    assert len(record.read_text().splitlines()) >= 3  # the first row: 1 attempt + 2 retries
    assert "upstream timed out" in errors(res.stderr)[0] and "after 3 attempts" in errors(res.stderr)[0]


def test_soft_fail_records_a_gateway_error_like_the_reference(tmp_path):
    src, out = rows_file(tmp_path, 3), tmp_path / "res" / "output.jsonl"
    for flag in ("++soft_fail=True", "++server.enable_soft_fail=True"):
        with StubProcess(body='{"choices": []}') as stub:
            res = program(stub, src, out, flag, "++skip_filled=False")
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        rows = read_jsonl(out)
        assert [r["finish_reason"] for r in rows] == ["error"] * 3
        assert all(r["generation"] == "" and "HTTP 200 without a completion" in r["error"] for r in rows)
        assert "3 of 3 rows failed" in res.stderr


def test_content_parts_are_joined():
    from skills.inference.client import completion_problem, parse_response

    data = {"choices": [{"message": {"role": "assistant", "content": [
        {"type": "text", "text": "The answer "}, {"type": "image_url", "image_url": {}},
        {"type": "text", "text": "is 4."}]}, "finish_reason": "stop"}]}
    assert completion_problem(data, "http://h/v1/chat/completions") is None
    assert parse_response(data, chat=True).text == "The answer is 4."
    # wrong-typed details count as absent, never a traceback
    data = {"choices": [{"message": {"content": "x"}, "finish_reason": 3}],
            "usage": {"completion_tokens": "many", "completion_tokens_details": "x"}}
    comp = parse_response(data, chat=True)
    assert comp.text == "x" and comp.num_generated_tokens is None and comp.finish_reason is None
    ok_tool_call = {"choices": [{"message": {"content": None, "tool_calls": [{"id": "1"}]}}]}
    assert completion_problem(ok_tool_call, "http://h/v1/chat/completions") is None
    assert completion_problem({"output": None}, "http://h/v1/responses")
    assert completion_problem({"choices": [{"text": None}]}, "http://h/v1/completions")


def test_server_error_bodies_lose_their_terminal_control_characters(tmp_path):
    src, out = rows_file(tmp_path, 1), tmp_path / "res" / "output.jsonl"
    hostile = r"bad \x1b[2J\x1b]0;owned\x07request\x1b[31m red\x08\x00"
    with StubProcess(error_status=400, error_text=hostile) as stub:
        res = program(stub, src, out)
    assert res.returncode == 1
    err = errors(res.stderr)[0]
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr and "\x00" not in res.stderr
    assert "bad request red" in err


# ----------------------------------------------------------------------------- 2. resume refuses to mix inputs
def _killed_half_way(stub, src: Path, out: Path, *extra: str) -> None:
    """A run killed after some rows were saved (the journal holds them, the output does not exist)."""
    cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math",
                       "++max_concurrent_requests=2", *extra)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = Path(f"{out}-async")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 4):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert journal.exists() and not out.exists()


@pytest.mark.parametrize("change, expected", [
    ("data", "input file changed"),
    ("++inference.temperature=0.7", "inference.temperature 0.0 -> 0.7"),
    ("++inference.random_seed=3", "inference.random_seed 0 -> 3"),
    ("++server.model=other-model", "server.model \"stub-model\" -> \"other-model\""),
    ("++system_message=brief", "system_message unset -> \"brief\""),
    ("++inference.extra_body.top_k=5", 'inference.extra_body {} -> {"top_k":5}'),
])
def test_a_resume_over_changed_inputs_is_refused_in_one_line(tmp_path, change, expected):
    src, out = rows_file(tmp_path, 40), tmp_path / "res" / "output.jsonl"
    with StubProcess(latency=0.1) as stub:
        _killed_half_way(stub, src, out)
        extra = []
        if change == "data":  # re-prepared data: other problems on the same lines
            src.write_text("".join(json.dumps({"id": i, "problem": f"{i} * 7", "expected_answer": str(7 * i)}) + "\n"
                                   for i in range(40)))
        else:
            extra = [change]
        before = Path(f"{out}-async").read_bytes()
        res = program(stub, src, out, "++skip_filled=True", *extra)
    assert res.returncode == 2, res.stderr
    err = errors(res.stderr)
    assert len(err) == 1 and expected in err[0], res.stderr
    assert "--rerun_done" in err[0] and "restore" in err[0]
    assert Path(f"{out}-async").read_bytes() == before and not out.exists()


def test_a_resume_with_the_same_inputs_and_a_new_server_goes_on(tmp_path):
    src, out = rows_file(tmp_path, 40), tmp_path / "res" / "output.jsonl"
    with StubProcess(latency=0.1) as stub:
        _killed_half_way(stub, src, out)
    record = tmp_path / "req.jsonl"
    with StubProcess(record=record) as stub:  # another port, more requests at once, longer timeouts
        res = program(stub, src, out, "++skip_filled=True", "++max_concurrent_requests=7",
                      "++inference.timeout=99", "++server.max_retries=5")
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_jsonl(out)] == list(range(40))
    assert 0 < len(record.read_text().splitlines()) < 40


def test_ns_generate_refuses_the_resume_before_anything_starts(tmp_path):
    src, out = rows_file(tmp_path, 40), tmp_path / "gen"
    target = out / "output.jsonl"
    with StubProcess(latency=0.1) as stub:
        _killed_half_way(stub, src, target)
        cmd = [NS, "generate", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
               "--model=stub-model", f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math",
               "++inference.temperature=0.5"]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert len(lines) == 1 and "inference.temperature 0.0 -> 0.5" in lines[0] and "--rerun_done" in lines[0]
    assert not (out / "manifest.json").exists()  # the run never started: no manifest credits it


def test_fingerprint_differences_in_words():
    from skills.config.fingerprint import Fingerprint

    old = Fingerprint().add("input file", "sha256:" + "a" * 16).add_all({"inference": {"temperature": 0.0}})
    old.add("prompt_config", "x" * 200).add("system_message", None).add("stop", ["</s>"])
    new = Fingerprint().add("input file", "sha256:" + "b" * 16).add_all({"inference": {"temperature": 0.7}})
    new.add("prompt_config", "y" * 200).add("system_message", "be brief").add("stop", ["</s>"])
    new.add("new_setting", 3)  # recorded by one side only (another version): not compared
    assert old.differences(new) == [
        "input file changed (aaaaaaaa -> bbbbbbbb)", "inference.temperature 0.0 -> 0.7",
        f"prompt_config changed ({old.values['prompt_config'][7:15]} -> {new.values['prompt_config'][7:15]})",
        'system_message unset -> "be brief"']
    assert old.describe_changes(new, limit=2).endswith("and 2 more")
    assert Fingerprint.from_dict(old.to_dict()).changes(old) == []
    assert Fingerprint.from_dict("garbage") is None


# ----------------------------------------------------------------------------- 3. --rerun_done hides nothing
def test_a_rerun_against_a_dead_server_leaves_the_results_in_place(tmp_path):
    src, out = rows_file(tmp_path, 4), tmp_path / "gen"
    with StubProcess(answer="first") as stub:
        base = [NS, "generate", "--cluster=local", "--server_type=vllm", "--model=stub-model",
                f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math",
                "++server.retry_base_delay_s=0.01"]
        assert subprocess.run([*base, f"--server_address={stub.base_url}"], capture_output=True).returncode == 0
    before = {p.name: p.read_bytes() for p in out.glob("output*")}
    assert "output.jsonl" in before and "output.jsonl.done" in before
    res = subprocess.run([*base, "--server_address=http://127.0.0.1:9/v1", "--rerun_done",
                          "++server.wait_for_server_s=1"], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert {p.name: p.read_bytes() for p in out.glob("output*")} == before
    assert not list(out.glob(".*previous"))
    summary = subprocess.run([NS, "summarize_results", str(out)], capture_output=True, text=True)
    assert "no complete result files" not in summary.stdout + summary.stderr


def test_a_rerun_that_fails_after_its_first_row_names_what_it_moved_aside(tmp_path):
    src, out = rows_file(tmp_path, 6), tmp_path / "res" / "output.jsonl"
    with StubProcess(answer="old") as stub:
        assert program(stub, src, out).returncode == 0
    old = out.read_bytes()
    with StubProcess(answer="new", fail_marker="3 + 1", fail_kinds="400") as stub:
        res = program(stub, src, out, "++skip_filled=False", "++max_concurrent_requests=1")
    assert res.returncode == 1
    aside = out.parent / ".output.jsonl.previous"
    assert aside.read_bytes() == old and not out.exists() and not Path(f"{out}.done").exists()
    moved = [ln for ln in res.stderr.splitlines() if "moved aside" in ln]
    assert len(moved) == 1 and str(aside) in moved[0]
    assert str(aside) in [ln for ln in res.stderr.splitlines() if "kept in" in ln][0]
    summary = subprocess.run([NS, "summarize_results", str(out.parent), "--metric_type=math"], capture_output=True,
                             text=True)
    assert ".output.jsonl.previous" in summary.stdout + summary.stderr
    with StubProcess(answer="new") as stub:  # the rerun completes: the old results go
        assert program(stub, src, out, "++skip_filled=True").returncode == 0
    assert not aside.exists() and all(r["generation"] == "new" for r in read_jsonl(out))


def test_previous_results_come_back_when_a_rerun_died_between_two_renames(tmp_path):
    src, out = rows_file(tmp_path, 3), tmp_path / "res" / "output.jsonl"
    with StubProcess(answer="old") as stub:
        assert program(stub, src, out).returncode == 0
        old = out.read_bytes()
        Path(f"{out}.done").unlink()
        out.rename(out.parent / ".output.jsonl.previous")  # moved aside, killed before the journal existed
        record = tmp_path / "req.jsonl"
    with StubProcess(answer="new", record=record) as stub:
        res = program(stub, src, out, "++skip_filled=True")
    assert res.returncode == 0 and "restored the previous results" in res.stderr
    assert out.read_bytes() == old and Path(f"{out}.done").exists() and not record.read_text()


# ----------------------------------------------------------------------------- 5. bad values fail at plan time
def _ns(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([NS, *args], capture_output=True, text=True, timeout=timeout)


def _one_error(res: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.startswith("note: ")]
    assert res.returncode == 2 and len(lines) == 1 and "Traceback" not in res.stderr, res.stdout + res.stderr
    return lines[0]


@pytest.mark.parametrize("override, words", [
    ("++inference.temperature=nan", "inference.temperature must be a finite number"),
    ("++inference.temperature=inf", "inference.temperature must be a finite number"),
    ("++inference.top_p=-inf", "inference.top_p must be a finite number"),
    ("++inference.top_p=NaN", "inference.top_p must be a finite number"),
    ("++inference.tokens_to_generate=-5", "inference.tokens_to_generate must be >= 1"),
    ("++inference.temperature=-1", "inference.temperature must be >= 0"),
])
def test_bad_sampling_values_fail_at_plan_time(tmp_path, override, words):
    src = rows_file(tmp_path, 2)
    res = _ns("generate", "--cluster=local", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1",
              "--model=m", f"--input_file={src}", f"--output_dir={tmp_path / 'o'}", "++prompt_config=generic/math",
              override)
    assert words in _one_error(res)
    assert not (tmp_path / "o").exists()


def test_bad_options_fail_at_plan_time(tmp_path):
    src = rows_file(tmp_path, 2)
    common = ["--cluster=local", "--model=m", f"--input_file={src}", f"--output_dir={tmp_path / 'o'}",
              "++prompt_config=generic/math"]
    err = _one_error(_ns("generate", "--server_type=vllm", "--server_address=localhost:5000", *common))
    assert "--server_address 'localhost:5000' is not an http(s) URL" in err and "http://localhost:5000/v1" in err
    err = _one_error(_ns("generate", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1",
                         "--num_chunks=0", *common))
    assert "--num_chunks must be >= 1" in err
    missing = tmp_path / "no-such-model"
    err = _one_error(_ns("generate", "--server_type=vllm", "--server_gpus=1", *common[:1], f"--model={missing}",
                         *common[2:]))
    assert f"--model {missing}: no such file or folder" in err
    err = _one_error(_ns("generate", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1", *common,
                         "++num_chunks=0", "++chunk_id=0"))
    assert "chunk_id must be in [0, num_chunks)" in err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- 4. secrets on every route
def _files_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_secrets_in_overrides_and_urls_reach_the_server_and_no_file(tmp_path):
    src, out, record = rows_file(tmp_path, 3), tmp_path / "gen", tmp_path / "req.jsonl"
    body_key, password, api_key = "body-SECRET-1x", "PASS-2y", "sk-" + "Z9y8" * 8
    with StubProcess(record=record) as stub:
        address = stub.base_url.replace("http://", f"http://alice:{password}@")
        cmd = [NS, "generate", "--cluster=local", "--server_type=vllm", f"--server_address={address}",
               "--model=stub-model", f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math",
               f"++inference.extra_body.api_key={body_key}", "++inference.extra_body.client_secret=s3cr3t-x",
               "++inference.extra_body.stop_token_ids=[7,8]"]
        dry = subprocess.run([*cmd, "--dry_run"], capture_output=True, text=True)
        dry_json = subprocess.run([*cmd, "--dry_run", "--dry_run_format=json"], capture_output=True, text=True)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0 and dry_json.returncode == 0 and res.returncode == 0, dry.stderr + res.stderr
    plan = json.loads(dry_json.stdout)
    argv = " ".join(a for job in plan["jobs"] for prog in job["programs"] for a in prog)
    assert "${oc.env:SKILLS_SERVER_INFERENCE_EXTRA_BODY_API_KEY}" in argv and "[7,8]" in argv
    for secret in (body_key, password, "s3cr3t-x"):
        for text in (dry.stdout + dry.stderr, dry_json.stdout, res.stdout + res.stderr, _files_text(out), argv):
            assert secret not in text
    bodies = [json.loads(x)["body"] for x in record.read_text().splitlines()]
    assert all(b["api_key"] == body_key and b["client_secret"] == "s3cr3t-x" and b["stop_token_ids"] == [7, 8]
               for b in bodies) and len(bodies) == 3
    # a key by value as well as user:password@: one clear line, no traceback, no secret
    both = subprocess.run([*cmd, f"++server.api_key={api_key}", "--rerun_done"], capture_output=True, text=True)
    assert both.returncode != 0 and "Traceback" not in both.stdout + both.stderr + _files_text(out)
    assert "an Authorization header holds only one" in both.stdout
    assert api_key not in both.stdout + both.stderr + _files_text(out) and password not in both.stdout


def test_secrets_in_server_args_go_by_environment(tmp_path, monkeypatch):
    from skills.config.cluster import ClusterConfig
    from skills.pipeline.dryrun import render
    from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan
    from skills.pipeline.servers import ServerOptions

    model, src = tmp_path / "model", rows_file(tmp_path, 2)
    model.mkdir()
    args = "--max-model-len 128 --api-key KEY-S1 --hf-token=hf-S2 --token S3"
    for server_type in ("vllm", "sglang"):
        opts = GenerateOptions(output_dir=str(tmp_path / "o"), cluster=ClusterConfig(executor="local"),
                               server=ServerOptions(server_type, str(model), server_gpus=1, server_args=args),
                               input_file=str(src), overrides=["++prompt_config=generic/math"])
        plan = build_generate_plan(opts)
        text = render(plan) + render(plan, "json")
        for secret in ("KEY-S1", "hf-S2", "S3 "):
            assert secret not in text
        server = plan.jobs[0].server
        assert server.secret_env.get("HF_TOKEN") == "SKILLS_SERVER_ARGS_HF_TOKEN"
        assert "--max-model-len 128" in server.command and '--token "$SKILLS_SERVER_ARGS_TOKEN"' in server.command
        assert "++server.api_key_env_var=SKILLS_SERVER_ARGS_API_KEY" in plan.jobs[0].commands[0]
        assert {"SKILLS_SERVER_ARGS_API_KEY", "SKILLS_SERVER_ARGS_HF_TOKEN"} <= set(plan.jobs[0].secret_env)
        if server_type == "vllm":
            assert server.secret_env["VLLM_API_KEY"] == "SKILLS_SERVER_ARGS_API_KEY" and "--api-key" not in server.command
        else:  # sglang takes the key only as a flag: expanded by the job's shell from the variable
            assert '--api-key "$SKILLS_SERVER_ARGS_API_KEY"' in server.command
    assert os.environ["SKILLS_SERVER_ARGS_API_KEY"] == "KEY-S1"
    # the server process gets the value under the variable it reads; its log shows no value
    from skills.servers.launch import start_server

    server.secret_env = {"VLLM_API_KEY": "SKILLS_SERVER_ARGS_API_KEY"}
    server.command = f"echo key=$VLLM_API_KEY > {tmp_path / 'seen'}"
    proc = start_server(server, tmp_path / "server.log")
    assert proc.wait(30) == 0 and (tmp_path / "seen").read_text().strip() == "key=KEY-S1"
    assert "KEY-S1" not in (tmp_path / "server.log").read_text()


def test_slurm_scripts_carry_secret_names_only(tmp_path):
    pytest.importorskip("nemo_run")
    from skills.config.cluster import ClusterConfig
    from skills.pipeline.servers import ServerOptions
    from skills.pipeline.executors import slurm as S
    from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan

    cluster = ClusterConfig(executor="slurm", name="t", account="a", partition="p", job_dir=str(tmp_path))
    src = rows_file(tmp_path, 2)
    opts = GenerateOptions(output_dir="/out", cluster=cluster,
                           server=ServerOptions("vllm", "/models/m", server_gpus=1, server_args="--api-key KEY-S9"),
                           input_file=str(src), overrides=["++prompt_config=generic/math",
                                                           "++inference.extra_body.token=TOK-S8"])
    plan = build_generate_plan(opts)
    scripts = "".join(S.dry_run_scripts(plan, cluster).values())
    assert "KEY-S9" not in scripts and "TOK-S8" not in scripts
    assert 'export VLLM_API_KEY="${SKILLS_SERVER_ARGS_API_KEY}"' in scripts


# ----------------------------------------------------------------------------- 7. smaller ones
def _pids_with(text: str) -> list:
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    out.append(int(proc.name))
            except OSError:
                pass
    return out


def _wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_guard_stops_at_once_when_its_command_ends():
    import signal

    from skills.servers.guard import guarded

    proc = subprocess.Popen(guarded(["sleep", "297.5"]), start_new_session=True)
    assert _wait_until(lambda: _pids_with("sleep 297.5") != [proc.pid] and len(_pids_with("sleep 297.5")) >= 2)
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(30)
    assert time.monotonic() - t0 < 3.0  # not the 10 s grace: sleep ends on SIGTERM at once
    assert _wait_until(lambda: not _pids_with("sleep 297.5"), 5)


def test_kill_9_of_a_guard_ends_its_command(tmp_path):
    import signal

    marker = "sleep 296.25"
    top = subprocess.Popen([NS, "run_cmd", "--cluster=local", f"--log_dir={tmp_path / 'logs'}",
                            f"{marker} && echo never"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert _wait_until(lambda: any(p for p in _pids_with(marker) if p != top.pid and
                                       "servers.guard" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")))
        guard = [p for p in _pids_with(marker) if "servers.guard" in
                 Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")][0]
        os.kill(guard, signal.SIGKILL)
        assert _wait_until(lambda: not [p for p in _pids_with(marker) if p != top.pid], 15), _pids_with(marker)
        assert top.wait(30) != 0
    finally:
        if top.poll() is None:
            top.kill()


def test_input_file_errors_exit_2_in_one_line_with_no_manifest(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "1"}\n{bad json\n')
    lacking = tmp_path / "lacking.jsonl"
    lacking.write_text('{"question": "1"}\n')
    for src, words in ((bad, "bad.jsonl:2: not valid JSON"), (lacking, "needs field 'problem'")):
        out = tmp_path / f"o-{src.stem}"
        res = _ns("generate", "--cluster=local", "--server_type=vllm", "--server_address=http://127.0.0.1:9/v1",
                  "--model=m", f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math")
        assert words in _one_error(res) and not out.exists()


def test_a_run_refused_at_its_lock_writes_no_manifest(tmp_path):
    src, blocker = rows_file(tmp_path, 2), tmp_path / "file"
    blocker.write_text("not a folder")
    out = tmp_path / "o"
    res = _ns("generate", "--cluster=local", "--server_type=openai", "--model=m",
              "--server_address=http://127.0.0.1:9/v1", f"--input_file={src}", f"--output_dir={out}",
              f"--log_dir={blocker / 'logs'}", "++prompt_config=generic/math")
    assert str(blocker) in _one_error(res)
    assert not (out / "manifest.json").exists() and not list(out.glob("manifests/*"))


def test_a_full_disk_names_the_file_it_could_not_write(tmp_path, monkeypatch, capsys):
    import errno

    from skills.data import io as data_io
    from skills.inference import program

    src, out = rows_file(tmp_path, 3), tmp_path / "res" / "output.jsonl"
    real = data_io.os.fdopen

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fh, name)

    monkeypatch.setattr(data_io.os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    with StubProcess() as stub:
        rc = program.main(["++server.server_type=vllm", f"++server.base_url={stub.base_url}", "++server.model=m",
                           f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert rc == 1 and len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0], err
    assert Path(f"{out}-async").exists() and not Path(f"{out}.done").exists()  # resumable


def test_prepare_data_reports_every_benchmark(tmp_path, mirror_dir):
    res = subprocess.run([NS, "prepare_data", "aime24", "ruler", "aime25", f"--data_dir={tmp_path}",
                          f"--mirror={mirror_dir}", "--no-prompts"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"aime24: {tmp_path / 'aime24' / 'test.jsonl'}" in res.stdout
    assert f"aime25: {tmp_path / 'aime25' / 'test.jsonl'}" in res.stdout
    err = _one_error(res)
    assert "1 of 3 benchmarks failed: ruler:" in err and "prepared: aime24, aime25" in err


# ----------------------------------------------------------------------------- 6. no waiting for what is gone
def _local_plan(tmp_path, *jobs):
    from skills.pipeline.plan import Plan

    return Plan(expname="t", cluster="local", executor="local", jobs=list(jobs), log_dir=str(tmp_path / "logs"))


def _stub_sidecar(port: int, command: str = ""):
    from skills.pipeline.plan import SidecarSpec

    stub = STUB
    return SidecarSpec(name="stub", command=command or f"{sys.executable} {stub} --port {port}", port=port,
                       health_url=f"http://127.0.0.1:{port}/v1/models",
                       client_env={"STUB_URL": f"http://127.0.0.1:{port}/v1"})


REACH_STUB = (f"{sys.executable} -c \"import os, urllib.request as u; "
              "print('stub answered', u.urlopen(os.environ['STUB_URL'] + '/models').status)\"")


def test_a_port_taken_since_the_plan_moves_at_job_start(tmp_path, monkeypatch):
    import io
    import socket

    from skills.pipeline.executors.local import run_plan
    from skills.pipeline.plan import Job
    from skills.servers.ports import find_free_port

    monkeypatch.setenv("SKILLS_STATE_DIR", str(tmp_path / "state"))
    port = find_free_port()
    sidecar = _stub_sidecar(port)
    job = Job("j", "generation", [REACH_STUB], sidecars=[sidecar], env=dict(sidecar.client_env))
    with socket.socket() as taken:  # another process took the port after planning
        taken.bind(("127.0.0.1", port))
        taken.listen()
        out = io.StringIO()
        rc = run_plan(_local_plan(tmp_path, job), out=out, server_timeout_s=30)
    text = out.getvalue()
    assert rc == 0, text
    assert f"port {port} planned for a service is taken now" in text and "stub answered 200" in text


def test_a_bind_failure_retries_another_port(tmp_path, monkeypatch):
    import io

    from skills.pipeline.executors.local import run_plan
    from skills.pipeline.plan import Job
    from skills.servers.ports import find_free_port

    monkeypatch.setenv("SKILLS_STATE_DIR", str(tmp_path / "state"))
    port, flag = find_free_port(), tmp_path / "bound-once"
    stub = STUB
    # the first start loses a race for its port (as a real server logs it), the second one binds
    command = (f"if [ ! -e {flag} ]; then touch {flag}; echo 'OSError: [Errno 98] Address already in use' >&2; "
               f"exit 1; fi; exec {sys.executable} {stub} --port {port}")
    sidecar = _stub_sidecar(port, command)
    job = Job("j", "generation", [REACH_STUB], sidecars=[sidecar], env=dict(sidecar.client_env))
    out = io.StringIO()
    rc = run_plan(_local_plan(tmp_path, job), out=out, server_timeout_s=30)
    text = out.getvalue()
    assert rc == 0, text
    assert f"sidecar stub could not bind port {port}; trying port" in text and "stub answered 200" in text


def test_a_sidecar_that_dies_mid_job_ends_the_job_with_its_log(tmp_path, monkeypatch):
    import io

    from skills.pipeline.executors.local import run_plan
    from skills.pipeline.plan import Job
    from skills.servers.ports import find_free_port

    monkeypatch.setenv("SKILLS_STATE_DIR", str(tmp_path / "state"))
    port = find_free_port()
    stub = STUB
    command = f"timeout 3 {sys.executable} {stub} --port {port}; echo 'sandbox ran out of memory' >&2; exit 7"
    job = Job("j", "generation", ["sleep 120", "echo never"], sidecars=[_stub_sidecar(port, command)])
    out = io.StringIO()
    t0 = time.monotonic()
    rc = run_plan(_local_plan(tmp_path, job), out=out, server_timeout_s=30)
    text = out.getvalue()
    assert rc == 1 and time.monotonic() - t0 < 60, text
    assert "the sidecar stub exited with code 7 while the job ran" in text and "ran out of memory" in text


def test_ns_eval_against_a_gateway_answering_200_errors_fails_loudly(tmp_path, mirror_dir):
    """The acceptance case: `ns eval --benchmarks=aime24:2` against an endpoint that answers every
    request with `{"error": ...}` and status 200 exits non-zero, writes no `.done`, and says which
    rows failed and why (it used to report 0.00% with exit 0)."""
    data = tmp_path / "data"
    prep = subprocess.run([NS, "prepare_data", "aime24", f"--data_dir={data}", f"--mirror={mirror_dir}",
                           "--no-prompts"], capture_output=True, text=True, timeout=300)
    assert prep.returncode == 0, prep.stderr
    out = tmp_path / "eval"
    with StubProcess(body='{"error": {"message": "model overloaded, try later", "code": 503}}') as stub:
        res = subprocess.run([NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
                              "--model=stub-model", "--benchmarks=aime24:2", f"--output_dir={out}",
                              f"--data_dir={data}", "++server.max_retries=1", "++server.retry_base_delay_s=0.01"],
                             capture_output=True, text=True, timeout=600)
    assert res.returncode != 0, res.stdout + res.stderr
    assert not list(out.rglob("*.done")) and not list(out.rglob("metrics.json"))
    text = res.stdout + res.stderr
    assert f"{data / 'aime24' / 'test.jsonl'}:" in text and "HTTP 200 without a completion" in text
    assert "model overloaded, try later" in text and "Traceback" not in text


def test_the_resume_fingerprint_records_no_secret(tmp_path):
    from skills.inference.config import GenerateConfig
    from skills.inference.task import GenerationTask

    src = rows_file(tmp_path, 1)
    cfg = GenerateConfig(prompt_config="generic/math", output_file="x")
    cfg.server.api_key = "sk-" + "Q" * 30
    cfg.inference.extra_body = {"api_key": "BODY-SECRET-9", "top_k": 5, "auth": {"token": "NESTED-SECRET-8"}}
    text = json.dumps(GenerationTask(cfg).fingerprint(src, [[{"role": "user", "content": "1 + 1"}]]).to_dict())
    assert "QQQQ" not in text and "BODY-SECRET-9" not in text and "NESTED-SECRET-8" not in text
    assert '"top_k": 5' in text
