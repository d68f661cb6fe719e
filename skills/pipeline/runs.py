"""The run planner: the runs of one generation program still to do, each with its output file and
``++`` tokens, for ``ns eval`` (per benchmark), ``ns generate`` and the judge stage alike.

A run is one (seed, chunk) of one input: ``<out>/output[-rs<seed>][_chunk_<c>].jsonl`` (the
reference's layout). A run whose file (or merged file) has its ``.done`` marker is finished and
skipped unless ``--rerun_done``; finished outputs of the folder made with other settings (their
``.settings.json``, ``skills.data.recorded``) are refused, not added to. Before any job exists, the
input is read and every request built as the job will (once per input file), and a resume journal
the program would refuse fails the plan.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from skills.config.errors import UsageError
from skills.config.fingerprint import Fingerprint
from skills.config.overrides import Override
from skills.config.values import parse_ids
from skills.data.recorded import read_settings
from skills.pipeline.programs import Program, program_argv, tokens

SAMPLING_DEFAULTS = ("++inference.temperature=0.7", "++inference.top_k=-1", "++inference.top_p=0.95")
RESERVED = ("input_file", "output_file")  # set by the planners, per seed and chunk


def check_reserved(tokens: Sequence[str], flag: str, use: str) -> None:
    """``++input_file``/``++output_file`` would send a job's output where the plan does not look."""
    for tok in tokens:
        key = tok.lstrip("+~").split("=", 1)[0]
        if key in RESERVED:
            raise UsageError(f"{tok}: {key} is set by ns from {use}; do not pass it in {flag}")


def chunk_ids_for(num_chunks: Optional[int], chunk_ids: Optional[str]) -> List[Optional[int]]:
    """Chunk ids to run, validated against ``num_chunks`` (the reference does not check)."""
    ids = parse_ids(chunk_ids, "chunk_ids")
    if num_chunks is None:
        if ids is not None:
            raise UsageError("--chunk_ids needs --num_chunks (or a benchmark with NUM_CHUNKS)")
        return [None]
    if num_chunks < 1:
        raise UsageError(f"--num_chunks must be >= 1, got {num_chunks}")
    if ids is None:
        return list(range(num_chunks))
    bad = [i for i in ids if not 0 <= i < num_chunks]
    if bad:
        raise UsageError(f"--chunk_ids {bad} out of range for --num_chunks={num_chunks} (0..{num_chunks - 1})")
    return ids


def output_name(seed: Optional[int], chunk: Optional[int] = None) -> str:
    """``output.jsonl`` / ``output-rs3.jsonl`` / ``output-rs3_chunk_5.jsonl`` (reference layout)."""
    base = "output" if seed is None else f"output-rs{seed}"
    return f"{base}_chunk_{chunk}.jsonl" if chunk is not None else f"{base}.jsonl"


def seed_overrides(seed: Optional[int]) -> List[str]:
    if seed is None:
        return []
    return [f"++inference.random_seed={seed}", *SAMPLING_DEFAULTS]


@dataclass
class Run:
    """One run of a generation program: (input, seed, chunk) -> one output file."""

    bench: Optional[str]  # the benchmark it belongs to (None: ns generate over a file)
    seed: Optional[int]
    chunk: Optional[int]
    io: List[str]  # ++input_file, ++output_file, ++skip_filled
    settings: List[str]  # after the ++server.* tokens (known once the job's port is): seed, chunk, defaults, user
    output: str  # the file this run writes (its chunk's file when chunked)
    module: str
    merge: Optional[List[str]] = None  # chunk merge argv, run after the generation
    sidecars: Tuple[str, ...] = ()
    pre: Optional[str] = None  # shell before the program (ns generate --preprocess_cmd)
    post: List[str] = field(default_factory=list)  # shell after it (--postprocess_cmd, --log_samples)

    @property
    def marker(self) -> str:
        return self.output + ".done"

    def argv(self, client: Sequence[str], extra: Sequence[str] = ()) -> List[str]:
        return program_argv(self.module, [*self.io, *client, *self.settings, *extra])


@dataclass
class RunRequest:
    """What to run: one program over one input, for some seeds and chunks."""

    label: str  # names the runs in messages: a benchmark, "ns generate"
    program: Program
    out_dir: str  # where output[-rsS][_chunk_C].jsonl go
    seeds: List[Optional[int]]
    settings: List[Override]  # after the seed and chunk tokens: benchmark defaults, the user's, extras
    input_of: Callable[[Optional[int]], Optional[str]]  # a seed's input file (None: the user's ++input_file)
    chunks: List[Optional[int]] = field(default_factory=lambda: [None])
    num_chunks: Optional[int] = None
    sampling: bool = True  # per-seed ++inference.random_seed and sampling defaults
    rerun_done: bool = False
    bench: Optional[str] = None
    sidecars: Tuple[str, ...] = ()
    # plan-time checks of inputs and resume journals (None: none, e.g. the files are on a remote cluster)
    checks: Optional["RunChecks"] = None


@dataclass
class RunChecks:
    client: List[Override]  # the ++server.* tokens the jobs will get (an example: ports are per job)
    prompt_set_dir: Optional[str]  # where the prompt set is checked (skills.pipeline.prompts)


