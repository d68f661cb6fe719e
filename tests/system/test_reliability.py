"""Failures found by a fault-injection probe, each reproduced here: orphans and parallel writers,
--rerun_done, bad response bodies, a full disk, summaries of incomplete folders, secrets in logs,
file modes, and retries under overload."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.stub_server import StubProcess, generate_cmd
from tests.helpers.paths import NS



def rows_file(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "problem": f"{i} + 1", "expected_answer": str(i + 1)}) + "\n"
                           for i in range(n)))
    return src


def ns_generate(stub, src: Path, out: Path, *extra: str) -> list:
    return [NS, "generate", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
            "--model=stub-model", f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math",
            "++server.retry_base_delay_s=0.01", *extra]


def processes_mentioning(text: str) -> list:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append((int(proc.name), cmdline))
    return found


def wait_for(predicate, timeout: float = 30.0, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def requests_sent(record: Path) -> list:
    return [json.loads(x)["body"]["messages"][-1]["content"] for x in record.read_text().splitlines()] \
        if record.exists() else []


# ----------------------------------------------------------------------------- 1. orphans, parallel writers
def test_kill_9_of_the_top_ns_process_takes_its_children_down(tmp_path):
    src, out, record = rows_file(tmp_path, 40), tmp_path / "gen", tmp_path / "req.jsonl"
    with StubProcess(latency=0.3, record=record) as stub:
        cmd = ns_generate(stub, src, out, "++max_concurrent_requests=2")
        top = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: len(requests_sent(record)) >= 2)
        assert processes_mentioning(str(out))  # the generation program runs under the ns process
        top.send_signal(signal.SIGKILL)
        top.wait()
        assert wait_for(lambda: not processes_mentioning(str(out)), timeout=20), processes_mentioning(str(out))
        sent_when_killed = len(requests_sent(record))
        time.sleep(1.0)
        assert len(requests_sent(record)) <= sent_when_killed + 2  # nothing kept sending after the kill
        # `ns status` tells the dead run from a live one
        status = subprocess.run([NS, "status", str(out)], capture_output=True, text=True)
        assert "interrupted" in status.stdout, status.stdout
        res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
    assert [r["id"] for r in read_jsonl(out / "output.jsonl")] == list(range(40))
    sent = requests_sent(record)
    assert len(sent) <= 40 + 2 * 2  # at most the killed run's in-flight requests and one unsaved batch again


def test_a_second_identical_run_fails_at_once_naming_the_first(tmp_path):
    src, out, record = rows_file(tmp_path, 30), tmp_path / "gen", tmp_path / "req.jsonl"
    with StubProcess(latency=0.2, record=record) as stub:
        cmd = ns_generate(stub, src, out, "++max_concurrent_requests=2")
        first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert wait_for(lambda: len(requests_sent(record)) >= 1)
        t0 = time.monotonic()
        second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert time.monotonic() - t0 < 20
        assert second.returncode == 2
        err = [ln for ln in second.stderr.splitlines() if not ln.startswith("note: ")]  # notes: prompt wording
        assert len(err) == 1 and f"in use by another run (pid {first.pid} on host" in err[0], second.stderr
        assert first.wait(timeout=300) == 0, first.stdout.read()
    assert [r["id"] for r in read_jsonl(out / "output.jsonl")] == list(range(30))
    assert sorted(requests_sent(record)) == sorted({*requests_sent(record)})  # no prompt sent twice


def test_generation_program_owns_its_output_file(tmp_path):
    src, out = rows_file(tmp_path, 20), tmp_path / "res" / "output.jsonl"
    with StubProcess(latency=0.2) as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                           "++prompt_config=generic/math", "++max_concurrent_requests=1")
        first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: Path(f"{out}-async").exists())
        second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and f"output {out} is in use by another run (pid {first.pid}" in second.stderr
        assert first.wait(timeout=300) == 0


# ----------------------------------------------------------------------------- 2. --rerun_done
def test_rerun_done_regenerates_and_keeps_old_results_until_then(tmp_path):
    src, out = rows_file(tmp_path, 5), tmp_path / "gen"
    with StubProcess(answer="first {user}") as stub:
        assert subprocess.run(ns_generate(stub, src, out), capture_output=True, text=True).returncode == 0
    assert all(r["generation"].startswith("first") for r in read_jsonl(out / "output.jsonl"))
    record = tmp_path / "req.jsonl"
    with StubProcess(answer="second {user}", record=record) as stub:
        again = subprocess.run(ns_generate(stub, src, out), capture_output=True, text=True)
        assert again.returncode == 0 and len(requests_sent(record)) == 0  # done: nothing regenerated
        rerun = subprocess.run(ns_generate(stub, src, out, "--rerun_done"), capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len(requests_sent(record)) == 5
    assert all(r["generation"].startswith("second") for r in read_jsonl(out / "output.jsonl"))
    assert (out / "output.jsonl.done").exists() and not list(out.glob(".*previous"))


def test_interrupted_rerun_leaves_the_old_results_aside(tmp_path):
    from skills.inference.program import _generate  # noqa: F401  (the behaviour under test)

    src, out = rows_file(tmp_path, 30), tmp_path / "res" / "output.jsonl"
    with StubProcess(answer="old") as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math")
        assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    old = out.read_bytes()
    with StubProcess(answer="new", latency=0.2) as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                           "++prompt_config=generic/math", "++skip_filled=False", "++max_concurrent_requests=1")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: Path(f"{out}-async").exists())
        proc.kill()
        proc.wait()
    assert not out.exists() and (out.parent / ".output.jsonl.previous").read_bytes() == old


# ----------------------------------------------------------------------------- 3. bodies
def test_malformed_200_bodies_are_retried_then_soft_failed(tmp_path):
    src, out = rows_file(tmp_path, 6), tmp_path / "res" / "output.jsonl"
    with StubProcess(fail_every=2, fail_kinds="malformed") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math"), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "x malformed body" in res.stderr and "Traceback" not in res.stderr
    assert [r["finish_reason"] for r in read_jsonl(out)] == ["stop"] * 6
    with StubProcess(fail_every=1, fail_kinds="malformed") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math", "++soft_fail=True", "++skip_filled=False",
                                          "++server.max_retries=2"), capture_output=True, text=True)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    rows = read_jsonl(out)
    assert all(r["finish_reason"] == "error" and "malformed JSON" in r["error"] for r in rows)


def test_a_request_that_always_fails_names_its_input_line(tmp_path):
    src, out = rows_file(tmp_path, 5), tmp_path / "res" / "output.jsonl"
    with StubProcess(fail_marker="3 + 1", fail_kinds="400") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math"), capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"error: {src}:4: HTTP 400" in res.stderr


# ----------------------------------------------------------------------------- 4. full disk, unwritable places
def test_a_full_disk_stops_the_requests_with_one_clear_line(tmp_path, monkeypatch, capsys):
    from skills.inference import program
    from skills.inference.resume import Journal

    src, out = rows_file(tmp_path, 60), tmp_path / "res" / "output.jsonl"
    real_flush, calls = Journal.flush, {"n": 0}

    def flush(self):
        calls["n"] += 1
        if calls["n"] > 1 and self.buffer:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_flush(self)

    monkeypatch.setattr(Journal, "flush", flush)
    record = tmp_path / "req.jsonl"
    with StubProcess(latency=0.05, record=record) as stub:
        rc = program.main(["++server.server_type=vllm", f"++server.base_url={stub.base_url}", "++server.model=m",
                           f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math",
                           "++max_concurrent_requests=2"])
        time.sleep(0.3)  # requests already on the wire when the write failed: the stub records them after 50 ms
        sent = len(requests_sent(record))
        time.sleep(0.5)
        assert len(requests_sent(record)) == sent  # nothing in flight any more
    err = capsys.readouterr().err
    assert rc == 1 and "No space left on device; stopped sending requests" in err
    assert sent < 60 and not out.exists() and not Path(f"{out}.done").exists()
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] and "Traceback" not in err


def test_torn_journal_tail_is_trimmed_on_resume(tmp_path):
    src, out = rows_file(tmp_path, 4), tmp_path / "res" / "output.jsonl"
    out.parent.mkdir()
    Path(f"{out}-async").write_text(json.dumps({"id": 0, "generation": "x", "_async_position": 0}) +
                                    '\n{"id": 1, "generat')
    with StubProcess(record=tmp_path / "req.jsonl") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math", "++skip_filled=True"),
                             capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in read_jsonl(out)] == [0, 1, 2, 3] and len(requests_sent(tmp_path / "req.jsonl")) == 3


def test_unwritable_log_dir_is_one_line(tmp_path):
    src, blocker = rows_file(tmp_path, 2), tmp_path / "file"
    blocker.write_text("not a folder")
    res = subprocess.run([NS, "generate", "--cluster=local", "--server_type=openai", "--model=m",
                          "--server_address=http://127.0.0.1:9/v1", f"--input_file={src}",
                          f"--output_dir={tmp_path / 'o'}", f"--log_dir={blocker / 'logs'}",
                          "++prompt_config=generic/math"], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    err = [ln for ln in res.stderr.splitlines() if not ln.startswith("note: ")]
    assert len(err) == 1 and str(blocker) in err[0]


# ----------------------------------------------------------------------------- 5. summaries
def _seed(folder: Path, seed: int, correct: bool, done: bool = True) -> None:
    path = folder / f"output-rs{seed}.jsonl"
    path.write_text(json.dumps({"symbolic_correct": correct, "predicted_answer": "1"}) + "\n")
    if done:
        (folder / f"output-rs{seed}.jsonl.done").write_text("")


def test_summaries_read_only_complete_seed_files(tmp_path, capsys):
    from skills.config.errors import UsageError
    from skills.metrics.summarize import summarize_results

    bench = tmp_path / "eval-results" / "aime24"
    bench.mkdir(parents=True)
    for seed in range(3):
        _seed(bench, seed, True)
    (bench / "output-rs0.backup.jsonl").write_text(json.dumps({"symbolic_correct": False}) + "\n")
    _seed(bench, 3, False, done=False)  # written, not graded yet
    (bench / "output-rs4.jsonl-async").write_text("")  # still generating
    summarize_results(str(tmp_path))
    err = capsys.readouterr().err
    metrics = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())["aime24"]
    assert "pass@1[avg-of-3]" in metrics and metrics["pass@1[avg-of-3]"]["symbolic_correct"] == 100.0
    assert "seed 4 is still being generated" in err and "output-rs3.jsonl is written but not done" in err
    assert "ignoring output-rs0.backup.jsonl" in err
    with pytest.raises(UsageError, match="seed 4 is still being generated"):
        summarize_results(str(tmp_path), fail_on_incomplete=True)


# ----------------------------------------------------------------------------- 6. smaller
def test_api_keys_given_by_value_reach_no_log_or_plan(tmp_path):
    src, out = rows_file(tmp_path, 2), tmp_path / "gen"
    secret = "sk-" + "A1b2" * 8
    with StubProcess() as stub:
        dry = subprocess.run(ns_generate(stub, src, out, f"++server.api_key={secret}", "--dry_run"),
                             capture_output=True, text=True)
        assert dry.returncode == 0 and secret not in dry.stdout + dry.stderr
        assert "++server.api_key_env_var=SKILLS_SERVER_API_KEY" in dry.stdout
        res = subprocess.run(ns_generate(stub, src, out, f"++server.api_key={secret}"), capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
    assert secret not in res.stdout + res.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path


def test_redact_masks_secret_looking_values():
    from skills.config.secrets import redact

    line = "x ++server.api_key=abc123 --token 'zz' HF_TOKEN=hf_" + "a" * 30 + " ++server.api_key_env_var=MY_KEY"
    masked = redact(line)
    assert "abc123" not in masked and "hf_aaaa" not in masked and "api_key_env_var=MY_KEY" in masked


def test_outputs_honour_the_umask_and_regrading_keeps_the_mode(tmp_path):
    src, out = rows_file(tmp_path, 3), tmp_path / "res" / "output.jsonl"
    old = os.umask(0o022)
    try:
        with StubProcess() as stub:
            res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                              "++prompt_config=generic/math", "++eval_type=math"),
                                 capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        out.chmod(0o664)
        graded = subprocess.run([NS, "evaluate", "--eval_type=math", str(out)], capture_output=True, text=True)
        assert graded.returncode == 0, graded.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_a_huge_prompt_is_not_echoed_whole(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "res" / "output.jsonl"
    src.write_text(json.dumps({"problem": "x" * 200_000, "expected_answer": "1"}) + "\n")
    with StubProcess(answer="ok") as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math"), capture_output=True, text=True)
    assert res.returncode == 0 and len(res.stderr) < 10_000 and "more characters not shown" in res.stderr


def test_local_servers_listen_on_localhost_unless_configured(tmp_path):
    from skills.config.cluster import ClusterConfig, parse_cluster_config
    from skills.pipeline.servers import PortAllocator, ServerOptions, make_server

    opts = ServerOptions("vllm", "/m", server_gpus=1)
    local = ClusterConfig(executor="local")
    assert "--host 127.0.0.1 " in make_server(opts, local, PortAllocator(local)).command
    exposed = parse_cluster_config({"executor": "local", "server_host": "0.0.0.0"}, "x")
    assert "--host 0.0.0.0 " in make_server(opts, exposed, PortAllocator(exposed)).command


# ----------------------------------------------------------------------------- 7. overload
def test_retrying_requests_do_not_hold_the_concurrency_slots(tmp_path):
    """One request keeps failing with a long Retry-After; the others must not wait behind it."""
    src, out = rows_file(tmp_path, 20), tmp_path / "res" / "output.jsonl"
    with StubProcess(fail_marker="n0 + 1", fail_kinds="503", retry_after="2", latency=0.05) as stub:
        t0 = time.monotonic()
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_config=generic/math", "++max_concurrent_requests=1",
                                          "++server.max_retries=1", "++soft_fail=True"),
                             capture_output=True, text=True, timeout=120)
        took = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(out)
    assert rows[0]["finish_reason"] == "error" and all(r["finish_reason"] == "stop" for r in rows[1:])
    # holding the only slot through the 2 s Retry-After would serialise the other 19 behind it
    end_times = sorted(r["generation_end_time"] for r in rows[1:])
    assert end_times[-1] - end_times[0] < 2.0, took
    assert "1 x HTTP 503" in res.stderr  # retry counts by reason at the end of the run


def test_kill_9_of_ns_at_random_moments_then_resume(tmp_path):
    """The top `ns` process killed at random points (never only the child): no orphan keeps
    writing, and a plain rerun completes with every row exactly once."""
    import random

    rng = random.Random(7)
    src, out, record = rows_file(tmp_path, 60), tmp_path / "gen", tmp_path / "req.jsonl"
    with StubProcess(latency=0.05, record=record) as stub:
        cmd = ns_generate(stub, src, out, "++max_concurrent_requests=4", "++eval_type=math")
        for _ in range(3):
            top = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, 3.0))
            top.send_signal(signal.SIGKILL)
            top.wait()
            assert wait_for(lambda: not processes_mentioning(str(out)), timeout=20), processes_mentioning(str(out))
            final = out / "output.jsonl"
            if final.exists():  # the final file is either absent or complete
                assert [r["id"] for r in read_jsonl(final)] == list(range(60))
        res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
    rows = read_jsonl(out / "output.jsonl")
    assert [r["id"] for r in rows] == list(range(60)) and all("symbolic_correct" in r for r in rows)
    assert (out / "output.jsonl.done").exists()
    assert len(requests_sent(record)) <= 60 + 3 * 2 * 4  # per kill: in flight + one unsaved batch


def test_a_journal_that_fails_in_the_periodic_flush_stops_the_run_with_one_line(tmp_path, monkeypatch, capsys):
    """The flush every FLUSH_EVERY_S (not the one a full batch triggers) fails while rows are in flight:
    the run stops with that error, not with the cancellation of the rows in progress."""
    from skills.inference import program
    from skills.inference.resume import Journal

    src, out = rows_file(tmp_path, 300), tmp_path / "res" / "output.jsonl"
    real_flush = Journal.flush

    def flush(self):
        if self.buffer:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_flush(self)

    monkeypatch.setattr(Journal, "flush", flush)
    monkeypatch.setattr(program, "FLUSH_EVERY_S", 0.01)
    with StubProcess(latency=0.05) as stub:  # a batch would be 1,000 rows: only the periodic flush writes
        rc = program.main(["++server.server_type=vllm", f"++server.base_url={stub.base_url}", "++server.model=m",
                           f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math",
                           "++max_concurrent_requests=1000"])
    err = capsys.readouterr().err
    assert rc == 1 and "No space left on device; stopped sending requests" in err, err
    assert "Traceback" not in err and not out.exists()
