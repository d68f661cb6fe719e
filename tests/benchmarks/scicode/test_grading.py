"""SciCode grading in the code sandbox, against a small targets file in SciCode's layout.

Programs are written here by hand (right, wrong, crashing, endless), graded through
``grade_file`` like the generation program does, with the local sandbox and with the HTTP service
(whose programs may read only what lies under its data folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import REPO_ROOT
from tests.benchmarks.scicode.helpers import build_h5, problems, sandbox_python
from skills.benchmarks.scicode.grader import build_program, eval_prefix
from skills.benchmarks.scicode.steps import OUT_OF_CONTEXT, step_program
from skills.config.errors import UsageError
from skills.evaluation import grade_file
from skills.servers.health import wait_for_server
from skills.servers.ports import find_free_port

DEPS = "import numpy as np\nimport scipy.sparse as sp"
KINDS = {  # targets of every kind the reader knows (tests/fixtures/scicode/build_h5.py, problem 9104)
    "problem_id": "9104", "required_dependencies": DEPS, "sub_steps": [
        {"step_number": "9104.1", "function_header": "def kinds():", "return_line": "    return t",
         "test_cases": ["r = kinds()\nassert r[0] == target[0] and r[1] == target[1]\n"
                        "from scicode.compare.cmp import are_dicts_close\nassert are_dicts_close(r[2], target[2])"]},
        {"step_number": "9104.2", "function_header": "def ragged():", "return_line": "    return r",
         "test_cases": ["from scicode.compare.cmp import cmp_tuple_or_list\n"
                        "assert cmp_tuple_or_list(ragged(), target)"]},
        {"step_number": "9104.3", "function_header": "def pair():", "return_line": "    return p",
         "test_cases": ["m, flag = pair()\n"
                        "assert np.allclose(m.toarray(), target[0].toarray()) and flag == target[1]"]},
        {"step_number": "9104.4", "function_header": "def nothing():", "return_line": "    return None",
         "test_cases": []},
    ]}
RIGHT = {
    "9101": ["def scale(v, k):\n    return np.asarray(v) * k", "def norm2(v):\n    return np.linalg.norm(v)",
             "def unit(v):\n    return v / norm2(v)"],
    "9102": ["def counts(xs):\n    return len(xs), sum(xs)",
             "def label(x):\n    return 'even' if x % 2 == 0 else 'odd'"],
    "9103": ["def root(x):\n    return np.sqrt(x)", "def double(x):\n    return 2 * x"],
    "9104": ["def kinds():\n    m = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 3.0]]))\n"
             "    return 7, 'ok', {2.5: np.array([1.0, 2.0]), 'M': m, 'mean': 2.0}",
             "def ragged():\n    return [1.5, 2 + 1j, np.array([1, 2, 3])]",
             "def pair():\n    return sp.coo_matrix(np.array([[0.0, 2.0], [4.0, 0.0]])), True",
             "def nothing():\n    return None"],
}


def generation(problem: dict, codes: list) -> dict:
    """The generation dict of a problem whose steps were answered with ``codes``."""
    out, done = {}, []
    for i, code in enumerate(codes):
        done.append(code)
        out[f"{problem['problem_id']}.{i + 1}"] = step_program(problem, i, done, code)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data dir under /tmp (which the sandbox replaces by the program's work dir) with the targets."""
    root = tmp_path_factory.mktemp("data")
    build_h5(root / "scicode" / "test_data.h5")
    return root


@pytest.fixture(scope="module")
def rows():
    by_id = {p["problem_id"]: p for p in problems()}
    by_id["9104"] = KINDS
    return by_id


def graded(tmp_path: Path, lines: list, **config) -> list:
    path = tmp_path / "output-rs0.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    grade_file(path, "scicode", config)
    return read_jsonl(path)


def statuses(row: dict) -> list:
    return [s["process_status"] for s in row["eval_status"]]


