"""Server launch lines, free ports, health waiting, and one real vLLM-CPU chat completion."""

from __future__ import annotations

import json
import re
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl

from skills.config.errors import UsageError
from skills.pipeline.plan import ServerSpec
from skills.servers.commands import build_server_command, health_url, server_tasks_per_node
from skills.servers.health import ServerStartError, wait_for_server
from skills.servers.launch import start_server, stop_server
from skills.servers.ports import find_free_port, port_is_free


def test_vllm_command_exact():
    cmd = build_server_command("vllm", "/models/Qwen3-8B", 5000, gpus=8)
    assert cmd == (
        "python3 -m vllm.entrypoints.openai.api_server --model /models/Qwen3-8B "
        "--served-model-name /models/Qwen3-8B --trust-remote-code --host 0.0.0.0 --port 5000 "
        "--tensor-parallel-size 8"
    )


def test_vllm_args_verbatim_prefix_and_tp_over_nodes():
    cmd = build_server_command(
        "vllm", "nvidia/Nemotron-H", 6000, gpus=8, nodes=2,
        server_args="--mamba_ssm_cache_dtype float32 ", python="/venv/bin/python",
        prefix="source /venv/bin/activate &&",
    )
    assert cmd.startswith("source /venv/bin/activate && export SLURM_MASTER_NODE=")  # Ray over 2 nodes
    assert "\n  /venv/bin/python -m vllm.entrypoints" in cmd
    assert "--tensor-parallel-size 16 --distributed-executor-backend ray --mamba_ssm_cache_dtype float32\n" in cmd


def test_quoted_server_args_kept_verbatim():
    args = '--tool-parser-plugin "/x/y.py" --tool-call-parser "nemotron_json" --enable-auto-tool-choice'
    cmd = build_server_command("vllm", "m", 1, gpus=1, server_args=args)
    assert cmd.endswith("--tensor-parallel-size 1 " + args)


def test_model_path_is_shell_quoted():
    cmd = build_server_command("vllm", "/my models/x", 1, gpus=1)
    assert "--model '/my models/x' --served-model-name '/my models/x'" in cmd


def test_sglang_command_exact_and_multinode():
    assert build_server_command("sglang", "/m", 5000, gpus=4) == (
        "python3 -m sglang.launch_server --model-path /m --served-model-name /m "
        "--trust-remote-code --host 0.0.0.0 --port 5000 --tp 4"
    )
    multi = build_server_command("sglang", "/m", 5000, gpus=8, nodes=2, server_args="--dp 2")
    assert multi.endswith(
        '--tp 16 --nnodes 2 --node-rank $SLURM_PROCID --dist-init-addr "$SLURM_MASTER_NODE:20000" --dp 2'
    )
    # the first node of the allocation, unless set before
    assert multi.startswith('export SLURM_MASTER_NODE="${SLURM_MASTER_NODE:-$(scontrol show hostnames '
                            '"$SLURM_JOB_NODELIST" | head -n1)}" && python3 -m sglang.launch_server')
    wrapped = build_server_command("sglang", "/m", 5000, gpus=8, nodes=2, entrypoint="-m my.serve_sglang")
    assert "--num_nodes 2 --port 5000 --dist_init_addr $SLURM_MASTER_NODE --node_rank $SLURM_PROCID" in wrapped


def test_trtllm_command_exact_and_multinode():
    assert build_server_command("trtllm", "/engine", 5000, gpus=2, server_args="--backend pytorch") == (
        "trtllm-serve /engine --host 0.0.0.0 --port 5000 --tp_size 2 --backend pytorch"
    )
    multi = build_server_command("trtllm", "/engine", 5000, gpus=8, nodes=2)
    assert multi == "trtllm-llmapi-launch trtllm-serve /engine --host 0.0.0.0 --port 5000 --tp_size 16"
    # one task per GPU over several nodes (the launcher makes them one MPI world); Megatron per GPU on Slurm
    assert server_tasks_per_node("trtllm", 8, 2, True) == 8 and server_tasks_per_node("trtllm", 8, 1, True) == 1
    assert server_tasks_per_node("megatron", 4, 1, True) == 4 and server_tasks_per_node("megatron", 4, 1, False) == 1
    assert server_tasks_per_node("vllm", 8, 2, True) == 1 and server_tasks_per_node("sglang", 8, 2, True) == 1


def test_vllm_over_nodes_runs_in_a_ray_cluster():
    cmd = build_server_command("vllm", "/m", 5000, gpus=8, nodes=2, server_args="--max-model-len 4096",
                               python="/venv/bin/python", prefix="source /venv/bin/activate &&")
    assert cmd.startswith("source /venv/bin/activate && export SLURM_MASTER_NODE=")
    head, worker = cmd.split("\nelse\n")
    assert 'if [ "${SLURM_PROCID:-0}" = 0 ]; then' in head
    # the head: Ray head first, then all nodes joined, then the server with TP over every GPU
    steps = ["/venv/bin/ray start --head --port=$_ray_port", "/venv/bin/ray stop", "ray.nodes()",
             "' 2 \"${SKILLS_SERVER_WAIT_S:-7200}\" || exit 1",
             "/venv/bin/python -m vllm.entrypoints.openai.api_server --model /m"]
    assert [head.index(s) for s in steps] == sorted(head.index(s) for s in steps)
    assert head.rstrip().endswith("--tensor-parallel-size 16 --distributed-executor-backend ray --max-model-len 4096")
    # a worker: waits for the head's port, then joins it and blocks
    assert worker.index("socket.create_connection") < worker.index(
        '/venv/bin/ray start --block --address="$SLURM_MASTER_NODE:$_ray_port" $_ray_ports')
    assert "vllm" not in worker and worker.rstrip().endswith("fi")
    # one node: the plain line, no Ray
    assert "ray" not in build_server_command("vllm", "/m", 5000, gpus=8, nodes=1)
    # a vLLM wrapper (--server_entrypoint) runs on the head like vLLM itself, as in the reference
    wrapped = build_server_command("vllm", "/m", 5000, gpus=8, nodes=2, entrypoint="-m my.serve_vllm")
    assert "ray start --head" in wrapped and "python3 -m my.serve_vllm --model /m --num_gpus 8 --num_nodes 2" in wrapped


