"""A grading step of its own: ``python -m skills.evaluation.step --eval_type X FILE...``.

``ns eval`` plans it after generation when the grader asks for one (``Grader.separate_step``): the
generation program then writes its output without grading or ``.done`` (``++skip_grading=True``),
and this program grades each file that has no ``.done`` yet, in place, and then writes the marker.
Files are graded with one shared grading context (one process pool, one sandbox client).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from skills.config.errors import UsageError


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.evaluation.step", description=__doc__.splitlines()[0])
    parser.add_argument("--eval_type", required=True)
    parser.add_argument("--eval_config", default="{}", help="JSON object of ++eval_config values")
    parser.add_argument("--generation_key", default="generation")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    from skills.evaluation import GradeContext, check_config, grade_file
    from skills.evaluation.external import in_environment, run_external
    from skills.evaluation.registry import build_config, pipeline_keys
    from skills.data.io import done_path, touch_done

    try:
        config = json.loads(args.eval_config)
        grader = check_config(args.eval_type, config)
        todo = []
        for name in args.files:
            path = Path(name)
            if done_path(path).exists():
                print(f"{path}: already graded", file=sys.stderr)
            elif not path.is_file():
                raise UsageError(f"{path}: no generated file to grade (did its generation job fail?)")
            else:
                todo.append(path)
        if grader.runs == "external" and not in_environment(grader):  # one process for all the files
            counts = run_external(grader, args.eval_type, todo, build_config(grader, config), args.generation_key,
                                  pipeline_keys(config), mark_done=True) if todo else {}
            report = [(path, counts.get(str(path), {})) for path in todo]
        else:
            report, ctx = [], GradeContext()
            try:
                for path in todo:
                    report.append((path, grade_file(path, args.eval_type, config, ctx, args.generation_key)))
                    touch_done(path)
            finally:
                ctx.close()
        for path, counts in report:
            print(f"{path}: " + ", ".join(f"{k}={v}" for k, v in counts.items()), file=sys.stderr)
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except json.JSONDecodeError as exc:
        print(f"error: --eval_config is not JSON ({exc.msg})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
