"""The sandbox library (results, limits, files, environment, threads), its HTTP service and client.

Attacks are in test_sandbox_redteam.py; these check that ordinary programs get the right answers
and that each limit is really applied.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.core.sandbox.helpers import (assert_no_marker_processes, marker_processes, new_marker, nproc_enforced,
                                        sandbox_dirs, sandbox_for, sandbox_health_url)
from tests.helpers.paths import REPO_ROOT
from skills.config.errors import UsageError
from skills.sandbox import ExecResult, Limits, Sandbox, get_sandbox, run_python
from skills.sandbox.client import SandboxClient, SandboxUnavailable
from skills.sandbox.launcher import WARM_BASE, hidden_folders, interpreter_binds, warm_possible
from skills.sandbox.stage import STAGE_ENV
from skills.sandbox.warm import Warm
from skills.servers.health import wait_for_server
from skills.servers.ports import find_free_port



@pytest.fixture(scope="module")
def sandbox():
    return Sandbox(workers=2)


def test_stdin_args_and_files(sandbox):
    code = ("import sys, pathlib\n"
            "print(input()[::-1], sys.argv[1:])\n"
            "print(pathlib.Path('data/in.txt').read_text(), pathlib.Path('blob.bin').read_bytes())\n"
            "import helper; print(helper.VALUE)\n")
    files = {"data/in.txt": "text file", "blob.bin": b"\x00\x01", "helper.py": "VALUE = 42\n"}
    result = sandbox.execute(code, stdin="olleh", args=["a", "b"], files=files)
    assert result.status == "completed" and result.returncode == 0, result.stderr
    assert result.stdout == "hello ['a', 'b']\ntext file b'\\x00\\x01'\n42\n"
    assert not result.timed_out and not result.stdout_truncated and result.duration_s > 0


def test_result_flags_follow_the_probe(sandbox):
    iso = sandbox.isolation()
    result = sandbox.execute("pass")
    assert (result.isolation, result.network_isolated, result.fs_isolated, result.pid_isolated) == (
        iso.mode, iso.network, iso.filesystem, iso.pids)


def test_errors_and_exit_codes(sandbox):
    result = sandbox.execute("raise ValueError('boom')")
    assert result.status == "error" and result.returncode == 1 and "ValueError: boom" in result.stderr
    assert sandbox.execute("import sys; sys.exit(7)").returncode == 7
    assert sandbox.execute("import os, signal; os.kill(os.getpid(), signal.SIGTERM)").returncode == -15


def test_fresh_work_dir_each_time_and_removed(sandbox):
    before = sandbox_dirs()
    code = "import os\nprint(sorted(os.listdir('.')))\nopen('left.txt', 'w').write('x')\n"
    first, second = sandbox.execute(code), sandbox.execute(code)
    # an interpreter installed under /tmp is mounted back inside the work dir (covering /tmp)
    iso = sandbox.isolation()
    binds = interpreter_binds(iso, hidden_folders(iso)) if iso.mode == "bwrap" else []
    mounts = {p.split("/")[2] for p in binds if p.startswith("/tmp/")}
    assert first.stdout == second.stdout == f"{sorted({'main.py'} | mounts)}\n"
    assert not (sandbox_dirs() - before)


def test_home_and_tmpdir_point_into_the_work_dir(sandbox):
    code = "import os, tempfile\nprint(os.getcwd() == os.path.expanduser('~') == tempfile.gettempdir())\n"
    assert sandbox.execute(code).stdout == "True\n"


def test_multiprocessing_works(sandbox):
    code = "import multiprocessing as mp\nwith mp.Pool(2) as pool:\n    print(pool.map(abs, [-1, -2]))\n"
    result = sandbox.execute(code)
    assert result.stdout == "[1, 2]\n", result.stderr


def test_environment_is_allow_listed(sandbox, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_API_KEY", "secret-value")
    monkeypatch.setenv("SOME_TOKEN", "secret-value")
    monkeypatch.setenv("LANG", "C.UTF-8")
    result = sandbox.execute("import os, json\nprint(json.dumps(dict(os.environ)))",
                             env={"PROGRAM_EXTRA": "given explicitly", "OMP_NUM_THREADS": "3"})
    env = json.loads(result.stdout)
    assert "secret-value" not in result.stdout
    assert env["PROGRAM_EXTRA"] == "given explicitly" and env["LANG"] == "C.UTF-8"
    assert env["OMP_NUM_THREADS"] == "3" and env["OPENBLAS_NUM_THREADS"] == "1"  # the caller's, over the default
    assert set(env) <= {"LANG", "LC_ALL", "LC_CTYPE", "TZ", "PATH", "HOME", "TMPDIR", "PWD", "USER", "LOGNAME",
                        "PROGRAM_EXTRA", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONNOUSERSITE",
                        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND",
                        "LD_LIBRARY_PATH"}  # the last: a mirrored interpreter's libpython (docs/sandbox.md)


def test_wall_time_limit(sandbox):
    result = sandbox.execute("import time; print('started', flush=True); time.sleep(30)",
                             limits=Limits(wall_s=0.5))
    assert result.status == "timeout" and result.timed_out and result.returncode is None
    assert result.stdout == "started\n" and result.duration_s < 3


def test_cpu_time_limit(sandbox):
    result = sandbox.execute("while True: pass", limits=Limits(cpu_s=1, wall_s=20))
    assert result.status == "timeout" and result.timed_out and result.returncode == -signal.SIGXCPU


def test_memory_limit(sandbox):
    code = "x = bytearray(400 * 1024 * 1024)\nprint('allocated')"
    assert sandbox.execute(code, limits=Limits(memory_mb=1024)).stdout == "allocated\n"
    result = sandbox.execute(code, limits=Limits(memory_mb=200))
    assert result.status == "error" and "MemoryError" in result.stderr


def test_file_size_limit(sandbox):
    code = "open('big', 'wb').write(b'x' * 3 * 1024 * 1024)\nprint('written')"
    assert sandbox.execute(code, limits=Limits(max_file_mb=4)).stdout == "written\n"
    result = sandbox.execute(code, limits=Limits(max_file_mb=1))
    assert result.status == "error" and "File too large" in result.stderr


def test_open_files_limit(sandbox):
    code = "fs = [open('main.py') for _ in range(100)]\nprint('opened')"
    assert sandbox.execute(code, limits=Limits(max_open_files=200)).stdout == "opened\n"
    result = sandbox.execute(code, limits=Limits(max_open_files=50))
    assert result.status == "error" and "Too many open files" in result.stderr


def test_process_limit(sandbox):
    if not nproc_enforced(sandbox):
        pytest.skip("RLIMIT_NPROC does not apply to root without a throwaway uid")
    code = ("import os, time\nmade = 0\nfor _ in range(40):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(2)\n        os._exit(0)\n"
            "    made += 1\nprint(made)\n")
    made = int(sandbox.execute(code, limits=Limits(max_processes=10)).stdout)
    assert 0 < made < 10
    assert int(sandbox.execute(code, limits=Limits(max_processes=64)).stdout) == 40


def test_output_cap(sandbox):
    result = sandbox.execute("import sys\nprint('e' * 5000, file=sys.stderr)\nprint('o' * 300000)",
                             limits=Limits(max_output_bytes=100000))
    assert result.status == "output_limit" and result.stdout_truncated and len(result.stdout) == 100000
    assert not result.stderr_truncated and result.stderr == "e" * 5000 + "\n"


def test_non_utf8_output_is_replaced_not_fatal(sandbox):
    result = sandbox.execute("import sys; sys.stdout.buffer.write(b'ok \\xff')")
    assert result.stdout == "ok \ufffd"


def test_parallel_calls_from_threads():
    sandbox = Sandbox(workers=3)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: sandbox.execute("print(int(input()) * 2)", stdin=str(i)), range(16)))
    assert [r.stdout for r in results] == [f"{2 * i}\n" for i in range(16)]


def test_bad_arguments_are_usage_errors(sandbox):
    with pytest.raises(UsageError, match="relative"):
        sandbox.execute("pass", files={"../escape.txt": "x"})
    with pytest.raises(UsageError, match="main.py"):
        sandbox.execute("pass", files={"main.py": "x"})
    with pytest.raises(UsageError, match="wall_s"):
        Limits(wall_s=0)
    with pytest.raises(UsageError, match="unknown sandbox limit"):
        Limits.from_dict({"wall_seconds": 1})
    with pytest.raises(UsageError, match="isolation"):
        Sandbox(isolation="docker").isolation()


def test_read_only_paths_are_readable_where_the_sandbox_hides_the_host(sandbox, tmp_path):
    data = tmp_path / "deep" / "targets.bin"  # under /tmp: replaced by the work dir under bwrap
    data.parent.mkdir()
    data.write_bytes(b"\x01targets")
    code = (f"import sys\np = {str(data)!r}\nprint(open(p, 'rb').read())\n"
            "try:\n    open(p, 'ab')\nexcept OSError as e:\n    print('no write', type(e).__name__)\n"
            "print(sorted(__import__('os').listdir('.')))\n")
    result = sandbox.execute(code, read_only=[str(data)])
    assert result.status == "completed", result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "b'\\x01targets'" and lines[1].startswith("no write"), result.stdout
    assert data.read_bytes() == b"\x01targets"
    if sandbox.isolation().filesystem:  # without it the file is invisible
        hidden = sandbox.execute(code)
        assert hidden.status == "error" and "FileNotFoundError" in hidden.stderr
    with pytest.raises(UsageError, match="absolute"):
        sandbox.execute("pass", read_only=["relative.bin"])
    with pytest.raises(UsageError, match="does not exist"):
        sandbox.execute("pass", read_only=[str(tmp_path / "missing")])


def test_run_command_and_module_level_helpers(tmp_path):
    result = run_python("print('hi')")
    assert result.stdout == "hi\n"
    sandbox = Sandbox()
    assert sandbox.run_command(["sh", "-c", "cat in.txt; exit 3"], files={"in.txt": "data"}).returncode == 3
    assert sandbox.run_command(["/nonexistent/binary"]).status == "error"


@pytest.mark.parametrize("mode", ["bwrap", "unshare", "none"])
def test_programs_end_when_the_caller_dies(mode):
    """Killing the grading process kills its programs: at once where the whole PID namespace dies
    with its caller (the program runs in a launch started ahead, before its request), else by the
    ``timeout`` backstop shortly after the wall-time limit."""
    ahead = sandbox_for(mode).isolation().starts_ahead  # skips where this level does not work
    marker = new_marker()
    wall = 60 if ahead else 1
    code = ("import os, sys\nfrom skills.sandbox import Limits, Sandbox\n"
            f"s = Sandbox(isolation={mode!r}, workers=1)\nlimits = Limits(wall_s={wall})\n"
            "s.execute('pass', limits=limits)\n"  # the next launch starts ahead where it may
            "s.execute('import time; time.sleep(60)', args=[os.environ['MARK']], limits=limits)\n")
    caller = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL,  # marker not in its argv
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "MARK": marker})
    deadline = time.monotonic() + 30
    while not marker_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker_processes(marker), "the program never started"
    # The caller's work dirs, seen while it lives: once it is dead, any other process that makes a
    # Sandbox (another test worker) may already remove them, so they are not looked for after.
    left = glob.glob(os.path.join(tempfile.gettempdir(), f"skills-sandbox-{caller.pid}-*"))
    assert left, "the caller has no work dir"
    caller.kill()
    caller.wait()
    # at once (slack for a loaded machine), or wall_s + the backstop's grace + slack
    assert_no_marker_processes(marker, settle_s=3 if ahead else 1 + 2 + 3)
    Sandbox()  # a new sandbox removes work dirs of dead processes (the killed caller could not)
    assert not any(os.path.exists(p) for p in left)


def _fast(sandbox) -> int:
    return sandbox.launches["warm"] + sandbox.launches["ahead"]


@pytest.mark.parametrize("mode", ["unshare", "bwrap-sh"])
def test_launches_ahead_are_used_bounded_and_closed(mode, monkeypatch):
    """Where executions do not come from a warm launcher: sequential ones with the same limits
    find their launch started ahead; other limits throw it away; at most one waits per worker
    slot; close() removes them."""
    if mode == "bwrap-sh":  # bubblewrap without the compiled stage: no warm launcher
        monkeypatch.setenv(STAGE_ENV, "sh")
    sandbox = sandbox_for(mode.split("-")[0])
    if not sandbox.isolation().starts_ahead:
        pytest.skip(f"isolation {sandbox.isolation().mode} starts every launch on request")
    before = sandbox_dirs(ready=True)
    for limits in (Limits(), Limits(), Limits(memory_mb=1000), Limits(memory_mb=1000), Limits()):
        assert sandbox.execute("print(1)", limits=limits).stdout == "1\n"
    assert sandbox.launches == {"warm": 0, "ahead": 2, "on_request": 3}
    deadline = time.monotonic() + 10
    while not (sandbox_dirs(ready=True) - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    waiting = sandbox_dirs(ready=True) - before
    assert 1 <= len(waiting) <= sandbox.workers and not (sandbox_dirs() - before)
    sandbox.close()
    assert not (sandbox_dirs(ready=True) - before)
    assert sandbox.execute("pass").status == "sandbox_error"


def test_warm_launchers_serve_their_slot_and_are_replaced_when_the_view_changes(monkeypatch):
    """Bubblewrap as root with the compiled stage: a slot's executions come from its warm
    launcher, whatever their limits; a new interpreter view (the hidden working directory here)
    replaces it; a dead launcher is replaced, not reported; close() ends it and removes its folder."""
    sandbox = sandbox_for("bwrap")
    if not warm_possible(sandbox.isolation()):
        pytest.skip("no warm launcher here (needs bubblewrap as root and a C compiler)")
    before = sandbox_dirs(ready=True)
    for limits in (Limits(), Limits(memory_mb=1000), Limits(wall_s=3)):
        assert sandbox.execute("print(1)", limits=limits).stdout == "1\n"
    # the slot's folder of work dirs is detached before the program runs: only its mount point shows
    assert sandbox.execute(f"import os; print(os.listdir({WARM_BASE!r}))").stdout == "[]\n"
    first = sandbox._warm[0]
    assert sandbox.launches == {"warm": 4, "ahead": 0, "on_request": 0}
    elsewhere = tempfile.mkdtemp(dir="/var/tmp")  # not under /tmp: bwrap hides it while it is the cwd
    try:
        Path(elsewhere, "caller.txt").write_text("the caller's")
        monkeypatch.chdir(elsewhere)  # a new working directory to hide: a new view
        result = sandbox.execute(f"import os; print(os.listdir('/tmp'), os.listdir({elsewhere!r}))")
        assert result.stdout == "['main.py'] []\n", result.stderr
    finally:
        shutil.rmtree(elsewhere)
    assert sandbox._warm[0] is not first and first.proc.poll() is not None
    os.kill(sandbox._warm[0].proc.pid, signal.SIGKILL)  # the launcher dies between executions
    sandbox._warm[0].proc.wait()
    assert sandbox.execute("print(2)").stdout == "2\n" and sandbox.launches["warm"] == 6
    assert not (sandbox_dirs() - before)
    sandbox.close()
    assert not (sandbox_dirs(ready=True) - before)


def test_a_warm_launcher_that_cannot_start_is_not_tried_again(monkeypatch):
    """Where the warm launcher's bwrap cannot start (a container that withholds a capability it
    keeps, say), executions still run, from bwrap chains, and the launcher is not retried."""
    from skills.sandbox import launcher

    sandbox = sandbox_for("bwrap")
    if not warm_possible(sandbox.isolation()):
        pytest.skip("no warm launcher here (needs bubblewrap as root and a C compiler)")
    from skills.sandbox import executor

    monkeypatch.setattr(launcher, "WARM_CAPS", "CAP_NOT_A_CAPABILITY")
    started = []
    monkeypatch.setattr(executor, "Warm", lambda *a: started.append(a) or Warm(*a))
    assert [sandbox.execute("print(1)").stdout for _ in range(3)] == ["1\n"] * 3
    assert sandbox.launches["warm"] == 0 and sandbox.launches["ahead"] == 2 and len(started) == 1
    sandbox.close()


def test_a_forked_child_leaves_the_launches_alone():
    """A grader that forks (a process pool) after using the sandbox: the child inherits the
    objects, not the launches, warm launchers or the launching thread; it starts its own on
    request, and closing the sandbox there must not end or remove the parent's."""
    sandbox = Sandbox(workers=1)
    if not sandbox.isolation().starts_ahead:
        pytest.skip(f"isolation {sandbox.isolation().mode} starts every launch on request")
    assert sandbox.execute("print(1)").stdout == "1\n"
    deadline = time.monotonic() + 10
    while not sandbox._warm and not (sandbox._ahead._ready and sandbox._ahead._ready[0].done()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    fast = _fast(sandbox)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit code is the check
        code = 0 if [sandbox.execute("print(3)").stdout for _ in range(2)] == ["3\n"] * 2 else 1
        sandbox.close()
        os._exit(code)
    assert os.waitpid(child, 0)[1] == 0  # its own executions started on request, then nothing of ours
    assert sandbox.execute("print(2)").stdout == "2\n"
    assert _fast(sandbox) == fast + 1
    sandbox.close()


def test_an_interpreter_installed_under_tmp_keeps_bwrap(tmp_path):
    """A checkout under /tmp (a CI clone, say): bwrap mounts the work dir over /tmp, so the
    interpreter's own folders there are mounted back read-only instead of bwrap failing its probe."""
    sandbox_for("bwrap")  # skips where bwrap does not work at all
    if not str(tmp_path).startswith("/tmp/"):
        pytest.skip("pytest's temporary folders are not under /tmp here")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    result = Sandbox(python=str(venv / "bin" / "python"), isolation="bwrap").execute(
        "import sys; print(sys.prefix); open(sys.prefix + '/x', 'w')")
    assert result.isolation == "bwrap" and result.stdout == f"{venv}\n", result.stderr
    assert result.status == "error" and "Read-only file system" in result.stderr


@pytest.mark.parametrize("mode", ["bwrap", "unshare", "none"])
def test_every_available_mode_runs_programs(mode):
    sandbox = sandbox_for(mode)
    result = sandbox.execute("import json, sys; print(json.dumps(sys.argv[1:]))", args=["x"])
    assert result.stdout == '["x"]\n' and result.isolation == mode


def test_missing_isolation_warns_once_and_flags_results():
    code = ("from skills.sandbox import Sandbox\ns = Sandbox(isolation='none')\n"
            "r = [s.execute('pass') for _ in range(3)]\nprint(r[0].network_isolated, r[0].fs_isolated)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.stdout == "False False\n", out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning: sandbox:")]
    assert len(warnings) == 1 and "NO network" in warnings[0]


