"""Issue 21: the three ways around the sandbox, reproduced as an attacker used them.

1. the service's ``env`` reached the privileged launch chain (LD_PRELOAD ran as uid 0);
2. the caller's working directory was mounted into the sandbox (an editable install's path hook);
3. without bubblewrap, an interpreter the throwaway uid could not read ran model code as real root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from sandbox_helpers import new_marker, sandbox_for
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
    from skills.sandbox.launch import sandbox_health_url
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


