"""``ns robust_eval`` (one ``ns eval`` plan per prompt variant of the reference's prompt set config,
then the summarize job) and ``ns summarize_robustness`` (numbers worked out by hand from the
reference's formulas on hand-made result folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills.cli.app import main
from skills.inference.config import GenerateConfig
from skills.inference.settings import load_config
from tests.helpers.files import write_jsonl

# the reference's robustness/prompt_set_config at the pin: ten variants per benchmark; the
# multiple-choice ones that do not answer in \boxed{} carry an extract_regex
GPQA = ["aai_1", "aai_2", "boxed_1", "boxed_2", "correct_1", "correct_2", "final_answer_1", "final_answer_2",
        "angle_brackets_1", "angle_brackets_2"]
MATH = [f"boxed_{i}" for i in range(1, 9)] + ["boxed_aai", "boxed_general"]
REGEX = {"correct": r"(?i)The correct answer choice is\:*\**\s*\**([A-Za-z])",
         "final_answer": r"(?i)Final answer\b[\s\n\*\-–—\[:]*([A-Z])\b",
         "angle_brackets": r"<<([A-Za-z])>>"}


@pytest.fixture
def robust_data(data_dir):
    (data_dir / "comp-math-24-25").mkdir()
    (data_dir / "comp-math-24-25" / "test.jsonl").write_text('{"problem": "1+1", "expected_answer": "2"}\n')
    return data_dir


def _plan(capsys, argv):
    rc = main(["robust_eval", "--cluster=local", "--server_type=openai", "--model=m",
               "--server_address=http://h:1/v1", *argv, "--dry_run", "--dry_run_format=json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


def test_one_eval_per_prompt_variant(capsys, tmp_path, robust_data, no_cluster_config_env):
    out = tmp_path / "rob"
    plan = _plan(capsys, [f"--output_dir={out}", "--benchmarks=gpqa:2,comp-math-24-25",
                          "--prompt_set_config=robustness/prompt_set_config", f"--data_dir={robust_data}",
                          "++inference.temperature=0.6"])
    gen = [j for j in plan["jobs"] if j["kind"] == "generation"]
    assert len(gen) == len(GPQA) + len(MATH)  # local: each variant's eval packs its runs into one job
    seen = {}
    for job in gen:
        bench = job["benchmarks"][0]
        for argv in job["programs"]:
            cfg = load_config(argv[3:], GenerateConfig, check=False)  # the settings the program will read
            family = "mcq_prompts" if bench == "gpqa" else "math_prompts"
            variant = cfg.prompt_config.rsplit("/", 1)[-1]
            assert cfg.prompt_config == f"robustness/{family}/{variant}"
            assert cfg.output_file.startswith(f"{out}/{bench}/{variant}/eval-results/{bench}/output")
            assert cfg.inference.temperature == 0.6  # the command's overrides reach every variant
            regex = REGEX.get(variant.rsplit("_", 1)[0]) if bench == "gpqa" else None
            assert cfg.eval_config.get("extract_regex", None) == regex or (regex is None and cfg.eval_type == "math")
            seen.setdefault(bench, {}).setdefault(variant, []).append(cfg.inference.random_seed)
        assert job["name"].startswith(f"robust_eval_{variant}-{bench}")
    assert {b: sorted(v) for b, v in seen.items()} == {"gpqa": sorted(GPQA), "comp-math-24-25": sorted(MATH)}
    assert all(sorted(s) == [0, 1] for s in seen["gpqa"].values())  # gpqa:2 -> seeds 0 and 1
    assert all(s == [0] for s in seen["comp-math-24-25"].values())  # no count: the benchmark's default
    # a metrics job per variant, then the robustness summary after every other job
    metrics = [j for j in plan["jobs"] if j["name"].endswith("-summarize-results")]
    assert len(metrics) == len(GPQA) + len(MATH)
    last = plan["jobs"][-1]
    assert last["name"] == "robust_eval-summarize-robustness"
    assert last["programs"] == [["python", "-m", "skills.metrics.robustness", str(out)]]
    assert set(last["dependencies"]) == {j["name"] for j in plan["jobs"][:-1]}
    assert last["log_dir"] == str(out / "summarize_robustness")


def test_prompt_set_config_file_and_errors(capsys, tmp_path, robust_data, no_cluster_config_env):
    own = tmp_path / "set.yaml"
    own.write_text("math-500:\n  - prompt_config: generic/math\n  - prompt_config: robustness/math_prompts/boxed_3\n"
                   "    extract_regex: 'ANSWER: \"(\\d+)\"'\n")
    plan = _plan(capsys, [f"--output_dir={tmp_path / 'o'}", "--benchmarks=math-500", f"--prompt_set_config={own}",
                          f"--data_dir={robust_data}", "--expname=r"])
    argvs = [p for j in plan["jobs"] if j["kind"] == "generation" for p in j["programs"]]
    cfgs = [load_config(a[3:], GenerateConfig, check=False) for a in argvs]
    assert [c.prompt_config for c in cfgs] == ["generic/math", "robustness/math_prompts/boxed_3"]
    assert cfgs[1].eval_config["extract_regex"] == 'ANSWER: "(\\d+)"'  # quoting survives the command line
    # each variant is an eval named <expname>_<prompt name>, its output in <output_dir>/<benchmark>/<prompt name>
    assert [j["name"] for j in plan["jobs"] if j["kind"] == "generation"] == ["r_math-math-500", "r_boxed_3-math-500"]
    assert cfgs[1].output_file == str(tmp_path / "o" / "math-500" / "boxed_3" / "eval-results" / "math-500" /
                                      "output.jsonl")
    base = ["robust_eval", "--cluster=local", "--server_type=openai", "--model=m", "--server_address=http://h:1/v1",
            f"--output_dir={tmp_path / 'o'}", f"--data_dir={robust_data}", "--dry_run"]
    for extra, words in (
        (["--benchmarks=math-500"], "missing option --prompt_set_config"),
        (["--benchmarks=aime24", f"--prompt_set_config={own}"], "has no prompts for aime24"),
        (["--benchmarks=math-500", f"--prompt_set_config={own}", "++prompt_config=generic/math"],
         "leave out ++prompt_config"),
        (["--benchmarks=math-500", "--prompt_set_config=robustness/nope"], "neither a file on this machine nor a config"),
        (["--benchmarks=math-500", f"--prompt_set_config={tmp_path / 'missing.yaml'}"], "no such file"),
    ):
        assert main([*base, *extra]) == 2
        assert words in capsys.readouterr().err
    own.write_text("math-500:\n  - prompt: generic/math\n")
    assert main([*base, "--benchmarks=math-500", f"--prompt_set_config={own}"]) == 2
    assert "needs prompt_config" in capsys.readouterr().err


# ----------------------------------------------------------------------------- summarize_robustness
def _run(root: Path, bench: str, prompt: str, seed: int, rows):
    path = root / bench / prompt / "eval-results" / bench / f"output-rs{seed}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, [{"predicted_answer": p, "symbolic_correct": c} for p, c in rows])


def test_summarize_robustness_numbers(tmp_path, capsys):
    root = tmp_path / "rob"
    _run(root, "gpqa", "p1", 0, [("A", True), ("B", False), (None, False)])  # 33.33 correct, 33.33 no answer
    _run(root, "gpqa", "p1", 1, [("A", True), ("A", True), ("C", False)])  # 66.67, 0
    _run(root, "gpqa", "p2", 0, [("B", False), (None, False), (None, False)])  # 0, 66.67
    _run(root, "gpqa", "p2", 1, [("A", True), ("B", False), ("C", False)])  # 33.33, 0
    _run(root, "math", "q", 0, [("1", True), ("2", True)])
    write_jsonl(root / "math" / "q" / "eval-results" / "math" / "output.jsonl", [{"x": 1}])  # greedy: not a run
    (root / "summarize_robustness").mkdir()  # logs, and our run records: not benchmarks
    (root / "manifests").mkdir()
    assert main(["summarize_robustness", str(root)]) == 0
    printed = capsys.readouterr().out
    m = json.loads((root / "metrics.json").read_text())
    r = lambda d: {k: round(v, 2) for k, v in d.items()}  # noqa: E731
    # p1: runs 33.33 and 66.67; CR: row 1 (A,A) agrees, rows 2 (B,A) and 3 (None,C) do not -> 1/3
    assert r(m["gpqa"]["p1"]) == {"min": 33.33, "max": 66.67, "avg": 50.0, "std": 16.67, "no_answer": 16.67,
                                  "num_seeds": 2, "CR": 33.33}
    # p2: (B,A), (None,B), (None,C): no pair agrees
    assert r(m["gpqa"]["p2"]) == {"min": 0.0, "max": 33.33, "avg": 16.67, "std": 16.67, "no_answer": 33.33,
                                  "num_seeds": 2, "CR": 0.0}
    # all 4 runs: std of (33.33, 66.67, 0, 33.33) = sqrt(2 * 33.33^2 / 4) = 23.57; CR: row 1 A,A,B,A -> 3 of 6
    # pairs, row 2 B,A,None,B -> 1, row 3 None,C,None,C -> 1 (None with None does not count) = 5/18 = 27.78;
    # prompt sensitivity: std of the averages 50 and 16.67 = 16.67
    assert r(m["gpqa"]["aggregated"]) == {"min": 0.0, "max": 66.67, "avg": 33.33, "std": 23.57, "num_runs": 4,
                                          "CR": 27.78, "prompt_sensitivity": 16.67}
    assert m["math"] == {"q": {"min": 100.0, "max": 100.0, "avg": 100.0, "std": 0.0, "no_answer": 0.0,
                               "num_seeds": 1, "CR": 100.0},
                         "aggregated": {"min": 100.0, "max": 100.0, "avg": 100.0, "std": 0.0, "num_runs": 1,
                                        "CR": 100.0, "prompt_sensitivity": 0.0}}
    lines = printed.splitlines()
    head = "dataset              |   min   |   max   |   avg   |   std   |    CR   | prompt_sensitivity"
    start = lines.index(head)
    assert lines[start + 1] == "-" * 91
    assert lines[start + 2] == "gpqa@4               |   0.00  |  66.67  |  33.33  |  23.57  |  27.78  |  16.67 "
    assert lines[start + 3] == "math@1               |  100.00 |  100.00 |  100.00 |   0.00  |  100.00 |   0.00 "
    # per benchmark: the title as wide as the header before it (the reference's layout), lowest average first
    at = lines.index("-" * 43 + " gpqa " + "-" * 42)  # 91 wide (str.center puts the odd dash left)
    assert lines[at + 1] == "prompt@2             |   min   |   max   |   avg   |   std   |    CR   | no_answer"
    assert lines[at + 3].startswith("p2                   |   0.00  |  33.33  |  16.67  |  16.67  |   0.00  |  33.33")
    assert lines[at + 4].startswith("p1                   |  33.33  |  66.67  |  50.00  |  16.67  |  33.33  |  16.67")
    assert "-" * 38 + " math " + "-" * 38 in lines  # 82 wide: the per-prompt header's width
    assert f"Metrics are saved to {root / 'metrics.json'}" in lines


def test_summarize_robustness_errors(tmp_path, capsys):
    root = tmp_path / "rob"
    (root / "gpqa" / "p1").mkdir(parents=True)
    assert main(["summarize_robustness", str(root)]) == 2
    assert "holds no output*jsonl files" in capsys.readouterr().err
    _run(root, "gpqa", "p1", 0, [("A", True)])
    path = root / "gpqa" / "p1" / "eval-results" / "gpqa" / "output-rs1.jsonl"
    write_jsonl(path, [{"generation": "x"}])  # not graded
    assert main(["summarize_robustness", str(root)]) == 2
    assert "output-rs1.jsonl line 1: a row lacks the field 'predicted_answer'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["summarize_robustness", str(empty)]) == 0
    assert "No benchmarks found" in capsys.readouterr().out


def test_robust_eval_runs_and_summarizes(tmp_path, data_dir):
    """Local run against the stub server: two variants x two seeds of math-500 (3 rows; the stub
    answers 2, or 4 for the problem 2+2), each eval's own metrics, then the robustness summary."""
    import subprocess

    from tests.helpers.paths import NS
    from tests.helpers.stub_server import StubProcess

    write_jsonl(data_dir / "math-500" / "test.jsonl", [{"problem": f"{i}+{i}", "expected_answer": str(2 * i)}
                                                       for i in (1, 2, 3)])
    variants = tmp_path / "set.yaml"
    variants.write_text("math-500:\n  - prompt_config: robustness/math_prompts/boxed_1\n"
                        "  - prompt_config: robustness/math_prompts/boxed_general\n")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([{"contains": "2+2", "answer": "So \\boxed{4}."}]))
    out = tmp_path / "rob"
    with StubProcess(answer="So \\boxed{2}.", script=answers) as stub:
        res = subprocess.run([NS, "robust_eval", "--cluster=local", "--server_type=vllm", "--model=stub-model",
                              f"--server_address={stub.base_url}", f"--data_dir={data_dir}", f"--output_dir={out}",
                              "--benchmarks=math-500:2", f"--prompt_set_config={variants}"],
                             capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    for variant in ("boxed_1", "boxed_general"):
        assert (out / "math-500" / variant / "eval-results" / "math-500" / "metrics.json").exists()
    m = json.loads((out / "metrics.json").read_text())["math-500"]
    # every run: 1+1 and 2+2 right, 3+3 wrong (answered 2) -> 66.67; the same answers everywhere -> CR 100
    assert {k: round(v, 2) for k, v in m["aggregated"].items()} == {
        "min": 66.67, "max": 66.67, "avg": 66.67, "std": 0.0, "num_runs": 4, "CR": 100.0, "prompt_sensitivity": 0.0}
    assert sorted(m) == ["aggregated", "boxed_1", "boxed_general"]
    assert (out / "manifests").is_dir()  # the run's record sits beside the benchmarks, and is not one
    logs = "".join(p.read_text() for p in (out / "summarize_robustness").rglob("*.log"))
    assert "math-500@4" in logs and "prompt@2" in logs