def test_get_sandbox_picks_local_or_http(monkeypatch):
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    assert isinstance(get_sandbox(), Sandbox)
    monkeypatch.setenv("SKILLS_SANDBOX_URL", "http://127.0.0.1:1")
    assert isinstance(get_sandbox(), SandboxClient)


def test_client_reconnects_and_gives_up_in_one_line(monkeypatch):
    """A kept-alive connection the service closed is replaced at once (the request is not lost);
    a service that cannot be reached is SandboxUnavailable after a few tries, never a result."""
    import http.server

    from skills.sandbox import client as client_module

    class Closing(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # advertises keep-alive, then closes after every answer

        def do_GET(self):
            body = json.dumps({"status": "ok", "seen": self.server.seen}).encode()
            self.server.seen += 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Closing)
    server.seen = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = SandboxClient(f"http://127.0.0.1:{server.server_address[1]}")
        assert [client.health()["seen"] for _ in range(3)] == [0, 1, 2]
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setattr(client_module.time, "sleep", lambda _s: None)
    with pytest.raises(SandboxUnavailable, match="unreachable"):
        SandboxClient(f"http://127.0.0.1:{find_free_port()}").execute("pass")
    with pytest.raises(UsageError, match="http"):
        SandboxClient("ftp://example.org")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    port = find_free_port()
    folder = tmp_path_factory.mktemp("sandbox")
    log = folder / "server.log"
    (folder / "exposed").mkdir()
    (folder / "exposed" / "data.txt").write_text("exposed data")
    (folder / "private.txt").write_text("private")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port),
                                 "--workers", "2", "--max_request_mb", "1", "--max_wall_s", "500"],
                                stdout=out, stderr=out,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT),
                                     "SKILLS_SANDBOX_READ_ONLY_ROOTS": str(folder / "exposed")})
    try:
        wait_for_server(sandbox_health_url("127.0.0.1", port), timeout_s=60, process=proc, log_path=log,
                        poll_s=0.2)
        yield proc, f"http://127.0.0.1:{port}", folder
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def test_service_health_and_execute(service):
    _, url, _ = service
    health = json.load(urllib.request.urlopen(url + "/health"))
    assert health["status"] == "ok" and health["workers"] == 2 and health["isolation"] in ("bwrap", "unshare", "none")
    client = SandboxClient(url)
    result = client.execute("import sys; print(open('b.bin','rb').read(), input(), sys.argv[1])",
                            stdin="in", files={"b.bin": b"\xff\x00"}, args=["arg"], limits=Limits(wall_s=5))
    assert isinstance(result, ExecResult) and result.stdout == "b'\\xff\\x00' in arg\n"
    timeout = client.execute("while True: pass", limits=Limits(wall_s=0.5))
    assert timeout.status == "timeout" and timeout.network_isolated == health["network_isolated"]


