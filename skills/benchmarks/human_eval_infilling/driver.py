"""Runs INSIDE the sandbox: one infilling program checked by the installed ``human_eval_infilling``
(``execution.check_correctness``: prefix + completion + suffix + test + ``check(entry_point)`` in a
forked process, its own time limit), printing ``<nonce><JSON>`` on a private copy of stdout.
Input ``job.json.gz`` = ``{"problem": <upstream row>, "completion": str, "timeout": float, "nonce": str}``
or ``{"probe": true, "nonce": str}``."""

import sys

from skills_job import take_job  # sent beside this driver by skills.sandbox.jobs.run_job


def main():
    job, answer = take_job(close_in_children=True)  # the program's processes never hold the private stdout
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
    answer(verdict)


if __name__ == "__main__":
    main()
