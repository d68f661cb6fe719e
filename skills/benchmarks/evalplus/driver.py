"""Runs INSIDE the sandbox, with the sandbox's interpreter: one EvalPlus task at a time, with the
pinned EvalPlus's own functions, printing one line ``<nonce><JSON>`` on a private copy of stdout.

Standard library only besides the installed ``evalplus`` (and numpy, which it imports). Input:
``job.json.gz`` = ``{"mode": ..., "nonce": str, ...}``:

- ``probe``: where evalplus is installed and which version (the commit is in the version);
- ``groundtruth``: ``{"dataset", "task": <the task's upstream row>}``: expected outputs and times of
  the canonical solution on the base and plus inputs, exactly as EvalPlus's ``get_groundtruth``
  computes them for one task, returned pickled (zlib, base64); the caller keeps the bytes and hands them
  back to ``check`` runs, it never unpickles them;
- ``check``: ``{"dataset", "task", "solution", "min_time_limit", "gt_time_limit_factor",
  "base_only", "fast_check"}`` and the file ``groundtruth.pkl``: EvalPlus's ``untrusted_check`` on
  the base inputs, then the plus inputs (as its ``check_correctness``), each in the forked process
  EvalPlus starts for it: statuses ``pass`` / ``fail`` / ``timeout``.
"""

import base64
import os
import pickle
import sys
import zlib

from skills_job import take_job  # sent beside this driver by skills.sandbox.jobs.run_job

GROUNDTRUTH = "groundtruth.pkl"


def inputs(dataset, task):
    """The task's inputs as EvalPlus's data loader gives them (MBPP+ turns some lists into tuples,
    sets or complex numbers)."""
    if dataset == "mbpp":
        from evalplus.data.mbpp import mbpp_deserialize_inputs

        return (mbpp_deserialize_inputs(task["task_id"], task["base_input"]),
                mbpp_deserialize_inputs(task["task_id"], task["plus_input"]))
    return task["base_input"], task["plus_input"]


def groundtruth(job):
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.gen.util import trusted_exec

    task = job["task"]
    not_none = MBPP_OUTPUT_NOT_NONE_TASKS if job["dataset"] == "mbpp" else []
    code = task["prompt"] + task["canonical_solution"]
    oracle = {}
    for kind, inp in zip(("base", "plus"), inputs(job["dataset"], task)):
        oracle[kind], oracle[kind + "_time"] = trusted_exec(code, inp, task["entry_point"], record_time=True,
                                                            output_not_none=task["entry_point"] in not_none)
    return {"status": "ok", "groundtruth": base64.b64encode(zlib.compress(pickle.dumps(oracle), 6)).decode()}


def check(job):
    from evalplus.eval import untrusted_check

    with open(GROUNDTRUTH, "rb") as fh:
        expected = pickle.loads(zlib.decompress(fh.read()))
    os.remove(GROUNDTRUTH)
    task = job["task"]
    out = {"status": "ok"}
    for kind, inp in zip(("base", "plus"), inputs(job["dataset"], task)):
        if kind == "plus" and job["base_only"]:
            out["plus_status"] = None
            break
        stat, details = untrusted_check(job["dataset"], job["solution"], inp, task["entry_point"],
                                        expected=expected[kind], atol=task["atol"], ref_time=expected[kind + "_time"],
                                        fast_check=job["fast_check"], min_time_limit=job["min_time_limit"],
                                        gt_time_limit_factor=job["gt_time_limit_factor"])
        out[kind + "_status"] = stat
        out[kind + "_passed"] = int(sum(bool(d) for d in details))
        out[kind + "_tests"] = len(inp)
    return out


def main():
    # what the programs print goes nowhere: neither a flood nor a forged line reaches the caller, and
    # the forked processes that run solutions never hold the private copy of stdout
    job, answer = take_job(close_in_children=True)
    try:
        import evalplus
    except ImportError:
        verdict = {"status": "no_evalplus", "python": sys.executable}
    else:
        try:
            if job["mode"] == "probe":
                verdict = {"status": "probe", "version": evalplus.__version__, "path": evalplus.__file__,
                           "python": sys.executable}
            elif job["mode"] == "groundtruth":
                verdict = groundtruth(job)
            else:
                verdict = check(job)
        except BaseException as exc:  # a canonical solution that fails, or a broken install
            verdict = {"status": "error", "error": repr(exc)[:500]}
    answer(verdict)


if __name__ == "__main__":
    main()
