"""Find the tests of the problems a results file needs, offline first.

Where tests come from, in order: ``++eval_config.test_file`` (only that file), else the tests file
prepare wrote for the split (``<data_dir>/livecodebench/<split>.tests.jsonl``), then any other
``*.tests.jsonl`` there, then the upstream release files (the mirror, else the HF hub, as the
reference does at grading time). Every file holds upstream-schema rows keyed by ``question_id``
(or ``task_id``): prepare's tests files, ``--keep_all_columns`` splits and upstream release files
all work. Tests stay encoded until a problem is graded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from skills.benchmarks.livecodebench.prepare import BENCH, TEST_FIELDS, TESTS_SUFFIX
from skills.benchmarks.livecodebench.releases import release_files
from skills.config.errors import UsageError

CPP_BENCH = "livecodebench-cpp"  # its prepare writes <split>.tests.jsonl there, as livecodebench's does
CPP_HF_REPO = "nvidia/LiveCodeBench-CPP"

Problem = Dict[str, str]  # the upstream test fields of one problem


def scan(path: Path, wanted: Set[str], found: Dict[str, Problem]) -> None:
    """Add the rows of ``path`` whose id is wanted and not found yet."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"{path}:{lineno}: not valid JSON ({exc})") from None
            qid = row.get("question_id", row.get("task_id")) if isinstance(row, dict) else None
            if qid in wanted and qid not in found:
                missing = [f for f in TEST_FIELDS[1:] if not isinstance(row.get(f), str)]
                if missing:
                    raise UsageError(f"{path}:{lineno}: problem {qid} has no {missing[0]}")
                found[qid] = {f: row[f] for f in TEST_FIELDS[1:]}


def local_files(pipeline: dict, bench: str = BENCH) -> List[Path]:
    from skills.data import default_data_dir

    folder = Path(pipeline.get("data_dir") or default_data_dir()) / bench
    first = [folder / f"{pipeline['split']}{TESTS_SUFFIX}"] if pipeline.get("split") else []
    others = sorted(folder.glob(f"*{TESTS_SUFFIX}")) if folder.is_dir() else []
    return [p for p in dict.fromkeys(first + others) if p.is_file()]


def release_sources(release: str, language: str = "python") -> Iterable[Path]:
    """The upstream files of a release: LiveCodeBench's ``test*.jsonl``, or for C++ the
    ``nvidia/LiveCodeBench-CPP`` file of the split (``release_version`` is the split's name there)."""
    from skills.benchmarks.livecodebench import HF_REPO
    from skills.data.sources import hf_file, mirror_file, resolve_mirror

    mirror = resolve_mirror(None)
    if language == "cpp":
        name = f"test_{release}.jsonl"
        yield mirror_file(mirror, CPP_BENCH, name) if mirror else hf_file(CPP_HF_REPO, name, gated=False)
        return
    for name in release_files(release):
        yield mirror_file(mirror, BENCH, name) if mirror else hf_file(HF_REPO, name, gated=False)


def find_problems(ids: Iterable[str], release: str, test_file: Optional[str], pipeline: dict,
                  language: str = "python") -> Dict[str, Problem]:
    """question_id -> test fields for every id; a UsageError names what could not be found. C++
    problems come from ``livecodebench-cpp``'s folder and files."""
    bench = CPP_BENCH if language == "cpp" else BENCH
    wanted = set(ids)
    found: Dict[str, Problem] = {}
    if test_file:
        path = Path(os.path.expanduser(test_file))
        if not path.is_file():
            raise UsageError(f"livecodebench: eval_config.test_file {path} does not exist")
        scan(path, wanted, found)
        where = str(path)
    else:
        sources = local_files(pipeline, bench)
        for path in sources:
            scan(path, wanted, found)
            if len(found) == len(wanted):
                break
        if len(found) < len(wanted):
            for path in release_sources(release, language):
                scan(path, wanted, found)
        where = ", ".join(map(str, sources)) or "no tests file"
        where += f" and the {release} release files"
    missing = sorted(wanted - set(found))
    if missing:
        raise UsageError(f"livecodebench: no tests for {len(missing)} problem(s) ({', '.join(missing[:5])}) "
                         f"in {where}; prepare the split with ns prepare_data {bench} or pass "
                         "++eval_config.test_file")
    return found


def evaluation_sample(problem: Problem) -> tuple:
    """(the harness's ``input_output`` JSON text, number of tests): public tests first, then private."""
    from skills.benchmarks.livecodebench.codec import UnsafeTests, decode_tests

    try:
        tests = decode_tests(problem["public_test_cases"]) + decode_tests(problem["private_test_cases"])
        meta = json.loads(problem["metadata"] or "{}")
    except (UnsafeTests, ValueError) as exc:
        raise UsageError(f"livecodebench: bad test data: {exc}") from None
    fn_name = meta.get("func_name") if isinstance(meta, dict) else None
    io = {"inputs": [t["input"] for t in tests], "outputs": [t["output"] for t in tests], "fn_name": fn_name}
    return json.dumps(io), len(tests)
