"""Runs INSIDE the sandbox: one infilling program checked by the installed ``human_eval_infilling``
(``execution.check_correctness``: prefix + completion + suffix + test + ``check(entry_point)`` in a
forked process, its own time limit), printing ``<nonce><JSON>`` on a private copy of stdout.
Input ``job.json.gz`` = ``{"problem": <upstream row>, "completion": str, "timeout": float, "nonce": str}``
or ``{"probe": true, "nonce": str}``."""

import gzip
import json
import os
import sys

JOB = "job.json.gz"


def main():
    with open(JOB, "rb") as fh:
        job = json.loads(gzip.decompress(fh.read()))
    os.remove(JOB)
    private_fd = os.dup(1)
    out = os.fdopen(private_fd, "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    os.register_at_fork(after_in_child=lambda: os.close(private_fd))  # the program's processes never hold it
    try:
        from human_eval_infilling import execution
    except ImportError:
        verdict = {"status": "no_grader", "python": sys.executable}
    else:
        if job.get("probe"):
            verdict = {"status": "probe", "path": execution.__file__}
        else:
            try:
                res = execution.check_correctness(job["problem"], job["completion"], job["timeout"])
                verdict = {"status": "ok", "passed": bool(res["passed"]), "result": str(res["result"])[:500]}
            except BaseException as exc:
                verdict = {"status": "error", "error": repr(exc)[:500]}
    out.write(job["nonce"] + json.dumps(verdict) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
