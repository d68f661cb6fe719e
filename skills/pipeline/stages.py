"""The stages of ``ns eval`` after generation, per benchmark: grading step, judge, metrics, group score.

Order and dependencies (each stage depends only on what produces its inputs, so on Slurm
independent benchmarks proceed in parallel):

    generation -> [grading step] -> [judge] -> metrics -> [group metrics, after all members]

A grading step exists when the benchmark's grader asks for one (``Grader.separate_step``): it grades
the generated files in a job of its own (with the grader's sidecars, no model server) and writes
their ``.done`` markers. Group members' metrics go to ``eval-results/<group>/<member>/metrics.json``
and the group's score module writes ``eval-results/<group>/metrics.json``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from skills.registry.benchmarks import is_builtin
from skills.registry.spec import BenchmarkSpec
from skills.config.errors import UsageError
from skills.config.overrides import validate_overrides
from skills.pipeline.common import (ServerOptions, apply_slurm, chain, check_program, check_server_options,
                                    client_overrides, output_name, pack, shell_join)
from skills.pipeline.plan import Job, Plan
from skills.pipeline.sidecars import make_sidecars

# Judge arguments of benchmarks without a judge of their own (any --judge_* option opts them in).
GENERIC_JUDGE_ARGS = ("++prompt_config=judge/generic", "++generation_key=judgement", "++add_generation_stats=False")


def judge_server(spec: BenchmarkSpec, j) -> ServerOptions:
    d = spec.judge
    opts = ServerOptions(
        server_type=d.server_type if d else None, model=d.model if d else None,
        server_address=d.server_address if d else None,
    )
    if j.server_gpus:
        opts.server_address = None
    for attr in ("model", "server_type", "server_address", "server_gpus", "server_args", "server_entrypoint",
                 "server_container"):
        if getattr(j, attr, None) is not None:
            setattr(opts, attr, getattr(j, attr))
    if j.server_nodes is not None:
        opts.server_nodes = j.server_nodes
    pipeline = getattr(j, "pipeline", None) or {}
    if pipeline.get("server_gpus") and "server_address" not in pipeline:
        opts.server_address = None  # self-hosted judge
    for key, value in pipeline.items():  # --judge_pipeline_kwargs, applied last
        if key != "generation_module":
            setattr(opts, key, value)
    opts.server_args = opts.server_args or ""
    if opts.server_type is None and not opts.hosted:
        opts.server_type = "openai"  # benchmarks without judge defaults: an API judge
    return opts


def judge_module(j) -> str:
    """``--judge_generation_module``/``_type``, else ``--judge_pipeline_kwargs``, else the default program."""
    return (getattr(j, "generation_module", None) or (getattr(j, "pipeline", None) or {}).get("generation_module")
            or "skills.inference.generate")


def judge_settings(spec: BenchmarkSpec, j, judge_extra: List[str], prompt_check: Optional[str] = None,
                   plan: Optional[Plan] = None) -> Tuple[ServerOptions, List[str], str]:
    """The judge's server, generation tokens and module, validated now (a prompt notice goes to ``plan``)."""
    from skills.inference.task import task_of

    jopts = judge_server(spec, j)
    check_server_options(jopts, "--judge_server", "--judge_model")
    jclient, _ = client_overrides(jopts, None, "SKILLS_JUDGE")
    jdefaults = list(spec.judge.args) if spec.judge else list(GENERIC_JUDGE_ARGS)
    module = judge_module(j)
    schema = task_of(module).config_class
    validate_overrides([*jclient, *jdefaults, *judge_extra], schema, source=f"{spec.name} judge arguments")
    cfg = check_program([*jclient, *jdefaults, *judge_extra], f"{spec.name} judge", module, prompt_check)
    if plan is not None:
        from skills.inference.prompts import prompt_notice

        notice = prompt_notice(cfg)
        if notice:
            plan.notes.append(f"{spec.name} judge: {notice}")
    return jopts, validate_overrides([*jdefaults, *judge_extra], schema), module


def grading_job(benches: List[Any], o, ports, log_dir: str, deps: List[str]) -> Optional[Job]:
    """One grading step over the generated files not graded yet (.done) of benchmarks sharing a
    grader and its settings (a group's members: one process pays the grader's imports once)."""
    bench = benches[0]
    todo = [f for b in benches for f in (os.path.join(b.gen_dir, output_name(s)) for s in b.seeds)
            if o.rerun_done or not os.path.exists(f + ".done")]
    if not todo:
        return None
    check_environment(bench.grader, o.cluster)
    argv = ["python", "-m", "skills.evaluation.step", "--eval_type", bench.eval_type, "--generation_key",
            bench.generation_key, "--eval_config", json.dumps(bench.eval_config), *todo]
    sidecars = make_sidecars(bench.grader.sidecars, o.cluster, ports, data_dir=bench.eval_config.get("data_dir"))
    label = bench.spec.group if len(benches) > 1 else bench.name
    job = Job(name=f"{o.expname}-{label}-grade", kind="grading", commands=[shell_join(argv)], programs=[argv],
              dependencies=deps, sidecars=sidecars, benchmarks=[b.name for b in benches], log_dir=log_dir,
              done_markers=[f + ".done" for f in todo], env={k: v for s in sidecars for k, v in s.client_env.items()})
    return apply_slurm(job, o.cluster, o.slurm)


def check_environment(grader, cluster) -> None:
    """A local run whose external grader has no environment fails now, not after generation. On
    Slurm the environment lives on the cluster, where only the job can look."""
    if grader.runs != "external" or not grader.environment or cluster.is_slurm:
        return
    from skills.config.interpreters import python_env_var
    from skills.evaluation.external import not_set_up

    if not os.environ.get(python_env_var(grader.environment)) and cluster.environment(grader.environment) is None:
        raise not_set_up(grader)


