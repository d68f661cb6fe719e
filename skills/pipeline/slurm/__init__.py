"""Helpers of the Slurm executor (``skills.pipeline.executors.slurm``): nemo-run objects from a
Plan (``build``), tunnels (``tunnel``) and job states read from sacct/squeue (``state``)."""
