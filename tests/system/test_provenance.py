"""One setting per table, and a manifest that tells the truth (issue 25 items 2 and 3).

Each finished output records the settings it was made with (``<output>.settings.json``): ``ns eval``
and ``ns generate`` refuse to add seeds to, or call done, outputs made with other settings;
``ns summarize_results`` refuses a table whose seeds disagree (or splits it); outputs of an earlier
version (nothing recorded) are said to be unchecked, not refused. A run's manifest claims only the
files it wrote, so a no-op re-run keeps what the files were made with. All against the stub server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import FIXTURES
from tests.helpers.stub_server import StubProcess

NS = str(Path(sys.executable).parent / "ns")
ANSWER = "The answer is \\boxed{1}."


def _rows(path: Path, n: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": i, "problem": f"What is {i} + 1?", "expected_answer": str(i + 1)}) + "\n"
                            for i in range(n)))
    return path


def _eval(stub, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    data = tmp_path / "data"
    if not (data / "aime24" / "test.jsonl").exists():
        _rows(data / "aime24" / "test.jsonl")
    args = [NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
            f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", "--benchmarks=aime24:2", "--model=m", *extra]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def _generate(stub, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([NS, "generate", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
                           "--model=stub-model", f"--input_file={src}", f"--output_dir={out}", "++eval_type=math",
                           *extra], capture_output=True, text=True, timeout=300)


def _refusal(res: subprocess.CompletedProcess) -> str:
    """The one error line of a refused command."""
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [line for line in res.stderr.splitlines() if "made with" in line]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def _summarize(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([NS, "summarize_results", str(out), "--metric_type=math", *extra], capture_output=True,
                          text=True, timeout=300)


def test_eval_refuses_to_add_seeds_to_or_call_done_outputs_made_with_other_settings(tmp_path):
    results = tmp_path / "out" / "eval-results" / "aime24"
    with StubProcess(answer=ANSWER) as stub:
        first = _eval(stub, tmp_path, "++inference.temperature=0.6")
        assert first.returncode == 0, first.stdout + first.stderr
        recorded = json.loads((results / "output-rs1.jsonl.settings.json").read_text())
        assert recorded["inference.temperature"] == 0.6 and recorded["server.model"] == "m"
        assert "inference.random_seed" not in recorded  # seeds of one setting differ only in it
        same = _eval(stub, tmp_path, "++inference.temperature=0.6")
        assert same.returncode == 0 and "2 of 2 runs already done" in same.stdout + same.stderr
        # that re-run (only its summary job ran) claims none of the files it found
        merged = json.loads((tmp_path / "out" / "manifest.json").read_text())
        first_run, noop_run = merged["runs"]
        assert set(merged["files"].values()) == {first_run} and merged["benchmarks"]["aime24"]["run"] == first_run
        noop = json.loads((tmp_path / "out" / "manifests" / f"{noop_run}.json").read_text())
        assert noop["benchmarks"]["aime24"]["outputs"] == []
        # more seeds at another temperature: refused before anything runs, naming what differs and the ways on
        more = _refusal(_eval(stub, tmp_path, "--benchmarks=aime24:4", "++inference.temperature=0.7"))
        assert "output-rs0.jsonl, output-rs1.jsonl" in more and "inference.temperature 0.6 -> 0.7" in more
        assert "--output_dir" in more and "--rerun_done" in more
        assert not (results / "output-rs2.jsonl").exists()
        # the same seeds with another model or token budget are not "already done" either
        assert "server.model \"m\" -> \"other\"" in _refusal(_eval(stub, tmp_path, "++inference.temperature=0.6",
                                                             "--model=other"))
        assert "inference.tokens_to_generate unset -> 64" in _refusal(
            _eval(stub, tmp_path, "++inference.temperature=0.6", "++inference.tokens_to_generate=64"))
        # --rerun_done makes them again with this run's settings: one setting in the folder
        again = _eval(stub, tmp_path, "--benchmarks=aime24:4", "++inference.temperature=0.7", "--rerun_done")
        assert again.returncode == 0, again.stdout + again.stderr
    temps = {json.loads((results / f"output-rs{s}.jsonl.settings.json").read_text())["inference.temperature"]
             for s in range(4)}
    assert temps == {0.7}
    assert _summarize(tmp_path / "out").returncode == 0


def test_generate_sees_a_changed_prompt_file(tmp_path):
    src = _rows(tmp_path / "in.jsonl")
    prompt = tmp_path / "p.yaml"
    prompt.write_text("user: 'Solve: {problem}'\n")
    out = tmp_path / "gen"
    with StubProcess(answer=ANSWER) as stub:
        assert _generate(stub, src, out, "--num_random_seeds=2", f"++prompt_config={prompt}").returncode == 0
        prompt.write_text("user: 'Think, then solve: {problem}'\n")  # same name, other words
        line = _refusal(_generate(stub, src, out, "--num_random_seeds=3", f"++prompt_config={prompt}"))
    assert "prompt wording changed" in line and "--output_dir" in line and "sha256" not in line


def _two_settings(tmp_path: Path, stub) -> Path:
    """A folder whose seeds 0, 1 were made at temperature 0.6 and seeds 2, 3 at 0.7 (copied in: the
    planners no longer make such a folder)."""
    src = _rows(tmp_path / "in.jsonl")
    out, other = tmp_path / "a" / "bench", tmp_path / "b" / "bench"
    assert _generate(stub, src, out, "--num_random_seeds=2", "++prompt_config=generic/math",
                     "++inference.temperature=0.6").returncode == 0
    assert _generate(stub, src, other, "--random_seeds=2,3", "++prompt_config=generic/math",
                     "++inference.temperature=0.7").returncode == 0
    for f in other.glob("output-rs*"):
        shutil.copy(f, out / f.name)
    return out


def test_summarize_refuses_a_table_of_two_settings_or_splits_it(tmp_path):
    with StubProcess(answer=ANSWER) as stub:
        out = _two_settings(tmp_path, stub)
    refused = _summarize(out)
    assert refused.returncode == 2 and refused.stdout == ""
    (line,) = [x for x in refused.stderr.splitlines() if x.strip()]
    assert "seeds 0, 1 vs seeds 2, 3: inference.temperature 0.6 -> 0.7" in line and "--split_by_settings" in line
    assert not (out / "metrics.json").exists()
    # ns compare (and ns report) score a folder as one setting too: refused alike
    compared = subprocess.run([NS, "compare", str(tmp_path / "b"), str(tmp_path / "a"), "--metric_type=math"],
                              capture_output=True, text=True, timeout=300)
    assert compared.returncode == 2 and "seeds 0, 1 vs seeds 2, 3: inference.temperature 0.6" in compared.stderr
    split = _summarize(out, "--split_by_settings")
    assert split.returncode == 0, split.stderr
    titles = [x.strip("- ") for x in split.stdout.splitlines() if x.startswith("---")]
    assert titles == ["bench [inference.temperature=0.6]", "bench [inference.temperature=0.7]"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"bench [inference.temperature=0.6]", "bench [inference.temperature=0.7]"}
    assert all("pass@1[avg-of-2]" in m for m in metrics.values())  # two seeds in each table, not four


def test_outputs_from_before_are_unknown_not_refused(tmp_path):
    src = _rows(tmp_path / "in.jsonl")
    out = tmp_path / "bench"
    with StubProcess(answer=ANSWER) as stub:
        assert _generate(stub, src, out, "--num_random_seeds=2", "++prompt_config=generic/math",
                         "++inference.temperature=0.6").returncode == 0
        for f in out.glob("*.settings.json"):  # as an earlier version left them
            f.unlink()
        more = _generate(stub, src, out, "--num_random_seeds=4", "++prompt_config=generic/math",
                         "++inference.temperature=0.7")
    assert more.returncode == 0, more.stdout + more.stderr
    said = (more.stdout + more.stderr).count("record no settings")
    assert said == 1, more.stdout + more.stderr
    table = _summarize(out)
    assert table.returncode == 0, table.stderr
    assert table.stderr.count("record no settings") == 1 and "pass@1[avg-of-4]" in table.stdout


def test_a_run_claims_only_the_files_it_wrote(tmp_path):
    src = _rows(tmp_path / "in.jsonl")
    out = tmp_path / "bench"
    with StubProcess(answer=ANSWER) as stub:
        assert _generate(stub, src, out, "--num_random_seeds=2", "++prompt_config=generic/math").returncode == 0
        (first,) = json.loads((out / "manifest.json").read_text())["runs"]
        # two more seeds, same settings (the concurrency is not one of them): those two are this run's
        assert _generate(stub, src, out, "--num_random_seeds=4", "++prompt_config=generic/math",
                         "++max_concurrent_requests=3").returncode == 0
    merged = json.loads((out / "manifest.json").read_text())
    third = merged["runs"][-1]
    assert merged["files"] == {"output-rs0.jsonl": first, "output-rs1.jsonl": first,
                               "output-rs2.jsonl": third, "output-rs3.jsonl": third}
    # so the summary can say that the table's files come from two runs with different settings
    table = _summarize(out)
    assert table.returncode == 0 and "its files come from different runs: overrides differs between run" in table.stderr


def test_a_no_op_rerun_keeps_the_prompt_source_of_the_files_it_found(tmp_path):
    prompt = tmp_path / "p.yaml"
    prompt.write_text("user: 'Solve: {problem}'\n")
    out = tmp_path / "out"
    with StubProcess(answer=ANSWER) as stub:
        assert _eval(stub, tmp_path, f"++prompt_config={prompt}").returncode == 0
        found = json.loads((out / "manifest.json").read_text())["benchmarks"]["aime24"]["prompt"]
        assert found["source"] == f"file:{prompt}"
        for f in out.rglob("*.settings.json"):  # made by an earlier version: nothing to compare with
            f.unlink()
        noop = _eval(stub, tmp_path)  # the benchmark's own prompt: our wording here, but nothing is generated
        assert noop.returncode == 0 and "2 of 2 runs already done" in noop.stdout + noop.stderr
    merged = json.loads((out / "manifest.json").read_text())
    assert len(merged["runs"]) == 2 and merged["benchmarks"]["aime24"]["prompt"] == found


def test_chunks_of_a_seed_record_their_settings_for_the_merged_file(tmp_path):
    src = _rows(tmp_path / "in.jsonl", 5)
    out = tmp_path / "bench"
    with StubProcess(answer=ANSWER) as stub:
        assert _generate(stub, src, out, "--num_random_seeds=1", "--num_chunks=2", "++prompt_config=generic/math",
                         "++inference.temperature=0.6").returncode == 0
        recorded = json.loads((out / "output-rs0.jsonl.settings.json").read_text())
        assert recorded["inference.temperature"] == 0.6 and "chunk_id" not in recorded
        assert not list(out.glob("*_chunk_*.settings.json"))  # gone with the chunk files
        same = _generate(stub, src, out, "--num_random_seeds=1", "--num_chunks=2", "++prompt_config=generic/math",
                         "++inference.temperature=0.6")
        assert same.returncode == 0 and "already done" in same.stdout + same.stderr
        # unchunked, same settings: the same output (chunks are not a setting)
        whole = _generate(stub, src, out, "--num_random_seeds=2", "++prompt_config=generic/math",
                          "++inference.temperature=0.6")
        assert whole.returncode == 0, whole.stdout + whole.stderr
        line = _refusal(_generate(stub, src, out, "--num_random_seeds=1", "--num_chunks=2",
                                  "++prompt_config=generic/math", "++inference.temperature=0.7", "--rerun_done"))
    assert "output-rs1.jsonl" in line and "output-rs0.jsonl" not in line  # rs0 is made again; rs1 would stay
    assert "remove them" in line


def test_judged_files_made_by_another_judge_are_not_done(tmp_path, monkeypatch):
    from skills.cli.app import main

    monkeypatch.delenv("SKILLS_DATA_MIRROR", raising=False)
    data = tmp_path / "data"
    fixtures = FIXTURES
    assert main(["prepare_data", "hle", f"--data_dir={data}", f"--mirror={fixtures}"]) == 0

    def run(gen, judge, *extra):
        return subprocess.run(
            [NS, "eval", "--cluster=local", "--server_type=openai", f"--server_address={gen.base_url}",
             "--model=stub-model", "--judge_server_type=openai", f"--judge_server_address={judge.base_url}",
             "--benchmarks=hle:1", f"--data_dir={data}", f"--output_dir={tmp_path / 'out'}", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "OPENAI_API_KEY": "sk-x"})

    with StubProcess(answer="The answer is \\boxed{42}.") as gen, \
            StubProcess(answer="extracted_final_answer: 42\nJudgement: yes") as judge:
        first = run(gen, judge, "--judge_model=judge-a")
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
        judged = json.loads((tmp_path / "out" / "eval-results" / "hle" / "output-rs0.jsonl.settings.json").read_text())
        assert judged["server.model"] == "judge-a" and judged["input: server.model"] == "stub-model"
        assert run(gen, judge, "--judge_model=judge-a").returncode == 0
        line = _refusal(run(gen, judge, "--judge_model=judge-b"))
    assert line.startswith("Error: hle judge: output-rs0.jsonl") and 'server.model "judge-a" -> "judge-b"' in line