def test_service_rejects_bad_requests(service):
    client = SandboxClient(service[1])
    assert client.health()["max_limits"]["wall_s"] == 500 and client.health()["as_root"] is False
    with pytest.raises(UsageError, match=r"wall_s=501 \(maximum 500"):
        client.execute("pass", limits=Limits(wall_s=501))
    with pytest.raises(UsageError, match="too large"):
        client.execute("x = 1\n" * 300000)  # above --max_request_mb 1
    req = urllib.request.Request(service[1] + "/execute", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400


def test_service_read_only_paths_only_inside_its_roots(service):
    client, folder = SandboxClient(service[1]), service[2]
    exposed = str(folder / "exposed" / "data.txt")
    result = client.execute(f"print(open({exposed!r}).read())", read_only=[exposed])
    assert result.status == "completed" and result.stdout == "exposed data\n", result.stderr
    for path in (str(folder / "private.txt"), str(folder / "exposed" / ".." / "private.txt")):
        with pytest.raises(UsageError, match="outside the folders this service exposes"):
            client.execute("pass", read_only=[path])


def test_service_runs_at_most_workers_at_once(service):
    client = SandboxClient(service[1])
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.execute("import time; time.sleep(0.6)"), range(4)))
    assert all(r.status == "completed" for r in results)
    assert time.monotonic() - start >= 1.2  # 4 programs of 0.6 s on 2 workers


