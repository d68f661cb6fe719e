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
import sys
import time
from typing import Dict, Iterable, List, Optional, Set

GONE_TIMEOUT_S = 5.0
REAPED_TIMEOUT_S = 5.0
_said_unreaped = False


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


def processes_of_uid(uid: int, zombies: bool = False) -> Set[int]:
    """Processes owned by ``uid``: live ones, or with ``zombies`` also those not yet reaped."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid and (zombies or _alive(int(name))):
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


def wait_reaped(uid: int, timeout_s: float = REAPED_TIMEOUT_S) -> bool:
    """Wait until no process of ``uid`` is left, zombies included. Without a PID namespace a killed
    program's orphans are reparented to the machine's init, which may reap them only seconds later
    (measured: 1.6 s for 30 orphans in a VM whose init reaps on a timer); until then RLIMIT_NPROC
    counts them against the uid, and its next program (an execution, or a launch started ahead)
    fails to start with EAGAIN."""
    global _said_unreaped
    deadline = time.monotonic() + timeout_s
    while processes_of_uid(uid, zombies=True):
        if time.monotonic() >= deadline:
            if not _said_unreaped:
                _said_unreaped = True
                print(f"warning: sandbox: killed programs of uid {uid} were not reaped within {timeout_s:.0f} s: "
                      "this machine's init does not reap orphans (in a container, run it with --init); programs "
                      "may then fail to start (EAGAIN)", file=sys.stderr, flush=True)
            return False
        time.sleep(0.02)
    return True


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
    if uid is not None:
        wait_reaped(uid)


def sweep_uid(uid: int) -> None:
    """After a run without a PID namespace: kill what escaped the process group, and wait for the
    machine's init to reap what it inherited (zombies too count against the uid's next program)."""
    extra = processes_of_uid(uid, zombies=True)
    if extra:
        kill_pids(extra)
        for _ in range(20):
            more = processes_of_uid(uid) - extra
            if not more:
                break
            kill_pids(more)
            extra |= more
        wait_gone(extra)
        wait_reaped(uid)
