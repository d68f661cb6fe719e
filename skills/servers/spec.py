"""``ServerSpec``: a model server hosted inside a job, as a plan records it (plain data).

The planners fill it (``skills.pipeline.servers``), executors and ``skills.servers.launch`` start it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional


@dataclass
class ServerSpec:
    """A model server hosted inside a job (None on a Job = talk to an existing endpoint)."""

    server_type: str  # vllm | sglang | trtllm | megatron | generic
    model: str
    gpus: int
    nodes: int  # > 1: a multi-node server (Slurm): rank 0 on the job's first node serves HTTP
    port: int
    args: str  # --server_args, appended verbatim
    command: str  # exact launch line (environment prefix / venv activation included)
    health_url: str  # polled until it answers 200
    container: Optional[str] = None  # image, when the cluster config names one
    env: Dict[str, str] = field(default_factory=dict)
    # variables the server reads a secret from -> NAME of the launcher variable holding it (values never here)
    secret_env: Dict[str, str] = field(default_factory=dict)
    api_key_env: Optional[str] = None  # NAME of the key clients must send (from --server_args --api-key)
    # tasks of the server step on each node (one per GPU for Megatron on Slurm, multi-node TRT-LLM)
    tasks_per_node: int = 1
    # --server_replicas: which replica this is (0, 1, ...) and how many there are; replica r of a
    # job takes GPUs r*gpus .. (r+1)*gpus-1 of the job's (of $CUDA_VISIBLE_DEVICES when it is set)
    replica: int = 0
    replicas: int = 1

    def gpu_slice(self, visible: Optional[str] = None) -> Optional[str]:
        """``CUDA_VISIBLE_DEVICES`` for this replica (None: one replica, or no GPUs: leave it)."""
        if self.replicas < 2 or self.gpus < 1:
            return None
        ids = [g.strip() for g in visible.split(",") if g.strip()] if visible else []
        if not ids:
            ids = [str(i) for i in range(self.replicas * self.gpus)]
        return ",".join(ids[self.replica * self.gpus:(self.replica + 1) * self.gpus])