def test_sigterm_kills_executions_in_flight(tmp_path):
    port, marker = find_free_port(), new_marker()
    proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        wait_for_server(sandbox_health_url("127.0.0.1", port), timeout_s=60, process=proc, poll_s=0.2)
        client = SandboxClient(f"http://127.0.0.1:{port}")
        thread = threading.Thread(target=lambda: _swallow(client.execute, "import time; time.sleep(60)",
                                                          args=[marker], limits=Limits(wall_s=60)))
        thread.start()
        deadline = time.monotonic() + 20
        while not marker_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker_processes(marker), "the execution never started"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        thread.join(timeout=15)
        assert_no_marker_processes(marker)
    finally:
        if proc.poll() is None:
            proc.kill()


def _swallow(func, *args, **kwargs):
    try:
        func(*args, **kwargs)
    except Exception:  # the server went away mid-request: expected here
        pass


def test_no_cpu_limit_and_library_thread_defaults_on_request(sandbox):
    code = ("import os, resource\nprint(resource.getrlimit(resource.RLIMIT_CPU)[0] == resource.RLIM_INFINITY,"
            " os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))")
    assert sandbox.execute(code).stdout == "False 1 1\n"
    assert sandbox.execute(code, limits=Limits(cpu_s=None, threads=None)).stdout == "True None None\n"
    assert sandbox.execute(code, limits=Limits(threads=3)).stdout == "False 3 3\n"
    for bad in (dict(threads=0), dict(threads=1.5), dict(wall_s=float("nan")), dict(cpu_s=float("inf")),
                dict(wall_s=None), dict(memory_mb=True)):
        with pytest.raises(UsageError):
            Limits(**bad)


