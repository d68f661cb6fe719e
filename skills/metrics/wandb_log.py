"""Weights & Biases logging, the reference's ``--wandb_*`` and ``--log_samples`` options.

``log_metrics`` (``summarize_results --wandb_name``) logs every ``<bench>/<eval mode>/<metric>`` of
metrics.json to one run whose id is derived from name, group and project, so re-running a summary
updates the same run. ``python -m skills.metrics.wandb_log FILE --name N`` (``--log_samples``) saves
200 random lines of a generation file as ``samples.json`` in the run. The key comes from
``WANDB_API_KEY``; ``WANDB_MODE=offline`` keeps everything on disk (tests do that). Needs the
optional ``wandb`` package: ``pip install 'skills[wandb]'``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from skills.config.errors import UsageError

DEFAULT_PROJECT = "nemo-skills"


def _wandb():
    try:
        import wandb  # type: ignore
    except ImportError:
        raise UsageError("--wandb_name/--log_samples need the wandb package: pip install 'skills[wandb]'") from None
    return wandb


def run_id(name: str, group: Optional[str], project: str) -> str:
    return name + (f"-{group}" if group else "") + f"-{project}"


def check_names(name: Optional[str], group: Optional[str], project: Optional[str]) -> None:
    """W&B refuses ids/projects with these characters; fail before hours of work, not after."""
    for flag, value in (("--wandb_name", name), ("--wandb_group", group), ("--wandb_project", project)):
        if value and any(c in value for c in "/\\#?%:"):
            raise UsageError(f"{flag} '{value}' must not contain any of / \\ # ? % :")


def flatten(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """``{bench: {mode: {metric: v}}}`` -> ``{"bench/mode/metric": v}`` (numbers only)."""
    out: Dict[str, Any] = {}
    for bench, modes in metrics.items():
        for mode, values in (modes or {}).items():
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out[f"{bench}/{mode}/{key}"] = value
    return out


def log_metrics(metrics: Dict[str, Any], name: str, group: Optional[str] = None,
                project: Optional[str] = None) -> None:
    project = project or DEFAULT_PROJECT
    check_names(name, group, project)
    wandb = _wandb()
    run = wandb.init(project=project, name=name, id=run_id(name, group, project), resume="allow", group=group,
                     settings=wandb.Settings(silent=True))
    flat = flatten(metrics)
    run.log(flat)
    run.summary.update(flat)
    run.finish()
    wandb.teardown()  # wait until the W&B service has written (or synced) everything
    print(f"Results are synced to wandb project {project} under the name {name} and group {group}")


def log_samples(path: Path, name: str, group: Optional[str] = None, project: Optional[str] = None,
                num_samples: int = 200, seed: int = 0) -> None:
    project = project or DEFAULT_PROJECT
    check_names(name, group, project)
    lines = [(i, line) for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
    picked = random.Random(seed).sample(lines, min(num_samples, len(lines)))
    wandb = _wandb()
    run = wandb.init(project=project, name=name, id=name + (group or ""), resume="allow", group=group,
                     settings=wandb.Settings(silent=True))
    target = Path(run.dir) / "samples.json"  # files in the run folder are uploaded with the run
    target.write_text(json.dumps({str(i): json.loads(line) for i, line in picked}, indent=2))
    run.save(str(target), base_path=run.dir, policy="end")
    run.summary["num_samples"] = len(lines)
    run.finish()
    wandb.teardown()


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skills.metrics.wandb_log", description="Log random samples to W&B.")
    p.add_argument("jsonl_file")
    p.add_argument("--name", required=True)
    p.add_argument("--group", default=None)
    p.add_argument("--project", default=DEFAULT_PROJECT)
    p.add_argument("--num_samples", type=int, default=200)
    args = p.parse_args(argv)
    try:
        log_samples(Path(args.jsonl_file), args.name, args.group, args.project, args.num_samples)
    except UsageError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
