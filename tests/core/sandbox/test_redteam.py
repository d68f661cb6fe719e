"""Red-team programs against the sandbox, at every isolation level that works on this machine and
with three interpreters: a venv inside a 0700 folder (a throwaway uid cannot read it: the default
layout of a container), this test run's own interpreter (an editable install of skills), and a venv
of a system Python outside any 0700 folder.

Each case asserts containment: the call returns on time, no process carrying the case's unique
marker is left running, nothing named after the marker appears in the real $HOME or the shared
temporary folders, and (as root) the program never ran as root. Where a level cannot contain an
attack (no network namespace, a writable filesystem) the test asserts that the result is flagged
and that the sandbox says so, instead of pretending; a level that refuses an interpreter (as root,
rather than run it as root) skips with that refusal asserted.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.core.sandbox.helpers import (MODES, assert_no_marker_processes, marker_processes, new_marker,
                             nproc_enforced, paths_with, plain_venv, sandbox_dirs, sandbox_for,
                             world_readable_folder)
from skills.sandbox import Limits
from skills.sandbox.mirror import STORE_ENV, reachable
from skills.sandbox.launcher import INSIDE_WORKDIR, warm_possible, within
from skills.sandbox.stage import STAGE_ENV

QUICK = Limits(wall_s=2, cpu_s=2, memory_mb=256, max_processes=32, max_output_bytes=1 << 20)
# programs that end by themselves: time to spare on a loaded machine, the same memory and processes
ROOMY = Limits(wall_s=10, cpu_s=10, memory_mb=256, max_processes=32, max_output_bytes=1 << 20)
INTERPRETERS = ("inside", "editable", "outside")
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def interpreters():
    """name -> interpreter (None: not available here, with the reason) and a private mirror store."""
    outer = world_readable_folder("skills-redteam-", outside_tmp=True)  # so bwrap levels get warm launchers
    private = os.path.join(outer, "private")
    os.mkdir(private, 0o700)
    store = os.path.join(outer, "mirrors")
    os.mkdir(store, 0o755)
    found = {"inside": plain_venv(private, sys.executable), "editable": sys.executable}
    system = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3")
                   if os.path.exists(p) and reachable(p) and reachable(os.path.dirname(os.path.realpath(p)))), None)
    try:
        found["outside"] = plain_venv(outer, system) if system else None
    except subprocess.CalledProcessError:  # a system Python without its venv module
        found["outside"] = None
    saved = os.environ.get(STORE_ENV)
    os.environ[STORE_ENV] = store  # mirrors of these throwaway venvs must not pile up in /var/cache
    try:
        yield found
    finally:
        if saved is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = saved
        shutil.rmtree(outer, ignore_errors=True)


# every level and interpreter with the stage the probe picks (compiled where a C compiler works),
# and every level with the fallback stage (prlimit, setpriv and sh)
CASES = [(m, i, "auto") for m in MODES for i in INTERPRETERS] + [(m, "editable", "sh") for m in MODES]


@pytest.fixture(scope="module", params=CASES,
                ids=[f"{m}-{i}" + ("-sh" if s == "sh" else "") for m, i, s in CASES])
def sandbox(request, interpreters):
    mode, name, stage = request.param
    if interpreters[name] is None:
        pytest.skip(f"no {name} interpreter here (a system python3 with its venv module, outside any 0700 folder)")
    saved = os.environ.get(STAGE_ENV)
    os.environ[STAGE_ENV] = stage
    try:
        found = sandbox_for(mode, python=interpreters[name])
        if stage == "sh":
            assert found.isolation().stage is None
        elif mode == "bwrap" and ROOT and found.isolation().stage:  # the attacks meet the warm launcher
            iso = found.isolation()  # unless the interpreter lives under /tmp (a checkout there): then bwrap chains
            assert warm_possible(iso) != any(within(p, INSIDE_WORKDIR) for p in iso.paths), iso
        yield found
    finally:
        if saved is None:
            os.environ.pop(STAGE_ENV, None)
        else:
            os.environ[STAGE_ENV] = saved


@pytest.fixture
def marker():
    value = new_marker()
    before = sandbox_dirs()
    yield value
    # SIGKILLed processes can take a moment to leave the process table on a loaded machine
    assert_no_marker_processes(value, settle_s=3.0)
    assert not paths_with(value), "something was written outside the sandbox's work dir"
    assert not (sandbox_dirs() - before), "a sandbox work dir was left behind"


def execute(sandbox, code, limits=ROOMY, **kwargs):
    """``sandbox.execute`` on the fast path: where the isolation allows it, the attack runs in the
    slot's warm launcher (bubblewrap as root), else in a launch started before its request (a first
    execution with the same limits starts it)."""
    ahead = sandbox.isolation().starts_ahead
    if ahead:
        sandbox.execute("pass", limits=limits, read_only=kwargs.get("read_only", ()))
    before = sandbox.launches
    start = time.monotonic()
    result = sandbox.execute(code, limits=limits, **kwargs)
    assert time.monotonic() - start < limits.wall_s + 5, "the sandbox did not stop the program on time"
    if ahead:
        path = "warm" if warm_possible(sandbox.isolation(), kwargs.get("read_only", ())) else "ahead"
        assert sandbox.launches[path] == before[path] + 1, f"the attack did not run on the fast path ({path})"
    return result


def run(sandbox, code, marker, limits=ROOMY, **kwargs):
    result = execute(sandbox, code, args=[marker], limits=limits, **kwargs)
    assert not result.as_root, "model code ran as root without SKILLS_SANDBOX_ALLOW_ROOT=1"
    return result


def test_fork_bomb(sandbox, marker):
    if not nproc_enforced(sandbox):
        pytest.skip("RLIMIT_NPROC does not apply to root without a throwaway uid; a fork bomb would "
                    "hit the shared machine (the sandbox warns about this configuration)")
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = run(sandbox, code, marker, QUICK)
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
        if result.fs_isolated or sandbox.isolation().drop_uid:  # a throwaway uid's files are removed after
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
    result = None
    try:
        result = run(sandbox, code, marker)
    finally:
        # A connection made just before the program ended is still accepted: wait for it, longer
        # where the program says it connected (the accepting thread may be slow on a loaded machine).
        said = result is not None and "connected" in result.stdout
        deadline = time.monotonic() + (10 if said else 0.2)
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        done.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()
    if result.network_isolated:
        assert not accepted and "connected" not in result.stdout and result.status == "error"
    else:
        assert accepted, (result.status, result.stdout, result.stderr[-500:])
        assert "NO network" in sandbox.isolation().note


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
    result = execute(sandbox, code, args=[marker, str(os.getpid())])
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


def test_orphans_at_the_process_limit_do_not_block_the_next_programs(sandbox, marker):
    """A program fills its process limit with children and exits: without a PID namespace they are
    reparented to the machine's init, killed, and stay zombies until it reaps them, counted against
    the uid by RLIMIT_NPROC. The next programs (on the same uids, one of them started ahead) must
    still start and fork, not fail with EAGAIN."""
    code = ("import os, sys, time\n"
            "for _ in range(64):\n"
            "    try:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(60)\n"
            "            os._exit(0)\n"
            "    except OSError:\n"
            "        break\n")
    run(sandbox, code, marker, QUICK)
    for i in range(4):  # each program starts a child: one process more than the orphans left room for
        child = f"import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\nprint({i})\n"
        result = execute(sandbox, child, limits=QUICK)
        assert (result.status, result.stdout) == ("completed", f"{i}\n"), result


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


# ---------------------------------------------------------------------------------------- issue 21
NEVER_ROOT = """
import ctypes, os, sys
print('ids', os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups()))
status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)
print('caps', status['CapEff'].strip(), status['CapPrm'].strip(), status['CapBnd'].strip(),
      'nnp', status['NoNewPrivs'].strip())
