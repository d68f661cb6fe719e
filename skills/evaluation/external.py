"""Graders that run in their own Python environment (``Grader.runs == "external"``).

The orchestrator starts ``<env python> -m skills.evaluation.external`` on the file, with this
package on ``PYTHONPATH`` (it needs only the standard library plus the grader's own dependencies).
Where the environment's interpreter is: ``skills.config.interpreters``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from skills.config.errors import UsageError
from skills.config.interpreters import INSIDE_ENV, PACKAGE_ROOT, environment_python, python_env_var
from skills.evaluation.registry import Grader


def in_environment(grader: Grader) -> bool:
    return os.environ.get(INSIDE_ENV) == grader.environment


def not_set_up(grader: Grader) -> UsageError:
    return UsageError(
        f"eval_type {grader.name} runs in its own environment '{grader.environment}', which is not set up: "
        f"run scripts/setup.sh, add environments.{grader.environment} to the cluster config, or set "
        f"{python_env_var(grader.environment or '')} to its python")


def run_external(grader: Grader, eval_type: str, paths: Sequence[Path], cfg: Any, generation_key: str,
                 pipeline: Dict[str, Any], mark_done: bool = False) -> Dict[str, Dict[str, int]]:
    """Grade ``paths`` in one process of the grader's environment (its imports are paid once);
    returns the counts per file. ``mark_done`` writes each file's ``.done`` as soon as it is graded."""
    python = environment_python(grader.environment or "")
    if python is None:
        raise not_set_up(grader)
    argv = [python, "-m", "skills.evaluation.external", "--eval_type", eval_type, "--generation_key",
            generation_key, "--config", json.dumps({**dataclasses.asdict(cfg), **pipeline}),
            *(["--mark_done"] if mark_done else []), *[str(p) for p in paths]]
    env = dict(os.environ)
    env[INSIDE_ENV] = grader.environment or ""
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        where = str(paths[0]) + (f" (and {len(paths) - 1} more)" if len(paths) > 1 else "")
        raise UsageError(f"grading {where} with {grader.name} in environment '{grader.environment}' failed "
                         f"(exit code {proc.returncode}; its error is printed above)")
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.evaluation.external")
    parser.add_argument("--eval_type", required=True)
    parser.add_argument("--generation_key", default="generation")
    parser.add_argument("--config", default="{}")
    parser.add_argument("--mark_done", action="store_true", help="write FILE.done after grading each file")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    from skills.evaluation import GradeContext, grade_file
    from skills.data.io import touch_done

    results: Dict[str, Dict[str, int]] = {}
    ctx = GradeContext()
    try:
        for name in args.files:
            results[name] = grade_file(name, args.eval_type, json.loads(args.config), ctx=ctx,
                                       generation_key=args.generation_key)
            if args.mark_done:
                touch_done(Path(name))
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    finally:
        ctx.close()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
