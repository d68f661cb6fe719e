"""Which benchmarks a run covers: ``--benchmarks`` parsed, groups expanded into their members, each
one's prepared data file found.
"""

from __future__ import annotations

import difflib
import os
from typing import Any, Dict, List, Optional, Tuple

from skills.config.cluster import ClusterConfig
from skills.config.errors import UsageError
from skills.registry.benchmarks import dataset_group_members, get_benchmark, group_members, is_dataset_group
from skills.registry.spec import BenchmarkSpec


def parse_benchmarks(text: str) -> List[Tuple[str, Optional[int]]]:
    """``aime24:8,gpqa,hle:0`` -> [(name, count or None)]; spaces, bad counts, duplicates -> UsageError."""
    if not text or not text.strip():
        raise UsageError("--benchmarks is empty")
    if any(c.isspace() for c in text):
        raise UsageError(f"--benchmarks must not contain spaces: '{text}' (write e.g. {''.join(text.split())})")
    out: List[Tuple[str, Optional[int]]] = []
    for item in text.split(","):
        if not item:
            raise UsageError(f"--benchmarks has an empty item: '{text}'")
        name, colon, count = item.partition(":")
        n: Optional[int] = None
        if colon:
            if not count.isdigit():
                raise UsageError(f"--benchmarks item '{item}': the number of samples must be an integer >= 0")
            n = int(count)
        if not name:
            raise UsageError(f"--benchmarks item '{item}' has no benchmark name")
        if name in [o[0] for o in out]:
            raise UsageError(f"benchmark '{name}' is listed twice in --benchmarks")
        out.append((name, n))
    return out


def prepared_members(group: str, extra_datasets: Optional[str], data_dir: str, look: bool = True,
                     notes: Optional[List[str]] = None) -> List[str]:
    """The members of dataset group ``group`` (``math``, ``code``, ...) whose data is prepared in
    ``data_dir`` (all of them when ``look`` is False: a data dir on a cluster reached over ssh). The
    others are named in ``notes``; none prepared is an error saying how to prepare them."""
    members = dataset_group_members(group, extra_datasets)
    if not look:
        return members
    ready = [m for m in members if os.path.isdir(os.path.join(data_dir, *m.split(".")))]
    if not members:
        raise UsageError(f"dataset group '{group}' has no benchmarks here")
    if not ready:
        raise UsageError(f"no benchmark of dataset group '{group}' is prepared in {data_dir} (members: "
                         f"{', '.join(members)}); prepare them with `ns prepare_data --dataset_groups {group} "
                         f"--data_dir {data_dir}`")
    skipped = [m for m in members if m not in ready]
    if skipped and notes is not None:
        notes.append(f"dataset group {group}: {len(ready)} of {len(members)} benchmarks prepared in {data_dir}; "
                     f"not evaluated: {', '.join(skipped)}")
    return ready


def expand_groups(benches: List[Tuple[str, Optional[int]]], extra_datasets: Optional[str],
                  data_dir: str, look: bool = True, notes: Optional[List[str]] = None,
                  ) -> Tuple[List[Tuple[BenchmarkSpec, Optional[int]]], Dict[str, BenchmarkSpec]]:
    """Benchmark specs in order with groups replaced by their members; the groups by name. A dataset
    group (``math``) stands for its prepared members (``prepared_members``)."""
    out: List[Tuple[BenchmarkSpec, Optional[int]]] = []
    groups: Dict[str, BenchmarkSpec] = {}
    expanded: List[Tuple[str, Optional[int]]] = []
    for name, count in benches:
        if is_dataset_group(name, extra_datasets):
            expanded += [(m, count) for m in prepared_members(name, extra_datasets, data_dir, look, notes)]
        else:
            expanded.append((name, count))
    for name, count in expanded:
        spec = get_benchmark(name, extra_datasets, data_dir)
        if spec.is_group:
            groups[name] = spec
            out.extend((m, count) for m in group_members(spec, extra_datasets, data_dir))
        else:
            out.append((spec, count))
    seen = set()
    for spec, _ in out:
        if spec.name in seen:
            raise UsageError(f"benchmark '{spec.name}' is listed twice (directly and through its group)")
        seen.add(spec.name)
    return out, groups


