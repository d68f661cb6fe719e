"""``ns eval --benchmarks=bfcl_v3`` end to end on the tiny tool model (vLLM on CPU), with tool calls
parsed by the server (our ``skills_json`` plugin, loaded with --tool-parser-plugin as the tutorial
loads Nemotron's) and by the client (local chat template + the same format's parser). Both modes use
one server, started with the plugin (``tool_server``, conftest.py), through ``--server_address``.

The prepared splits are cut to the entries the model was trained on (2 per single-turn split, 1 per
multi-turn split); ``trained_outcomes.json`` says what each must generate and how it is graded.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.paths import NS
from tests.helpers.vllm import SharedServer
from tests.helpers.files import read_jsonl
from skills.benchmarks.bfcl_v3 import SPLITS


@pytest.fixture(scope="module")
def bfcl_data(bfcl_python, bwrap, mirror_dir, tiny_tool_model, tmp_path_factory):
    """Prepared data cut to the trained entries."""
    from skills.data.prepare import prepare_benchmarks

    data = tmp_path_factory.mktemp("bfcl-data")
    prepare_benchmarks(["bfcl_v3"], data, mirror_dir)
    trained = json.loads((tiny_tool_model / "trained_outcomes.json").read_text())
    for split in SPLITS:
        path = data / "bfcl_v3" / split / "test.jsonl"
        keep = [x for x in path.read_text().splitlines() if json.loads(x)["id"] in trained]
        assert keep, split
        path.write_text("\n".join(keep) + "\n")
    return data


PINNED = "gorilla@d2177992bbba"  # what rows and metrics.json record: the reference's gorilla commit


def run_eval(tmp_path: Path, server: SharedServer, data: Path, *overrides: str) -> Path:
    out = tmp_path / "out"
    res = subprocess.run([NS, "eval", "--cluster=local", *server.address_args(), "--benchmarks=bfcl_v3",
                          f"--data_dir={data}", f"--output_dir={out}", "++inference.temperature=0.0",
                          "++inference.tokens_to_generate=200", "++max_concurrent_requests=4", *overrides],
                         cwd=tmp_path, capture_output=True, text=True, timeout=2400, env=dict(os.environ))
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-6000:]
    assert "overall_accuracy" in res.stdout  # the group metrics job printed the group table
    return out


def check_results(out: Path, model: Path, mode: str) -> None:
    trained = json.loads((model / "trained_outcomes.json").read_text())
    members = {}
    for split in SPLITS:
        folder = out / "eval-results" / "bfcl_v3" / f"bfcl_v3.{split}"
        rows = read_jsonl(folder / "output.jsonl")
        assert (folder / "output.jsonl.done").exists()
        for row in rows:
            expected = trained[row["id"]]
            assert row["generation"] == expected[f"{mode}_generation"], row["id"]
            assert row["is_correct"] is expected["correct"], row["id"]
            assert row["result"] == row["generation"]
            assert row["bfcl_checker"] == PINNED  # gorilla at the reference's pin graded it
            if split.startswith("multi_turn"):
                assert row["bfcl_sandbox"] == "bwrap" and len(row["num_generated_tokens_list"]) > 1
                assert row["bfcl_build"] == PINNED  # ... and ran its simulated APIs
        members[split] = json.loads((folder / "metrics.json").read_text())[f"bfcl_v3.{split}"]["pass@1"]
        assert members[split]["bfcl_checker"] == PINNED
        assert members[split]["num_entries"] == len(rows)
        assert members[split]["accuracy"] == pytest.approx(100.0 * sum(r["is_correct"] for r in rows) / len(rows))
    group = json.loads((out / "eval-results" / "bfcl_v3" / "metrics.json").read_text())
    # 2 entries per single-turn split, 1 right and 1 wrong: 50% each; multi-turn: 3 of 4 right
    assert all(members[s]["accuracy"] == 50.0 for s in SPLITS if not s.startswith("multi_turn"))
    assert group["non_live_single_turn"]["overall_non_live"] == {"accuracy": 50.0, "num_entries": 14}
    assert group["live_single_turn"]["overall_live"] == {"accuracy": 50.0, "num_entries": 12}
    assert group["multi_turn"]["overall_multi_turn"] == {"accuracy": 75.0, "num_entries": 4}
    assert group["overall_accuracy"] == {"accuracy": pytest.approx(175 / 3), "num_entries": 30}
    assert group["live_single_turn"]["live_relevance"] == members["live_relevance"]
    assert group["bfcl_checker"] == PINNED


@pytest.mark.slow
def test_server_side_parsing(tool_server, tiny_tool_model, bfcl_data, tmp_path):
    out = run_eval(tmp_path, tool_server, bfcl_data, "++use_client_parsing=False")
    check_results(out, tiny_tool_model, "server")
    # summarize_results on the folder: the group table first, its score under "bfcl_v3" in metrics.json
    table = subprocess.run([NS, "summarize_results", str(out / "eval-results")], capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    assert table.stdout.index("--- bfcl_v3 ---") < table.stdout.index(" bfcl_v3.simple ")
    saved = json.loads((out / "eval-results" / "metrics.json").read_text())
    group = json.loads((out / "eval-results" / "bfcl_v3" / "metrics.json").read_text())
    assert saved["bfcl_v3"] == group and set(saved) == {"bfcl_v3"} | {f"bfcl_v3.{s}" for s in SPLITS}


@pytest.mark.slow
def test_client_side_parsing(tool_server, tiny_tool_model, bfcl_data, tmp_path):
    out = run_eval(tmp_path, tool_server, bfcl_data, "++client_parser=skills_json")
    check_results(out, tiny_tool_model, "client")
