"""Killing everything an execution started, read from the process table.

Killing the launcher's process group is not enough: a program can leave it with ``os.setsid``.
With a PID namespace, killing the namespace's first process makes the kernel kill the rest; with a
throwaway uid, every process of that uid is the execution's. Either way the caller returns only once
those processes are gone, so "nothing left running" holds when ``execute`` returns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Dict, Iterable, List, Optional, Set

GONE_TIMEOUT_S = 5.0


def _stat(pid: str) -> Optional[List[str]]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    return data[data.rfind(")") + 2:].split()  # fields after "pid (comm)": state, ppid, ...


def descendants(root: int) -> Set[int]:
    """``root``'s children, grandchildren, ... (by parent pid)."""
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(name)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(name))
    found: Set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def processes_of_uid(uid: int) -> Set[int]:
    """Live (not zombie) processes owned by ``uid``."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid and _alive(int(name)):
                    found.add(int(name))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    fields = _stat(str(pid))
    return fields is not None and fields[0] not in ("Z", "X")


def kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def wait_gone(pids: Iterable[int], timeout_s: float = GONE_TIMEOUT_S) -> bool:
    pending = set(pids)
    deadline = time.monotonic() + timeout_s
    while pending and time.monotonic() < deadline:
        pending = {pid for pid in pending if _alive(pid)}
        if pending:
            time.sleep(0.005)
    return not pending


def kill_execution(proc, uid: Optional[int]) -> None:
    """SIGKILL the launcher (a Popen, or a warm launcher's ``WarmRun``: its namespace's first
    process), everything below it and (throwaway uid) everything of that uid."""
    victims = descendants(proc.pid)
    proc.kill()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    kill_pids(victims)
    for _ in range(20):  # a fork bomb outside a PID namespace keeps making new ones for a moment
        extra = processes_of_uid(uid) if uid is not None else set()
        if not extra:
            break
        kill_pids(extra)
        victims |= extra
    try:
        proc.wait(timeout=GONE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    wait_gone(victims)


def sweep_uid(uid: int) -> None:
    """After a run without a PID namespace: kill what escaped the process group."""
    extra = processes_of_uid(uid)
    if extra:
        kill_pids(extra)
        for _ in range(20):
            more = processes_of_uid(uid) - extra
            if not more:
                break
            kill_pids(more)
            extra |= more
        wait_gone(extra)