def test_program_layout():
    row = problems()[1]
    program = build_program("CODE", row["sub_steps"][0], "/data/t.h5")
    assert program.startswith("CODE\nimport h5py\nimport scipy\n") and "H5PY_FILE = '/data/t.h5'" in program
    assert program.endswith("targets = process_hdf5_to_tuple('9102.1', 2)\ntarget = targets[0]\n\n"
                            "assert cmp_tuple_or_list(counts([1, 2, 3]), target)\ntarget = targets[1]\n\n"
                            "assert cmp_tuple_or_list(counts([]), target)\n")  # test lines importing scicode dropped
    assert eval_prefix("x").startswith("\n")


def test_targets_fixture_reads_back_through_scicodes_reader(data):
    """The fixture's layout is SciCode's: upstream's reader gives back the values it was built from."""
    code = ("import sys, json\nfrom scicode.parse.parse import process_hdf5_to_tuple as read\n"
            "f = sys.argv[1]\nout = {}\n"
            "for step, n in [('9101.1', 2), ('9102.1', 2), ('9102.2', 2), ('9104.1', 1), ('9104.2', 1), "
            "('9104.3', 1), ('9104.4', 0)]:\n"
            "    out[step] = [repr(v) if not hasattr(v, 'toarray') else v.format for v in read(step, n, f)]\n"
            "t = read('9104.1', 1, f)[0]\nout['dict'] = sorted(map(repr, t[2]))\n"
            "out['csr'] = t[2]['M'].toarray().tolist()\n"
            "p = read('9104.3', 1, f)[0]\nout['coo'] = [p[0].format, p[0].toarray().tolist(), repr(p[1])]\n"
            "print(json.dumps(out))\n")
    res = subprocess.run([sandbox_python(), "-c", code, str(data / "scicode" / "test_data.h5")],
                         capture_output=True, text=True, check=True)
    out = json.loads(res.stdout)
    assert out["9101.1"] == ["array([3., 6.])", "array([ 0., -1., -2.])"]
    assert out["9102.1"] == ["(3, 6)", "(0, 0)"] and out["9102.2"] == ["'even'", "'odd'"]
    assert out["9104.2"] == ["[1.5, (2+1j), array([1, 2, 3])]"] and out["9104.4"] == []
    assert out["dict"] == ["'M'", "'mean'", "2.5"]  # a key that reads as a number comes back as a float
    assert out["csr"] == [[1.0, 0.0], [0.0, 3.0]] and out["coo"] == ["coo", [[0.0, 2.0], [4.0, 0.0]], "True"]


def test_statuses_in_the_local_sandbox(tmp_path, data, rows, monkeypatch):
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    sandbox_python()
    by_id = rows
    lines = [{**by_id[pid], "generation": generation(by_id[pid], codes)} for pid, codes in RIGHT.items()]
    wrong = [
        {**by_id["9101"], "generation": generation(by_id["9101"],
                                                   [*RIGHT["9101"][:2], "def unit(v):\n    return v / 2"])},
        # the import was stripped from the answer: NameError when called (as upstream)
        {**by_id["9103"], "generation": generation(by_id["9103"], ["def root(x):\n    return math.sqrt(x)",
                                                                   RIGHT["9103"][1]])},
        {**by_id["9102"], "generation": {"9102.1": "raise SystemExit(0)", "9102.2": OUT_OF_CONTEXT}},
        {**KINDS, "generation": generation(KINDS, [RIGHT["9104"][0].replace("2.5:", "'2.5':"), *RIGHT["9104"][1:]])},
    ]
    out = graded(tmp_path, lines + wrong, data_dir=str(data))
    assert [statuses(r) for r in out] == [
        ["completed"] * 3, ["completed"] * 2, ["completed"] * 2, ["completed"] * 4,
        ["completed", "completed", "error"], ["error", "completed"], ["error", "error"],
        ["error", "completed", "completed", "completed"]]
    assert "AssertionError" in out[4]["eval_status"][2]["stderr"]
    assert "NameError: name 'math'" in out[5]["eval_status"][0]["stderr"]
    assert "SystemExit" in out[6]["eval_status"][0]["stderr"]  # exits count as errors, as in IPython
    assert list(out[0])[-1] == "eval_status" and set(out[0]["eval_status"][0]) == {"process_status", "stdout", "stderr"}


