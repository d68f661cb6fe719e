"""RULER without its generators: grading rules, the metric type, the group score on hand-computed
result folders (greedy and two seeds), summarize without a data dir, the registry's names, the
preparation's options, budgets and row conversion (eval-metrics.md 10, datasets.md RULER)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

from tests.helpers.files import read_jsonl

from skills.registry.benchmarks import get_benchmark, group_members
from skills.benchmarks.ruler import TASKS, generation_args
from skills.benchmarks.ruler import prepare as rp
from skills.benchmarks.ruler import rows
from skills.config.errors import UsageError
from skills.evaluation import grade_file, grade_row
from skills.metrics.group_score import main as group_score_main
from skills.metrics.groups import get_group_score
from skills.metrics.summarize import summarize_results

SETUP = "ruler.demo_4k"


def _row(refs, generation, **extra):
    return {"question": "q", "expected_answer": refs, "generation": generation, **extra}


# -- grading -------------------------------------------------------------------------------------

@pytest.mark.parametrize("refs, generation, match_type, expected", [
    (["1234567"], " 1234567.", "all", 1.0),
    (["a", "b", "c", "d"], "B; D", "all", 0.5),  # fraction found, case-insensitive
    (["x", "q", "z"], "just x", "all", pytest.approx(1 / 3)),
    (["IGDQL", "YYAQO"], "none here", "all", 0.0),
    (["France", "France"], "france.", "part", 1.0),  # any reference
    (["yes", "no"], "maybe", "part", 0.0),
    (["Paris"], "The capital is paris", "part", 1.0),
])
def test_substring_match_on_the_raw_generation(refs, generation, match_type, expected):
    graded = grade_row(_row(refs, generation), "ruler", {"match_type": match_type})
    assert graded["is_correct"] == expected and isinstance(graded["is_correct"], float)


def test_predicted_answer_is_informational():
    graded = grade_row(_row(["42"], "  4\x002\n\tdone\x1f "), "ruler", {"match_type": "all"})
    assert graded["predicted_answer"] == "4\n2\n\ndone"
    assert graded["is_correct"] == 0.0  # the raw text is matched, not the cleaned one


@pytest.mark.parametrize("config, error", [
    ({}, "match_type"), ({"match_type": "any"}, "match_type"), ({"match_type": "all", "parse_func": "x"}, "parse_func"),
    ({"match_type": "all", "typo": 1}, "unknown eval_config key"),
])
def test_config_errors(config, error):
    with pytest.raises(UsageError, match=error):
        grade_row(_row(["a"], "a"), "ruler", config)


@pytest.mark.parametrize("refs", [[], "France", [1]])
def test_references_must_be_a_list_of_strings(refs, tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_row(refs, "France")) + "\n")
    with pytest.raises(UsageError, match="line 1: expected_answer"):
        grade_file(path, "ruler", {"match_type": "all"})


# -- result folders: metrics, group score, summarize ------------------------------------------------

# is_correct per task, two problems each; accuracy = 100 x mean, worked out by hand.
GREEDY = {
    "niah_single_1": ([1.0, 1.0], 100.0), "niah_single_2": ([1.0, 0.0], 50.0), "niah_single_3": ([0.0, 0.0], 0.0),
    "niah_multikey_1": ([1.0, 0.5], 75.0), "niah_multikey_2": ([1.0, 1.0], 100.0),
    "niah_multikey_3": ([0.25, 0.25], 25.0), "niah_multivalue": ([0.75, 0.25], 50.0),
    "niah_multiquery": ([1.0, 0.5], 75.0), "vt": ([0.2, 0.6], 40.0), "cwe": ([0.1, 0.3], 20.0),
    "fwe": ([1 / 3, 2 / 3], 50.0), "qa_1": ([1.0, 0.0], 50.0), "qa_2": ([0.0, 1.0], 50.0),
}
GREEDY_MEAN = 685 / 13  # the sum of the accuracies above is 685


def _write(path: Path, scores: List[float], tokens: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"expected_answer": ["x"], "generation": "g", "is_correct": s,
                                        "predicted_answer": "g", "num_generated_tokens": tokens}) + "\n"
                            for s in scores))


def _greedy_folder(root: Path, skip: str = "") -> Path:
    for task, (scores, _) in GREEDY.items():
        if task != skip:
            _write(root / "eval-results" / SETUP / f"{SETUP}.{task}" / "output.jsonl", scores)
    return root


def test_greedy_folder_summarized_without_data_dir(tmp_path, capsys):
    out = _greedy_folder(tmp_path / "out")
    text, path = summarize_results(str(out / "eval-results"))
    metrics = json.loads(path.read_text())
    assert path == out / "eval-results" / "metrics.json"
    assert list(metrics) == [SETUP] + sorted(f"{SETUP}.{t}" for t in TASKS)  # folders in sorted order
    assert metrics[SETUP] == {"pass@1": {"accuracy": pytest.approx(GREEDY_MEAN)}}
    for task, (_, accuracy) in GREEDY.items():
        entry = metrics[f"{SETUP}.{task}"]
        assert list(entry) == ["pass@1"]  # greedy: pass@1 only, no no_answer, no majority
        assert entry["pass@1"] == {"num_entries": 2, "avg_tokens": 10, "accuracy": pytest.approx(accuracy)}
    lines = text.splitlines()
    assert lines[0].strip("-").strip() == SETUP
    assert lines[1].split(" | ")[0].strip() == "task" and lines[1].split(" | ")[1].strip() == "accuracy"
    assert lines[2].startswith("niah_single_1") and "100.00%" in lines[2]
    assert lines[15].startswith("average") and f"{GREEDY_MEAN:.2f}%" in lines[15]
    assert f" {SETUP}.vt " in text and "40.00%" in text  # the tasks' own tables follow


def test_group_folder_itself_and_a_single_task(tmp_path):
    out = _greedy_folder(tmp_path / "out")
    _, path = summarize_results(str(out / "eval-results" / SETUP))
    assert json.loads(path.read_text())[SETUP]["pass@1"]["accuracy"] == pytest.approx(GREEDY_MEAN)
    _, path = summarize_results(str(out / "eval-results" / SETUP), benchmarks=f"{SETUP}.cwe",
                                save_metrics_path=str(tmp_path / "m.json"))
    assert list(json.loads(path.read_text())) == [f"{SETUP}.cwe"]


def test_two_seeds(tmp_path):
    """Per task one problem, seeds (a, b). Fractions: pass@1 = a (first file), pass@2 = max;
    0/1 scores: pass@1 = the unbiased estimate c/2; pass@1[avg-of-2] = the mean either way."""
    seeds = {t: (1.0, 0.0) if i % 3 == 0 else (0.5, 0.25) if i % 3 == 1 else (0.0, 0.0) for i, t in enumerate(TASKS)}
    expected = {
        "pass@1": {t: 50.0 if a == 1.0 else 100 * a for t, (a, b) in seeds.items()},
        "pass@2": {t: 100 * max(a, b) for t, (a, b) in seeds.items()},
        "pass@1[avg-of-2]": {t: 100 * (a + b) / 2 for t, (a, b) in seeds.items()},
    }
    root = tmp_path / "eval-results"
    for task, (a, b) in seeds.items():
        for seed, score in enumerate((a, b)):
            _write(root / SETUP / f"{SETUP}.{task}" / f"output-rs{seed}.jsonl", [score])
    _, path = summarize_results(str(tmp_path))
    metrics = json.loads(path.read_text())
    assert set(metrics[SETUP]) == set(expected)
    for mode, per_task in expected.items():
        for task, value in per_task.items():
            assert metrics[f"{SETUP}.{task}"][mode]["accuracy"] == pytest.approx(value), (task, mode)
        assert metrics[SETUP][mode] == {"accuracy": pytest.approx(sum(per_task.values()) / 13)}
    assert "accuracy_statistics" in metrics[f"{SETUP}.vt"]["pass@1[avg-of-2]"]


def test_group_job_file_layout(tmp_path, capsys):
    out = _greedy_folder(tmp_path)
    files = []
    for task in TASKS:
        folder = out / "eval-results" / SETUP / f"{SETUP}.{task}"
        summarize_results(str(folder.parent), benchmarks=folder.name, save_metrics_path=str(folder / "metrics.json"))
        files.append(str(folder / "metrics.json"))
    target = out / "eval-results" / SETUP / "metrics.json"
    assert group_score_main(["--group", SETUP, "--score_module", "nemo_skills.dataset.ruler.ruler_score",
                             "--save_metrics_path", str(target), *files]) == 0
    data = json.loads(target.read_text())
    assert list(data) == [f"{SETUP}.{t}" for t in TASKS] + [SETUP]  # tasks, then the setup (the reference's order)
    assert data[SETUP] == {"pass@1": {"accuracy": pytest.approx(GREEDY_MEAN)}}
    assert "average" in capsys.readouterr().out


def test_missing_task(tmp_path):
    out = _greedy_folder(tmp_path, skip="qa_2")
    with pytest.raises(UsageError, match="missing qa_2"):
        summarize_results(str(out))
    _, path = summarize_results(str(out), benchmarks=f"{SETUP}.vt")  # a task alone still summarizes
    assert list(json.loads(path.read_text())) == [f"{SETUP}.vt"]
    score = get_group_score("ruler")
    with pytest.raises(UsageError, match="missing qa_2"):
        score.compute(SETUP, {f"{SETUP}.{t}": {"pass@1": {"accuracy": 1.0}} for t in TASKS[:-1]})


# -- names: the registry, with and without a data dir ---------------------------------------------

def test_names_without_a_data_dir():
    group = get_benchmark(SETUP)
    assert group.is_group and group.score_module == "nemo_skills.dataset.ruler.ruler_score"
    assert group.members == tuple(f"{SETUP}.{t}" for t in TASKS)
    qa = get_benchmark(f"{SETUP}.qa_2")
    assert qa.metrics_type == "ruler" and qa.eval_split == "test"
    assert qa.default_overrides() == ("++prompt_config=generic/default", "++inference.tokens_to_generate=32",
                                      "++start_assistant_response_key=generation", "++inference.endpoint_type=text",
                                      "++eval_type=ruler", "++eval_config.match_type=part")
    assert "++inference.tokens_to_generate=30" in get_benchmark(f"{SETUP}.vt").default_overrides()
    with pytest.raises(UsageError, match="unknown member"):
        get_benchmark(f"{SETUP}.niah_single_9")


def test_definitions_in_the_data_dir_win(tmp_path):
    """A setup prepared with fewer tasks (ours, or the reference's files, which read the same)."""
    root = tmp_path / "ruler" / "demo_4k"
    (root / "__init__.py").parent.mkdir(parents=True)
    (root / "__init__.py").write_text(rows.group_definition("demo_4k", ["vt", "qa_1"]))
    for task in ("vt", "qa_1"):
        (root / task).mkdir()
        (root / task / "__init__.py").write_text(rows.task_definition(task))
    group = get_benchmark(SETUP, data_dir=str(tmp_path))
    members = group_members(group, data_dir=str(tmp_path))
    assert [m.name for m in members] == [f"{SETUP}.vt", f"{SETUP}.qa_1"]
    assert all(m.group == SETUP and m.metrics_type == "ruler" for m in members)
    assert [m.default_overrides() for m in members] == [generation_args("vt"), generation_args("qa_1")]
    assert get_group_score(group.score_module) is get_group_score("ruler")


def test_reference_prepared_data_dir(tmp_path):
    """Definitions as the reference's prepare writes them (a parenthesized GENERATION_ARGS string)."""
    root = tmp_path / "ruler" / "nano"
    (root / "qa_2").mkdir(parents=True)
    (root / "__init__.py").write_text("IS_BENCHMARK_GROUP = True\nSCORE_MODULE = 'nemo_skills.dataset.ruler.ruler_score'\n"
                                      "BENCHMARKS = {'ruler.nano.qa_2': {}}\n")
    (root / "qa_2" / "__init__.py").write_text(
        'DATASET_GROUP = "long-context"\nMETRICS_TYPE = "ruler"\nGENERATION_ARGS = (\n'
        '    "++prompt_config=generic/default "\n    "++inference.tokens_to_generate=32 "\n'
        '    "++start_assistant_response_key=generation "\n    "++inference.endpoint_type=text "\n'
        '    "++eval_type=ruler ++eval_config.match_type=part "\n)\n')
    group = get_benchmark("ruler.nano", data_dir=str(tmp_path))
    [member] = group_members(group, data_dir=str(tmp_path))
    assert member.default_overrides() == generation_args("qa_2") and member.metrics_type == "ruler"


# -- preparation without the generators -------------------------------------------------------------

BASE = {"setup": "s", "tokenizer_path": "tok", "max_seq_length": "4096"}


@pytest.mark.parametrize("extra, error", [
    ({"tokenizer_path": "tok", "max_seq_length": "4096"}, "--setup and --tokenizer_path are required"),
    ({"setup": "s", "tokenizer_path": "tok"}, "--max_seq_length is required"),
    ({**BASE, "setup": "a.b"}, "must be letters"),
    ({**BASE, "tasks": "vt,niah_single_9"}, "unknown task"),
    ({**BASE, "num_samples": "0"}, "--num_samples must be >= 1"),
    ({**BASE, "max_seq_length": "128k"}, "must be a number"),
    ({**BASE, "tokenizer": "x"}, "unknown prepare_data option --tokenizer"),
    ({**BASE, "accelerate": "fast"}, "--accelerate takes true, false, verify"),
])
def test_option_errors(extra, error):
    with pytest.raises(UsageError, match=error):
        rp.parse_options(extra)


def test_options_defaults_are_the_reference_s():
    opts = rp.parse_options({**BASE, "tasks": "vt qa_1,vt"})
    assert (opts.num_samples, opts.template_tokens, opts.random_seed, opts.tasks) == (500, 50, 42, ("vt", "qa_1"))
    assert rp.parse_options(BASE).tasks == TASKS


INFO = {"scripts": "/ruler/scripts/data/synthetic", "template_tokens": 5, "tasks": {
    "fwe": {"kind": "freq_words_extraction", "args": {"alpha": 2.0}, "tokens_to_generate": 50,
            "template": "T {context}", "answer_prefix": " Answer:"},
    "qa_1": {"kind": "qa", "args": {"dataset": "squad"}, "tokens_to_generate": 32, "template": "Q {query}",
             "answer_prefix": " Answer:"},
}}


def test_budgets_and_generator_command_lines(tmp_path):
    """The command line RULER's prepare.py --prepare_for_ns builds (the generator subtracts the
    base template's tokens itself, and fwe its answer)."""
    opts = rp.parse_options({**BASE, "tasks": "fwe,qa_1"})
    assert rp.budget(opts, INFO, "qa_1") == rp.budget(opts, INFO, "fwe") == 4096 - 50
    scripts = tmp_path / "work" / "scripts" / "data" / "synthetic"
    argv = rp.generator_argv("py", opts, INFO, "qa_1", tmp_path / "out", scripts)
    assert argv[:4] == ["py", "-m", "skills.benchmarks.ruler.accel", str(scripts / "qa.py")]  # RULER's script, hooked
    bare = rp.parse_options({**BASE, "tasks": "fwe,qa_1", "accelerate": "false"})
    assert rp.generator_argv("py", bare, INFO, "qa_1", tmp_path / "out", scripts)[1:] == argv[3:]
    verify = rp.parse_options({**BASE, "accelerate": "verify"})
    assert rp.generator_argv("py", verify, INFO, "qa_1", tmp_path / "out", scripts)[:5] == [*argv[:3], "--verify", argv[3]]
    assert argv[argv.index("--max_seq_length") + 1] == "4046" and argv[argv.index("--dataset") + 1] == "squad"
    assert argv[argv.index("--save_dir") + 1] == str(tmp_path / "out") and argv[argv.index("--save_name") + 1] == "qa_1"
    assert argv[-6:] == ["--pre_samples", "0", "--template", "Q {query} Answer:", "--model_template_token", "5"]
    assert "--pre_samples" not in rp.generator_argv("py", opts, INFO, "fwe", tmp_path, scripts)
    with pytest.raises(UsageError, match="too small"):
        rp.budget(rp.parse_options({**BASE, "max_seq_length": "250"}), INFO, "qa_1")


def test_row_conversion(tmp_path):
    src = tmp_path / "raw.jsonl"
    prefix = " The special magic number for k is"
    raw = [{"index": 5, "input": "Text 7654321 text. The question?", "outputs": ["7654321"], "length": 90,
            "length_w_model_temp": 95, "answer_prefix": prefix, "token_position_answer": 2},
           {"index": 1, "input": "More 1234567. The question?", "outputs": ["1234567"], "length": 80,
            "length_w_model_temp": 85, "answer_prefix": prefix}]
    src.write_text("".join(json.dumps(r) + "\n" for r in raw))
    dest = tmp_path / "test.jsonl"
    assert rows.convert(src, dest, 2) == 2
    got = read_jsonl(dest)
    assert got[0] == {"index": 5, "question": "Text 7654321 text. The question?", "expected_answer": ["7654321"],
                      "length": 90, "generation": "The special magic number for k is"}
    assert got[1]["index"] == 1 and list(got[1]) == ["index", "question", "expected_answer", "length", "generation"]
    with pytest.raises(UsageError, match="2 rows generated, 3 asked for"):
        rows.convert(src, tmp_path / "other.jsonl", 3)
    src.write_text(json.dumps({"index": 0, "input": "x", "outputs": ["y"], "length": 3}) + "\n")
    with pytest.raises(UsageError, match="no answer_prefix"):
        rows.convert(src, tmp_path / "other.jsonl", 1)
    assert not (tmp_path / "other.jsonl").exists()  # nothing half-written


def test_prepare_as_a_cluster_job(tmp_path, capsys):
    """The tutorial's advice: generate on the cluster, where the data stays (its environment mapped)."""
    from skills.cli.app import main

    cfg = tmp_path / "slurm.yaml"
    cfg.write_text("executor: slurm\naccount: a\npartition: p\njob_dir: /jobs\nenvironments:\n  ruler:\n"
                   "    venv: /opt/venvs/ruler\n")
    assert main(["prepare_data", "ruler", "--setup", "nano_128k", "--tokenizer_path", "nvidia/NVIDIA-Nemotron-Nano-9B-v2",
                 "--max_seq_length", "131072", "--data_dir", "/lustre/data", f"--cluster={cfg}", "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "SKILLS_PYTHON_RULER=/opt/venvs/ruler/bin/python" in out
    assert ("prepare_data ruler --data_dir /lustre/data --setup nano_128k --tokenizer_path "
            "nvidia/NVIDIA-Nemotron-Nano-9B-v2 --max_seq_length 131072") in out


def test_missing_environment_is_one_clear_error(tmp_path, monkeypatch):
    from skills.registry.spec import PrepareContext

    monkeypatch.setenv("SKILLS_PYTHON_RULER", str(tmp_path / "nope" / "python"))
    with pytest.raises(UsageError, match="no such interpreter"):
        rp.prepare(PrepareContext(data_dir=tmp_path, extra=dict(BASE)))

# -- generator processes: progress, limits, failures --------------------------------------------------

FAKE = r'''
import os, subprocess, sys, time
mode = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(sys.argv[2], "w").write(str(child.pid))
print("INFO:__main__:Testing haystack size: 10, resulting tokens: 849/1993", flush=True)
sys.stderr.write("  0%|          | 0/1 [00:00<?, ?it/s]\r100%|##| 1/1 [00:00<00:00]\n")
for i in range(4):
    sys.stderr.write(f"\r 50%|##| {i}/3 [00:01<00:01, 2.00it/s]")
    sys.stderr.flush()
if mode == "ok":
    child.kill()
    sys.exit(0)
if mode == "fail":
    child.kill()
    print("Traceback (most recent call last):\nValueError: no haystack fits", flush=True)
    sys.exit(1)
while True:  # "hang": silent; "busy": keeps printing sizing lines, never finishes
    if mode == "busy":
        print("INFO:__main__:Testing haystack size: 11, resulting tokens: 900/1993", flush=True)
    time.sleep(0.2)
'''


def _fake_run(tmp_path, mode, limits, seen=None):
    from skills.benchmarks.ruler.runner import run

    script = tmp_path / "fake.py"
    script.write_text(FAKE)
    pid_file = tmp_path / "child.pid"
    seen = [] if seen is None else seen
    try:
        run([__import__("sys").executable, str(script), mode, str(pid_file)], {}, tmp_path / "logs" / "t.log", limits,
            "ruler.s.t", 3, lambda st: seen.append((st.phase, st.done, st.total)))
    finally:
        pid = int(pid_file.read_text()) if pid_file.exists() else None
    return pid


def _gone(pid: int) -> bool:
    import os
    import time

    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_runner_progress_and_log(tmp_path):
    from skills.benchmarks.ruler.runner import Limits, Status

    _fake_run(tmp_path, "ok", Limits(60, 60))
    log = (tmp_path / "logs" / "t.log").read_text()
    assert "resulting tokens: 849/1993" in log and "3/3" in log
    st = Status(total=3)
    for line in log.replace("\r", "\n").splitlines():
        st.feed(line.encode())
    assert (st.phase, st.done, st.total) == ("generating", 3, 3)  # vt's 1/1 example counter is not progress


@pytest.mark.parametrize("mode, limits, error", [
    ("hang", (60, 1.5), "made no progress for 2 s"),
    ("busy", (2, 60), "took longer than 2 s"),
])
def test_runner_kills_the_whole_process_group(tmp_path, mode, limits, error):
    from skills.benchmarks.ruler.runner import Limits

    with pytest.raises(UsageError, match=error) as info:
        _fake_run(tmp_path, mode, Limits(*limits))
    assert "killed" in info.value.message and str(tmp_path / "logs" / "t.log") in info.value.message
    assert _gone(int((tmp_path / "child.pid").read_text()))  # the grandchild went too


def test_runner_failure_names_the_last_line(tmp_path):
    from skills.benchmarks.ruler.runner import Limits

    with pytest.raises(UsageError, match=r"exit code 1\): ValueError: no haystack fits"):
        _fake_run(tmp_path, "fail", Limits(60, 60))


def test_default_workers_fit_the_cpus_and_the_memory(monkeypatch):
    """One task per CPU, but no more generators than the available memory holds (each niah keeps
    ~1.1 GB of word pairs, every task its rows until the end)."""
    opts = rp.parse_options({**BASE, "max_seq_length": "131072"})
    each = rp.task_memory_mb(opts)
    assert 1500 < each < 1600  # 500 rows of ~130k tokens
    monkeypatch.setattr(rp.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(rp, "available_mb", lambda: 5 * each + 1)
    assert rp.default_workers(opts, 13) == 5
    monkeypatch.setattr(rp, "available_mb", lambda: 100.0)
    assert rp.default_workers(opts, 13) == 1
    monkeypatch.setattr(rp, "available_mb", lambda: None)
    assert rp.default_workers(opts, 13) == 13 and rp.default_workers(opts, 3) == 3
    monkeypatch.setattr(rp.os, "cpu_count", lambda: 2)
    assert rp.default_workers(opts, 13) == 2


def test_the_longest_tasks_start_first():
    assert sorted(rp.LONGEST_FIRST) == sorted(TASKS)