def test_unknown_server_type_is_usage_error():
    with pytest.raises(UsageError, match="unknown server type 'tgi'"):
        build_server_command("tgi", "m", 1, gpus=1)


def test_health_urls():
    assert health_url("vllm", "127.0.0.1", 5000) == "http://127.0.0.1:5000/health"
    assert health_url("sglang", "h", 1) == "http://h:1/health"
    assert health_url("trtllm", "h", 1) == "http://h:1/health"
    assert health_url("generic", "h", 1) == "http://h:1/v1/models"


def test_free_port_is_bindable_and_busy_port_avoided():
    port = find_free_port()
    assert port_is_free(port)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert not port_is_free(taken)
        assert find_free_port(preferred=taken) != taken
    free = find_free_port()
    assert find_free_port(preferred=free) == free


def test_wait_fails_with_log_tail_when_process_exits(tmp_path: Path):
    log = tmp_path / "server.log"
    script = "; ".join(f"print('loading line {i}')" for i in range(40)) + "; raise SystemExit(3)"
    proc = start_server(f"{sys.executable} -c \"{script}\"", log)
    with pytest.raises(ServerStartError) as err:
        wait_for_server(f"http://127.0.0.1:{find_free_port()}/health", 120, proc, log, poll_s=0.2)
    msg = str(err.value)
    assert "exited with code 3" in msg and str(log) in msg
    assert "loading line 39" in msg and "loading line 5\n" not in msg  # only the tail


def test_wait_times_out_when_server_never_answers(tmp_path: Path):
    log = tmp_path / "server.log"
    proc = start_server(f"{sys.executable} -c \"print('booting', flush=True); import time; time.sleep(600)\"", log)
    try:
        with pytest.raises(ServerStartError) as err:
            wait_for_server(f"http://127.0.0.1:{find_free_port()}/health", 1.0, proc, log, poll_s=0.2)
        msg = str(err.value)
        assert "did not become healthy" in msg and str(log) in msg and "booting" in msg
    finally:
        stop_server(proc, grace_s=5)
    assert proc.poll() is not None


def test_start_and_stop_a_real_http_server(tmp_path: Path):
    """A stdlib HTTP server stands in for a model server: start, healthy, stop kills the group."""
    port = find_free_port()
    server_py = tmp_path / "srv.py"
    server_py.write_text(textwrap.dedent(f"""
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/health" else 404); self.end_headers()
        http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
    """))
    spec = ServerSpec("vllm", "m", 1, 1, port, "", f"{sys.executable} {server_py}", health_url("vllm", "127.0.0.1", port))
    proc = start_server(spec, tmp_path / "log")
    try:
        wait_for_server(spec.health_url, 60, proc, tmp_path / "log", poll_s=0.2)
    finally:
        stop_server(proc, grace_s=5)
    assert proc.poll() is not None
    assert port_is_free(port)


@pytest.mark.slow
def test_vllm_tiny_model_answers_trained_boxed(vllm_server, tiny_model: Path, toy_data_dir: Path):
    import httpx

    rows = read_jsonl(toy_data_dir / "toy_math" / "test.jsonl")
    outcomes = json.loads((tiny_model / "trained_outcomes.json").read_text())["toy_math"]
    for row in (rows[0], rows[3]):  # toy_math-00 is trained right, toy_math-03 trained wrong
        resp = httpx.post(
            f"{vllm_server.base_url}/chat/completions",
            json={"model": vllm_server.model, "temperature": 0.0, "max_tokens": 32,
                  "messages": [{"role": "user", "content": row["problem"]}]},
            timeout=120,
        )
        resp.raise_for_status()
        text = resp.json()["choices"][0]["message"]["content"]
        assert text == outcomes[row["id"]]["generation"]
        boxed = re.findall(r"\\boxed\{(\d+)\}", text)[-1]
        assert (boxed == row["expected_answer"]) == outcomes[row["id"]]["correct"]


def test_serve_forever_reports_a_server_that_dies_after_start(tmp_path: Path, monkeypatch, capsys):
    """launch() waits for health; serve_forever() prints the URL and fails if the server exits."""
    import skills.servers.launch as launch_mod

    server_py = tmp_path / "srv.py"
    server_py.write_text(textwrap.dedent("""
        import http.server, sys, threading
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # healthy once, then exit
                self.send_response(200); self.end_headers()
                threading.Thread(target=srv.shutdown).start()
        srv = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
        srv.serve_forever()
        sys.exit(5)
    """))
    seen = {}

    def fake_command(server_type, model, port, *args, **kwargs):
        seen["port"] = port
        return f"{sys.executable} {server_py} {port}"

    monkeypatch.setattr(launch_mod, "build_server_command", fake_command)
    with pytest.raises(ServerStartError, match="exited with code 5"):
        launch_mod.serve_forever("vllm", "/m", 1, 1, None, "", log_path=tmp_path / "s.log", timeout_s=60)
    assert f"http://127.0.0.1:{seen['port']}/v1" in capsys.readouterr().out
