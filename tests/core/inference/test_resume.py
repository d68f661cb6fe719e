"""Crash safety: journal recovery, kill -9 at random moments, chunked runs and their merge."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from skills.inference.merge_chunks import chunk_bounds, chunk_path, merge
from skills.inference.resume import Journal, finalize, read_journal
from tests.helpers.stub_server import StubProcess, generate_cmd

KEY = "_async_position"
SEED = int(os.environ.get("SKILLS_CRASH_SEED", "1234"))


def ids(path: Path) -> List[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


# ----------------------------------------------------------------------------- units

def test_torn_last_line_is_dropped_and_cut_before_appending(tmp_path):
    out = tmp_path / "o.jsonl"
    j = Journal(out, KEY)
    assert j.open() == set()
    for i in (2, 0):
        j.add(i, {"id": i})
    j.close()
    with open(j.path, "ab") as fh:
        fh.write(b'{"id": 1, "_async_pos')  # killed mid-line
    assert set(read_journal(j.path, KEY)) == {0, 2}
    j2 = Journal(out, KEY)
    assert j2.open() == {0, 2}
    j2.add(1, {"id": 1})
    j2.close()
    assert set(read_journal(j2.path, KEY)) == {0, 1, 2}
    assert finalize(out, KEY, 3) == 3
    assert ids(out) == [0, 1, 2] and not j.path.exists()


def test_finalize_refuses_incomplete_journal(tmp_path):
    out = tmp_path / "o.jsonl"
    j = Journal(out, KEY)
    j.open()
    j.add(0, {"id": 0})
    j.add(0, {"id": 0, "dup": True})
    j.close()
    with pytest.raises(RuntimeError, match="missing"):
        finalize(out, KEY, 2)
    assert not out.exists() and j.path.exists()
    assert read_journal(j.path, KEY)[0] == {"id": 0}  # duplicates: first one wins


def test_chunk_bounds_cover_everything():
    for total in (0, 1, 7, 10):
        for n in (1, 3, 4):
            parts = [chunk_bounds(total, n, k) for k in range(n)]
            assert [i for p in parts for i in p] == list(range(total))
            assert [len(p) for p in parts] == sorted((len(p) for p in parts), reverse=True)


def test_merge_waits_for_all_chunks_and_is_idempotent(tmp_path):
    out = tmp_path / "out.jsonl"
    chunks = [chunk_path(out, k) for k in range(2)]
    assert chunks[1].name == "out_chunk_1.jsonl"
    chunks[0].write_text('{"id": 0}\n')
    Path(f"{chunks[0]}.done").touch()
    assert merge(out, chunks) is False and not out.exists()
    chunks[1].write_text('{"id": 1}\n')
    Path(f"{chunks[1]}.done").touch()
    graded = []
    assert merge(out, chunks, graded.append) is True
    assert ids(out) == [0, 1] and graded == [out] and Path(f"{out}.done").exists()
    assert not chunks[0].exists() and Path(f"{chunks[0]}.done").exists()
    assert merge(out, chunks, graded.append) is True and graded == [out]


# ----------------------------------------------------------------------------- crashes

def _kill_at(cmd: List[str], cwd: Path, delay: float) -> int:
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _check_invariants(out: Path, n: int) -> None:
    """Whatever the moment of the crash: a final file is complete, a marker implies a file."""
    if out.exists():
        assert ids(out) == list(range(n))
    if Path(f"{out}.done").exists():
        assert out.exists()


def _rows(tmp: Path, n: int) -> Path:
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"problem": f"q{i}", "id": i, "expected_answer": "42"}) + "\n"
                           for i in range(n)))
    return src


def test_kill_9_at_random_moments_then_resume(tmp_path):
    rng = random.Random(SEED)
    n = 120
    src = _rows(tmp_path, n)
    out = tmp_path / "res" / "output.jsonl"
    with StubProcess(latency=0.05, record=tmp_path / "req.jsonl") as stub:
        cmd = generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                           "++prompt_config=generic/math", "++skip_filled=True",
                           "++max_concurrent_requests=4", "++eval_type=math")
        killed = 0
        for _ in range(5):
            if _kill_at(cmd, tmp_path, rng.uniform(0.3, 2.5)) == -signal.SIGKILL:
                killed += 1
            _check_invariants(out, n)
        res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert killed >= 1, f"no run was killed (seed {SEED})"
    assert ids(out) == list(range(n))
    assert all("symbolic_correct" in json.loads(line) for line in out.read_text().splitlines())
    assert Path(f"{out}.done").exists() and not Path(f"{out}-async").exists()
    sent = len((tmp_path / "req.jsonl").read_text().splitlines())
    # a kill loses at most the requests in flight and one unflushed batch (both <= concurrency)
    assert sent <= n + killed * 2 * 4, "resume regenerated rows that were already in the journal"


def test_chunked_runs_killed_then_merged(tmp_path):
    rng = random.Random(SEED + 1)
    n, chunks = 50, 3
    src = _rows(tmp_path, n)
    out = tmp_path / "output.jsonl"
    with StubProcess(latency=0.05) as stub:
        def cmd(k):
            return generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                "++prompt_config=generic/math", "++skip_filled=True",
                                "++max_concurrent_requests=2", f"++num_chunks={chunks}", f"++chunk_id={k}")
        def all_chunks_done():
            return all(Path(f"{chunk_path(out, k)}.done").exists() for k in range(chunks))

        for k in range(chunks):
            _kill_at(cmd(k), tmp_path, rng.uniform(0.3, 1.5))
            assert out.exists() == all_chunks_done()
        merged_by = None
        for k in range(chunks):
            res = subprocess.run(cmd(k), cwd=tmp_path, capture_output=True, text=True, timeout=300)
            assert res.returncode == 0, res.stderr
            assert out.exists() == all_chunks_done()
            if merged_by is None and "merged 3 chunks" in res.stderr:
                merged_by = k
        assert merged_by is not None or Path(f"{out}.done").exists()
        res = subprocess.run(cmd(0), cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0 and "nothing to generate" in res.stderr
    assert ids(out) == list(range(n)) and Path(f"{out}.done").exists()
    assert all(Path(f"{chunk_path(out, k)}.done").exists() and not chunk_path(out, k).exists()
               for k in range(chunks))


def test_kill_during_merge(tmp_path):
    rng = random.Random(SEED + 2)
    out = tmp_path / "merged.jsonl"
    parts = [range(0, 60000), range(60000, 120000), range(120000, 180000)]
    chunk_files = [chunk_path(out, k) for k in range(3)]
    pad = "x" * 200
    for path, part in zip(chunk_files, parts):
        path.write_text("".join(json.dumps({"id": i, "pad": pad}) + "\n" for i in part))
        Path(f"{path}.done").touch()
    cmd = [sys.executable, "-m", "skills.inference.merge_chunks", str(out), *map(str, chunk_files)]
    for _ in range(5):
        _kill_at(cmd, tmp_path, rng.uniform(0.05, 0.8))
        _check_invariants(out, 180000)
        if not Path(f"{out}.done").exists():
            assert all(p.exists() for p in chunk_files), "chunk deleted before the merge was durable"
    assert subprocess.run(cmd, cwd=tmp_path, timeout=300).returncode == 0
    assert ids(out) == list(range(180000)) and Path(f"{out}.done").exists()
    assert not any(p.exists() for p in chunk_files)
