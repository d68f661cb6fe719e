"""``python -m skills.servers.guard LAUNCHER_PID -- CMD...``: run CMD, and take its whole
process group down when the launcher dies.

Jobs and servers run in process groups of their own (so stopping one stops all its children). A
``kill -9`` of ``ns`` would leave such groups running as orphans, writing beside the next run. The
guard leads the group, asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), and
then terminates the group (SIGKILL after a grace period, or at once when the command has ended).
It also forwards a SIGTERM sent to it. Its command asks for SIGKILL when the guard dies, so a
``kill -9`` of the guard itself does not leave the command running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from typing import List, Optional

PR_SET_PDEATHSIG = 1
GRACE_S = 10.0


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the group is still stopped by the executor
        pass


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m skills.servers.guard LAUNCHER_PID -- CMD...", file=sys.stderr)
        return 2
    launcher, cmd = int(args[0]), args[2:]
    _die_with_parent()
    if os.getppid() != launcher:  # the launcher died before the request above took effect
        return 143
    # the child dies with the guard even when the guard is killed with SIGKILL (the executor then
    # also ends the rest of the group, see local.py)
    child = subprocess.Popen(cmd, preexec_fn=_die_with_parent)
    stopping = []

    def kill_all(signum=None, frame=None) -> None:
        os.killpg(0, signal.SIGKILL)  # whatever is left of the group, the guard included

    def stop(signum, frame) -> None:
        # No waiting in here: the main thread sits in child.wait() holding Popen's wait lock, so a
        # poll from the handler could never see the child exit. Forward the signal, arm a timer for
        # the grace period and let child.wait() return as soon as the child is gone.
        if stopping:
            return
        stopping.append(signum)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGALRM, kill_all)
        signal.setitimer(signal.ITIMER_REAL, GRACE_S)
        try:
            os.killpg(0, signal.SIGTERM)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rc = child.wait()
    if stopping:
        kill_all()
    return rc if rc >= 0 else 128 - rc


def guarded(argv: List[str]) -> List[str]:
    """``argv`` wrapped so that it dies with this process (run it with ``start_new_session=True``)."""
    return [sys.executable, "-m", "skills.servers.guard", str(os.getpid()), "--", *argv]


if __name__ == "__main__":
    sys.exit(main())
