"""Free-port selection that actually binds, so two servers on one machine do not collide."""

from __future__ import annotations

import socket
from typing import Optional


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could listen on ``host:port`` now.

    SO_REUSEADDR like real servers (uvicorn, ...): a port left in TIME_WAIT is usable, one with a
    live listener is not.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(host: str = "127.0.0.1", preferred: Optional[int] = None) -> int:
    """``preferred`` when it is free, else a port the OS hands out (bound and released)."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
