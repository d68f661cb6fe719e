"""``ns eval``: generation, grading, optional judge and metrics for a list of benchmarks."""

from __future__ import annotations

from typing import Optional

import typer

from skills.cli.common import emit_plan, require, split_extra
from skills.cli.options import CLUSTER, DRY_RUN, SERVER, SLURM, F, Group, O, with_groups

JUDGE = Group(SERVER.options, dict).with_prefix("judge_", "Judge: ")  # raw values: None = not given


@with_groups(server=SERVER, judge=JUDGE, cluster=CLUSTER, slurm=SLURM, dry_run=DRY_RUN)
def eval_cmd(
    ctx: typer.Context,
    output_dir: Optional[str] = O("output_dir", "Root of all outputs (required)."),
    benchmarks: Optional[str] = O("benchmarks", "Comma list of name[:N] (N seeds), no spaces (required)."),
    data_dir: Optional[str] = O("data_dir", "Prepared data folder (default $SKILLS_DATA_DIR or ~/.cache/skills/data)."),
    split: Optional[str] = O("split", "Data split for all benchmarks."),
    expname: str = O("expname", "Experiment name (job-name prefix).", default="eval"),
    starting_seed: int = O("starting_seed", "First random seed.", default=0),
    num_jobs: Optional[int] = O("num_jobs", "Jobs to pack all evals into (default: slurm one per eval, local 1)."),
    num_chunks: Optional[int] = O("num_chunks", "Split each benchmark's data into this many chunks."),
    chunk_ids: Optional[str] = O("chunk_ids", "Chunks to run: a,b,c or a..b."),
    extra_judge_args: str = O("extra_judge_args", "Extra ++ overrides for the judge.", default=""),
    log_dir: Optional[str] = O("log_dir", "Log folder (default <output_dir>/eval-logs)."),
    extra_datasets: Optional[str] = O("extra_datasets", "Folder with extra benchmark definitions."),
    rerun_done: bool = F("rerun_done", "Ignore .done markers.", default=False),
    with_sandbox: bool = F("with_sandbox", "Start a code sandbox next to every job.", default=False),
    auto_summarize_results: bool = F("auto_summarize_results", "Add a metrics job per benchmark.", default=True),
    server=None, judge=None, cluster=None, slurm=None, dry_run=None,
) -> int:
    """Evaluate a model on benchmarks: generation, grading, optional judge, metrics."""
    overrides, _ = split_extra(ctx)
    require(output_dir=output_dir, benchmarks=benchmarks, server_type=server.server_type)
    from skills.pipeline.eval_plan import EvalOptions, JudgeOptions, build_eval_plan

    opts = EvalOptions(
        output_dir=output_dir, benchmarks=benchmarks, cluster=cluster, server=server,
        judge=JudgeOptions.from_server(judge, extra_judge_args),
        slurm=slurm, overrides=overrides, expname=expname, data_dir=data_dir, split=split,
        starting_seed=starting_seed, num_jobs=num_jobs, num_chunks=num_chunks, chunk_ids=chunk_ids,
        log_dir=log_dir, rerun_done=rerun_done, extra_datasets=extra_datasets, with_sandbox=with_sandbox,
        auto_summarize_results=auto_summarize_results,
    )
    return emit_plan(build_eval_plan(opts), dry_run, cluster)
