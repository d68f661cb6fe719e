"""Sidecar services of a job (the code sandbox, or a user's own): declared once, placed at plan time.

A ``Sidecar`` is a recipe: a launch-command template (``{python}`` = the interpreter of its
environment in the cluster config, ``{port}`` = a port chosen at plan time), a health path, and the
environment variables the job's commands use to reach it (``{port}`` filled likewise). Benchmarks
name sidecars (``BenchmarkSpec.sidecars``, ``requires_sandbox``), graders too (``Grader.sidecars``),
and ``--with_sandbox`` adds ``sandbox``. Names resolve through the ``sidecar`` registry: the core's
``sandbox``, a benchmark package's ``EXTENSIONS["sidecar"]``, or a ``module:attribute`` path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.pipeline.plan import SidecarSpec
from skills.registry import Registry


@dataclass(frozen=True)
class Sidecar:
    name: str
    command: str  # template: {python} (the environment's interpreter, else "python") {port}
    health_path: str = "/health"
    client_env: Dict[str, str] = field(default_factory=dict)  # templates: {port}
    environment: Optional[str] = None  # cluster config `environments` entry giving {python}
    # the sidecar's own environment; values may use {python} and are dropped when the environment
    # is not configured (e.g. the interpreter a sandbox runs untrusted code with)
    env: Dict[str, str] = field(default_factory=dict)


SIDECARS: Registry[Sidecar] = Registry("sidecar", builtins={"sandbox": "skills.sandbox.sidecar:SANDBOX"})


def get_sidecar(name: str) -> Sidecar:
    try:
        sidecar = SIDECARS.get(name)
    except UsageError as exc:
        raise UsageError(f"{exc.message}; needed for the '{name}' service of a job") from None
    if not isinstance(sidecar, Sidecar):
        raise UsageError(f"sidecar '{name}' does not name a Sidecar (got {type(sidecar).__name__})")
    return sidecar


def make_sidecars(names: Iterable[str], cluster: ClusterConfig, ports) -> List[SidecarSpec]:
    """One SidecarSpec per distinct name, each on its own port (``ports``: the plan's allocator)."""
    out = []
    for name in dict.fromkeys(names):
        sc = get_sidecar(name)
        env = cluster.environment(sc.environment) if sc.environment else None
        python = env.interpreter() if env is not None else "python"
        port = ports.next()
        own = {k: v.format(python=python) for k, v in sc.env.items() if env is not None or "{python}" not in v}
        out.append(SidecarSpec(
            name=sc.name, command=sc.command.format(python=python, port=port), port=port,
            health_url=f"http://127.0.0.1:{port}{sc.health_path}",
            env={**own, **(env.env if env is not None else {})},
            client_env={k: v.format(port=port) for k, v in sc.client_env.items()},
        ))
    return out
