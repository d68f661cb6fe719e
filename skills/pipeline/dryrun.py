"""``--dry_run``: print a Plan (text for people, JSON for tools); nothing is written or submitted."""

from __future__ import annotations

import json
from typing import Any, List

from skills.pipeline.plan import Job, Plan


def _resources(job: Job) -> str:
    parts = [f"gpus={job.gpus}", f"nodes={job.nodes}"]
    for label, value in (("partition", job.partition), ("time", job.time_limit), ("qos", job.qos),
                         ("container", job.container)):
        if value:
            parts.append(f"{label}={value}")
    if job.exclusive:
        parts.append("exclusive")
    return " ".join(parts)


def _indent(text: str, prefix: str = "    ") -> List[str]:
    return [prefix + line for line in text.splitlines()] or [prefix]


def render_text(plan: Plan) -> str:
    lines = [f"Plan '{plan.expname}': {len(plan.jobs)} job(s), cluster '{plan.cluster}' "
             f"(executor {plan.executor}), output {plan.output_dir}, logs {plan.log_dir}"]
    if plan.required_env:
        lines.append(f"Needs environment variables (by name): {', '.join(plan.required_env)}")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    for i, job in enumerate(plan.jobs, 1):
        lines.append("")
        lines.append(f"[{i}] {job.name}  ({job.kind})")
        lines.append(f"  after: {', '.join(job.dependencies) if job.dependencies else '-'}")
        lines.append(f"  resources: {_resources(job)}")
        if job.env:
            lines.append("  env: " + " ".join(f"{k}={v}" for k, v in sorted(job.env.items())))
        if job.secret_env:
            lines.append(f"  env from launcher (by name): {', '.join(job.secret_env)}")
        for s in job.servers():
            replica = f"replica {s.replica + 1}/{s.replicas}, " if s.replicas > 1 else ""
            gpus = s.gpu_slice()
            gpus = f", GPUs {gpus} of the job's" if gpus else ""
            size = (f", {s.nodes} nodes" if s.nodes > 1 else "") + (
                f", {s.tasks_per_node} tasks per node" if s.tasks_per_node > 1 else "")
            lines.append(f"  server ({s.server_type}{size}, {replica}port {s.port}{gpus}, health {s.health_url}):")
            if s.env:
                lines.append("    env: " + " ".join(f"{k}={v}" for k, v in sorted(s.env.items())))
            if s.secret_env:
                lines.append("    secrets (by name): " + " ".join(f"{k}=${n}" for k, n in sorted(s.secret_env.items())))
            lines.extend(_indent(s.command))
        for sc in job.sidecars:
            lines.append(f"  sidecar {sc.name} (port {sc.port}, health {sc.health_url}):")
            lines.extend(_indent(sc.command))
        lines.append("  commands:")
        for cmd in job.commands:
            lines.extend(_indent(cmd))
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str = "text", estimate: Any = None) -> str:
    """The plan (and, when given, its ``skills.pipeline.estimate.Estimate``: requests, tokens, dollars)."""
    from skills.config.secrets import redact

    if fmt == "json":
        data = plan.to_dict()
        if estimate is not None:
            data["estimate"] = estimate.to_dict()
        return redact(json.dumps(data, indent=2) + "\n")
    text = render_text(plan)
    if estimate is not None:
        from skills.pipeline.estimate import render_estimate

        text += render_estimate(estimate)
    return redact(text)
