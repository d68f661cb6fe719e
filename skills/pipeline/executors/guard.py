"""``python -m skills.pipeline.executors.guard LAUNCHER_PID -- CMD...``: run CMD, and take its whole
process group down when the launcher dies.

Jobs and servers run in process groups of their own (so stopping one stops all its children). A
``kill -9`` of ``ns`` would leave such groups running as orphans, writing beside the next run. The
guard leads the group, asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), and
then terminates the group (SIGKILL after a grace period). It also forwards a SIGTERM sent to it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
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
        print("usage: python -m skills.pipeline.executors.guard LAUNCHER_PID -- CMD...", file=sys.stderr)
        return 2
    launcher, cmd = int(args[0]), args[2:]
    _die_with_parent()
    if os.getppid() != launcher:  # the launcher died before the request above took effect
        return 143
    child = subprocess.Popen(cmd)

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            os.killpg(0, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + GRACE_S
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(0, signal.SIGKILL)  # whatever is left of the group, the guard included

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rc = child.wait()
    return rc if rc >= 0 else 128 - rc


def guarded(argv: List[str]) -> List[str]:
    """``argv`` wrapped so that it dies with this process (run it with ``start_new_session=True``)."""
    return [sys.executable, "-m", "skills.pipeline.executors.guard", str(os.getpid()), "--", *argv]


if __name__ == "__main__":
    sys.exit(main())
