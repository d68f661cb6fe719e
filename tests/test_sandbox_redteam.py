"""Red-team programs against the sandbox, under every isolation mode that works on this machine.

Each case asserts containment: the call returns on time, no process carrying the case's unique
marker is left running, and nothing named after the marker appears in the real $HOME or /tmp.
Where a mode cannot contain an attack (no network namespace, a writable filesystem) the test asserts
that the result is flagged and that the sandbox says so, instead of pretending.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from sandbox_helpers import (MODES, assert_no_marker_processes, marker_processes, new_marker,
                             nproc_enforced, paths_with, sandbox_dirs, sandbox_for)
from skills.sandbox import Limits

QUICK = Limits(wall_s=2, cpu_s=2, memory_mb=256, max_processes=32, max_output_bytes=1 << 20)


@pytest.fixture(scope="module", params=MODES)
def sandbox(request):
    return sandbox_for(request.param)


@pytest.fixture
def marker():
    value = new_marker()
    before = sandbox_dirs()
    yield value
    # SIGKILLed processes can take a moment to leave the process table on a loaded machine
    assert_no_marker_processes(value, settle_s=3.0)
    assert not paths_with(value), "something was written outside the sandbox's work dir"
    assert not (sandbox_dirs() - before), "a sandbox work dir was left behind"


def run(sandbox, code, marker, limits=QUICK, **kwargs):
    start = time.monotonic()
    result = sandbox.execute(code, args=[marker], limits=limits, **kwargs)
    assert time.monotonic() - start < limits.wall_s + 5, "the sandbox did not stop the program on time"
    return result


def test_fork_bomb(sandbox, marker):
    if not nproc_enforced(sandbox):
        pytest.skip("RLIMIT_NPROC does not apply to root without a throwaway uid; a fork bomb would "
                    "hit the shared machine (the sandbox warns about this configuration)")
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = run(sandbox, code, marker)
    assert result.timed_out and result.status == "timeout"


def test_infinite_loop_hits_cpu_limit(sandbox, marker):
    result = run(sandbox, "while True:\n    pass\n", marker, Limits(wall_s=20, cpu_s=1))
    assert result.timed_out and result.status == "timeout"
    assert result.returncode == -signal.SIGXCPU  # the CPU limit ended it, not the wall clock


def test_sleeping_program_hits_wall_limit(sandbox, marker):
    result = run(sandbox, "import time\ntime.sleep(60)\n", marker, Limits(wall_s=1))
    assert result.timed_out and result.status == "timeout" and result.returncode is None


def test_memory_hog(sandbox, marker):
    code = "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))\n"
    result = run(sandbox, code, marker)
    assert result.status == "error" and "MemoryError" in result.stderr


def test_gigabyte_of_stdout_is_capped(sandbox, marker):
    code = "import sys\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.buffer.write(chunk)\n"
    result = run(sandbox, code, marker, Limits(wall_s=20, cpu_s=20, max_output_bytes=1 << 20))
    assert result.status == "output_limit" and result.stdout_truncated
    assert len(result.stdout) == 1 << 20
    assert result.duration_s < 10  # stopped at the cap, not after writing 1 GB


def test_writes_to_home_and_tmp(sandbox, marker):
    real_home, real_tmp = os.path.expanduser("~"), "/tmp"
    code = (
        "import os, sys, tempfile\n"
        "m = sys.argv[1]\n"
        f"targets = [os.path.join({real_home!r}, m + '-home'), os.path.join({real_tmp!r}, m + '-tmp'),\n"
        "           os.path.join(os.path.expanduser('~'), m + '-envhome'),\n"
        "           os.path.join(tempfile.gettempdir(), m + '-envtmp')]\n"
        "for t in targets:\n"
        "    try:\n"
        "        open(t, 'w').write('x')\n"
        "        print('wrote', t)\n"
        "    except OSError as e:\n"
        "        print('refused', t, e.errno)\n"
    )
    try:
        result = run(sandbox, code, marker)
        assert result.status == "completed", result.stderr
        leaked = paths_with(marker)
        assert not [p for p in leaked if "-env" in p], "$HOME/$TMPDIR must point into the work dir"
        if result.fs_isolated:
            assert not leaked
        else:  # without bubblewrap only file permissions protect the real /tmp: flagged and warned
            assert "fs_isolated=false" in sandbox.isolation().note
    finally:
        for path in paths_with(marker):
            os.remove(path)


def test_cannot_reach_a_listener_on_localhost(sandbox, marker):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    accepted, done = [], threading.Event()

    def accept():
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    code = ("import socket\ns = socket.create_connection(('127.0.0.1', %d), timeout=1)\n"
            "s.sendall(b'hello')\nprint('connected')\n" % port)
    try:
        result = run(sandbox, code, marker)
    finally:
        time.sleep(0.2)  # a connection made just before the program ended is still accepted
        done.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()
    if result.network_isolated:
        assert not accepted and "connected" not in result.stdout and result.status == "error"
    else:
        assert accepted and "NO network" in sandbox.isolation().note


def test_api_keys_are_not_visible(sandbox, marker, monkeypatch):
    secret = f"sk-{marker}-secret"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("HF_TOKEN", secret)
    # Another process holding the key in its environment: readable through /proc unless isolated.
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker],
                              env={**os.environ, "NVIDIA_API_KEY": secret})
    code = (
        "import os\n"
        "print(dict(os.environ))\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except OSError:\n"
        "        pass\n"
    )
    try:
        result = run(sandbox, code, marker)
    finally:
        victim.kill()
        victim.wait()
    assert result.status == "completed", result.stderr
    own_env = result.stdout.splitlines()[0]
    assert secret not in own_env and "OPENAI_API_KEY" not in own_env and "HF_TOKEN" not in own_env
    if result.pid_isolated or sandbox.isolation().drop_uid:
        assert secret not in result.stdout + result.stderr  # nor other processes' (/proc/*/environ)
    else:  # same uid, same /proc: other processes' environments are readable; flagged and warned
        assert "pid_isolated=false" in sandbox.isolation().note


def test_killing_the_parent(sandbox, marker):
    if not (sandbox.isolation().pids or sandbox.isolation().drop_uid):
        pytest.skip("same uid and no PID namespace: the program could kill this test process")
    code = (
        "import os, signal, sys\n"
        "me = int(sys.argv[2])\n"
        "for kill, target in ((os.kill, os.getppid()), (os.kill, me), (os.killpg, me)):\n"
        "    try:\n"
        "        kill(target if kill is os.kill else os.getpgid(target), signal.SIGKILL)\n"
        "    except OSError as e:\n"
        "        print('refused', e.errno)\n"
        "print('still here', flush=True)\n"
        "os.kill(-1, signal.SIGKILL)  # everything it may signal\n"
    )
    result = sandbox.execute(code, args=[marker, str(os.getpid())], limits=QUICK)
    assert "still here" in result.stdout, result.stderr  # its parent was not killed under it
    assert result.returncode is not None and not result.timed_out  # and we saw it end


def test_setsid_escape_is_killed(sandbox, marker):
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', sys.argv[1]])\n"
        "    os._exit(0)\n"
        "time.sleep(0.3)\n"
        "print('parent done')\n"
    )
    result = run(sandbox, code, marker)
    assert result.status == "completed" and "parent done" in result.stdout
    escaped = marker_processes(marker)
    if result.pid_isolated or sandbox.isolation().drop_uid:
        assert not escaped
    else:  # only the process group is killed: a new session survives; flagged and warned
        for pid in escaped:
            os.kill(pid, signal.SIGKILL)
        assert "pid_isolated=false" in sandbox.isolation().note


def test_segfault_in_c_code(sandbox, marker):
    result = run(sandbox, "import ctypes\nctypes.string_at(0)\n", marker)
    assert result.status == "error" and result.returncode == -11


def test_sys_exit_inside_tests_does_not_fake_a_pass(sandbox, marker):
    code = (
        "def solution(x):\n"
        "    if x == 2:\n"
        "        import sys; sys.exit(0)\n"
        "    return x\n"
        "for x in (1, 2, 3):\n"
        "    assert solution(x) == x\n"
        "    print('passed', x)\n"
        "print('ALL PASSED')\n"
    )
    result = run(sandbox, code, marker)
    assert result.returncode == 0 and result.stdout == "passed 1\n"  # the grader sees test 3 never ran
    assert run(sandbox, "import sys\nsys.exit(5)\n", marker).returncode == 5


def test_input_without_stdin(sandbox, marker):
    result = run(sandbox, "print(input())\n", marker)
    assert result.status == "error" and "EOFError" in result.stderr and not result.timed_out
