"""One progress display per ns command, whatever the number of jobs and runs inside them: at a
terminal a live table with one line per benchmark (seeds added up) that fits 80x24; in logs one
plain line per benchmark; a run's own numbers on demand (ns status --progress); and job logs
that say the example prompt once per benchmark, "waiting for the server" once per job and only
while it does not answer, with no line glued onto another."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import NS

from skills.pipeline.executors.display import Tally, plain_line, read_runs, split_label, table, tallies



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
    assert lines and all(ln.startswith("progress: bench: ") for ln in lines)  # one line for both seeds
    assert lines[-1].startswith("progress: bench: 2/2 seeds done, rows 80/80 (100%)"), lines
    assert any(re.search(r", [1-9]\d* retries", ln) for ln in lines)  # retries are counted
    assert "\r" not in res.stdout and "req/s" not in res.stdout  # no tqdm bars
    log = (tmp_path / "bench" / "generation-logs" / "generate-rs0.log").read_text()
    assert "\r" not in log and "generations:" not in log
    detail = subprocess.run([NS, "status", str(tmp_path / "bench"), "--progress"], capture_output=True, text=True)
    assert detail.returncode == 0, detail.stderr
    assert detail.stdout.startswith("bench rs0: done 40/40 (100%)") and "\nbench rs1: done 40/40" in detail.stdout


def test_a_live_table_at_a_terminal(tmp_path):
    with StubProcess(latency=0.05) as stub:
        master, slave = pty.openpty()
        proc = subprocess.Popen(_cmd(stub, tmp_path), stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                env={**os.environ, "COLUMNS": "80", "LINES": "24", "TERM": "xterm"})
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
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen)
    assert re.search(r"benchmark +seeds +rows +tok/s +ETA +state", plain)
    assert re.search(r"bench +2/2 +80/80 ", plain) and re.search(r"all +2/2 +80/80 ", plain)
    assert "each seed: ns status" in plain
    assert "bench rs0" not in plain and "generations:" not in plain  # seeds are added up; no tqdm bars


# --------------------------------------------------------------------------- the table itself

def _runs(spec):
    """Progress files' content for {benchmark: (seeds, rows each, seeds finished)}."""
    runs = []
    for bench, (seeds, rows, finished) in spec.items():
        for s in range(seeds):
            done = rows if s < finished else rows // 2 if s < finished + 4 else 0
            state = "done" if s < finished else "generating" if s < finished + 4 else "pending"
            runs.append({"label": f"{bench} rs{s}", "state": state, "done": done,
                         "total": rows if state != "pending" else 0, "tok_s": 100.0 if state == "generating" else 0,
                         "eta_s": 60 if state == "generating" else None, "retries": 1, "failures": 0})
    return runs


def _render(renderable, width=80, height=24):
    from rich.console import Console

    console = Console(width=width, height=height, record=True, file=open(os.devnull, "w"), color_system=None)
    console.print(renderable)
    return console.export_text().rstrip("\n").splitlines()


TUTORIAL = {"gpqa": (16, 198, 6), "math-500": (16, 500, 0), "aime24": (16, 30, 16), "aime25": (16, 30, 2),
            "mmlu-pro": (8, 12032, 0)}


def test_tutorial_size_fits_80x24():
    """5 benchmarks x 8-16 seeds (72 runs): one line per benchmark, one for all, within 80 columns
    and half the screen (the other half shows the jobs' lines)."""
    runs = _runs(TUTORIAL)
    lines = _render(table(runs, 80, 12, "each seed: ns status eval --progress"))
    assert len(lines) == 1 + 5 + 1 + 1 and all(len(line) <= 80 for line in lines), lines
    assert [line.split()[0] for line in lines[1:7]] == ["gpqa", "math-500", "aime24", "aime25", "mmlu-pro", "all"]
    gpqa = lines[1].split()
    assert gpqa[1] == "6/16" and gpqa[2] == f"{6 * 198 + 4 * 99}/{16 * 198}"  # pending seeds count as many rows
    assert lines[3].split()[1:3] == ["16/16", "480/480"] and lines[3].rstrip().endswith("16 retries")
    assert lines[6].split()[1] == "24/72"
    assert lines[7] == "each seed: ns status eval --progress"


