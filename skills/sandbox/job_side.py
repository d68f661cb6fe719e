"""The sandbox side of the drivers' job protocol (``skills.sandbox.jobs``): runs INSIDE the sandbox.

``run_job`` sends this file into the work dir as ``skills_job.py`` beside the driver (``main.py``),
so a driver starts with ``from skills_job import take_job``. Standard library only: it runs on
whatever interpreter grades (the sandbox's, BigCodeBench's, ...), never imported by skills itself.
"""

import gzip
import json
import os
import sys
import threading

JOB = "job.json.gz"


def take_job(silence=(1, 2), close_in_children=False, exit_after=False):
    """(the job, ``answer``): read and remove ``job.json.gz``, keep a private copy of stdout, then
    point the descriptors in ``silence`` (and Python's matching streams) at /dev/null, so what the
    graded program prints, a flood or a forged line, never reaches the caller. ``answer(verdict)``
    writes the one line ``<nonce><JSON>`` and flushes. ``close_in_children``: processes the program
    forks never hold the private copy; ``exit_after``: the process ends right after its line (threads or
    handlers the program left behind cannot hold it, nor write a second line)."""
    with open(JOB, "rb") as fh:
        job = json.loads(gzip.decompress(fh.read()))
    os.remove(JOB)  # what the job holds (expected outputs) stays in this process's memory only
    private_fd = os.dup(1)
    out = os.fdopen(private_fd, "w", encoding="utf-8")
    if silence:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in silence:
            os.dup2(null, fd)
        quiet = open(os.devnull, "w")
        if 1 in silence:
            sys.stdout = quiet
        if 2 in silence:
            sys.stderr = quiet
    if close_in_children:
        os.register_at_fork(after_in_child=lambda: os.close(private_fd))
    lock = threading.Lock()
    nonce = job["nonce"]

    def answer(verdict):
        with lock:
            out.write(nonce + json.dumps(verdict) + "\n")
            out.flush()
            if exit_after:
                os._exit(0)

    return job, answer
