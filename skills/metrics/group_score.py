"""The group metrics job: ``python -m skills.metrics.group_score --group G --score_module M
--save_metrics_path FILE MEMBER_METRICS.json...``.

``ns eval`` chains it after the metrics jobs of a group's members (BFCL v3's 17 splits, RULER's 13
tasks): it merges the members' ``metrics.json``, lets the group's score module combine them, writes
``eval-results/<group>/metrics.json`` atomically and prints the group's table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from skills.config.errors import UsageError


def load_members(paths: Sequence[str]) -> Dict[str, Any]:
    merged: Dict[str, Any] = {}
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"member metrics {path} not found (did its metrics job fail?)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{path}: expected a JSON object of benchmark -> metrics")
        merged.update(data)
    return merged


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.metrics.group_score", description=__doc__.splitlines()[0])
    parser.add_argument("--group", required=True)
    parser.add_argument("--score_module", default=None, help="default: the group's own (benchmark registry)")
    parser.add_argument("--save_metrics_path", required=True)
    parser.add_argument("member_metrics", nargs="+")
    args = parser.parse_args(argv)
    from skills.data.io import atomic_open
    from skills.metrics.groups import get_group_score

    try:
        module = args.score_module
        if not module:
            from skills.registry.benchmarks import get_benchmark

            module = get_benchmark(args.group).score_module
        if not module:
            raise UsageError(f"benchmark group {args.group} has no score module; pass --score_module")
        score = get_group_score(module)
        members = load_members(args.member_metrics)
        entry = score.compute(args.group, members)
        with atomic_open(Path(args.save_metrics_path)) as fh:
            json.dump(score.metrics_file(args.group, members, entry), fh, indent=2)
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print("\n".join(score.render(args.group, members, entry)))
    print(f"Metrics are saved to {args.save_metrics_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
