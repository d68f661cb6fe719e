"""The stages of ``ns eval`` after generation, per benchmark: grading step, judge (``skills.pipeline.judge``),
metrics, group score.

Order and dependencies (each stage depends only on what produces its inputs, so on Slurm
independent benchmarks proceed in parallel):

    generation -> [grading step] -> [judge] -> metrics -> [group metrics, after all members]

A grading step exists when the benchmark's grader asks for one (``Grader.separate_step``), or when
a generation job would otherwise start a grading pool per file (``runs="pool"`` graders, e.g. math,
with more than one file in a job: ``eval_plan.shared_pools``): it grades the generated files in a job
of its own (with the grader's sidecars, no model server), all files of a batch in one process with
one pool or one external grader, and writes their ``.done`` markers. Group members' metrics go to
``eval-results/<group>/<member>/metrics.json`` and the group's score module writes
``eval-results/<group>/metrics.json``.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

from skills.config.errors import UsageError
from skills.config.interpreters import python_env_var
from skills.evaluation.external import not_set_up
from skills.pipeline.jobs import MAX_NAME, apply_slurm
from skills.pipeline.judge import judge_jobs
from skills.pipeline.plan import Job, Plan
from skills.pipeline.programs import shell_join
from skills.pipeline.runs import output_name
from skills.pipeline.sidecars import make_sidecars
from skills.registry.benchmarks import is_builtin
from skills.registry.spec import BenchmarkSpec

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
    label = bench.spec.group if len({b.spec.group for b in benches}) == 1 and bench.spec.group else \
        "-".join(b.name for b in benches)
    if len(label) > MAX_NAME:
        label = label[:MAX_NAME] + "-name-cut"
    job = Job(name=f"{o.expname}-{label}-grade", kind="grading", commands=[shell_join(argv)], programs=[argv],
              dependencies=deps, sidecars=sidecars, benchmarks=[b.name for b in benches], log_dir=log_dir,
              done_markers=[f + ".done" for f in todo], env={k: v for s in sidecars for k, v in s.client_env.items()})
    return apply_slurm(job, o.cluster, o.slurm)


def check_environment(grader, cluster) -> None:
    """A local run whose external grader has no environment fails now, not after generation. On
    Slurm the environment lives on the cluster, where only the job can look."""
    if grader.runs != "external" or not grader.environment or cluster.is_slurm:
        return
    if not os.environ.get(python_env_var(grader.environment)) and cluster.environment(grader.environment) is None:
        raise not_set_up(grader)


def _grading_batches(benches: List[Any], producers: Dict[Tuple[str, Optional[int]], List[str]]) -> List[List[Any]]:
    """Benchmarks graded in one step (one process, one grading pool or external grader for all their
    files): those with the same grader settings that are a group's members, or whose files the same
    generation jobs make (e.g. every benchmark of a local eval, packed into one job)."""
    batches: Dict[Tuple, List[Any]] = {}
    for b in benches:
        if b.grader is not None:
            made_by = tuple(sorted({d for s in b.seeds for d in producers.get((b.name, s), [])}))
            together = b.spec.group or (made_by if made_by else b.name)
            key = (together, b.eval_type, b.generation_key, json.dumps(b.eval_config, sort_keys=True))
            batches.setdefault(key, []).append(b)
    return list(batches.values())


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
    for batch in _grading_batches(benches, producers):
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
