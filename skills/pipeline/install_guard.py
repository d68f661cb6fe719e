"""``python -m skills.pipeline.install_guard KEY COMMAND``: ``--installation_command``, once per node.

Every job of a plan starts with this line. The first process on a node takes an exclusive lock on
``$TMPDIR/skills-install-KEY.lock``, runs the command with bash and records the outcome; the others
wait on the lock and then reuse the outcome, so a package is installed once per node and a failed
installation fails every job on that node instead of running them without it.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import tempfile
from pathlib import Path


def run_once(key: str, command: str) -> int:
    base = Path(tempfile.gettempdir()) / f"skills-install-{key}"
    lock, done, failed = (base.with_suffix(s) for s in (".lock", ".done", ".failed"))
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # the others wait here until the first has finished
        if done.exists():
            return 0
        if failed.exists():
            print(f"installation command failed earlier on this node (see the first job's log): {command}",
                  file=sys.stderr)
            return 1
        print(f"installing: {command}", file=sys.stderr, flush=True)
        rc = subprocess.call(["bash", "-c", command])
        (done if rc == 0 else failed).write_text(str(rc))
        return 0 if rc == 0 else 1


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python -m skills.pipeline.install_guard KEY COMMAND", file=sys.stderr)
        return 2
    return run_once(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
