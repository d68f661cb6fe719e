"""The sandbox's data: resource limits in, one execution's result out (also the HTTP JSON shape)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Mapping, Optional

from skills.config.errors import UsageError

# Outcomes of one execution. "timeout" covers both the wall clock and the CPU-time limit.
STATUSES = ("completed", "error", "timeout", "output_limit", "sandbox_error")
# Limits that may be None: no CPU-time limit (the wall clock still applies); BLAS/OpenMP threads
# left to the libraries (one per core).
OPTIONAL_LIMITS = ("cpu_s", "threads")


@dataclass(frozen=True)
class Limits:
    """Per-execution limits. Memory is address space per process (RLIMIT_AS), so the whole
    execution can use up to ``max_processes * memory_mb``; processes count threads too."""

    cpu_s: Optional[float] = 10.0  # None: only the wall clock bounds it (multi-threaded programs)
    wall_s: float = 10.0
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 64  # largest file the program may write
    max_open_files: int = 256
    max_output_bytes: int = 4 * 1024 * 1024  # per stream; more output stops the program
    threads: Optional[int] = 1  # OMP/OPENBLAS/MKL_NUM_THREADS; None: the libraries' default

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in OPTIONAL_LIMITS:
                continue
            if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                    or value <= 0):
                raise UsageError(f"sandbox limit {f.name} must be a positive number, got {value!r}")
        if self.threads is not None and not isinstance(self.threads, int):
            raise UsageError(f"sandbox limit threads must be a whole number or null, got {self.threads!r}")

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "Limits":
        if data is not None and not isinstance(data, Mapping):
            raise UsageError("'limits' must be an object")
        data = dict(data or {})
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise UsageError(f"unknown sandbox limit(s): {', '.join(unknown)}")
        return cls(**data)

    def exceeds(self, ceiling: "Limits") -> Optional[str]:
        """Name of the first limit above ``ceiling`` (a server's maximum), or None. No CPU-time
        limit is within any ceiling: the wall clock still bounds the execution."""
        for f in fields(self):
            value, top = getattr(self, f.name), getattr(ceiling, f.name)
            if value is not None and top is not None and value > top:
                return f"{f.name}={value} (maximum {top})"
        return None


@dataclass
class ExecResult:
    """What one execution did. The ``*_isolated`` flags say what the sandbox could enforce on this
    machine, so a result produced without isolation can never pass for a contained one;
    ``as_root`` is true only where ``SKILLS_SANDBOX_ALLOW_ROOT=1`` let model code run as root."""

    stdout: str
    stderr: str
    returncode: Optional[int]  # negative: killed by that signal; None: never started
    status: str  # one of STATUSES
    duration_s: float
    timed_out: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    isolation: str = "none"  # bwrap | unshare | none
    network_isolated: bool = False
    fs_isolated: bool = False  # filesystem read-only outside the work dir, $HOME hidden
    pid_isolated: bool = False  # own PID namespace: nothing it starts outlives it
    as_root: bool = False  # the program ran as the host's root (only with the explicit opt-in)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ExecResult":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
