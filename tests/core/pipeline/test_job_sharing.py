"""A job talking to an API shares its request slots by work (rows x seeds) over at most MAX_LANES
lanes, and grades its math files in one step (issue 26 item 4); plans only, no server."""

from __future__ import annotations

import json
import re

import pytest

from skills.cli.app import main
from skills.inference.lane import lane_argv
from skills.pipeline.jobs import MAX_LANES, job_concurrency, lane_command

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")


def plan_for(capsys, tmp_path, data_dir, benchmarks, *extra):
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:9/v1",
               "--model=m", f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}",
               f"--benchmarks={benchmarks}", *extra, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def with_rows(data_dir, counts):
    for bench, n in counts.items():
        (path,) = (data_dir / bench).glob("*.jsonl")
        path.write_text("".join(json.dumps({"problem": f"{i}+1", "expected_answer": str(i + 1), "id": f"{bench}-{i}"})
                                + "\n" for i in range(n)))


def test_slots_follow_the_work_and_commands_share_lanes(capsys, tmp_path, data_dir):
    with_rows(data_dir, {"mmlu-pro": 1200, "math-500": 50, "aime24": 3, "gpqa": 20})
    plan = plan_for(capsys, tmp_path, data_dir, "gpqa:4,math-500:4,aime24:4,mmlu-pro:1")
    (gen,) = [j for j in plan["jobs"] if j["kind"] == "generation"]
    shares = {}
    for argv in (a for a in gen["programs"] if "skills.inference.generate" in a):
        out = next(a for a in argv if a.startswith("++output_file="))
        shares[out.split("/")[-2] + "/" + out.split("/")[-1]] = int(
            next(a for a in argv if a.startswith("++max_concurrent_requests=")).split("=")[1])
    assert len(shares) == 13
    total = 1200 + 4 * (50 + 3 + 20)
    assert abs(shares["mmlu-pro/output-rs0.jsonl"] - 512 * 1200 / total) < 1  # its lane alone, by its rows
    assert all(s >= 1 for s in shares.values())
    script = gen["commands"][0]
    lanes = script.count("& pids+=")
    assert lanes == MAX_LANES  # 13 commands, 8 processes at once; the others wait their turn in a lane
    # a lane of several runs is one process (the imports paid once); every run is in one lane
    assert 1 <= script.count("-m skills.inference.lane --run") <= 13 - MAX_LANES
    assert script.count("-m skills.inference.generate") + script.count("--run skills.inference.generate") == 13
    # the slots of the lanes (each lane's commands run one after the other) add up to the job's 512
    per_lane = [int(re.search(r"\+\+max_concurrent_requests=(\d+)", line).group(1))
                for line in script.splitlines() if "& pids+=" in line]
    assert sum(per_lane) == 512 and len(per_lane) == MAX_LANES


def test_job_concurrency():
    # equal work: as before, an even split, one lane per command up to MAX_LANES
    assert job_concurrency([["++max_concurrent_requests=8"]] * 8, True) == ([1] * 8, [[k] for k in range(8)])
    assert job_concurrency([[]] * 4, True) == ([128] * 4, [[0], [1], [2], [3]])
    # fewer slots than commands: that many lanes, one slot each
    shares, lanes = job_concurrency([["++max_concurrent_requests=3"]] * 8, True)
    assert shares == [1] * 8 and sorted(k for lane in lanes for k in lane) == list(range(8)) and len(lanes) == 3
    # by work: the big command gets its share of the slots, every lane at least one
    weights = [198] * 8 + [500] * 8 + [30] * 16 + [12032]
    shares, lanes = job_concurrency([[]] * 33, True, weights)
    assert len(lanes) == MAX_LANES and sorted(k for lane in lanes for k in lane) == list(range(33))
    assert [32] in lanes and abs(shares[32] - 512 * 12032 / sum(weights)) < 1
    assert sum(shares[lane[0]] for lane in lanes) == 512
    loads = [sum(weights[k] for k in lane) / shares[lane[0]] for lane in lanes]
    assert max(loads) < 1.3 * min(loads)  # the lanes finish about together
    # a hosted server, or one command: the reference's per-command meaning
    assert job_concurrency([[]] * 4, False) == ([], [[0], [1], [2], [3]])
    assert job_concurrency([[]], True) == ([], [[0]])


