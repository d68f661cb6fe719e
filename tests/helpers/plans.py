"""``ns eval --dry_run --dry_run_format=json`` in-process: the jobs of a plan and their command text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Sequence


def dry_run_jobs(capsys, data_dir: Path, out_dir: Path, benchmarks: str, *extra: str) -> List[Dict]:
    from skills.cli.app import main

    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", f"--benchmarks={benchmarks}", f"--data_dir={data_dir}", f"--output_dir={out_dir}",
               "--dry_run", "--dry_run_format=json", *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)["jobs"]


def command_text(job: Dict) -> str:
    return " ".join(" ".join(c) if isinstance(c, list) else c for c in job["commands"])


def kinds(jobs: Sequence[Dict]) -> List[str]:
    return [j["kind"] for j in jobs]