for action, path in (('read', '/etc/shadow'), ('write', '/etc/' + sys.argv[1]), ('write', '/root/' + sys.argv[1]),
                     ('read', '/proc/1/environ'), ('write', '/proc/sys/kernel/hostname')):
    try:
        open(path, 'r' if action == 'read' else 'w').close()
        print(action, path, 'DONE')
    except OSError as e:
        print(action, path, 'refused')
for call in ('setuid', 'setgid'):
    try:
        getattr(os, call)(0)
        print(call, 'DONE')
    except OSError:
        print(call, 'refused')
libc = ctypes.CDLL(None, use_errno=True)
print('chroot', 'DONE' if libc.chroot(b'/') == 0 else 'refused')
"""


def test_never_root(sandbox, marker):
    """As root the program is a throwaway uid with no capabilities and no way back (no_new_privs:
    setuid binaries do not raise it)."""
    if not ROOT:
        pytest.skip("not root: the program runs as this user (or as root inside a user namespace)")
    try:
        result = run(sandbox, NEVER_ROOT, marker)
    finally:
        for path in (f"/etc/{marker}", f"/root/{marker}"):
            if os.path.exists(path):
                os.remove(path)
    assert result.status == "completed", result.stderr
    lines = result.stdout.splitlines()
    uid, euid, gid, egid = map(int, lines[0].split()[1:5])
    assert 0 not in (uid, euid, gid, egid) and lines[0].endswith("[]"), lines[0]
    assert lines[1].split()[1:4] == ["0000000000000000"] * 3 and lines[1].endswith("nnp 1"), lines[1]
    assert "DONE" not in result.stdout, result.stdout


def test_request_env_reaches_the_program_only(sandbox, marker):
    """The launch chain (bwrap/unshare, prlimit, setpriv, the stage: root's processes up to the uid
    drop) never carries a caller's variable, in its environment or its command line; the program
    has it in its environment."""
    if not ROOT:
        pytest.skip("reading the launch chain's environments needs root")
    seen = {}  # pid -> (program name, the variable is in its environment, ... in its command line)

    def read(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
        with open(f"/proc/{pid}/stat", "rb") as fh:
            ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        name = os.path.basename(cmdline.split(b"\0")[0].decode())
        return name, b"PROGRAM_SECRET=" in environ, marker.encode() + b"-value" in cmdline, ppid

    def scan():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(name.startswith("python") for name, *_ in seen.values()):
            for pid in marker_processes(marker):  # the program (its argument), then its ancestors
                while pid not in (0, 1, os.getpid()):
                    try:
                        name, has_env, has_arg, ppid = read(pid)
                    except (OSError, IndexError, ValueError):
                        break
                    seen[pid] = (name, has_env, has_arg)
                    pid = ppid
            time.sleep(0.01)

    watcher = threading.Thread(target=scan)
    watcher.start()
    result = run(sandbox, "import os, time\nprint(os.environ['PROGRAM_SECRET'])\ntime.sleep(1)\n", marker,
                 env={"PROGRAM_SECRET": marker + "-value"})
    watcher.join()
    assert result.stdout == f"{marker}-value\n", result.stderr
    program = {pid: has_env for pid, (name, has_env, _) in seen.items() if name.startswith("python")}
    chain = {pid: v for pid, v in seen.items() if pid not in program}
    assert program and all(program.values()), seen
    assert chain and not any(has_env or has_arg for _, has_env, has_arg in chain.values()), seen


def test_work_dir_cannot_be_swapped_for_a_link(sandbox, marker, tmp_path):
    """A program renames its work dir and leaves a link to a victim folder in its place: cleaning
    up afterwards must not follow it (as root that chmod-ed or emptied the victim)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    os.chmod(victim, 0o751)
    tmp_mode = os.stat(tempfile.gettempdir()).st_mode
    code = (
        "import os, sys\n"
        "here = os.getcwd()\n"
        "for target in (here, os.path.dirname(here)):\n"
        "    try:\n"
        "        os.rename(target, target + '-' + sys.argv[1])\n"
        "        os.symlink(%r, target)\n"
        "        print('swapped', target)\n"
        "    except OSError as e:\n"
        "        print('refused', target, e.errno)\n"
        "os.makedirs('sub/deeper')\n"
        "os.symlink(%r, 'sub/deeper/link')\n"
        "os.chmod('sub/deeper', 0o500)\n"
        "os.chmod('sub', 0o500)\n" % (str(victim), str(victim)))
    result = run(sandbox, code, marker)
    assert result.status == "completed", result.stderr
    assert (victim / "keep.txt").read_text() == "x" and stat.S_IMODE(os.stat(victim).st_mode) == 0o751
    assert os.stat(tempfile.gettempdir()).st_mode == tmp_mode
    if sandbox.isolation().drop_uid or sandbox.isolation().filesystem:
        assert "swapped" not in result.stdout, result.stdout


