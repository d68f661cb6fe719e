"""``ns prepare_data bfcl_v3``: the 17 splits of gorilla v1.3 as ``<data_dir>/bfcl_v3/<split>/test.jsonl``.

Upstream files: a mirror laid out like upstream (``<mirror>/bfcl_v3/BFCL_v3_<split>.json`` and
``multi_turn_func_doc/``), else downloaded from GitHub at the v1.3 commit. Either way their SHA-256
must match the pinned ones below (the reference's prepare clones v1.3; the same bytes ship in
``bfcl-eval==2025.7.17``). The rows themselves (function docs with language hints, OpenAI ``tools``)
are built by gorilla's own functions in the bfcl environment (``worker.py prepare``; both builds
give the same bytes), so they equal what the reference writes. ``--split NAME`` prepares one split (default: all).
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path
from typing import List

from skills.benchmarks.bfcl_v3 import NAME, SPLITS
from skills.config.errors import UsageError
from skills.data.fields import pick_splits, reject_extra

COMMIT = "ea13468e4423454d0c213704fb87cf7cb3990433"  # ShishirPatil/gorilla tag v1.3
URL = f"https://raw.githubusercontent.com/ShishirPatil/gorilla/{COMMIT}/berkeley-function-call-leaderboard/bfcl_eval/data"
SHA256 = {  # first 16 hex digits
    "BFCL_v3_irrelevance.json": "8237162db28f3cf2",
    "BFCL_v3_java.json": "261d327d50c1bb50",
    "BFCL_v3_javascript.json": "b69b6a99548f72e1",
    "BFCL_v3_live_irrelevance.json": "0d259e1c3ab6ba06",
    "BFCL_v3_live_multiple.json": "791d1faaf5ba5579",
    "BFCL_v3_live_parallel.json": "6c26e9fdc3350cf5",
    "BFCL_v3_live_parallel_multiple.json": "21d4b9319c1faac4",
    "BFCL_v3_live_relevance.json": "9ce547600184f700",
    "BFCL_v3_live_simple.json": "10e5cedb6dc73cd1",
    "BFCL_v3_multi_turn_base.json": "fe5c442849bdb2c2",
    "BFCL_v3_multi_turn_long_context.json": "17898c71fc5ceca4",
    "BFCL_v3_multi_turn_miss_func.json": "4a3a862f3e897d12",
    "BFCL_v3_multi_turn_miss_param.json": "25509d5c441017c5",
    "BFCL_v3_multiple.json": "aef168155ebd74b7",
    "BFCL_v3_parallel.json": "fad375d68295776e",
    "BFCL_v3_parallel_multiple.json": "8863ea8433239f55",
    "BFCL_v3_simple.json": "fbc37b2ad252bf9a",
    "multi_turn_func_doc/gorilla_file_system.json": "26c01bed25bf7aff",
    "multi_turn_func_doc/math_api.json": "83fa31708c89442b",
    "multi_turn_func_doc/message_api.json": "2855068a0e77c4f1",
    "multi_turn_func_doc/posting_api.json": "87f9fc404a06e410",
    "multi_turn_func_doc/ticket_api.json": "1d78a0bbc15ca2dc",
    "multi_turn_func_doc/trading_bot.json": "c04b85e9ea0795a0",
    "multi_turn_func_doc/travel_booking.json": "364ca923e25d17b2",
    "multi_turn_func_doc/vehicle_control.json": "a0366b59ad6eabb1",
}
DOCS = tuple(n for n in SHA256 if n.startswith("multi_turn_func_doc/"))


def needed_files(splits: List[str]) -> List[str]:
    return [f"BFCL_v3_{s}.json" for s in splits] + list(DOCS)


def check_sha(path: Path, name: str) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if digest != SHA256[name]:
        raise UsageError(f"{path}: not the gorilla v1.3 file {name} (sha256 {digest}..., expected {SHA256[name]}...)")


def fetch(names: List[str], mirror: Path | None, work: Path) -> Path:
    """A folder holding the upstream files (the mirror itself, or ``work`` after downloading)."""
    if mirror is not None:
        folder = mirror / NAME
        for name in names:
            if not (folder / name).is_file():
                raise UsageError(f"missing mirror file {folder / name} (expected the upstream file {NAME}/{name})")
            check_sha(folder / name, name)
        return folder
    from skills.data.io import download

    for name in names:
        download(f"{URL}/{name}", work / name)
        check_sha(work / name, name)
    return work


def prepare(ctx) -> List[Path]:
    from skills.benchmarks.bfcl_v3.runtime import bfcl_python, worker_env

    reject_extra(NAME, dict(ctx.extra))
    splits = pick_splits(NAME, ctx.split, "all", SPLITS)
    python = bfcl_python()  # checked before anything is fetched
    out = Path(ctx.data_dir) / NAME
    with tempfile.TemporaryDirectory(prefix="bfcl_v3_") as work:
        raw = fetch(needed_files(splits), ctx.mirror, Path(work))
        env = {**worker_env(), "HOME": work, "TMPDIR": work}
        proc = subprocess.run([python, "-m", "skills.benchmarks.bfcl_v3.worker", "prepare", str(raw), str(out),
                               *splits], env=env, cwd=work)
    if proc.returncode != 0:
        raise UsageError(f"preparing {NAME} in the bfcl environment failed (exit code {proc.returncode}; see above)")
    return [out / s / "test.jsonl" for s in splits]
