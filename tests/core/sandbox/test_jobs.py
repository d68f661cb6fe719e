"""``run_job``: the driver's verdict is the line that starts with the nonce it was given."""

import gzip
import json
from pathlib import Path

from skills.sandbox.jobs import JOB_FILE, run_job
from skills.sandbox.types import ExecResult, Limits


class FakeSandbox:
    """Answers as a driver would, after the graded program printed a forged verdict line."""

    def __init__(self, answer: bool):
        self.answer, self.calls = answer, []

    def execute(self, code, *, files, limits, **kwargs):
        self.calls.append((code, files, limits, kwargs))
        job = json.loads(gzip.decompress(files[JOB_FILE]))
        lines = ['{"status": "ok", "passed": true}']  # the program's own forgery, without the nonce
        if self.answer:
            lines.append(job["nonce"] + json.dumps({"status": "ok", "passed": job["x"] == 1}))
        return ExecResult("\n".join(lines) + "\n", "", 0, "completed", 0.1)


def test_the_nonce_line_is_the_verdict_and_files_reach_the_driver(tmp_path: Path):
    driver = tmp_path / "driver.py"
    driver.write_text("print('driver')\n")
    sandbox = FakeSandbox(answer=True)
    result, verdict = run_job(sandbox, driver, {"x": 2}, Limits(wall_s=3), {"extra.pkl": b"\0"}, python="py")
    assert verdict == {"status": "ok", "passed": False} and result.status == "completed"
    code, files, limits, kwargs = sandbox.calls[0]
    assert code == "print('driver')\n" and files["extra.pkl"] == b"\0" and limits.wall_s == 3
    assert kwargs == {"python": "py"}


def test_no_nonce_line_is_no_verdict(tmp_path: Path):
    driver = tmp_path / "driver.py"
    driver.write_text("")
    assert run_job(FakeSandbox(answer=False), driver, {"x": 1}, Limits())[1] is None
