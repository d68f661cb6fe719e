"""SciCode data preparation and generation (no model server): prompts, code extraction, prefilled
steps, the out-of-context case, and the program's output line."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml

from tests.helpers.files import read_jsonl
from tests.benchmarks.scicode.helpers import PROBLEMS, PROMPT
from skills.registry.spec import PrepareContext
from skills.benchmarks.scicode import PREFILLED_SHA256, PREFILLED_STEPS
from skills.benchmarks.scicode import prepare as P
from skills.benchmarks.scicode.generate import GENERATION_FAILED, SciCodeGenerateConfig, SciCodeTask
from skills.benchmarks.scicode.steps import OUT_OF_CONTEXT, extract_code, function_name, prefilled_code
from skills.config.errors import UsageError
from skills.inference.client import Completion, GenerationError

# sha256 of the code given for the three prefilled steps, as the reference's prompts show it
PREFILLED_CODE_SHA256 = {
    "13.6": "8913e2873c2279082e9d293f4de49c5d9716a133ff207b591a3e2597f25e466c",
    "62.1": "8f622de83adde9a9cf535125a87690ca6bbd5c63dffb231bc4a1f59f835617d9",
    "76.3": "ff372b004368f5e2dfa3133ea9c9d285b53776360dbabd77f09b9aac34f16cc1",
}
# what vLLM 0.32 answers for a prompt longer than the context
VLLM_TOO_LONG = ("HTTP 400 from http://x/v1/chat/completions: {\"error\":{\"message\":\"This model's maximum "
                 "context length is 2048 tokens. However, your prompt contains at least 2049 input tokens, which "
                 "exceeds this limit even without any output tokens. Please reduce the length of the input prompt. "
                 "(parameter=input_tokens, value=2049)\",\"type\":\"BadRequestError\"}}")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, mirror_dir):
    data = tmp_path_factory.mktemp("data")
    written = P.prepare(PrepareContext(data_dir=data, mirror=mirror_dir))
    return data, written


def _rows(data: Path, split: str) -> List[dict]:
    return read_jsonl(data / "scicode" / f"{split}.jsonl")


# ----------------------------------------------------------------------------- prepare
def test_prepare_from_mirror_counts_and_bytes(prepared, mirror_dir, capsys):
    data, written = prepared
    dev, test, aai = (_rows(data, s) for s in ("dev", "test", "test_aai"))
    assert (len(dev), len(test), len(aai)) == (15, 65, 80)
    assert aai == dev + test
    steps = [(r["problem_id"], i) for r in aai for i in range(len(r["sub_steps"]))]
    assert len(steps) == 341 and len([s for s in steps if s not in PREFILLED_STEPS]) == 338
    # upstream rows unchanged: the mirror's lines round-trip byte for byte
    assert (data / "scicode" / "dev.jsonl").read_bytes() == (mirror_dir / "scicode" / "problems_dev.jsonl").read_bytes()
    assert (data / "scicode" / "test_aai.jsonl").read_bytes() == (
        (mirror_dir / "scicode" / "problems_dev.jsonl").read_bytes()
        + (mirror_dir / "scicode" / "problems_all.jsonl").read_bytes())
    for step, sha in PREFILLED_SHA256.items():
        path = data / "scicode" / "prefilled" / f"{step}.txt"
        assert path in written and hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert not (data / "scicode" / "test_data.h5").exists()  # not in the mirror: reported, not faked


def test_prepare_reports_missing_targets_and_rejects_bad_copies(tmp_path, mirror_dir, monkeypatch, capsys):
    mirror = tmp_path / "mirror" / "scicode"
    mirror.mkdir(parents=True)
    for name in ("problems_dev.jsonl", "problems_all.jsonl"):
        (mirror / name).write_bytes((mirror_dir / "scicode" / name).read_bytes())
    ctx = PrepareContext(data_dir=tmp_path / "data", mirror=mirror.parent, split="dev")
    P.prepare(ctx)
    assert "test_data.h5 is not in the mirror" in capsys.readouterr().err
    good = b"HDF5 stand-in of known size and digest"
    monkeypatch.setattr(P, "TEST_DATA_SIZE", len(good))
    monkeypatch.setattr(P, "TEST_DATA_SHA256", hashlib.sha256(good).hexdigest())
    (mirror / "test_data.h5").write_bytes(good[::-1])  # right size, wrong content
    with pytest.raises(UsageError, match="sha256"):
        P.prepare(ctx)
    (mirror / "test_data.h5").write_bytes(good + b"<html>")
    with pytest.raises(UsageError, match="not SciCode's test_data.h5"):
        P.prepare(ctx)
    (mirror / "test_data.h5").write_bytes(good)
    P.prepare(ctx)
    dest = tmp_path / "data" / "scicode" / "test_data.h5"
    assert dest.read_bytes() == good and dest.stat().st_mode & 0o044 == 0o044  # readable by the sandbox user
    with pytest.raises(UsageError, match="unknown prepare_data option --bogus"):
        P.prepare(PrepareContext(data_dir=tmp_path / "d2", mirror=mirror.parent, extra={"bogus": "1"}))


def test_prepare_download_failure_names_the_way_out(tmp_path, monkeypatch):
    def fake_download(url, dest, **_):
        Path(dest).write_bytes(b"<html>Google Drive can't scan this file for viruses</html>")
        return Path(dest)

    monkeypatch.setattr(P, "download", fake_download)
    with pytest.raises(UsageError, match="--skip_test_data"):
        P.prepare_test_data(PrepareContext(data_dir=tmp_path), tmp_path / "scicode" / "test_data.h5")
    assert not list((tmp_path / "scicode").iterdir())  # nothing half-written left behind


# ----------------------------------------------------------------------------- code extraction
@pytest.mark.parametrize("response, code", [
    ("x = 1\nimport os\ny = 2", "x = 1\n\ny = 2"),  # no fences: the whole answer
    ("Here:\n```python\nimport numpy as np\n\ndef f(v):\n    return v\n```\ntext", "\n\ndef f(v):\n    return v\n"),
    ("```\nfrom a.b import c\nz = 3\n```", "\nz = 3\n"),  # first fenced block; its newline goes too
    ("```py\nz = 3\n```", "py\nz = 3\n"),  # the tag stays (reference behaviour)
    ("a ```python\nw = 1\n``` b ```python\nw = 2\n```", "\nw = 1\n"),  # the first python block
    ("```python\ndef f():\n    import math\n    return 1\n```", "\ndef f():\n\n    return 1\n"),  # indented too
    ("a\n\n\nimport os\nb", "a\n\nb"),  # blank lines before an import go with it
    ("from here on we\nimport x\ny=1", "\ny=1"),  # `from ... import` may span lines
    ("importlib_x = 2\nfrom_y = 3", "importlib_x = 2\nfrom_y = 3"),  # not import statements
])
def test_extract_code(response, code):
    assert extract_code(response) == code


def test_function_name_of_headers():
    assert function_name("def f_1 (x):\n    '''d'''") == "f_1"
    assert function_name("class Slater:\n    def __init__(self, a):") == "__init__"  # first def wins
    assert function_name("class Maxwell(object):\n    '''x'''") == "Maxwell"
    with pytest.raises(ValueError):
        function_name("x = 1")


# ----------------------------------------------------------------------------- generation
class FakeClient:
    """Answers step k of a problem with fenced code (and an import line the module must strip);
    raises ``error`` for the steps in ``fail``."""

    def __init__(self, fail=(), error: str = VLLM_TOO_LONG):
        self.sent: List[list] = []
        self.fail, self.error = set(fail), error

    async def complete(self, cfg, messages=None, prompt=None, **_):
        self.sent.append(messages)
        n = len(self.sent)
        if n in self.fail:
            raise GenerationError(self.error)
        return Completion(text=f"Sure.\n```python\nimport numpy as np\ndef answer_{n}():\n    return {n}\n```",
                          num_generated_tokens=10 + n, finish_reason="stop")


def code_of(n: int) -> str:
    return f"\ndef answer_{n}():\n    return {n}\n"


def expected_user(template: str, problem: dict, i: int, codes: list, background: bool) -> str:
    """The prompt of step i from the documented rules, written out independently of the module."""
    steps = problem["sub_steps"]

    def text(s):
        return s["step_description_prompt"] + ("\n" + s["step_background"] if background else "")

    done = ""
    for k in range(i):
        done += ("\n\n------\n\n" if k else "") + text(steps[k]) + "\n\n" + codes[k]
    nxt = text(steps[i]) + "\n\n" + steps[i]["function_header"] + "\n\n" + steps[i]["return_line"]
    return template.format(problem_steps_str=done, next_step_str=nxt,
                           dependencies=problem["required_dependencies"])


def run_problems(rows, data_dir: Path, client: FakeClient, **overrides):
    cfg = SciCodeGenerateConfig(output_file="unused", **overrides)
    task = SciCodeTask(cfg)
    src = data_dir / "scicode" / "test_aai.jsonl"
    problems = task.prepare([(i + 1, r) for i, r in enumerate(rows)], src)
    return task, [asyncio.run(task.process(r, p, client)) for r, p in zip(rows, problems)]


@pytest.mark.parametrize("background", [True, False])
def test_prompts_equal_the_reference_template_filled_per_step(prepared, shared_dir, background):
    """With ++prompt_config=<the reference's template> every request is that template filled with
    the step (real problems: dev 29, and 62 / 76 whose steps 62.1 and 76.3 are given)."""
    data, _ = prepared
    template_file = shared_dir / "datasets" / "nemo-skills-prompts" / "config" / "eval" / "scicode" / "default.yaml"
    template = yaml.safe_load(template_file.read_text())["user"]
    rows = {r["problem_id"]: r for r in _rows(data, "test_aai")}
    chosen = [rows["29"], rows["62"], rows["76"]]
    client = FakeClient()
    _, outs = run_problems(chosen, data, client, prompt_config=str(template_file), with_background=background)
    sent = iter(client.sent)
    n = 0
    for problem, out in zip(chosen, outs):
        pid, steps = problem["problem_id"], problem["sub_steps"]
        codes, keys = [], []
        for i, step in enumerate(steps):
            if (pid, i) in PREFILLED_STEPS:
                txt = (data / "scicode" / "prefilled" / f"{step['step_number']}.txt").read_text()
                given = prefilled_code(txt, step["function_header"])
                assert hashlib.sha256(given.encode()).hexdigest() == PREFILLED_CODE_SHA256[step["step_number"]]
                codes.append(given)
                continue
            n += 1
            assert next(sent) == [{"role": "user", "content": expected_user(template, problem, i, codes, background)}]
            codes.append(code_of(n))
            keys.append(f"{pid}.{i + 1}")
            program = out["generation"][f"{pid}.{i + 1}"]
            earlier = "\n".join(codes[:i])
            head = problem["required_dependencies"] + "\n" + (earlier + "\n" if earlier else "")
            assert program == head + "\n" + code_of(n)
        assert list(out["generation"]) == keys  # prefilled steps get no key
        assert list(out["full_outputs"]) == keys and out["num_generated_tokens"] == sum(
            o["num_generated_tokens"] for o in out["full_outputs"].values())
        assert out["problem_id"] == pid and out["sub_steps"] == steps  # the row's fields follow
    assert next(sent, None) is None and n == 3 + 5 + 3  # 29: 3 steps, 62: 6 - 1 given, 76: 4 - 1


def test_out_of_context_keys_follow_the_reference(prepared):
    """Problem 13 (15 steps, 13.6 given) overflowing at 13.2: 13.1 is kept, every later step is
    `_ran_out_of_context_` under the reference's off-by-one keys (13.2 twice, 13.6, no 13.15)."""
    data, _ = prepared
    row = next(r for r in _rows(data, "test") if r["problem_id"] == "13")
    client = FakeClient(fail={2})
    _, (out,) = run_problems([row], data, client, prompt_config=str(PROMPT))
    gen = out["generation"]
    assert list(gen) == ["13.1", "13.2", "13.3", "13.4", *[f"13.{k}" for k in range(6, 15)]]
    assert gen["13.1"].endswith(code_of(1)) and all(v == OUT_OF_CONTEXT for k, v in gen.items() if k != "13.1")
    assert len(client.sent) == 2 and list(out["full_outputs"]) == ["13.1"]