def plan_runs(req: RunRequest) -> Tuple[List[Run], List[str], List[str]]:
    """(runs still to do, output files of the runs already done, finished output files that record
    no settings: made by an earlier version, not checked). Finished outputs made with other settings
    than this run's are refused (``check_settings``)."""
    program, runs, done = req.program, [], []
    checked: set = set()  # input files read at plan time
    unknown = check_settings(req, req.checks) if req.checks is not None else []
    for seed in req.seeds:
        merged = os.path.join(req.out_dir, output_name(seed))
        src = req.input_of(seed)
        seed_toks = seed_overrides(seed) if req.sampling else []
        for chunk in req.chunks:
            path = os.path.join(req.out_dir, output_name(seed, chunk))
            if not req.rerun_done and (os.path.exists(path + ".done") or os.path.exists(merged + ".done")):
                done.append(path)
                continue
            io = ([f"++input_file={src}"] if src else []) + [f"++output_file={merged}",
                                                              f"++skip_filled={not req.rerun_done}"]
            chunk_toks = [f"++num_chunks={req.num_chunks}", f"++chunk_id={chunk}"] if chunk is not None else []
            if req.checks is not None:
                _check(req, req.checks, io, seed_toks, chunk_toks, path, src, checked)
            merge = None
            if chunk is not None:
                parts = [os.path.join(req.out_dir, output_name(seed, c)) for c in range(req.num_chunks or 0)]
                merge = ["python", "-m", "skills.inference.merge_chunks", merged, *parts]
            runs.append(Run(req.bench, seed, chunk, io, [*seed_toks, *chunk_toks, *tokens(req.settings)], path,
                            program.module, merge, req.sidecars))
    return runs, done, unknown


OUTPUT_FILE = re.compile(r"output(?:-rs(\d+))?(?:_chunk_(\d+))?\.jsonl")


def finished_outputs(out_dir: str) -> List[Tuple[str, Optional[int]]]:
    """(path, seed) of every finished output file of a folder (the file and its ``.done`` exist), by seed."""
    if not os.path.isdir(out_dir):
        return []
    found = []
    for name in os.listdir(out_dir):
        m = OUTPUT_FILE.fullmatch(name)
        if m and os.path.exists(os.path.join(out_dir, name + ".done")):
            seed = int(m.group(1)) if m.group(1) is not None else None
            found.append((-1 if seed is None else seed, int(m.group(2) or -1), os.path.join(out_dir, name), seed))
    return [(path, seed) for _, _, path, seed in sorted(found)]


def check_settings(req: RunRequest, checks: "RunChecks") -> List[str]:
    """Refuse to add to, or call done, finished outputs of the folder made with other settings than
    this run's (they would be averaged into one table); returns those that record none (unknown)."""
    recorded = [(path, seed, read_settings(Path(path))) for path, seed in finished_outputs(req.out_dir)]
    unknown = [path for path, _, fp in recorded if fp is None]
    expected: Dict[Tuple[Optional[str], bool], Fingerprint] = {}

    def expected_for(seed: Optional[int]) -> Fingerprint:
        src, greedy = req.input_of(seed), seed is None or not req.sampling
        if (src, greedy) not in expected:
            program = req.program
            io = [f"++input_file={src}"] if src else []
            head = [*program.parse(io), *checks.client, *program.parse([] if greedy else seed_overrides(seed))]
            expected[(src, greedy)] = program.settings_fingerprint([*head, *req.settings], req.label,
                                                                   checks.prompt_set_dir)
        return expected[(src, greedy)]

    other = []  # (path, seed, what differs)
    for path, seed, fp in recorded:
        if fp is None or (req.rerun_done and seed in req.seeds):  # unknown, or about to be made again
            continue
        changes = fp.describe_changes(expected_for(seed))
        if changes:
            other.append((path, seed, changes))
    if other:
        names = [os.path.basename(path) for path, _, _ in other]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        ways = ("a new --output_dir, or --rerun_done to make them again with this run's settings"
                if all(seed in req.seeds for _, seed, _ in other) else
                "a new --output_dir, or remove them (--rerun_done makes only this run's seeds again)")
        raise UsageError(f"{req.label}: {shown} in {req.out_dir} {'were' if len(names) > 1 else 'was'} made with other "
                         f"settings than this run ({other[0][2]}; recorded -> now): adding to or keeping them would "
                         f"mix two settings in one table; use {ways}")
    return unknown


def _check(req: RunRequest, checks: RunChecks, io: List[str], seed_toks: List[str], chunk_toks: List[str],
           path: str, src: Optional[str], checked: set) -> None:
    """The input read as the job will (once per file), and a resume journal the job would refuse."""
    program = req.program
    if src and src not in checked and os.path.isfile(src):
        head = [*program.parse(io), *checks.client, *program.parse(seed_toks)]
        program.check_input([*head, *req.settings], req.label, checks.prompt_set_dir)
        checked.add(src)
    if not req.rerun_done and os.path.exists(f"{path}-async"):
        head = [*program.parse(io), *checks.client, *program.parse([*seed_toks, *chunk_toks])]
        program.check_resume([*head, *req.settings], req.label, checks.prompt_set_dir, path)
