"""``ns prepare_data``: fetch and convert benchmark data (here, or as one CPU job on a Slurm cluster)."""

from __future__ import annotations

import difflib
from typing import List, Optional

import click
import typer

from skills.cli.common import emit_plan, option_names, unknown_option_error
from skills.cli.options import CLUSTER, DryRun, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER)
def prepare_data(
    ctx: typer.Context,
    data_dir: Optional[str] = O("data_dir", "Where to write <bench>/<split>.jsonl."),
    mirror: Optional[str] = O("mirror", "Local folder laid out like the upstream sources."),
    extra_datasets: Optional[str] = O("extra_datasets", "Not supported here (user folders bring their own data)."),
    expname: str = O("expname", "Slurm: experiment name of the preparation job.", default="prepare-data"),
    log_dir: Optional[str] = O("log_dir", "Slurm: log folder (default <data_dir>/prepare-logs)."),
    dry_run: bool = F("dry_run", "Slurm: print the job; submit nothing.", default=False),
    cluster=None,
) -> int:
    """Download and format benchmark data: ns prepare_data aime24 gpqa --data_dir DIR [--split S]
    [--mirror DIR]. Benchmark-specific flags (e.g. --split, --random_seed) are passed through."""
    names, extra = prepare_args(ctx)
    if extra_datasets:
        raise UsageError("--extra_datasets: ns prepare_data prepares built-in benchmarks only; a user-defined "
                         "benchmark folder brings its own <split>.jsonl files")
    if cluster.is_slurm:
        return _prepare_on_slurm(cluster, names, extra, data_dir, mirror, expname, log_dir, dry_run)
    from pathlib import Path

    from skills.data.prepare import prepare_benchmarks

    written = prepare_benchmarks(names, Path(data_dir) if data_dir else None, Path(mirror) if mirror else None, extra)
    for bench, files in written.items():
        for f in files:
            print(f"{bench}: {f}")
    return 0


def _prepare_on_slurm(cfg, names, extra, data_dir, mirror, expname, log_dir, dry_run) -> int:
    """One CPU job on the cluster runs this same command there (data lands on its file system)."""
    import shlex

    from skills.data.prepare import check_names, split_names
    from skills.pipeline.run_cmd_plan import RunCmdOptions, build_run_cmd_plan

    selected = split_names(names)
    if not selected:
        raise UsageError("no benchmark given to prepare_data")
    check_names(selected)
    if not data_dir:
        raise UsageError("--data_dir is required on slurm (a folder on the cluster's shared file system)")
    argv = ["python", "-m", "skills.cli.app", "prepare_data", *selected, "--data_dir", data_dir,
            *(["--mirror", mirror] if mirror else []), *extra]
    opts = RunCmdOptions(command=" ".join(shlex.quote(a) for a in argv), cluster=cfg, expname=expname,
                         container="nemo-skills" if "nemo-skills" in cfg.containers else None,
                         log_dir=log_dir or f"{data_dir.rstrip('/')}/prepare-logs")
    return emit_plan(build_run_cmd_plan(opts), DryRun(dry_run, "text"), cfg)


def prepare_args(ctx: click.Context) -> tuple:
    """(benchmark names, pass-through flags). Flags close to one of ours are typos, not pass-through."""
    from skills.benchmarks import builtin_names

    known = option_names(ctx)
    benches = set(builtin_names())
    names: List[str] = []
    extra: List[str] = []
    args = list(ctx.args)
    i = 0
    while i < len(args):
        tok = args[i]
        if tok.startswith("-"):
            name = tok.split("=", 1)[0]
            if difflib.get_close_matches(name, known, n=1, cutoff=0.8) or difflib.get_close_matches(
                    name.replace("-", "_"), known, n=1, cutoff=0.8):
                raise unknown_option_error(ctx, tok)
            extra.append(tok)
            nxt = args[i + 1] if i + 1 < len(args) else None
            if "=" not in tok and nxt is not None and not nxt.startswith("-") and nxt not in benches:
                extra.append(nxt)
                i += 1
        else:
            names.append(tok)
        i += 1
    return names, extra
