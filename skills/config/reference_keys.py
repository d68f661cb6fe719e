"""``++`` keys the reference's generation program accepts and this one does not implement.

A pasted reference command must never fail with a bare "unknown key": each key below is rejected
with one line naming the reference key, what it did there and what to use here instead. Keys the
schema knows are never looked up here, so implementing one only means adding it to the schema.
"""

from __future__ import annotations

from typing import Optional

NOT_IMPLEMENTED = {
    "server.ssh_server": "tunnels requests over ssh; open the tunnel yourself (ssh -N -L 5000:<node>:5000 "
                         "<login host>) and pass ++server.base_url=http://127.0.0.1:5000/v1 (or --server_address)",
    "server.ssh_key_path": "goes with server.ssh_server; open the ssh tunnel yourself and pass ++server.base_url",
}


def explain(key: str) -> Optional[str]:
    """The one-line refusal for a reference-only key (or a sub-key of one), else None."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in NOT_IMPLEMENTED:
            return f"++{key}: the reference's '{prefix}' {NOT_IMPLEMENTED[prefix]}"
    return None
