"""``ns prepare_data``: fetch and convert benchmark data (here, or as one CPU job on a Slurm cluster)."""

from __future__ import annotations

import difflib
from typing import List, Optional

import click
import typer

from skills.cli.common import emit_plan, option_names, unknown_option_error
from skills.cli.options import CLUSTER, REFERENCE, SLURM, DryRun, F, O, with_groups
from skills.config.errors import UsageError


@with_groups(cluster=CLUSTER, slurm=SLURM, ref=REFERENCE)
def prepare_data(
    ctx: typer.Context,
    data_dir: Optional[str] = O("data_dir", "Where to write <bench>/<split>.jsonl."),
    mirror: Optional[str] = O("mirror", "Local folder laid out like the upstream sources."),
    extra_datasets: Optional[str] = O("extra_datasets", "Not supported here (user folders bring their own data)."),
    dataset_groups: Optional[str] = O("dataset_groups", "Prepare every benchmark of these dataset groups "
                                      "(math, code, chat, multichoice, long-context, tool; comma-separated)."),
    expname: str = O("expname", "Slurm: experiment name of the preparation job.", default="prepare-data"),
    log_dir: Optional[str] = O("log_dir", "Slurm: log folder (default <data_dir>/prepare-logs)."),
    dry_run: bool = F("dry_run", "Slurm: print the job; submit nothing.", default=False),
    prompts: bool = F("prompts", "Also fetch the reference prompt set (--no-prompts skips it).", default=True),
    prompts_commit: Optional[str] = O("prompts_commit", "NeMo-Skills commit of the prompt set "
                                      "(default $SKILLS_PROMPTS_COMMIT or the pinned one)."),
    num_gpus: Optional[int] = O("num_gpus", "Slurm: GPUs of the preparation job."),
    num_nodes: int = O("num_nodes", "Slurm: nodes of the preparation job.", default=1),
    with_sandbox: bool = F("with_sandbox", "Slurm: start a sandbox next to the preparation job.", default=False),
    skip_data_dir_check: bool = F("skip_data_dir_check", "Allow benchmarks with large data without --data_dir.",
                                  default=False),
    cluster=None, slurm=None, ref=None,
) -> int:
    """Download and format benchmark data: ns prepare_data aime24 gpqa --data_dir DIR [--split S]
    [--mirror DIR]. Benchmark-specific flags (e.g. --split, --random_seed) are passed through.
    The reference's prompt set comes along into <data_dir>/.prompt-sets/ (--no-prompts skips it)."""
    from skills.cli.common import not_applicable
    from skills.config.mounts import host_path
    from skills.cli.reference import before_plan

    names, extra = prepare_args(ctx)
    if dataset_groups is not None:
        names = group_names(dataset_groups, names)
    if extra_datasets:
        raise UsageError("--extra_datasets: ns prepare_data prepares built-in benchmarks only; a user-defined "
                         "benchmark folder brings its own <split>.jsonl files")
    if not data_dir and not skip_data_dir_check:
        from skills.data.prepare import large_data

        big = large_data(names)
        if big:
            raise UsageError(f"{big[0]} is large: give --data_dir (or --skip_data_dir_check)")
    data_dir = host_path(cluster, data_dir, "--data_dir")
    before_plan(ref, cluster)
    if cluster.is_slurm:
        extra += ([] if prompts else ["--no-prompts"]) + (["--prompts_commit", prompts_commit] if prompts_commit else [])
        return _prepare_on_slurm(cluster, names, extra, data_dir, mirror, expname, log_dir, dry_run,
                                 slurm=slurm, num_gpus=num_gpus, num_nodes=num_nodes, with_sandbox=with_sandbox, ref=ref)
    given = [f"--{k}" for k, v in (("partition", slurm.partition), ("qos", slurm.qos), ("time_min", slurm.time_min),
                                   ("exclusive", slurm.exclusive), ("sbatch_kwargs", slurm.sbatch_kwargs or None),
                                   ("run_after", slurm.run_after or None), ("num_gpus", num_gpus),
                                   ("installation_command", ref.installation_command)) if v is not None]
    given += ["--num_nodes"] * (num_nodes != 1) + ["--with_sandbox"] * with_sandbox
    for flag in given:
        not_applicable(flag, "without a Slurm cluster, prepare_data runs in this process")
    from pathlib import Path

    from skills.data.prepare import prepare_benchmarks
    from skills.prompt_sets import pinned_commit

    commit = pinned_commit(prompts_commit)  # a bad hash fails before any download
    prepared = []

    def report(bench: str, files: List[Path]) -> None:  # as each one is done: a later failure keeps them
        prepared.append(bench)
        for f in files:
            print(f"{bench}: {f}", flush=True)

    try:
        prepare_benchmarks(names, Path(data_dir) if data_dir else None, Path(mirror) if mirror else None, extra,
                           on_prepared=report)
    except UsageError:
        if prompts and prepared:  # the benchmarks that were prepared still get their prompts
            _fetch_prompts(data_dir, mirror, commit)
        raise
    if prompts:
        _fetch_prompts(data_dir, mirror, commit)
    return 0


