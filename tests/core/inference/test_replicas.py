"""Several endpoints for one run: spread, per-endpoint figures in the log, one dying mid-run."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.helpers.stub_server import StubProcess, generate_cmd


def rows_file(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "problem": f"{i} + 1"}) + "\n" for i in range(n)))
    return src


def recorded(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_requests_spread_over_three_replicas_and_one_dies_mid_run(tmp_path):
    n = 360
    src, out = rows_file(tmp_path, n), tmp_path / "res" / "output.jsonl"
    records = [tmp_path / f"req{i}.jsonl" for i in range(3)]
    with StubProcess(latency=0.15, record=records[0], answer="r0 {user}") as a, \
            StubProcess(latency=0.15, record=records[1], answer="r1 {user}") as b, \
            StubProcess(latency=0.15, record=records[2], answer="r2 {user}") as c:
        urls = "'" + ",".join(s.base_url for s in (a, b, c)) + "'"  # quoted: Hydra's grammar
        proc = subprocess.Popen(generate_cmd(urls, f"++input_file={src}", f"++output_file={out}",
                                             "++prompt_config=generic/math", "++max_concurrent_requests=6"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while recorded(records[1]) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        b.proc.kill()  # replica 2 dies with requests in flight
        b.proc.wait()
        killed_at = recorded(records[1])
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(n))  # complete, in order, each row once
    by = {k: sum(r["generation"].startswith(k) for r in rows) for k in ("r0", "r1", "r2")}
    assert by["r1"] <= killed_at < n // 3  # it died early; what it answered before is kept
    assert by["r0"] > n // 3 and by["r2"] > n // 3 and sum(by.values()) == n  # the others took its share
    assert abs(by["r0"] - by["r2"]) < n // 6  # spread evenly (least outstanding requests)
    assert "stopped answering" in err and "its requests go to the others" in err
    lines = [ln for ln in err.splitlines() if "endpoint " in ln and " requests" in ln]
    assert len(lines) == 3 and all(f"endpoint {i}/3" in ln for i, ln in zip((1, 2, 3), lines))
    assert f"{by['r0']} requests" in lines[0] and f"{by['r2']} requests" in lines[2]
    assert "/s" in lines[0] and "not answering at the end" in lines[1]


def test_a_list_of_addresses_for_ns_generate(tmp_path):
    """``--server_address`` with several comma-separated URLs: both endpoints take requests."""
    from tests.helpers.commands import ns

    src, out = rows_file(tmp_path, 40), tmp_path / "gen"
    rec = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    with StubProcess(latency=0.05, record=rec[0]) as a, StubProcess(latency=0.05, record=rec[1]) as b:
        res = ns("generate", "--cluster=local", "--server_type=vllm", f"--server_address={a.base_url},{b.base_url}",
                 "--model=stub-model", f"--input_file={src}", f"--output_dir={out}", "++prompt_config=generic/math",
                 "++max_concurrent_requests=4", cwd=tmp_path, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
    rows = [json.loads(line) for line in (out / "output.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(40))
    assert recorded(rec[0]) >= 10 and recorded(rec[1]) >= 10 and recorded(rec[0]) + recorded(rec[1]) == 40


def test_a_bad_entry_in_a_list_of_addresses_is_one_line(tmp_path):
    from tests.helpers.commands import ns

    src = rows_file(tmp_path, 2)
    res = ns("generate", "--cluster=local", "--server_type=vllm",
             "--server_address=http://127.0.0.1:1/v1,127.0.0.1:2/v1", "--model=m", f"--input_file={src}",
             f"--output_dir={tmp_path / 'o'}", "++prompt_config=generic/math", "--dry_run", cwd=tmp_path)
    assert res.returncode == 2 and "'127.0.0.1:2/v1' is not an http(s) URL" in res.stderr
    assert "Traceback" not in res.stderr