def test_timeout(tmp_path, data, rows, monkeypatch):
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    sandbox_python()
    p = rows["9103"]
    endless = generation(p, [RIGHT["9103"][0], "def double(x):\n    while True:\n        pass"])
    (row,) = graded(tmp_path, [{**p, "generation": {"9103.2": endless["9103.2"]}}], data_dir=str(data), timeout=2)
    assert statuses(row) == ["timeout"]
    assert row["eval_status"][0]["stderr"] == "Execution timed out after 2 seconds\n"


def test_missing_targets_or_unusable_sandbox_stop_with_one_line(tmp_path, data, rows, monkeypatch):
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    p = rows["9103"]
    line = {**p, "generation": generation(p, RIGHT["9103"])}
    with pytest.raises(UsageError, match=r"test_data.h5 are missing: run `ns prepare_data scicode`"):
        graded(tmp_path, [line], data_dir=str(tmp_path / "empty"))
    monkeypatch.setenv("SKILLS_SANDBOX_PYTHON", sys.executable)  # no h5py, no scicode
    with pytest.raises(UsageError, match="the sandbox cannot run SciCode's tests .*nvidia-scicode"):
        graded(tmp_path, [line], data_dir=str(data))
    assert "eval_status" not in read_jsonl(tmp_path / "output-rs0.jsonl")[0]  # the file is left as it was
    with pytest.raises(UsageError, match="not SciCode's step -> program map"):
        graded(tmp_path, [{**line, "generation": "text"}], data_dir=str(data))


@pytest.fixture(scope="module")
def service(data, tmp_path_factory):
    port = find_free_port()
    log = tmp_path_factory.mktemp("svc") / "sandbox.log"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SKILLS_SANDBOX_PYTHON": sandbox_python(),
           "SKILLS_SANDBOX_READ_ONLY_ROOTS": str(data)}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "skills.sandbox.server", "--port", str(port), "--workers", "2"],
                                stdout=fh, stderr=fh, env=env)
    try:
        wait_for_server(f"http://127.0.0.1:{port}/health", timeout_s=60, process=proc, log_path=log, poll_s=0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_statuses_through_the_sandbox_service(tmp_path, data, rows, service, monkeypatch):
    monkeypatch.setenv("SKILLS_SANDBOX_URL", service)
    p = rows["9101"]
    line = {**p, "generation": generation(p, [*RIGHT["9101"][:2], "def unit(v):\n    return v"])}
    (row,) = graded(tmp_path, [line], data_dir=str(data))
    assert statuses(row) == ["completed", "completed", "error"]
    outside = tmp_path / "elsewhere" / "test_data.h5"
    outside.parent.mkdir()
    outside.write_bytes((data / "scicode" / "test_data.h5").read_bytes())
    with pytest.raises(UsageError, match="outside the folders this service exposes"):
        graded(tmp_path, [line], test_data=str(outside))


REPORTS_LIMITS = ("\nimport os as _os, resource as _r\n"
                  "print('LIMITS', _r.getrlimit(_r.RLIMIT_CPU)[0] == _r.RLIM_INFINITY, _r.getrlimit(_r.RLIMIT_AS)[0],"
                  " _os.environ.get('OMP_NUM_THREADS'), _os.environ.get('OPENBLAS_NUM_THREADS'))\n")


@pytest.mark.parametrize("config, expected", [
    ({}, f"LIMITS True {100 * 1024 ** 3} None None"),  # the reference's: wall time only, 100 GiB, BLAS on all cores
    ({"cpu_s": 20, "memory_mb": 4096, "threads": 2}, f"LIMITS False {4096 * 1024 ** 2} 2 2"),  # ++eval_config.*
])
def test_the_references_limits_and_overrides(tmp_path, data, rows, monkeypatch, config, expected):
    monkeypatch.delenv("SKILLS_SANDBOX_URL", raising=False)
    sandbox_python()
    p = rows["9103"]
    program = generation(p, [RIGHT["9103"][0] + REPORTS_LIMITS])["9103.1"]
    (row,) = graded(tmp_path, [{**p, "generation": {"9103.1": program}}], data_dir=str(data), **config)
    assert statuses(row) == ["completed"], row["eval_status"]
    assert expected in row["eval_status"][0]["stdout"]