def test_other_server_errors_are_not_mistaken_for_overflow(prepared):
    data, _ = prepared
    row = _rows(data, "dev")[0]
    with pytest.raises(GenerationError, match="HTTP 500"):
        run_problems([row], data, FakeClient(fail={1}, error="HTTP 500 from x: boom"), prompt_config=str(PROMPT))


def test_soft_failed_problem_counts_every_step_as_wrong(prepared):
    data, _ = prepared
    row = next(r for r in _rows(data, "test") if r["problem_id"] == "76")
    task, _ = run_problems([row], data, FakeClient(), prompt_config=str(PROMPT))
    out = task.failed(row, GenerationError("retries exhausted"))
    assert out["generation"] == {f"76.{k}": GENERATION_FAILED for k in (1, 2, 4)}  # 76.3 is given
    assert out["error"] == "retries exhausted"


def test_missing_prefilled_code_is_a_clear_error(prepared, tmp_path):
    data, _ = prepared
    row = next(r for r in _rows(data, "test") if r["problem_id"] == "62")
    with pytest.raises(UsageError, match="62.1 is missing.*ns prepare_data scicode"):
        run_problems([row], data, FakeClient(), prompt_config=str(PROMPT), prefilled_dir=str(tmp_path))
    with pytest.raises(UsageError, match="lacks return_line"):
        bad = {**row, "sub_steps": [{k: v for k, v in row["sub_steps"][1].items() if k != "return_line"}]}
        run_problems([bad], data, FakeClient(), prompt_config=str(PROMPT))


