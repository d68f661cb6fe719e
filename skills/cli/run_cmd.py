"""``ns run_cmd``: an arbitrary shell command as a job, optionally next to a hosted model server."""

from __future__ import annotations

from typing import List, Optional

import click
import typer

from skills.cli.common import emit_plan, unknown_option_error
from skills.cli.options import CLUSTER, DRY_RUN, SERVER, SLURM, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(server=SERVER, cluster=CLUSTER, slurm=SLURM, dry_run=DRY_RUN)
def run_cmd(
    ctx: typer.Context,
    command: Optional[str] = O("command", "Shell command (or give it as extra arguments)."),
    expname: str = O("expname", default="script"),
    container: Optional[str] = O("container", "Container name/image for the command (slurm)."),
    num_gpus: Optional[int] = O("num_gpus"),
    num_nodes: int = O("num_nodes", default=1),
    log_dir: Optional[str] = O("log_dir"),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox next to the command.", default=False),
    server=None, cluster=None, slurm=None, dry_run=None,
) -> int:
    """Run an arbitrary shell command as a job (optionally next to a hosted model server)."""
    words = command_words(ctx)
    from skills.pipeline.run_cmd_plan import RunCmdOptions, build_run_cmd_plan

    if bool(command) == bool(words):
        raise UsageError("give the command either with --command or as extra arguments (exactly one)")
    opts = RunCmdOptions(
        command=command or " ".join(words), cluster=cluster, expname=expname, server=server, slurm=slurm,
        container=container, num_gpus=num_gpus, num_nodes=num_nodes, log_dir=log_dir, with_sandbox=with_sandbox,
    )
    return emit_plan(build_run_cmd_plan(opts), dry_run, cluster)


def command_words(ctx: click.Context) -> List[str]:
    """Extra args form the command; an unknown ``--option`` BEFORE the first word is a typo."""
    words: List[str] = []
    for tok in ctx.args:
        if not words and tok.startswith("--"):
            raise unknown_option_error(ctx, tok)
        words.append(tok)
    return words
