"""Reference-style local configs on a machine without Docker: container paths read through the mounts.

A ``local.yaml`` written for the reference runs every job in Docker with ``mounts: [/host/x:/workspace]``,
and its users write container paths (``--output_dir=/workspace/out``). Here local jobs are plain
processes, so those paths are translated to the host side (``/workspace/out`` -> ``/host/x/out``)
in path options, ``++`` values, server arguments, commands and literal env values, and the run says
so in one line. A path outside every mount fails at once with the mount list, as it would in the
reference. Slurm keeps container paths (its jobs do run in containers).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError


def parse_mounts(cluster: Any) -> List[Tuple[str, str]]:
    """``[(host, container)]``, ``$VARS`` expanded, longest container path first."""
    out = []
    for entry in cluster.mounts:
        expanded = os.path.expandvars(os.path.expanduser(entry))
        if expanded.count(":") != 1:
            raise UsageError(f"mount '{entry}' must be host_path:container_path")
        src, dst = (p.rstrip("/") or "/" for p in expanded.split(":"))
        if not (src.startswith("/") and dst.startswith("/")):
            raise UsageError(f"mount '{entry}': both sides must be absolute paths")
        out.append((src, dst))
    return sorted(out, key=lambda m: -len(m[1]))


def translates(cluster: Any) -> bool:
    """Local plain-process jobs with mounts: the reference's Docker layout, run without Docker."""
    return cluster.executor == "local" and bool(cluster.mounts)


def _under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root + "/")


def host_path(cluster: Any, path: Optional[str], what: str) -> Optional[str]:
    """The host path of a user path option (``--output_dir`` ...); unchanged without mounts."""
    if path is None or not translates(cluster):
        return path
    p = os.path.expanduser(path)
    if not p.startswith("/"):
        return path  # relative: a host path already
    mounts = parse_mounts(cluster)
    for src, dst in mounts:
        if _under(p, dst):
            return src + p[len(dst):] if dst != "/" else src.rstrip("/") + p
    if any(_under(p, src) for src, _ in mounts):
        return p  # already on the host side of a mount
    listing = ", ".join(f"{s}:{d}" for s, d in mounts)
    raise UsageError(f"{what} {path} is not under any mount of cluster config {cluster.name} (mounts: {listing})")


def translate_text(cluster: Any, text: str) -> str:
    """Container paths inside free text (``++`` values, server args, commands) -> host paths."""
    if not translates(cluster) or not text:
        return text
    for src, dst in parse_mounts(cluster):
        if dst == "/":
            continue
        text = re.sub(r"(?<![\w.\-/])" + re.escape(dst) + r"(?=/|$|[\s'\",:;=)])", src.replace("\\", "\\\\"), text)
    return text


def translate_all(cluster: Any, tokens: Sequence[str]) -> List[str]:
    return [translate_text(cluster, t) for t in tokens]


def announce(cluster: Any) -> None:
    """The one line saying that container paths are read through the mounts."""
    if translates(cluster):
        listing = ", ".join(f"{d} -> {s}" for s, d in parse_mounts(cluster))
        print(f"note: cluster config {cluster.name}: jobs run as plain processes on this machine (no containers); "
              f"container paths are translated through its mounts ({listing})", file=sys.stderr)


def localize(cluster: Any) -> None:
    """Translate the config's own literal env values (``HF_HOME=/workspace/hf_home``)."""
    if translates(cluster):
        cluster.env_vars = [translate_text(cluster, e) for e in cluster.env_vars]
        cluster.required_env_vars = [translate_text(cluster, e) for e in cluster.required_env_vars]


def check_mounted_paths(cluster: Any) -> None:
    """``--check_mounted_paths``: create every mount's host folder and verify it exists."""
    for src, _ in parse_mounts(cluster):
        try:
            os.makedirs(src, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"mount source {src} cannot be created: {exc.strerror}") from None
