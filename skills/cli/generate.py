"""``ns generate``: LLM generation over an input file or benchmark, one job per seed and chunk."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.common import emit_plan, require, split_extra
from skills.cli.options import CLUSTER, DRY_RUN, SERVER, SLURM, F, O, with_groups


@with_groups(server=SERVER, cluster=CLUSTER, slurm=SLURM, dry_run=DRY_RUN)
def generate_cmd(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Folder for output[-rsS].jsonl (required)."),
    input_file: Optional[str] = O("input_file", "Input jsonl."),
    input_dir: Optional[str] = O("input_dir", "Folder of output-rsS.jsonl from a previous run (seed S reads rsS)."),
    benchmark: Optional[str] = O("benchmark", "Use a prepared benchmark (and its defaults) as input."),
    data_dir: Optional[str] = O("data_dir"),
    split: Optional[str] = O("split"),
    extra_datasets: Optional[str] = O("extra_datasets"),
    expname: str = O("expname", default="generate"),
    num_random_seeds: Optional[int] = O("num_random_seeds", "Seeds starting_seed..starting_seed+N-1."),
    random_seeds: Optional[str] = O("random_seeds", "Explicit seeds a,b,c or a..b."),
    starting_seed: int = O("starting_seed", default=0),
    num_chunks: Optional[int] = O("num_chunks"),
    chunk_ids: Optional[str] = O("chunk_ids"),
    log_dir: Optional[str] = O("log_dir", "Default <output_dir>/generation-logs."),
    rerun_done: bool = F("rerun_done", default=False),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox next to every job.", default=False),
    server=None, cluster=None, slurm=None, dry_run=None,
) -> int:
    """Run LLM generation over an input file or benchmark (one job per seed and chunk)."""
    overrides, _ = split_extra(ctx)
    require(output_dir=output_dir, server_type=server.server_type)
    from skills.pipeline.generate_plan import GenerateOptions, build_generate_plan

    opts = GenerateOptions(
        output_dir=output_dir, cluster=cluster, server=server, slurm=slurm, overrides=overrides,
        input_file=input_file, input_dir=input_dir, benchmark=benchmark, data_dir=data_dir, split=split,
        extra_datasets=extra_datasets, expname=expname, num_random_seeds=num_random_seeds,
        random_seeds=random_seeds, starting_seed=starting_seed, num_chunks=num_chunks, chunk_ids=chunk_ids,
        log_dir=log_dir, rerun_done=rerun_done, with_sandbox=with_sandbox,
    )
    return emit_plan(build_generate_plan(opts), dry_run, cluster)