def test_another_execution_is_out_of_reach(sandbox, marker):
    """Two programs at once (two worker slots): one leaves a file in its work dir and waits, the
    other searches the temporary folders, /dev and /run (where a warm launcher keeps its slot's
    work dirs) for it."""
    hider = "import sys, time\nopen(sys.argv[1] + '-hidden', 'w').write('x')\ntime.sleep(3)\n"
    seeker = ("import os, sys\nname = sys.argv[1] + '-hidden'\nfound = []\n"
              "for root in ('/tmp', '/var/tmp', '/dev', '/run'):\n"
              "    for here, dirs, files in os.walk(root):\n"
              "        if here.count('/') > 3:\n"
              "            dirs[:] = []\n"
              "        found += [here] if name in files else []\n"
              "print(found)\n")
    with ThreadPoolExecutor(1) as pool:
        hiding = pool.submit(sandbox.execute, hider, args=[marker], limits=ROOMY)
        time.sleep(1)  # it has written its file
        result = execute(sandbox, seeker, args=[marker])
        assert hiding.result().status == "completed"
    assert result.status == "completed", result.stderr
    if result.fs_isolated or sandbox.isolation().drop_uid:
        assert result.stdout == "[]\n", result.stdout
    else:  # the same uid and the host's folders: flagged and warned
        assert "fs_isolated=false" in sandbox.isolation().note


