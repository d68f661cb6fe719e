"""Issue 21: the three ways around the sandbox, reproduced as an attacker used them.

1. the service's ``env`` reached the privileged launch chain (LD_PRELOAD ran as uid 0);
2. the caller's working directory was mounted into the sandbox (an editable install's path hook);
3. without bubblewrap, an interpreter the throwaway uid could not read ran model code as real root.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.core.sandbox.helpers import new_marker, sandbox_for
from skills.config.errors import UsageError
from skills.sandbox import Sandbox
from skills.sandbox.client import SandboxClient

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the hole is running model code as root: needs root")


def _preload_library(folder, marker: str) -> bytes:
    """A shared library whose constructor leaves ``/tmp/<marker>-<euid>`` in every process it loads into."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is not installed: cannot build the LD_PRELOAD library")
    source = folder / "evil.c"
    source.write_text(textwrap.dedent(f"""\
        #include <fcntl.h>
        #include <stdio.h>
        #include <unistd.h>
        __attribute__((constructor)) static void hit(void) {{
            char path[256];
            snprintf(path, sizeof path, "/tmp/{marker}-%d", (int)geteuid());
            int fd = open(path, O_CREAT | O_WRONLY, 0644);
            if (fd >= 0) close(fd);
        }}
        """))
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / "evil.so"), str(source)], check=True)
    return (folder / "evil.so").read_bytes()


def test_service_env_cannot_preload_a_library_into_the_launch_chain(sandbox_service, tmp_path):
    marker = new_marker()
    library = _preload_library(tmp_path, marker)
    client = SandboxClient(sandbox_service)
    try:
        with pytest.raises(UsageError, match="LD_PRELOAD"):
            client.execute("print('hi')", files={"evil.so": library}, env={"LD_PRELOAD": "./evil.so"})
        with pytest.raises(UsageError, match="LD_PRELOAD"):  # the library API: the same rule
            Sandbox().execute("print('hi')", files={"evil.so": library}, env={"LD_PRELOAD": "./evil.so"})
    finally:
        hits = [p for p in os.listdir("/tmp") if p.startswith(marker)]
        for name in hits:
            os.remove(os.path.join("/tmp", name))
    assert not hits, f"the preloaded library ran: {hits}"


def test_the_callers_working_directory_is_never_mounted(tmp_path, monkeypatch):
    """An interpreter whose sys.path holds a path hook, a relative entry and a zip (an editable
    install adds the first): none may become a bind of the caller's cwd."""
    sandbox_for("bwrap")  # skips where bubblewrap does not work
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "__editable__hook.pth").write_text(
        "import sys; sys.path.extend(['__editable__.pkg-0.1.finder.__path_hook__', 'relative_dir', "
        "'bundle.zip'])\n")
    cwd = tmp_path / "caller"
    cwd.mkdir()
    (cwd / "secret.txt").write_text("caller's secret")
    (cwd / "relative_dir").mkdir()
    (cwd / "bundle.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    monkeypatch.chdir(cwd)
    code = f"print(open({str(cwd / 'secret.txt')!r}).read())"
    result = Sandbox(python=str(venv / "bin" / "python"), isolation="bwrap").execute(code)
    assert result.isolation == "bwrap"
    assert "caller's secret" not in result.stdout, "the caller's working directory is visible"
    assert "FileNotFoundError" in result.stderr or "PermissionError" in result.stderr, result.stderr


@ROOT_ONLY
@pytest.mark.parametrize("mode", ["unshare", "none"])
def test_an_unreadable_interpreter_never_runs_model_code_as_root(mode, tmp_path):
    """The test's own interpreter lives under root's 0700 home (pyenv) or in a venv built from one:
    the throwaway uid cannot read it. Model code must then run as another uid, or not at all."""
    sandbox_for(mode)  # skips where this level does not work at all
    victim = f"/etc/{new_marker()}"
    code = textwrap.dedent(f"""\
        import os
        print('euid', os.geteuid())
        for action, path in (('read', '/etc/shadow'), ('write', {victim!r})):
            try:
                open(path, 'r' if action == 'read' else 'w').close()
                print(action, 'DONE')
            except OSError as e:
                print(action, 'refused', e.errno)
        """)
    try:
        try:
            result = Sandbox(python=sys.executable, isolation=mode).execute(code)
        except UsageError as exc:  # refused with one line saying what to do
            assert "\n" not in exc.message and "SKILLS_SANDBOX_ALLOW_ROOT" in exc.message
            return
        assert result.status == "completed", result.stderr
        assert "euid 0" not in result.stdout and "DONE" not in result.stdout, result.stdout
        assert not result.as_root
    finally:
        if os.path.exists(victim):
            os.remove(victim)


@pytest.fixture(scope="module")
def sandbox_service(tmp_path_factory):
    from tests.core.sandbox.helpers import sandbox_health_url
    from skills.servers.health import wait_for_server
    from skills.servers.ports import find_free_port

    port = find_free_port()
    log = tmp_path_factory.mktemp("service") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port),
                                 "--workers", "2"], stdout=out, stderr=out)
    try:
        wait_for_server(sandbox_health_url("127.0.0.1", port), timeout_s=60, process=proc, log_path=log,
                        poll_s=0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)