def test_many_benchmarks_never_cut_off():
    spec = {f"ruler.task{i}": (4, 100, 1) for i in range(30)}
    lines = _render(table(_runs(spec), 80, 12), height=12)
    assert len(lines) <= 12 and all(len(line) <= 80 for line in lines)
    assert lines[-2].split()[0] == "+22" and lines[-1].split()[:2] == ["all", "30/120"]
    narrow = _render(table(_runs(TUTORIAL), 50, 12), width=50)
    assert all(len(line) <= 50 for line in narrow) and len(narrow) == 7  # the state column gets cut, not wrapped


def test_seeds_in_numeric_order_and_plan_order(tmp_path):
    for label in ("b rs10", "b rs2", "a rs1", "b rs0 judge", "a rs0"):
        (tmp_path / f"{label.replace(' ', '_')}.json").write_text(json.dumps({"label": label, "state": "done"}))
    assert [r["label"] for r in read_runs(tmp_path)] == ["a rs0", "a rs1", "b rs2", "b rs10", "b rs0 judge"]
    planned = read_runs(tmp_path, ["b rs0", "b rs2", "a rs0"])  # the plan's order: b before a; b rs0 not started
    assert [r["label"] for r in planned][:4] == ["b rs0", "b rs2", "b rs10", "a rs0"]
    assert planned[0]["state"] == "pending"
    assert split_label("aime24 rs10 chunk2 judge") == ("aime24 judge", 10, 2)
    for label in ("c rs0 chunk0", "c rs0 chunk1", "c rs0"):  # a chunked seed, then its merge's grading
        (tmp_path / f"{label.replace(' ', '_')}.json").write_text(json.dumps({"label": label, "state": "done"}))
    assert [r["label"] for r in read_runs(tmp_path) if r["label"].startswith("c ")] == ["c rs0 chunk0", "c rs0 chunk1"]


def test_plain_line_format():
    t = Tally("aime24")
    for run in _runs({"aime24": (8, 30, 2)}):
        t.add(run)
    # 4 runs at 15 of 30 rows, each 60 s from the end (0.25 rows/s): 120 rows left, pending ones included
    assert plain_line(t) == ("progress: aime24: 2/8 seeds done, rows 120/240 (50%), 400 tok/s, ETA 2m00s, "
                             "4 generating, 2 pending, 8 retries")
    benches, overall = tallies(_runs({"a": (2, 10, 2), "b": (2, 10, 0)}))
    assert [b.name for b in benches] == ["a", "b"] and overall.runs == 4 and overall.finished == 2


# --------------------------------------------------------------------------- job logs

def _data(root: Path) -> Path:
    for bench in ("math-500", "aime24"):
        (root / bench).mkdir(parents=True)
        (root / bench / "test.jsonl").write_text(
            "".join(json.dumps({"problem": f"{i}+1", "expected_answer": str(i + 1)}) + "\n" for i in range(6)))
    return root


def test_logs_say_things_once_and_lines_stay_whole(tmp_path):
    """Two benchmarks x 4 seeds in one job against a server that boots for 12 s: the example prompt
    once per benchmark, "waiting for the server" once (the job's runs share it), never after it
    answers, and every line of the job's log is one message."""
    data = _data(tmp_path / "data")
    with StubProcess(boot_delay=12) as stub:  # longer than ns takes to start the runs
        res = subprocess.run([NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
                              "--model=m", f"--output_dir={tmp_path / 'out'}", f"--data_dir={data}",
                              "--benchmarks=math-500:4,aime24:4", "++server.retry_base_delay_s=0.01"],
                             capture_output=True, text=True, timeout=600,
                             env={**os.environ, "SKILLS_PROGRESS_INTERVAL": "1"})
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        again = subprocess.run([NS, "eval", "--cluster=local", "--server_type=vllm",
                                f"--server_address={stub.base_url}", "--model=m", f"--output_dir={tmp_path / 'again'}",
                                f"--data_dir={data}", "--benchmarks=math-500:2", "++server.retry_base_delay_s=0.01"],
                               capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    out = res.stdout
    assert out.count("Example prompt:") == 2
    assert out.count("waiting for the server at") == 1
    assert "waiting for the server" not in again.stdout and again.stdout.count("Example prompt:") == 1  # healthy at once
    job_log = (tmp_path / "out" / "eval-logs").glob("eval-math-500-aime24.log")
    for text in [out, *(p.read_text() for p in job_log)]:
        for line in text.splitlines():
            # a message starting in the middle of another line was glued onto it
            assert not re.search(r"\S(waiting for the server|grading /|Example prompt:|progress: )", line), line
    assert re.search(r"progress: math-500: 4/4 seeds done, rows 24/24 \(100%\)", out)
