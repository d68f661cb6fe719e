"""Ports are settled when a job starts, not when it was planned.

The plan names a port for each server and sidecar (so ``--dry_run`` shows complete commands), but
a job may start hours later, when another process holds that port. At job start the executor keeps
each planned port that is still free and moves the others to free ones (``settle_ports``); a
service that still fails to bind (a race with another process) is moved and started again
(``bind_failed``). Moving a port rewrites the places the plan wrote it: the service's launch line
and health URL, and the URLs the job's commands and environment reach it by.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Tuple, Union

from skills.pipeline.plan import Job
from skills.servers.health import log_tail
from skills.servers.ports import find_free_port, port_is_free

BIND_ERRORS = ("address already in use", "errno 98", "eaddrinuse", "could not bind", "port is already")


def _pattern(old: int) -> "re.Pattern":
    """Where a port appears in a launch line or a URL: ``--port N``, ``--port=N``, ``host:N``."""
    return re.compile(rf"(--port[= ]|(?:127\.0\.0\.1|localhost|0\.0\.0\.0):){old}(?!\d)")


def _sub(text: str, old: int, new: int) -> str:
    return _pattern(old).sub(lambda m: f"{m.group(1)}{new}", text)


def relocate(job: Job, old: int, new: int) -> None:
    """Move every use of port ``old`` in ``job`` (its server, sidecars, commands, environment) to ``new``."""
    for server in job.servers():
        if server.port == old:
            server.port = new
            server.command = _sub(server.command, old, new)
            server.health_url = _sub(server.health_url, old, new)
    for sc in job.sidecars:
        if sc.port == old:
            sc.port = new
            sc.command = _sub(sc.command, old, new)
            sc.health_url = _sub(sc.health_url, old, new)
        sc.client_env = {k: _sub(v, old, new) for k, v in sc.client_env.items()}
    job.commands = [_sub(c, old, new) for c in job.commands]
    job.programs = [[_sub(a, old, new) for a in p] for p in job.programs]
    job.env = {k: _sub(v, old, new) for k, v in job.env.items()}


def settle_ports(job: Job) -> List[Tuple[int, int]]:
    """Keep the planned ports that are free now, move the others; returns the (old, new) moves."""
    planned = [s.port for s in job.servers()] + [sc.port for sc in job.sidecars]
    moves = []
    for port in planned:
        if not port_is_free(port):
            new = find_free_port()
            relocate(job, port, new)
            moves.append((port, new))
    return moves


def move_port(job: Job, old: int) -> int:
    """A service failed to bind ``old``: move it to a free port; returns the new one."""
    new = find_free_port()
    relocate(job, old, new)
    return new


def bind_failed(log_path: Optional[Union[str, Path]]) -> bool:
    """Did the service's log end with a failure to bind its port?"""
    tail = log_tail(log_path, 15).lower()
    return any(e in tail for e in BIND_ERRORS)