def _fetch_prompts(data_dir: Optional[str], mirror: Optional[str], commit: str) -> None:
    """The prompt set from the first mirror that has it; a download only when no mirror is in use."""
    import os
    import sys
    from pathlib import Path

    from skills.data import default_data_dir
    from skills.data.sources import MIRROR_ENV
    from skills.prompt_sets import MIRROR_NAME
    from skills.prompt_sets.fetch import fetch_prompt_set

    mirrors = [Path(m).expanduser() for m in (mirror, os.environ.get(MIRROR_ENV)) if m]
    found = next((m for m in mirrors if (m / MIRROR_NAME).is_dir()), None)
    if mirrors and found is None:  # offline set-up without the prompts: say so, do not reach for the network
        print(f"warning: prompt set not fetched: no {MIRROR_NAME}/ in {', '.join(map(str, mirrors))}; jobs will "
              "stop unless asked to use skills' own prompt wording (++prompt_source=own; --no-prompts silences "
              "this)", file=sys.stderr)
        return
    pset = fetch_prompt_set(Path(data_dir) if data_dir else default_data_dir(), commit, found)
    print(f"prompts: {pset.label} -> {pset.root}")


def _prepare_on_slurm(cfg, names, extra, data_dir, mirror, expname, log_dir, dry_run, slurm=None, num_gpus=None,
                      num_nodes=1, with_sandbox=False, ref=None) -> int:
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
                         log_dir=log_dir or f"{data_dir.rstrip('/')}/prepare-logs", num_gpus=num_gpus,
                         num_nodes=num_nodes, with_sandbox=with_sandbox)
    if slurm is not None:
        opts.slurm = slurm
    plan = build_run_cmd_plan(opts)
    if ref is not None:
        from skills.pipeline.reference_options import after_plan

        after_plan(plan, ref, cfg)
    return emit_plan(plan, DryRun(dry_run, "text"), cfg)


def group_names(dataset_groups: str, names: List[str]) -> List[str]:
    """The benchmarks of ``--dataset_groups`` (``math,code``, or ``math code`` as the reference spells
    it); benchmarks named as well are an error, as in the reference."""
    from skills.registry.benchmarks import DATASET_GROUPS, dataset_group_members, is_dataset_group

    groups = [g for g in dataset_groups.split(",") if g]
    if names and all(is_dataset_group(n) for n in names):
        groups, names = groups + names, []
    if names:
        raise UsageError("give benchmark names or --dataset_groups, not both")
    out: List[str] = []
    for group in groups:
        if group not in DATASET_GROUPS:
            raise UsageError(f"unknown dataset group '{group}'; choose from {', '.join(DATASET_GROUPS)}")
        members = [m for m in dataset_group_members(group) if m not in out]
        if not members and len(groups) == 1:
            raise UsageError(f"dataset group '{group}' has no benchmarks here")
        out += members
    return out


def prepare_args(ctx: click.Context) -> tuple:
    """(benchmark names, pass-through flags). Flags close to one of ours are typos, not pass-through."""
    from skills.registry.benchmarks import builtin_names

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
