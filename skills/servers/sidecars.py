"""Sidecars: services started next to a job's commands (the code sandbox, or a user's own), declared once.

A ``Sidecar`` is a recipe: a launch-command template (``{python}`` = the interpreter of its
environment in the cluster config, ``{port}`` = a port chosen at plan time), a health path, and the
environment variables the job's commands use to reach it (``{port}`` filled likewise). Its own
environment may also use ``{data_dir}``, the job's benchmark data folder (e.g. the sandbox lets
graders expose target files from there). Benchmarks name sidecars (``BenchmarkSpec.sidecars``,
``requires_sandbox``), graders too (``Grader.sidecars``), and ``--with_sandbox`` adds ``sandbox``.
Names resolve through the ``sidecar`` registry: the core's ``sandbox``, a benchmark package's
``EXTENSIONS["sidecar"]``, or a ``module:attribute`` path. ``skills.pipeline.sidecars`` places them
in a plan (ports, interpreters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from skills.config.errors import UsageError
from skills.registry import Registry


@dataclass(frozen=True)
class Sidecar:
    name: str
    command: str  # template: {python} (the environment's interpreter, else "python") {port}
    health_path: str = "/health"
    client_env: Dict[str, str] = field(default_factory=dict)  # templates: {port}
    environment: Optional[str] = None  # cluster config `environments` entry giving {python}
    # the sidecar's own environment; values may use {python} (dropped when the environment is not
    # configured, e.g. the interpreter a sandbox runs untrusted code with) and {data_dir} (dropped
    # when the job has no data folder)
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