# ------------------------------------------------------------------------------ what callers may send
HIJACKERS = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG_OUTPUT", "PYTHONSTARTUP", "PYTHONHOME",
             "PYTHONPATH", "PYTHONINSPECT", "PYTHONWARNINGS", "PYTHONBREAKPOINT", "GCONV_PATH", "LOCPATH",
             "GLIBC_TUNABLES", "MALLOC_CHECK_", "BASH_ENV", "ENV", "PATH", "HOME", "TMPDIR", "IFS",
             "OMP_TOOL_LIBRARIES", "PERL5OPT", "NODE_OPTIONS", "MPLBACKEND", "ld_preload", "PROGRAM_X=Y", "",
             "LANG\0"]


@pytest.mark.parametrize("name", HIJACKERS)
def test_loader_and_interpreter_variables_are_refused(name):
    with pytest.raises(UsageError, match="refused"):
        Sandbox().execute("pass", env={name: "x"})


def test_allowed_variables_reach_the_program():
    env = {"PROGRAM_CASE": "a b", "LC_ALL": "C.UTF-8", "TZ": "UTC", "OPENBLAS_NUM_THREADS": "2",
           "PYTHONHASHSEED": "0"}
    code = "import os, json\nprint(json.dumps({k: os.environ.get(k) for k in %r}))" % (sorted(env),)
    result = Sandbox().execute(code, env=env)
    assert result.status == "completed" and json.loads(result.stdout) == env, result.stderr
    with pytest.raises(UsageError, match="NUL"):
        Sandbox().execute("pass", env={"PROGRAM_X": "a\0b"})


@pytest.mark.parametrize("files, why", [
    ({"../x": "1"}, "relative"), ({"/etc/x": "1"}, "relative"), ({"a/../../x": "1"}, "relative"),
    ({"a\0b": "1"}, "NUL"), ({"": "1"}, "NUL"), ({"a": "1", "a/b": "2"}, "collides"),
    ({"a/b": "1", "a": "2"}, "collides"), ({"x": "1", "./x": "2"}, "collides"), ({"./main.py": "1"}, "main.py"),
    ({"x": 5}, "text or bytes"), ({"x" * 300: "1"}, "cannot be written")])
def test_bad_file_names_and_contents_are_usage_errors(files, why):
    with pytest.raises(UsageError, match=why):
        Sandbox().execute("pass", files=files)


def test_bad_args_are_usage_errors():
    for args in (["a\0b"], "ab", [1]):
        with pytest.raises(UsageError, match="args"):
            Sandbox().execute("pass", args=args)


