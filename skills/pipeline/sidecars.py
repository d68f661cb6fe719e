"""Sidecar services of a job placed at plan time: each declared ``Sidecar`` (``skills.servers.sidecars``)
becomes a ``SidecarSpec`` with its port, interpreter and environment filled in.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

from skills.config.cluster import ClusterConfig
from skills.pipeline.plan import SidecarSpec
from skills.servers.sidecars import get_sidecar


def make_sidecars(names: Iterable[str], cluster: ClusterConfig, ports,
                  data_dir: Optional[str] = None) -> List[SidecarSpec]:
    """One SidecarSpec per distinct name, each on its own port (``ports``: the plan's allocator)."""
    out = []
    for name in dict.fromkeys(names):
        sc = get_sidecar(name)
        env = cluster.environment(sc.environment) if sc.environment else None
        python = env.interpreter() if env is not None else "python"
        port = ports.next()
        own = {k: v.format(python=python, data_dir=data_dir) for k, v in sc.env.items()
               if (env is not None or "{python}" not in v) and (data_dir or "{data_dir}" not in v)}
        out.append(SidecarSpec(
            name=sc.name, command=sc.command.format(python=python, port=port), port=port,
            health_url=f"http://127.0.0.1:{port}{sc.health_path}",
            env={**own, **(env.env if env is not None else {})},
            client_env={k: v.format(port=port) for k, v in sc.client_env.items()},
        ))
    return out
