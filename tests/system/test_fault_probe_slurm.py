"""Slurm jobs never wait for a process that is gone, and take their ports when they start
(the second fault-injection probe, item 6), against the real single-node Slurm."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.stub_server import SCRIPT as STUB
from skills.pipeline.plan import Job, Plan, ServerSpec, SidecarSpec

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
WAIT_S = 600  # safety net; the waits under test end in seconds, not in SKILLS_SERVER_WAIT_S (2 h)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(plan, cluster) -> int:
    from skills.pipeline.executors import slurm as S

    assert S.run_plan(plan, cluster, wait=False) == 0
    return S.wait_for(plan.expname, cluster, poll_s=1, timeout_s=WAIT_S)


def _plan(name, tmp_path, jobs):
    return Plan(expname=name, cluster="test-slurm", executor="slurm", jobs=jobs, log_dir=str(tmp_path / "logs"))


def _logs(tmp_path, pattern: str) -> str:
    return "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob(pattern))


def _fetch(url: str, out: Path) -> str:
    return (f"{sys.executable} -c \"import urllib.request as u; print(u.urlopen('{url}').status)\" > {out}")


def _stub_server(port: int, command: str = "") -> ServerSpec:
    return ServerSpec(server_type="vllm", model="m", gpus=0, nodes=1, port=port, args="",
                      command=command or f"exec {sys.executable} {STUB} --host 127.0.0.1 --port {port}",
                      health_url=f"http://127.0.0.1:{port}/v1/models")


def _stub_sidecar(port: int, command: str = "") -> SidecarSpec:
    return SidecarSpec(name="stub", command=command or f"{sys.executable} {STUB} --port {port}", port=port,
                       health_url=f"http://127.0.0.1:{port}/v1/models",
                       client_env={"STUB_URL": f"http://127.0.0.1:{port}/v1"})


def test_ports_taken_since_the_plan_move_when_the_job_starts(slurm_cluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    server_port, sidecar_port = _free_port(), _free_port()
    sidecar = _stub_sidecar(sidecar_port)
    job = Job(name="ports", kind="generation", server=_stub_server(server_port), sidecars=[sidecar],
              env=dict(sidecar.client_env),
              commands=[_fetch(f"http://127.0.0.1:{server_port}/v1/models", out / "server.txt"),
                        f"{_fetch('$STUB_URL/models', out / 'sidecar.txt')}"])
    taken = []
    for port in (server_port, sidecar_port):  # another process holds the planned ports
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.listen()
        taken.append(s)
    try:
        rc = _run(_plan("ports", tmp_path, [job]), slurm_cluster)
    finally:
        for s in taken:
            s.close()
    assert rc == 0, _logs(tmp_path, "*")
    assert (out / "server.txt").read_text().strip() == "200" and (out / "sidecar.txt").read_text().strip() == "200"


def test_a_service_that_dies_before_it_is_healthy_ends_the_job_at_once(slurm_cluster, tmp_path):
    sidecar = _stub_sidecar(_free_port(), "echo 'fatal: sandbox cannot start' >&2; exit 4")
    dead_sidecar = Job(name="dead-sidecar", kind="generation", sidecars=[sidecar], commands=["echo never"])
    server = _stub_server(_free_port(), "echo 'CUDA error: out of memory' >&2; exit 5")
    dead_server = Job(name="dead-server", kind="generation", server=server, commands=["echo never"])
    t0 = time.monotonic()
    assert _run(_plan("dead", tmp_path, [dead_sidecar, dead_server]), slurm_cluster) == 1
    assert time.monotonic() - t0 < 300
    sidecar_log = _logs(tmp_path, "*dead-sidecar*")
    assert "sidecar stub exited before" in sidecar_log and "fatal: sandbox cannot start" in sidecar_log
    server_log = _logs(tmp_path, "main_dead-server*")
    assert "server exited with code 5 before" in server_log and "CUDA error: out of memory" in server_log
    assert "never" not in _logs(tmp_path, "main_*.log")


def test_a_sidecar_that_dies_mid_job_ends_the_job(slurm_cluster, tmp_path):
    port = _free_port()
    command = (f"bash -c \"timeout 8 {sys.executable} {STUB} --port {port}; echo 'sandbox ran out of memory' >&2; "
               "exit 7\"")
    job = Job(name="sidecar-dies", kind="generation", sidecars=[_stub_sidecar(port, command)],
              commands=["sleep 300", "echo never"])
    t0 = time.monotonic()
    assert _run(_plan("sidecardies", tmp_path, [job]), slurm_cluster) == 1
    assert time.monotonic() - t0 < 200
    text = _logs(tmp_path, "*sidecar-dies*")
    assert "the sidecar stub exited while the job ran" in text and "ran out of memory" in text