def test_no_inherited_file_descriptors(sandbox, marker):
    code = ("import os\nfds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\nprint(fds)\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        os.fstat(fd)\n"
            "        print('open', fd, os.readlink(f'/proc/self/fd/{fd}'))\n"
            "    except OSError:\n"
            "        pass\n")
    result = run(sandbox, code, marker, stdin="in")
    assert result.status == "completed", result.stderr
    first, *rest = result.stdout.splitlines()
    assert eval(first)[:3] == [0, 1, 2] and len(eval(first)) <= 4, result.stdout  # + listdir's own
    assert all("/proc/" in line for line in rest), result.stdout


def test_proc_of_the_caller_is_out_of_reach(sandbox, marker, monkeypatch):
    monkeypatch.setenv("CALLER_SECRET_TOKEN", marker + "-secret")
    code = ("import os, sys\n"
            "me = int(sys.argv[2])\n"
            "for name in ('environ', 'mem', 'cwd/x', 'root/etc/shadow', 'fd/0'):\n"
            "    try:\n"
            "        print(name, open(f'/proc/{me}/{name}', 'rb').read(64))\n"
            "    except OSError as e:\n"
            "        print(name, 'refused')\n"
            "try:\n"
            "    open('/proc/sysrq-trigger', 'w').write('h')\n"
            "    print('sysrq DONE')\n"
            "except OSError:\n"
            "    print('sysrq refused')\n")
    result = execute(sandbox, code, args=[marker, str(os.getpid())])
    assert result.status == "completed", result.stderr
    if result.pid_isolated or sandbox.isolation().drop_uid:
        assert "secret" not in result.stdout and "DONE" not in result.stdout, result.stdout
        assert result.stdout.count("refused") == 6, result.stdout
    else:  # same uid, same /proc: flagged and warned
        assert "pid_isolated=false" in sandbox.isolation().note


def test_planted_launch_tools_are_never_run(sandbox, marker):
    """Files named like the chain's tools (and the interpreter), executable or not, in the work dir:
    the chain names every tool by absolute path and the program's PATH does not start there."""
    script = f"#!/bin/sh\necho pwned > /tmp/{marker}-$(basename $0)\n"
    names = ("timeout", "prlimit", "setpriv", "env", "bwrap", "unshare", "python", "python3", "sh")
    code = ("import os, subprocess\nfor n in %r:\n    os.chmod(n, 0o755)\n"
            "print(subprocess.run(['env', 'true']).returncode)\n" % (names,))
    result = run(sandbox, code, marker, files={n: script for n in names})
    assert result.status == "completed" and result.stdout == "0\n", result.stderr


def test_the_interpreter_cannot_be_changed_by_a_program(sandbox, marker):
    """Whatever interpreter runs the programs (a venv, its mirror) is read-only to them: one
    program cannot plant code for the next."""
    code = ("import os, sys, json\n"
            "name = 'planted_' + sys.argv[1] + '.py'\n"
            "for t in (sys.prefix, os.path.dirname(json.__file__), os.path.dirname(os.__file__)):\n"
            "    try:\n"
            "        open(os.path.join(t, name), 'w').close()\n"
            "        print('wrote', os.path.join(t, name))\n"
            "    except OSError:\n"
            "        print('refused', t)\n"
            "try:\n"
            "    open(json.__file__, 'a').close()\n"
            "    print('opened', json.__file__)\n"
            "except OSError:\n"
            "    print('refused', json.__file__)\n")
    result = run(sandbox, code, marker)
    written = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if line.startswith("wrote ")]
    for path in written:  # only where the program runs as the interpreter's owner (checked below)
        if os.path.exists(path):
            os.remove(path)
    assert result.status == "completed", result.stderr
    if result.fs_isolated or sandbox.isolation().drop_uid:
        assert not written and "opened" not in result.stdout, result.stdout
    else:  # the program runs as the interpreter's owner on a writable filesystem: flagged
        assert "fs_isolated=false" in sandbox.isolation().note