def test_service_refuses_hostile_requests(sandbox_service):
    import urllib.error
    import urllib.request

    def post(body: bytes):
        req = urllib.request.Request(sandbox_service + "/execute", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    cases = {
        "deep": b"[" * 200000 + b"]" * 200000,
        "nan": b'{"code": "pass", "limits": {"wall_s": NaN}}',
        "infinite": b'{"code": "pass", "limits": {"cpu_s": Infinity}}',
        "nul arg": json.dumps({"code": "pass", "args": ["a\0b"]}).encode(),
        "nul env": json.dumps({"code": "pass", "env": {"PROGRAM_X": "a\0b"}}).encode(),
        "bad base64": json.dumps({"code": "pass", "files": {"x": {"base64": "!!"}}}).encode(),
        "limits not an object": json.dumps({"code": "pass", "limits": [1]}).encode(),
        "preload": json.dumps({"code": "pass", "env": {"LD_PRELOAD": "/x.so"}}).encode(),
        "path": json.dumps({"code": "pass", "env": {"PATH": "."}}).encode(),
        "escape": json.dumps({"code": "pass", "files": {"../../etc/x": "1"}}).encode(),
        "collision": json.dumps({"code": "pass", "files": {"a": "1", "a/b": "2"}}).encode(),
    }
    for name, body in cases.items():
        status, _ = post(body)
        assert status == 400, name
    status, answer = post(json.dumps({"code": "print('still serving')"}).encode())
    assert status == 200 and answer["stdout"] == "still serving\n" and answer["as_root"] is False


def test_service_read_only_links_out_of_the_exposed_folders_are_refused(tmp_path):
    from skills.sandbox.server import parse_request

    root = tmp_path / "exposed"
    (root / "inner").mkdir(parents=True)
    (root / "inner" / "data.txt").write_text("ok")
    (tmp_path / "private.txt").write_text("private")
    (root / "out").symlink_to(tmp_path / "private.txt")
    (root / "alias").symlink_to(root / "inner")
    roots = [str(root)]
    assert parse_request({"code": "", "read_only": [str(root / "alias" / "data.txt")]}, roots=roots)
    for path in (str(root / "out"), str(root / ".." / "private.txt"), "inner/data.txt", str(root) + "/\0x"):
        with pytest.raises(UsageError, match="read_only"):
            parse_request({"code": "", "read_only": [path]}, roots=roots)


# ------------------------------------------------------------------------------ host-side hardening
def test_a_planted_uid_lock_folder_is_refused(tmp_path, monkeypatch):
    from skills.sandbox import uids

    planted = tmp_path / "locks"
    planted.mkdir(mode=0o777)
    os.chmod(planted, 0o777)
    monkeypatch.setattr(uids, "LOCK_DIR", str(planted))
    with pytest.raises(RuntimeError, match="not a private folder"):
        uids.claim_uid()
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    monkeypatch.setattr(uids, "LOCK_DIR", str(link))
    with pytest.raises(RuntimeError, match="not a private folder"):
        uids.claim_uid()


def test_stale_work_dir_reaping_never_follows_links(tmp_path):
    from skills.sandbox.workdir import reap_stale

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    os.chmod(victim, 0o751)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    os.chmod(tmp, 0o1777)
    (tmp / "skills-sandbox-999999999-x").symlink_to(victim)  # no such pid: "stale"
    (tmp / "skills-sandbox-999999998-y").mkdir()
    ((tmp / "skills-sandbox-999999998-y") / "link").symlink_to(victim)
    os.chmod(tmp / "skills-sandbox-999999998-y", 0o500)
    reap_stale(str(tmp))
    assert (victim / "keep.txt").read_text() == "x" and oct(os.stat(victim).st_mode & 0o7777) == "0o751"
    assert oct(os.stat(tmp).st_mode & 0o7777) == "0o1777"
    assert not (tmp / "skills-sandbox-999999998-y").exists()  # our own stale folder: removed
    assert (tmp / "skills-sandbox-999999999-x").is_symlink()  # not ours: left alone


@ROOT_ONLY
def test_an_unsafe_mirror_store_is_refused(tmp_path, monkeypatch):
    from skills.sandbox import mirror

    store = tmp_path / "open"
    store.mkdir()
    os.chmod(store, 0o777)  # anyone could swap a mirrored interpreter: never used
    monkeypatch.setenv(mirror.STORE_ENV, str(store / "python"))
    with pytest.raises(mirror.MirrorError, match="other users"):
        mirror.mirror(sys.executable, json.loads(_paths(sys.executable)))


# ------------------------------------------------------------------------------ the explicit opt-in
def _paths(python: str) -> str:
    from skills.sandbox.probe import _interpreter_paths

    return _interpreter_paths(python)


@pytest.fixture
def unreadable_interpreter(tmp_path, monkeypatch):
    """An interpreter a throwaway uid can run from nowhere: in a 0700 folder, and no safe mirror store."""
    if os.geteuid() != 0:
        pytest.skip("throwaway uids are for root")
    from skills.sandbox import probe

    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    (private / "venv").symlink_to(os.path.dirname(os.path.dirname(sys.executable)))
    store = tmp_path / "open"
    store.mkdir()
    os.chmod(store, 0o777)
    monkeypatch.setenv("SKILLS_SANDBOX_MIRROR_DIR", str(store / "python"))
    monkeypatch.delenv("SKILLS_SANDBOX_ALLOW_ROOT", raising=False)
    probe._cache.clear()
    yield str(private / "venv" / "bin" / "python")
    probe._cache.clear()


@pytest.mark.parametrize("mode", ["unshare", "none"])
def test_refusal_is_one_line_and_the_opt_in_is_flagged(mode, unreadable_interpreter, monkeypatch, capfd):
    with pytest.raises(UsageError) as info:
        Sandbox(python=unreadable_interpreter, isolation=mode).execute("print('ran')")
    message = info.value.message
    assert "\n" not in message and "never runs as root" in message and "SKILLS_SANDBOX_ALLOW_ROOT=1" in message
    assert "bubblewrap" in message and "SKILLS_SANDBOX_PYTHON" in message
    monkeypatch.setenv("SKILLS_SANDBOX_ALLOW_ROOT", "1")
    try:
        result = Sandbox(python=unreadable_interpreter, isolation=mode).execute("import os; print(os.geteuid())")
    except UsageError as exc:
        assert "does not work here" in exc.message
        pytest.skip(f"isolation '{mode}' does not work here even as root: {exc.message}")
    assert result.stdout == "0\n" and result.as_root and result.to_dict()["as_root"] is True
    assert "model code runs as ROOT" in capfd.readouterr().err


def test_confined_process_needs_its_read_only_folders_readable(tmp_path, monkeypatch):
    """BFCL's worker: the same rules. Without bubblewrap a folder it must import from that other
    users cannot read stops confine() with one line instead of a worker that dies on import."""
    if os.geteuid() != 0:
        pytest.skip("throwaway uids are for root")
    from skills.sandbox.confine import confine

    monkeypatch.setenv("SKILLS_SANDBOX_ISOLATION", "none")
    private = tmp_path / "checkout"
    private.mkdir(mode=0o700)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(UsageError, match="cannot read .*checkout"):
        confine([sys.executable, "-c", "pass"], str(work), read_only=[str(private)])


@ROOT_ONLY
def test_an_interpreter_others_can_change_runs_from_a_mirror(monkeypatch):
    """A venv whose site-packages anyone may write (umask 0): without a read-only mount a program
    could plant a module for the next one, so it runs from the root-owned mirror instead."""
    from tests.core.sandbox.helpers import plain_venv, world_readable_folder
    from skills.sandbox import probe
    from skills.sandbox.mirror import STORE_ENV, reachable

    system = "/usr/bin/python3"
    if not (os.path.exists(system) and reachable(os.path.realpath(system))):
        pytest.skip("no system python3 that other users can read")
    folder = world_readable_folder("skills-open-venv-")
    try:
        python = plain_venv(folder, system)
        site = next(p for p in (os.path.join(folder, "venv", "lib", n, "site-packages")
                                for n in os.listdir(os.path.join(folder, "venv", "lib"))) if os.path.isdir(p))
        os.chmod(site, 0o777)
        os.mkdir(os.path.join(folder, "mirrors"), 0o755)
        monkeypatch.setenv(STORE_ENV, os.path.join(folder, "mirrors", "python"))
        probe._cache.clear()
        sandbox = sandbox_for("none", python=python)
        assert sandbox.isolation().mirror, "the writable venv itself was used"
        code = ("import site, sys\nfor p in sys.path:\n    if p.endswith('site-packages'):\n"
                "        try:\n            open(p + '/planted.py', 'w').close()\n            print('planted', p)\n"
                "        except OSError:\n            print('refused')\n")
        result = sandbox.execute(code)
        assert result.stdout == "refused\n" and not os.path.exists(os.path.join(site, "planted.py")), result.stdout
    finally:
        probe._cache.clear()
        shutil.rmtree(folder, ignore_errors=True)


@ROOT_ONLY
def test_read_only_data_anyone_may_change_is_refused_without_a_read_only_mount(tmp_path):
    """SciCode's targets, say: a program at a level without bubblewrap's read-only mounts could
    rewrite a world-writable file for the programs graded after it."""
    data = tmp_path / "targets.bin"
    data.write_bytes(b"1")
    os.chmod(data, 0o666)
    sandbox = sandbox_for("none")
    with pytest.raises(UsageError, match="writable by other users"):
        sandbox.execute("pass", read_only=[str(data)])
    os.chmod(data, 0o644)
    assert sandbox.execute("pass", read_only=[str(data)]).status == "completed"


def test_the_compiled_stage_checks_what_it_is_given():
    """The compiled stage (where this machine can build it) never drops "to" root, throws a launch
    away on EOF (125), and refuses malformed go messages (126) and missing commands (127) in one
    line each; as root it ends as the throwaway uid with no groups before the program runs."""
    from skills.sandbox.launcher import Isolation, go_line
    from skills.sandbox.stage import compiled

    binary = compiled()
    if binary is None:
        pytest.skip("no C compiler or no usable store here: chains use prlimit, setpriv and sh")
    iso = Isolation(mode="none", python=sys.executable, drop_uid=False, network=False, filesystem=False,
                    pids=False, stage=binary)

    def stage(args, data=b""):
        done = subprocess.run([binary, *args], input=data, capture_output=True)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    code, _, err = stage(["-u0:0", "-i"], go_line(iso, ["true"]))
    assert code == 126 and "root" in err and err.count("\n") == 1
    assert stage(["-i"])[0] == 125
    assert stage(["-i"], b"7\nxtrue\0\0")[0] == 126
    assert stage(["-i"], b"100\natrue\0")[0] == 125  # shorter than announced: never run
    code, _, err = stage(["-i"], go_line(iso, ["/nonexistent/binary"]))
    assert code == 127 and "/nonexistent/binary" in err
    code, out, _ = stage([f"-l{resource.RLIMIT_NOFILE}:50:50", "-i"], go_line(iso, ["sh", "-c", 'ulimit -n; echo "$1" "$PROGRAM_X"; cat', "sh",
                                                           "two\nlines"], {"PROGRAM_X": "it's"}) + b"stdin rest")
    assert code == 0 and out == "50\ntwo\nlines it's\nstdin rest", out
    if os.geteuid() == 0:
        code, out, err = stage(["-u100000777:100000777", "-i"], go_line(iso, ["id"]))
        assert code == 0 and out.strip() == "uid=100000777 gid=100000777 groups=100000777", (out, err)
