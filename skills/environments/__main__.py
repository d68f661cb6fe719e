"""``python -m skills.environments list`` (the declarations in build order, one name a line; ``-v``:
with what each is) / ``build NAME...`` (build them; see ``skills.environments.build``)."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from skills.config.errors import UsageError


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skills.environments", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list", help="the declared environments, then the test models, in build order")
    ls.add_argument("-v", "--verbose", action="store_true", help="say what each one is")
    ls.add_argument("--kind", choices=("environment", "test_model"), help="only environments, or only test models")
    b = sub.add_parser("build", help="build the named environments and test models (up-to-date ones are skipped)")
    b.add_argument("names", nargs="+")
    b.add_argument("-j", "--jobs", type=int, default=1,
                   help="build this many at a time (environments first, then test models); default 1")
    args = parser.parse_args(argv)
    from skills.environments.build import build_many, declarations

    try:
        if args.cmd == "list":
            envs, models = declarations()
            chosen = {"environment": envs, "test_model": models}.get(args.kind or "", [*envs, *models])
            for item in chosen:
                kind = "environment" if item in envs else "test model"
                print(f"{item.name}\t{kind}: {item.about}" if args.verbose else item.name)
            return 0
        build_many(args.names, args.jobs)
    except UsageError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
