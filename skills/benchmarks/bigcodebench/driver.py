"""Runs INSIDE the sandbox with the ``bigcodebench`` environment's interpreter: one task at a time
with BigCodeBench's own checker, printing ``<nonce><JSON>`` on a private copy of stdout.
``job.json.gz`` = ``{"mode": "probe" | "groundtruth" | "check", "nonce", "task": {complete_prompt,
canonical_solution, test, entry_point, task_id}, "solution", "limits": {max_as_limit, max_data_limit,
max_stack_limit, min_time_limit}, "gt_time": float}``: ``groundtruth`` times the canonical solution
(``trusted_check``, as its ``get_groundtruth``), ``check`` runs ``untrusted_check`` (as its
``check_correctness``): status ``pass`` / ``fail`` / ``timeout``."""

import sys

from skills_job import take_job  # sent beside this driver by skills.sandbox.jobs.run_job


def main():
    job, answer = take_job(close_in_children=True)
    try:
        import bigcodebench
        from bigcodebench.eval import untrusted_check
        from bigcodebench.gen.util import trusted_check
    except ImportError:
        verdict = {"status": "no_checker", "python": sys.executable}
    else:
        lim = job.get("limits", {})
        try:
            if job["mode"] == "probe":
                verdict = {"status": "probe", "version": getattr(bigcodebench, "__version__", "?"),
                           "python": sys.executable}
            elif job["mode"] == "groundtruth":
                t = job["task"]
                res = trusted_check(t["complete_prompt"] + "\n" + t["canonical_solution"], t["test"], t["task_id"],
                                    lim["max_as_limit"], lim["max_data_limit"], lim["max_stack_limit"],
                                    lim["min_time_limit"])
                verdict = {"status": "ok", "time": res["time"]}
            else:
                t = job["task"]
                stat, details = untrusted_check(job["solution"], t["test"], t["entry_point"], lim["max_as_limit"],
                                                lim["max_data_limit"], lim["max_stack_limit"], lim["min_time_limit"],
                                                job["gt_time"])
                verdict = {"status": "ok", "result": stat, "details": {k: str(v)[:300] for k, v in dict(details).items()}}
        except BaseException as exc:
            verdict = {"status": "error", "error": repr(exc)[:500]}
    answer(verdict)


if __name__ == "__main__":
    main()