def test_a_lane_runs_every_command_and_fails_if_one_did(tmp_path):
    import subprocess
    import sys

    marks = [tmp_path / f"m{k}" for k in range(3)]
    script = lane_command([f"touch {marks[0]}", "false", f"touch {marks[2]}"])
    assert subprocess.run(["bash", "-c", script]).returncode == 1
    assert marks[0].exists() and marks[2].exists()  # the failure did not stop the next command
    assert subprocess.run(["bash", "-c", lane_command(["true", "true"])]).returncode == 0
    # bare programs of a lane run in one process, each as `python -m` would run it, its argv its own
    prog = tmp_path / "prog.py"
    prog.write_text("import os, sys\nopen(sys.argv[1], 'a').write(str(os.getpid()) + ' ' + sys.argv[2] + '\\n')\n"
                    "sys.exit(int(sys.argv[2]))\n")
    log = tmp_path / "log"
    argv = lane_argv([["python", str(prog), str(log), "0"], ["python", str(prog), str(log), "3"],
                      ["python", str(prog), str(log), "0"]])
    assert argv[:3] == ["python", "-m", "skills.inference.lane"]
    done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True)
    assert done.returncode == 1 and "1 of 3 runs failed" in done.stderr
    lines = [x.split() for x in log.read_text().splitlines()]
    assert [code for _, code in lines] == ["0", "3", "0"] and len({pid for pid, _ in lines}) == 1
    assert lane_argv([["python", "-m", "m", "--run"]]) is None and lane_argv([["bash", "x"]]) is None


def test_one_math_file_in_a_job_is_graded_inside_it(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, tmp_path, data_dir, "math-500:1,gpqa:2")
    assert not [j for j in plan["jobs"] if j["kind"] == "grading"]
    assert not any("++skip_grading=True" in argv for j in plan["jobs"] for argv in j["programs"])


def test_math_files_of_one_job_share_one_grading_step(capsys, tmp_path, data_dir):
    plan = plan_for(capsys, tmp_path, data_dir, "math-500:2,aime24:1,gpqa:2")
    (grading,) = [j for j in plan["jobs"] if j["kind"] == "grading"]
    files = [a for a in grading["programs"][0] if a.endswith(".jsonl")]
    assert [f.split("/")[-2:] for f in files] == [["math-500", "output-rs0.jsonl"], ["math-500", "output-rs1.jsonl"],
                                                  ["aime24", "output-rs0.jsonl"]]
    # one job per run (--num_jobs=-1, the Slurm default): each job has one file, graded inside it
    plan = plan_for(capsys, tmp_path, data_dir, "math-500:2,aime24:1", "--num_jobs=-1")
    assert not [j for j in plan["jobs"] if j["kind"] == "grading"]


def test_a_killed_eval_resumes_and_nothing_is_lost(tmp_path, data_dir):
    """Killed while generating, then while grading: the reruns finish every file, each row once and
    graded as file-by-file grading would."""
    import os
    import signal
    import subprocess
    import time

    from skills.evaluation.math_grader import extract_answer, math_equal
    from tests.helpers.paths import NS
    from tests.helpers.stub_server import StubProcess

    answers = ["73", "\\frac{1}{2}", "12", "0.5", "7", "x^2", "100", "3"]
    for bench in ("aime24", "aime25"):
        (data_dir / bench / "test.jsonl").write_text("".join(
            json.dumps({"id": f"{bench}-{i}", "problem": f"{i}+1", "expected_answer": a}) + "\n"
            for i, a in enumerate(answers)))
    out = tmp_path / "out"
    results = out / "eval-results"
    with StubProcess(latency=0.15, answer="\\boxed{{n}}") as stub:
        cmd = [NS, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
               "--model=stub-model", f"--output_dir={out}", f"--data_dir={data_dir}",
               "--benchmarks=aime24:2,aime25:1", "++max_concurrent_requests=2"]
        top = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size for p in results.glob("*/*-async")) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(top.pid, signal.SIGKILL)  # the whole job, mid-generation
        top.wait()
        files = [results / "aime24" / "output-rs0.jsonl", results / "aime24" / "output-rs1.jsonl",
                 results / "aime25" / "output-rs0.jsonl"]
        assert not all(f.exists() for f in files)  # it was stopped before the end
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        graded = {}
        for f in files:
            rows = [json.loads(x) for x in f.read_text().splitlines()]
            assert sorted(r["id"] for r in rows) == sorted(f"{f.parent.name}-{i}" for i in range(8))
            for r in rows:
                assert r["predicted_answer"] == extract_answer(r["generation"])
                assert r["symbolic_correct"] == math_equal(r["expected_answer"], r["predicted_answer"])
            assert (f.parent / (f.name + ".done")).exists()
            graded[f] = f.read_bytes()
        assert (results / "aime24" / "metrics.json").exists() and (results / "aime25" / "metrics.json").exists()
        # killed while grading: a file generated but not graded (no .done, no verdicts) is graded on the rerun
        victim = files[1]
        (victim.parent / (victim.name + ".done")).unlink()
        victim.write_text("".join(json.dumps({k: v for k, v in json.loads(x).items()
                                              if k not in ("predicted_answer", "symbolic_correct")}) + "\n"
                                  for x in graded[victim].decode().splitlines()))
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert all(f.read_bytes() == graded[f] for f in files)
        assert (victim.parent / (victim.name + ".done")).exists()
