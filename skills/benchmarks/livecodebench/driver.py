"""Runs INSIDE the sandbox, with the sandbox's interpreter: grades one program on one problem with
LiveCodeBench's own harness and prints one line, ``<nonce><JSON verdict>``, on the original stdout.

Standard library only (plus what the harness imports: numpy). The harness module is loaded from
the installed ``nvidia-livecodebench`` by file path, so the package's ``__init__`` chain (tqdm,
pandas, ...) is never imported. Input: ``job.json.gz`` = ``{"input_output": <JSON text>, "code":
str, "timeout": int, "nonce": str}``, or ``{"probe": true, "nonce": str}`` to report the harness;
``"language": "cpp"`` with ``"harness"`` (a path under the interpreter's prefix) grades C++ with the
reference's fork (``run_test_cpp``: g++ in a temporary folder, then the tests).
"""

import hashlib
import importlib.util
import json
import os
import sys

from skills_job import take_job  # sent beside this driver by skills.sandbox.jobs.run_job


def harness_path(job):
    if job.get("harness"):  # the reference's fork, fetched into the environment's src/
        path = os.path.join(sys.prefix, job["harness"])
        return path if os.path.isfile(path) else None
    spec = importlib.util.find_spec("livecodebench")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "evaluation", "testing_util.py")
    return path if os.path.isfile(path) else None


def normalise(results):
    """Plain bools/ints, as the upstream worker turns numpy values into Python ones."""
    out = []
    for r in results:
        if hasattr(r, "item") and not isinstance(r, (bool, int)):
            r = r.item(0) if getattr(r, "ndim", 0) else r.item()
        out.append(r if isinstance(r, (bool, int)) else False)
    return out


def main():
    # a private copy of stdout, taken before any untrusted code runs; the program's own prints go
    # nowhere (stdin problems are captured by the harness itself), so neither a flood of output nor
    # a fake verdict line can reach the grader through fd 1 or 2
    job, emit = take_job()
    path = harness_path(job)
    if path is None:
        return emit({"status": "no_harness", "python": sys.executable})
    if job.get("probe"):
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        return emit({"status": "probe", "harness": path, "sha256": digest, "python": sys.executable,
                     "version": sys.version.split()[0]})
    if hasattr(sys, "set_int_max_str_digits"):  # what the upstream metrics module sets
        sys.set_int_max_str_digits(50000)
    spec = importlib.util.spec_from_file_location("lcb_testing_util", path)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    try:
        run = harness.run_test_cpp if job.get("language") == "cpp" else harness.run_test
        results, metadata = run({"input_output": job["input_output"]}, test=job["code"], debug=False,
                                timeout=job["timeout"])
        verdict = {"status": "ok", "results": normalise(results),
                   "metadata": json.loads(json.dumps(metadata, default=repr))}
    except BaseException as exc:  # SystemExit etc. from the program: upstream gets no result either
        verdict = {"status": "no_result", "error": repr(exc)[:300]}
    emit(verdict)


if __name__ == "__main__":
    main()
