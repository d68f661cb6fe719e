"""One progress display per ns command: a live table at a terminal, periodic plain lines in logs;
never a stack of interleaved per-job bars."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import NS

from skills.pipeline.executors.display import plain_line



def _cmd(stub, tmp_path: Path) -> list:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"question": f"q{i}"}) + "\n" for i in range(40)))
    return [NS, "generate", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
            "--model=m", f"--input_file={src}", f"--output_dir={tmp_path / 'bench'}", "--num_random_seeds=2",
            "++prompt_config=generic/default", "++max_concurrent_requests=2", "++server.retry_base_delay_s=0.01"]


def test_plain_lines_when_not_a_terminal(tmp_path):
    with StubProcess(latency=0.05, fail_every=7, fail_kinds="503") as stub:
        res = subprocess.run(_cmd(stub, tmp_path), capture_output=True, text=True,
                             env={**os.environ, "SKILLS_PROGRESS_INTERVAL": "0.3"}, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("progress: ")]
    for seed in (0, 1):
        final = [ln for ln in lines if ln.startswith(f"progress: bench rs{seed}: done 40/40 (100%)")]
        assert final, lines
    assert any("retries" in ln and "retries 0" not in ln for ln in lines)  # retries are counted
    assert "\r" not in res.stdout and "req/s" not in res.stdout  # no tqdm bars
    log = (tmp_path / "bench" / "generation-logs" / "generate-rs0.log").read_text()
    assert "\r" not in log and "generations:" not in log


def test_a_live_table_at_a_terminal(tmp_path):
    with StubProcess(latency=0.05) as stub:
        master, slave = pty.openpty()
        proc = subprocess.Popen(_cmd(stub, tmp_path), stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=60)
        os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, screen[-2000:]
    assert "benchmark / seed" in screen and "tok/s" in screen and "ETA" in screen
    assert "bench rs0" in screen and "bench rs1" in screen and "40/40" in screen
    assert "generations:" not in screen  # the per-run tqdm bars are gone


def test_plain_line_format():
    line = plain_line({"label": "aime24 rs3", "state": "generating", "done": 30, "total": 120, "tok_s": 512.4,
                       "eta_s": 3725, "retries": 2, "failures": 1})
    assert line == ("progress: aime24 rs3: generating 30/120 (25%), 512 tok/s, ETA 1h02m, retries 2, failures 1")