def test_limits_json_round_trip_and_ceiling():
    from skills.sandbox.server import MAX_LIMITS, parse_request

    limits = Limits.from_dict({"cpu_s": None, "threads": None, "wall_s": 708, "memory_mb": 100 * 1024})
    assert Limits.from_dict(json.loads(json.dumps(limits.__dict__))) == limits
    assert parse_request({"code": "", "limits": limits.__dict__})["limits"] == limits  # within the maximum
    assert limits.exceeds(MAX_LIMITS) is None
    with pytest.raises(UsageError, match="wall_s=3601"):
        parse_request({"code": "", "limits": {"wall_s": 3601}})


def test_warm_run_waited_on_from_two_threads_while_closed():
    """A shutdown's kill_all waits on an execution's handle while the execution's thread closes it:
    neither sees a closed or reused descriptor (this raised EBADF and made the service exit 1)."""
    from skills.sandbox.warm import WarmRun

    fds = [os.pipe() for _ in range(4)]
    status_r, status_w = fds[3]
    run = WarmRun(2 ** 22 + 1,  # a pid that is never used (above pid_max)
                   fds[0][1], fds[1][0], fds[2][0], status_r)
    errors = []

    def waiter():
        try:
            run.wait(timeout=5)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    run.close()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors and run.returncode is not None
    for fd in (fds[0][0], fds[1][1], fds[2][1], status_w):
        os.close(fd)