def test_generation_program_writes_one_line_per_problem_and_resumes(tmp_path):
    """The module as a program against the stub server: one line per problem, in input order;
    a rerun after an interruption generates only the problems not yet in the journal."""
    from tests.helpers.stub_server import StubProcess

    src = tmp_path / "scicode" / "test_aai.jsonl"
    src.parent.mkdir()
    src.write_text(PROBLEMS.read_text())
    out = tmp_path / "out" / "output.jsonl"
    record = tmp_path / "requests.jsonl"

    def run(stub):
        cmd = [sys.executable, "-m", "skills.benchmarks.scicode.generate", "++server.server_type=vllm",
               f"++server.base_url={stub.base_url}", "++server.model=stub", f"++input_file={src}",
               f"++output_file={out}", f"++prompt_config={PROMPT}", "++skip_filled=True"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    with StubProcess(answer="```python\ndef step_{n}():\n    return {n}\n```", record=record) as stub:
        res = run(stub)
        assert res.returncode == 0, res.stderr
        rows = read_jsonl(out)
        assert [r["problem_id"] for r in rows] == ["9101", "9102", "9103", "9105"]
        assert [list(r["generation"]) for r in rows] == [["9101.1", "9101.2", "9101.3"], ["9102.1", "9102.2"],
                                                        ["9103.1", "9103.2"], ["9105.1", "9105.2", "9105.3"]]
        assert "Example prompt:\n" in res.stderr and "Next:\\nWrite scale(v, k)" in res.stderr  # JSON-escaped
        assert len(read_jsonl(record)) == 10
        # interrupted after the first problem: its journal line survives, the final file does not
        journal = Path(f"{out}-async")
        journal.write_text(json.dumps({**rows[0], "_async_position": 0}) + "\n")
        out.unlink()
        Path(f"{out}.done").unlink()
        record.write_text("")
        assert run(stub).returncode == 0
        again = read_jsonl(out)
        assert again[0] == rows[0] and [r["problem_id"] for r in again] == ["9101", "9102", "9103", "9105"]
        assert len(read_jsonl(record)) == 7  # only the problems after 9101 were generated again


# ----------------------------------------------------------------------------- plan
def test_eval_plan_defaults_and_sandbox_sidecar(tmp_path, capsys, no_cluster_config_env):
    from skills.cli.app import main

    data = tmp_path / "data"
    (data / "scicode").mkdir(parents=True)
    (data / "scicode" / "test_aai.jsonl").write_text(PROBLEMS.read_text())
    argv = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=m", "--benchmarks=scicode:2", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
            "--dry_run", "--dry_run_format=json"]
    # the grading inputs (BenchmarkSpec.grading_inputs) are checked when the run is planned, not after generation
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"scicode: grading needs {data / 'scicode' / 'test_data.h5'} (the data folder), which does not exist: " \
           "run `ns prepare_data scicode`" in err and len(err.strip().splitlines()) == 1
    assert main([*argv, f"++eval_config.test_data={tmp_path / 'nope.h5'}"]) == 2
    assert f"grading needs {tmp_path / 'nope.h5'} (++eval_config.test_data)" in capsys.readouterr().err
    (data / "scicode" / "test_data.h5").write_bytes(b"targets")  # planning checks that it is there, not its content
    rc = main(argv)
    plan = json.loads(capsys.readouterr().out)
    assert rc == 0
    (job,) = [j for j in plan["jobs"] if j["kind"] == "generation"]
    argv = job["programs"][0]
    assert argv[:3] == ["python", "-m", "skills.benchmarks.scicode.generate"]
    assert "++prompt_config=eval/scicode/default" in argv and "++eval_type=scicode" in argv
    assert f"++input_file={data / 'scicode' / 'test_aai.jsonl'}" in argv
    (sidecar,) = job["sidecars"]
    assert sidecar["name"] == "sandbox"
    # programs may read the targets under the data folder, nothing else the service user can read
    assert sidecar["env"]["SKILLS_SANDBOX_READ_ONLY_ROOTS"] == str(data)
    base = ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=m", "--benchmarks=scicode", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}", "--dry_run"]
    assert main([*base, "++with_background=False", "++eval_config.timeout=60"]) == 0  # the module's own keys
    capsys.readouterr()
    assert main([*base, "++with_backgrond=False"]) == 2 and "with_background" in capsys.readouterr().err
    assert main([*base, "++eval_config.timeout=-1"]) == 2 and "timeout" in capsys.readouterr().err
