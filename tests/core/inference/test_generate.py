"""The generation program end to end, as a subprocess against the stub server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import List

import pytest

from tests.helpers.files import read_jsonl, write_jsonl

from tests.helpers.stub_server import StubProcess, generate_cmd

MATH = [{"problem": f"What is {i}+{i}?", "expected_answer": str(2 * i), "id": i} for i in range(6)]


def run(stub, tmp: Path, *overrides: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(generate_cmd(stub.base_url if stub else "http://127.0.0.1:9/v1", *overrides),
                          cwd=tmp, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def echo_stub(tmp_path_factory):
    record = tmp_path_factory.mktemp("stub") / "requests.jsonl"
    with StubProcess(answer="<think>step {n}</think> The answer is \\boxed{2}.", record=record,
                     reasoning_content="server thoughts") as stub:
        stub.record = record
        yield stub


def test_end_to_end_fields_and_order(echo_stub, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", MATH)
    out = tmp_path / "res" / "output.jsonl"
    res = run(echo_stub, tmp_path, f"++input_file={src}", f"++output_file={out}",
              "++prompt_config=generic/math", "++parse_reasoning=True", "++eval_type=math")
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == list(range(6))
    for r in rows:
        for key in ("generation", "num_generated_tokens", "generation_start_time", "generation_end_time",
                    "generation_time", "finish_reason", "problem", "expected_answer",
                    "predicted_answer", "symbolic_correct"):
            assert key in r, key
        assert r["generation"] == "The answer is \\boxed{2}."
        assert r["_full_generation"].startswith("<think>") and r["_generation_finished_thinking"] is True
        assert r["reasoning_content"] == "server thoughts" and "_async_position" not in r
    assert [r["symbolic_correct"] for r in rows] == [False, True, False, False, False, False]
    assert (tmp_path / "res" / "output.jsonl.done").exists()
    assert not (tmp_path / "res" / "output.jsonl-async").exists()
    assert "Example prompt" in res.stderr


def _sent_messages(stub, marker: str) -> List[list]:
    out = []
    for line in Path(stub.record).read_text().splitlines():
        body = json.loads(line)["body"]
        if marker in json.dumps(body):
            out.append(body["messages"])
    return out


@pytest.mark.parametrize("system,expected", [(None, None), ("", ""), ("/think", "/think")])
def test_system_message_variants_reach_the_server(echo_stub, tmp_path, system, expected):
    marker = f"marker-{system!r}"
    src = write_jsonl(tmp_path / "in.jsonl", [{"problem": marker}])
    args = [f"++input_file={src}", f"++output_file={tmp_path / 'o.jsonl'}", "++prompt_config=generic/math"]
    if system is not None:
        args.append(f"++system_message={system}")
    assert run(echo_stub, tmp_path, *args).returncode == 0
    (msgs,) = _sent_messages(echo_stub, marker)
    if expected is None:
        assert [m["role"] for m in msgs] == ["user"]
    else:
        assert msgs[0] == {"role": "system", "content": expected} and msgs[1]["role"] == "user"


def test_benchmark_input_stats_off_and_generation_key(echo_stub, tmp_path):
    data = tmp_path / "data" / "toy"
    data.mkdir(parents=True)
    rows = [{"problem": "p", "generation": "Answer: 4", "expected_answer": "4",
             "num_generated_tokens": 77, "generation_time": 1.5}]
    write_jsonl(data / "test.jsonl", rows)
    out = tmp_path / "judge.jsonl"
    res = run(echo_stub, tmp_path, "++benchmark=toy", f"++data_dir={tmp_path / 'data'}",
              f"++output_file={out}", "++prompt_config=judge/hle", "++generation_key=judgement",
              "++add_generation_stats=False")
    assert res.returncode == 0, res.stderr
    (row,) = read_jsonl(out)
    assert row["judgement"].startswith("<think>") and row["generation"] == "Answer: 4"
    assert row["num_generated_tokens"] == 77 and row["generation_time"] == 1.5
    assert "generation_start_time" not in row


def test_truncated_reasoning_is_no_answer(tmp_path):
    with StubProcess(answer="<think>still thinking about it", finish_reason="length") as stub:
        src = write_jsonl(tmp_path / "in.jsonl", MATH[:2])
        out = tmp_path / "o.jsonl"
        res = run(stub, tmp_path, f"++input_file={src}", f"++output_file={out}",
                  "++prompt_config=generic/math", "++parse_reasoning=True", "++eval_type=math")
    assert res.returncode == 0, res.stderr
    for row in read_jsonl(out):
        assert row["generation"] == "" and row["_generation_finished_thinking"] is False
        assert row["predicted_answer"] is None and row["finish_reason"] == "length"


def test_flaky_server_still_gives_complete_file(tmp_path):
    rows = [{"problem": f"q{i}", "id": i} for i in range(60)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "o.jsonl"
    with StubProcess(fail_every=4, fail_kinds="503,429,drop,500", retry_after="0.05", answer="a {user}") as stub:
        res = run(stub, tmp_path, f"++input_file={src}", f"++output_file={out}",
                  "++prompt_config=generic/math", "++max_concurrent_requests=8")
    assert res.returncode == 0, res.stderr
    got = read_jsonl(out)
    assert [r["id"] for r in got] == list(range(60))
    assert all(r["generation"].endswith(f"q{r['id']}") for r in got)
    assert "retried" in res.stderr


def test_skip_filled_and_dry_run(echo_stub, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", MATH[:3])
    out = tmp_path / "o.jsonl"
    res = run(echo_stub, tmp_path, f"++input_file={src}", f"++output_file={out}",
              "++prompt_config=generic/math", "++dry_run=True", "++max_samples=1")
    assert res.returncode == 0 and "What is 0+0?" in res.stderr
    assert list(tmp_path.iterdir()) == [src]
    base = [f"++input_file={src}", f"++output_file={out}", "++prompt_config=generic/math", "++max_samples=2"]
    assert run(echo_stub, tmp_path, *base).returncode == 0
    assert len(read_jsonl(out)) == 2
    out.write_text(out.read_text() + "")  # unchanged content, then a skip_filled rerun does nothing
    res = run(echo_stub, tmp_path, *base, "++skip_filled=True")
    assert res.returncode == 0 and "nothing to generate" in res.stderr


BAD_CASES = {
    "bad_json": ('{"problem": "ok"}\n{"problem": oops}\n', [], "in.jsonl:2"),
    "not_object": ('{"problem": "ok"}\n"str"\n', [], "in.jsonl:2"),
    "array_line": ('{"problem": "ok"}\n[1, 2]\n', [], "in.jsonl:2: expected a JSON object (one problem per line), got a JSON array"),
    "missing_field": ('{"problem": "ok"}\n{"question": "no problem"}\n', [], "in.jsonl:2"),
    "binary": (b'{"problem": "ok"}\n\x00\xff\xfe\x9c garbage\n', [], "in.jsonl:2: not UTF-8 text (byte 0xff"),
    "latin1": ('{"problem": "ok"}\n{"problem": "caf\u00e9"}\n'.encode("latin-1"), [], "in.jsonl:2: not UTF-8"),
    "deep": ('{"problem": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", [], "in.jsonl:2: JSON nested too deeply"),
    "huge_int": ('{"problem": "ok"}\n{"problem": ' + "7" * 5000 + "}\n", [], "in.jsonl:2: unreadable JSON value"),
    "empty": ("\n\n", [], "has no rows; nothing to generate"),
    "missing_prompt": ('{"problem": "ok"}\n', ["++prompt_config=generic/nope"], "generic/nope"),
    "missing_file": (None, [], "not found"),
    "unknown_key": ('{"problem": "ok"}\n', ["++inference.temprature=0.3"], "inference.temperature"),
    "bad_value": ('{"problem": "ok"}\n', ["++max_samples=many"], "max_samples"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_malformed_input_exits_2_cleanly(tmp_path, case):
    content, extra, expected = BAD_CASES[case]
    src = tmp_path / "in.jsonl"
    if isinstance(content, bytes):
        src.write_bytes(content)
    elif content is not None:
        src.write_text(content)
    out = tmp_path / "o.jsonl"
    args = [f"++input_file={src}", f"++output_file={out}"]
    if not any(a.startswith("++prompt_config") for a in extra):
        args.append("++prompt_config=generic/math")
    res = run(None, tmp_path, *args, *extra)
    assert res.returncode == 2, res.stderr
    assert expected in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == (["in.jsonl"] if content is not None else [])


def test_help_lists_fields():
    res = subprocess.run(generate_cmd("x", "--help"), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "inference.temperature = 0.0" in res.stdout


def test_yaml_config_and_hydra_flags(tmp_path):
    from skills.config.errors import UsageError
    from skills.inference.generate import load_config

    (tmp_path / "my.yaml").write_text("end_reasoning_string: '</think>'\nparse_reasoning: true\n"
                                      "inference:\n  temperature: 0.3\nprompt_config: generic/math\n")
    cfg = load_config([f"--config-path={tmp_path}", "--config-name=my", "++output_file=o.jsonl",
                       "++inference.top_p=0.5", "hydra.run.dir=.", "hydra/job_logging=none"])
    assert cfg.parse_reasoning and cfg.end_reasoning_string == "</think>"
    assert cfg.inference.temperature == 0.3 and cfg.inference.top_p == 0.5
    (tmp_path / "bad.yaml").write_text("bogus: 1\n")
    with pytest.raises(UsageError, match="bogus"):
        load_config([f"--config-path={tmp_path}", "--config-name=bad"])
    with pytest.raises(UsageError, match="num_chunks"):
        load_config(["++output_file=o", "++prompt_config=generic/math", "++num_chunks=2"])
    cfg = load_config(["++output_file=o", "++prompt_config=generic/math", "++system_message=",
                       "++chat_template_kwargs.enable_thinking=false"])
    assert cfg.system_message == "" and cfg.inference.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}


def test_soft_fail_records_errors_instead_of_ending_the_run(tmp_path):
    rows = [{"problem": f"q{i}", "id": i} for i in range(12)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    with StubProcess(fail_every=3, fail_kinds="400", answer="a {user}") as stub:
        hard = run(stub, tmp_path, f"++input_file={src}", f"++output_file={tmp_path / 'hard.jsonl'}",
                   "++prompt_config=generic/math")
        soft = run(stub, tmp_path, f"++input_file={src}", f"++output_file={tmp_path / 'soft.jsonl'}",
                   "++prompt_config=generic/math", "++soft_fail=True")
    assert hard.returncode == 1 and "HTTP 400" in hard.stderr
    assert not (tmp_path / "hard.jsonl").exists() and not (tmp_path / "hard.jsonl.done").exists()
    assert soft.returncode == 0, soft.stderr
    got = read_jsonl(tmp_path / "soft.jsonl")
    assert [r["id"] for r in got] == list(range(12))
    failed = [r for r in got if "error" in r]
    assert failed and all(r["generation"] == "" and "HTTP 400" in r["error"] for r in failed)
    assert all(f"q{r['id']}" in r["generation"] for r in got if "error" not in r)


def test_rows_in_progress_stay_within_a_window(tmp_path):
    """The request loop takes rows as its window moves (two per request slot), never all at once:
    memory does not grow with the input. Every row is still done exactly once."""
    import asyncio

    from skills.inference.config import GenerateConfig
    from skills.inference.program import WINDOW_PER_SLOT, GenerationTask, run_requests
    from skills.inference.resume import Journal, finalize

    with StubProcess(latency=0.01, answer="echo {user}") as stub:
        cfg = GenerateConfig(prompt_config="generic/math", output_file=str(tmp_path / "o.jsonl"))
        cfg.server.server_type, cfg.server.base_url, cfg.server.model = "vllm", stub.base_url, "m"
        cfg.max_concurrent_requests = 3
        journal = Journal(tmp_path / "o.jsonl", cfg.async_position_key)
        journal.open()
        added: List[int] = []
        add = journal.add
        journal.add = lambda i, row: (added.append(i), add(i, row))  # type: ignore[method-assign]
        in_progress: List[int] = []

        def items():
            for i in range(60):
                in_progress.append(i - len(added))  # rows taken before this one and not finished yet
                yield i, {"id": i}, [{"role": "user", "content": str(i)}], None

        asyncio.run(run_requests(GenerationTask(cfg), items(), journal, 60, 60))
        journal.close()
    assert max(in_progress) == WINDOW_PER_SLOT * 3 - 1
    assert sorted(added) == list(range(60))
    finalize(tmp_path / "o.jsonl", cfg.async_position_key, 60)
    assert [(r["id"], r["generation"]) for r in read_jsonl(tmp_path / "o.jsonl")] == [(i, f"echo {i}") for i in range(60)]