def input_file(data_dir: str, name: str, split: str, cluster: ClusterConfig) -> str:
    """``<data_dir>/<name as folders>/<split>.jsonl``, checked to exist and hold rows (here, not on a
    cluster reached over ssh)."""
    path = os.path.join(data_dir, *name.split("."), f"{split}.jsonl")
    remote = cluster.is_slurm and cluster.ssh_tunnel is not None
    if not remote and not os.path.isfile(path):
        folder = os.path.dirname(path)
        prepared = sorted(f[: -len(".jsonl")] for f in os.listdir(folder) if f.endswith(".jsonl")) \
            if os.path.isdir(folder) else []
        if prepared:  # the benchmark is there, the split is not: a typo, or one not prepared yet
            close = difflib.get_close_matches(split, prepared, n=1)
            raise UsageError(
                f"{name} has no split '{split}' in {folder}: the prepared splits are {', '.join(prepared)}"
                + (f" (did you mean --split={close[0]}?)" if close else "")
                + f"; `ns prepare_data {name.split('.')[0]} --split=NAME --data_dir {data_dir}` prepares another "
                "(and lists the splits it knows)")
        raise UsageError(
            f"input data for {name} not found: {path}; run `ns prepare_data {name.split('.')[0]} "
            f"--data_dir {data_dir}` (or pass --data_dir)"
        )
    if not remote and not _has_rows(path):
        raise UsageError(f"input data for {name} is empty: {path}; prepare it again "
                         f"(`ns prepare_data {name.split('.')[0]} --data_dir {data_dir}`)")
    return path


def check_grading_inputs(spec: BenchmarkSpec, eval_config: Dict[str, Any], data_dir: str,
                         cluster: ClusterConfig) -> None:
    """The files a benchmark's grader reads (``BenchmarkSpec.grading_inputs``) exist before anything
    runs (on a cluster reached over ssh they live there: not checked)."""
    if cluster.is_slurm and cluster.ssh_tunnel is not None:
        return

    def present(path: str, contains: Tuple[str, ...]) -> bool:
        if not contains:
            return os.path.isfile(path)
        return all(os.path.exists(os.path.join(path, part)) for part in contains)

    for need in spec.grading_inputs:
        given = eval_config.get(need.setting) if need.setting else None
        if given:
            candidates = [os.path.abspath(os.path.expanduser(str(given)))]
        else:
            candidates = [os.path.join(data_dir, need.path)]
            if need.env:
                candidates += [p for p in os.environ.get(need.env, "").split(os.pathsep) if p]
        if not any(present(c, need.contains) for c in candidates):
            how = f"++eval_config.{need.setting}" if given else "the data folder" + (
                f" or ${need.env}" if need.env and len(candidates) > 1 else "")
            what = f" with {', '.join(need.contains)}" if need.contains else ""
            raise UsageError(f"{spec.name}: grading needs {candidates[0]}{what} ({how}), which does not exist"
                             + (f": {need.hint}" if need.hint else ""))


def _has_rows(path: str) -> bool:
    with open(path, "rb") as fh:
        return any(line.strip() for line in fh)


def check_extra_datasets_type(kind: Optional[str], cluster: Any) -> None:
    """``local``: the folder is on this machine; ``cluster`` (Slurm): on the cluster, which is this
    machine when ns runs there (no ssh tunnel). Reading it over ssh is not implemented."""
    kind = kind or os.environ.get("SKILLS_EXTRA_DATASETS_TYPE") or os.environ.get("NEMO_SKILLS_EXTRA_DATASETS_TYPE")
    if kind in (None, "", "local"):
        return
    if kind != "cluster":
        raise UsageError(f"--extra_datasets_type must be local or cluster, not '{kind}'")
    if not cluster.is_slurm:
        raise UsageError("--extra_datasets_type=cluster is only valid with a Slurm cluster config")
    if cluster.ssh_tunnel is not None:
        raise UsageError("--extra_datasets_type=cluster over an ssh tunnel is not implemented; copy the folder "
                         "to this machine and use --extra_datasets_type=local")
