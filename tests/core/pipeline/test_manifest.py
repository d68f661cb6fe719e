"""The run manifest: recorded once per run, secrets never in it, and summaries that warn when the
seed files they combine come from runs with different settings."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tests.helpers.stub_server import StubProcess
from tests.helpers.paths import NS

SECRET = "sk-" + "Zq9" * 8


def _generate(stub, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([NS, "generate", "--cluster=local", "--server_type=vllm",
                           f"--server_address={stub.base_url}", "--model=stub-model", f"--input_file={src}",
                           f"--output_dir={out}", "++prompt_config=generic/math", "++eval_type=math",
                           f"++server.api_key={SECRET}", *extra], capture_output=True, text=True, timeout=300)


def test_manifest_records_the_run_and_flags_mixed_seeds(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"problem": f"{i}+1", "expected_answer": str(i + 1)}) + "\n" for i in range(4)))
    out = tmp_path / "bench"
    with StubProcess() as stub:
        first = _generate(stub, src, out, "--num_random_seeds=2", "++inference.temperature=0.6")
        assert first.returncode == 0, first.stdout + first.stderr
        merged = json.loads((out / "manifest.json").read_text())
        (run,) = merged["runs"]
        record = json.loads((out / "manifests" / f"{run}.json").read_text())
        entry = record["benchmarks"]["bench"]
        assert entry["data"] == {"file": str(src), "sha256": hashlib.sha256(src.read_bytes()).hexdigest(), "rows": 4}
        assert entry["prompt"]["config"] == "generic/math" and len(entry["prompt"]["sha256"]) == 64
        assert entry["seeds"] == [0, 1] and "++inference.temperature=0.6" in entry["overrides"]
        assert record["packages"]["skills"] and record["exit_code"] == 0 and record["finished"]
        assert [j["kind"] for j in record["jobs"]] == ["generation", "generation"]
        assert any("skills.inference.generate" in p for j in record["jobs"] for p in j["programs"][0])
        assert merged["files"] == {"output-rs0.jsonl": run, "output-rs1.jsonl": run}
        # other overrides that do not change the outputs (another temperature is refused: tests/test_provenance.py)
        second = _generate(stub, src, out, "--random_seeds=2,3", "++inference.temperature=0.6",
                           "++max_concurrent_requests=3")
        assert second.returncode == 0, second.stdout + second.stderr
    for path in out.rglob("*"):  # the key went by name only
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    table = subprocess.run([NS, "summarize_results", str(out), "--metric_type=math"], capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    assert "its files come from different runs: overrides differs between run" in table.stderr
    assert "output-rs0.jsonl, output-rs1.jsonl" in table.stderr
    rows = json.loads((out / "manifest.json").read_text())["rows"]
    assert rows == {f"output-rs{s}.jsonl": 4 for s in range(4)}


def test_one_run_of_many_seeds_gives_no_warning(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"problem": "1+1", "expected_answer": "2"}) + "\n")
    out = tmp_path / "bench"
    with StubProcess() as stub:
        assert _generate(stub, src, out, "--num_random_seeds=3").returncode == 0
    table = subprocess.run([NS, "summarize_results", str(out), "--metric_type=math"], capture_output=True, text=True)
    assert table.returncode == 0 and "different runs" not in table.stderr