def _grading_batches(benches: List[Any]) -> List[List[Any]]:
    """Benchmarks graded in one step: a group's members with the same grader settings together."""
    batches: Dict[Tuple, List[Any]] = {}
    for b in benches:
        if b.grader is not None:
            key = (b.spec.group or b.name, b.eval_type, b.generation_key, json.dumps(b.eval_config, sort_keys=True))
            batches.setdefault(key, []).append(b)
    return list(batches.values())


def judge_jobs(bench, o, ports, log_dir: str, deps_of, needed_env: set) -> Tuple[List[Job], List[str]]:
    from skills.pipeline.eval_plan import Eval, _name_jobs, build_jobs

    jopts, jtokens, module = bench.judge
    jevals = []
    for seed in bench.seeds:
        src = os.path.join(bench.gen_dir, output_name(seed))
        dst = os.path.join(bench.result_dir, output_name(seed))
        if not o.rerun_done and os.path.exists(dst + ".done"):
            continue
        toks = [f"++input_file={src}", f"++output_file={dst}", f"++skip_filled={not o.rerun_done}", *jtokens]
        jevals.append(Eval(bench.name, seed, None, toks, dst, dst + ".done", module))
    num_jobs = o.num_jobs if o.num_jobs is not None else (-1 if o.cluster.is_slurm else 1)
    jgroups = pack(jevals, num_jobs)
    jnames = [n.replace(f"-judge-{bench.name}", "-judge")
              for n in _name_jobs(jgroups, f"{o.expname}-{bench.name}-judge")]
    jobs = build_jobs(jgroups, jnames, "judge", jopts, o, ports, log_dir, needed_env)
    for job, group in zip(jobs, jgroups):
        job.dependencies = list(dict.fromkeys(d for e in group for d in deps_of(e.seed)))
    all_jobs, last = chain(jobs, o.slurm.dependent_jobs)
    return all_jobs, list(last.values())


def metrics_job(bench, o, log_dir: str, deps: List[str]) -> Job:
    results = os.path.dirname(bench.result_dir)
    argv = ["python", "-m", "skills.metrics.summarize", results, "--benchmarks", bench.name,
            "--save_metrics_path", os.path.join(bench.result_dir, "metrics.json")]
    if not is_builtin(bench.name):
        argv += ["--metric_type", bench.spec.metrics_type]
    if getattr(o, "metrics_kwargs", None):
        argv += ["--metrics_kwargs", o.metrics_kwargs]
    if getattr(o, "wandb", None) is not None:
        argv += o.wandb.summarize_args()
    job = Job(name=f"{o.expname}-{bench.name}-summarize-results", kind="metrics", commands=[shell_join(argv)],
              programs=[argv],
              dependencies=deps, benchmarks=[bench.name], log_dir=log_dir,
              done_markers=[os.path.join(bench.result_dir, "metrics.json")])
    return apply_slurm(job, o.cluster, o.slurm)


def group_job(group: BenchmarkSpec, members: List[Any], out: str, o, log_dir: str, deps: List[str]) -> Job:
    if not group.score_module:
        raise UsageError(f"benchmark group '{group.name}' declares no score module")
    target = os.path.join(out, "eval-results", group.name, "metrics.json")
    argv = ["python", "-m", "skills.metrics.group_score", "--group", group.name, "--score_module",
            group.score_module, "--save_metrics_path", target,
            *[os.path.join(m.result_dir, "metrics.json") for m in members]]
    job = Job(name=f"{o.expname}-{group.name}-compute-score", kind="group-metrics", commands=[shell_join(argv)],
              programs=[argv],
              dependencies=deps, benchmarks=[group.name], log_dir=log_dir, done_markers=[target])
    return apply_slurm(job, o.cluster, o.slurm)


def add_later_stages(plan: Plan, benches: List[Any], groups: Dict[str, BenchmarkSpec],
                     producers: Dict[Tuple[str, Optional[int]], List[str]], o, ports, log_dir: str,
                     needed_env: set) -> None:
    metrics_of: Dict[str, str] = {}
    graded_by: Dict[str, str] = {}  # benchmark -> its grading job
    for batch in _grading_batches(benches):
        deps = list(dict.fromkeys(d for b in batch for s in b.seeds for d in producers.get((b.name, s), [])))
        job = grading_job(batch, o, ports, log_dir, deps)
        if job is not None:
            plan.jobs.append(job)
            graded_by.update((b.name, job.name) for b in batch)
    for bench in benches:
        def generated_by(seed, name=bench.name):
            return producers.get((name, seed), [])

        stage_deps = generated_by
        if bench.name in graded_by:
            stage_deps = lambda seed, name=graded_by[bench.name]: [name]  # noqa: E731
        final = list(dict.fromkeys(d for s in bench.seeds for d in stage_deps(s)))
        if bench.judge is not None:
            jobs, final = judge_jobs(bench, o, ports, log_dir, stage_deps, needed_env)
            plan.jobs.extend(jobs)
        if o.auto_summarize_results:
            job = metrics_job(bench, o, log_dir, final)
            plan.jobs.append(job)
            metrics_of[bench.name] = job.name
    if not o.auto_summarize_results:
        return
    out = plan.output_dir or ""
    for name, group in groups.items():
        members = [b for b in benches if b.spec.group == name]
        plan.jobs.append(group_job(group, members, out, o, log_dir, [metrics_of[m.name] for m in members]))
