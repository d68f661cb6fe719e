"""Job states from ``sacct`` (accounting) and ``squeue`` (reasons such as DependencyNeverSatisfied).

``sacct`` keeps a job's final state; ``squeue -t all`` knows the precise reason while slurmctld
still remembers the job (``MinJobAge``), e.g. ``CANCELLED DependencyNeverSatisfied`` after
``--kill-on-invalid-dep``, where sacct only says ``Dependency``.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, NamedTuple, Tuple

_STATE = {
    "PENDING": "pending", "REQUEUED": "pending", "CONFIGURING": "pending", "RESV_DEL_HOLD": "pending",
    "RUNNING": "running", "COMPLETING": "running", "SUSPENDED": "running", "STOPPED": "running",
    "COMPLETED": "done",
    "CANCELLED": "cancelled", "REVOKED": "cancelled",
}  # everything else (FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED) = failed


class SlurmState(NamedTuple):
    state: str  # pending | running | done | failed | cancelled | unknown
    slurm_state: str  # e.g. FAILED, TIMEOUT, CANCELLED
    reason: str  # why, in words


def _parse(text: str, ncols: int) -> Iterable[Tuple[str, ...]]:
    for line in (text or "").splitlines():
        parts = line.strip().split("|")
        if len(parts) >= ncols and parts[0]:
            yield tuple(parts[:ncols])


def normalize(slurm_state: str, exit_code: str, reason: str) -> SlurmState:
    """Map a Slurm state (+ exit code ``N:S`` and reason) to our words."""
    raw = slurm_state.split()[0].rstrip("+") if slurm_state else ""
    state = _STATE.get(raw, "failed" if raw else "unknown")
    reason = "" if reason in ("None", "(null)") or state in ("done", "running") else reason
    if raw == "PENDING" and reason == "DependencyNeverSatisfied":
        reason = "DependencyNeverSatisfied: a job it depends on failed, it will never start"
    elif raw == "CANCELLED" and reason.startswith("Dependency"):
        reason = "DependencyNeverSatisfied: cancelled because a job it depends on failed"
    elif raw == "CANCELLED" and not reason:
        reason = "cancelled" + (f" ({slurm_state.split(' ', 1)[1]})" if " " in slurm_state else "")
    elif raw == "TIMEOUT":
        reason = "TIMEOUT: reached its wall-time limit"
    elif raw == "FAILED" and exit_code:
        code, _, sig = (exit_code or "").partition(":")
        reason = f"exit code {code}" + (f", signal {sig}" if sig and sig != "0" else "")
    elif state == "failed":
        reason = reason or raw
    return SlurmState(state, raw, reason)


def query(ids: Iterable[str], run_cmd: Callable[[str], Tuple[int, str]]) -> Dict[str, SlurmState]:
    """States of Slurm job ids; ``run_cmd(shell) -> (rc, stdout)`` runs where the jobs are."""
    ids = [i for i in ids if i]
    if not ids:
        return {}
    joined = ",".join(ids)
    sacct: Dict[str, Tuple[str, str, str]] = {}
    rc, out = run_cmd(f"sacct -X -n -P -j {joined} -o JobIDRaw,State,ExitCode,Reason")
    if rc == 0:
        for jid, st, code, reason in _parse(out, 4):
            sacct[jid] = (st, code, reason)
    squeue: Dict[str, Tuple[str, str]] = {}
    rc, out = run_cmd(f"squeue -h -t all -j {joined} -o '%i|%T|%r'")
    if rc == 0:
        for jid, st, reason in _parse(out, 3):
            squeue[jid] = (st, reason)
    result = {}
    for jid in ids:
        st, code, reason = sacct.get(jid, ("", "", ""))
        if jid in squeue:
            q_state, q_reason = squeue[jid]
            st = q_state  # slurmctld is current; sacct may lag by a moment
            if q_reason and q_reason != "None":
                reason = q_reason
        result[jid] = normalize(st, code, reason) if st else SlurmState("unknown", "", "not found by sacct/squeue")
    return result
