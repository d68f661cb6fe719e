"""LiveCodeBench without running programs: the fixture mirror, split windows and counts, prepared
fields, restricted decoding of private tests, code extraction, the grader's configuration, the
metric type and the summarize tables (hand-built result folders in the reference layout).

Programs graded by the harness in the sandbox: test_harness.py.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import pickle
import pickletools
import zlib
from pathlib import Path

import pytest

from tests.helpers.files import read_jsonl
from tests.helpers.paths import REPO_ROOT
from tests.helpers.prereqs import missing
from tests.benchmarks.livecodebench.helpers import MIRROR, PROBLEMS, RELEASES, SPLITS
from skills.benchmarks.livecodebench.codec import UnsafeTests, decode_tests, encode_private_tests, plain_unpickle
from skills.benchmarks.livecodebench.extract import extract_code
from skills.benchmarks.livecodebench.prepare import UPSTREAM_FIELDS
from skills.benchmarks.livecodebench.releases import Split, release_files
from skills.cli.app import main
from skills.config.errors import UsageError

PREPARED_FIELDS = ["contest_date", "difficulty", "task_id", "question", "subset_for_metrics", "release_version"]
F = "```"


@pytest.fixture(scope="module")
def sentences():
    from skills.benchmarks.livecodebench.upstream import formatting_sentences

    try:
        return formatting_sentences()
    except UsageError as exc:
        missing(exc.message)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, sentences):
    """The fixture mirror prepared with the default splits."""
    data = tmp_path_factory.mktemp("lcb-data")
    assert main(["prepare_data", "livecodebench", f"--data_dir={data}", f"--mirror={MIRROR}"]) == 0
    return data / "livecodebench"


# -- the fixture ----------------------------------------------------------------------------------

def test_committed_fixture_is_what_lcb_fixture_builds():
    """Row for row, with the private tests compared decoded (zlib builds may differ in bytes)."""
    for name, rows in RELEASES.items():
        committed = read_jsonl(MIRROR / "livecodebench" / name)
        assert len(committed) == len(rows), name
        for got, want in zip(committed, rows):
            assert list(got) == list(UPSTREAM_FIELDS) and all(isinstance(v, str) for v in got.values())
            assert decode_tests(got.pop("private_test_cases")) == decode_tests(want["private_test_cases"])
            assert got == {k: v for k, v in want.items() if k != "private_test_cases"}


def test_fixture_private_tests_have_the_upstream_encoding():
    """base64 of zlib of a protocol-4 pickle holding one str: the JSON text of the tests."""
    blob = PROBLEMS["abc363_a"]["private_test_cases"]
    assert blob.startswith("eJ")  # zlib header 78 9c, default level
    raw = zlib.decompress(base64.b64decode(blob))
    ops = [op.name for op, _, _ in pickletools.genops(raw)]
    assert ops == ["PROTO", "FRAME", "SHORT_BINUNICODE", "MEMOIZE", "STOP"]  # BINUNICODE above 255 bytes
    assert json.loads(pickle.loads(raw))[2] == {"input": "123456789123 987654321987\n",
                                               "output": "1111111111110\n", "testtype": "stdin"}
    assert {p["platform"] for p in PROBLEMS.values()} == {"atcoder", "codeforces", "leetcode"}


# -- releases and split windows -------------------------------------------------------------------

def test_release_files():
    assert release_files("v1") == ("test.jsonl",)
    assert release_files("release_v5") == ("test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl")
    assert release_files("v6")[-1] == "test6.jsonl"
    with pytest.raises(UsageError, match="unknown release 'v7'"):
        release_files("v7")


@pytest.mark.parametrize("name,start,end", [
    ("test_v5_2407_2412", "2024-07-01", "2024-12-31"),
    ("test_v5_2410_2502", "2024-10-01", "2025-02-28"),
    ("test_v6_2408_2505", "2024-08-01", "2025-05-31"),
    ("test_v6_2402_2402", "2024-02-01", "2024-02-29"),  # leap year
])
def test_split_windows(name, start, end):
    split = Split.parse(name)
    assert (str(split.start), str(split.end), split.name) == (start, end, name)


def test_window_compares_the_date_part_with_both_ends_inclusive():
    split = Split.parse("test_v5_2407_2412")
    assert split.contains("2024-07-01T00:00:00") and split.contains("2024-12-31T23:59:59")
    assert not split.contains("2024-06-30T23:59:59") and not split.contains("2025-01-01T00:00:00")
    with pytest.raises(UsageError, match="is not %Y-%m-%dT%H:%M:%S"):
        split.contains("2024-07-01")


@pytest.mark.parametrize("name,error", [
    ("test_v7_2407_2412", "unknown release 'v7'"),
    ("v5_2407_2412", "is not test_<vN>_<YYMM>_<YYMM>"),
    ("test_v5_2413_2412", "bad month '2024-13'"),
    ("test_v5_2412_2407", "is after end month"),
])
def test_bad_split_names(name, error):
    with pytest.raises(UsageError, match=error):
        Split.parse(name)


# -- prepare_data on the fixture mirror -----------------------------------------------------------

def test_default_splits_windows_and_counts(prepared):
    assert sorted(p.name for p in prepared.iterdir()) == sorted(
        f"{s}{ext}" for s in SPLITS for ext in (".jsonl", ".tests.jsonl"))
    for split, ids in SPLITS.items():
        rows = read_jsonl(prepared / f"{split}.jsonl")
        assert [r["task_id"] for r in rows] == ids, split
        assert all(list(r) == PREPARED_FIELDS for r in rows)
        assert {r["release_version"] for r in rows} == {split.split("_")[1]}
        assert all(r["subset_for_metrics"] == r["difficulty"] == PROBLEMS[r["task_id"]]["difficulty"] for r in rows)
        assert [r["contest_date"] for r in rows] == [PROBLEMS[i]["contest_date"] for i in ids]
        tests = read_jsonl(prepared / f"{split}.tests.jsonl")
        assert [t["question_id"] for t in tests] == ids
        for t in tests:  # still in the upstream encoding
            assert t == {k: PROBLEMS[t["question_id"]][k]
                         for k in ("question_id", "public_test_cases", "private_test_cases", "metadata")}


def test_question_text(prepared, sentences):
    """Statement, sentence, code block; every four spaces become a tab, starter code included."""
    assert [hashlib.sha256(sentences[k].encode()).hexdigest()[:8] for k in sorted(sentences)] == \
        ["0aa7131f", "b72556f2"]
    rows = {r["task_id"]: r["question"] for r in read_jsonl(prepared / "test_v6_2408_2505.jsonl")}
    assert rows["3230"] == (
        "Return the indices [i, j] (i < j) of the first pair with nums[i] + nums[j] == target.\n\n"
        "Example 1:\n\nInput: nums = [2,7,11,15], target = 9\nOutput: [0,1]\n\nConstraints:\n\n"
        "\t2 <= nums.length <= 1000\n\n" + sentences["FORMATTING_MESSAGE_WITH_STARTER_CODE"] + "\n"
        "```python\nclass Solution:\n\tdef findPair(self, nums: List[int], target: int) -> List[int]:\n\t\t\n```\n\n")
    assert rows["arc195_a"] == (
        "Print the words of the line in reverse order, separated by single spaces.\n\n"
        + sentences["FORMATTING_WITHOUT_STARTER_CODE"] + "\n\n```python\n# YOUR CODE HERE\n```\n\n")


def test_one_split_keep_all_columns_and_the_reference_flags(tmp_path, sentences):
    assert main(["prepare_data", "livecodebench", f"--data_dir={tmp_path}", f"--mirror={MIRROR}",
                 "--split=test_v5_2410_2502", "--keep_all_columns"]) == 0
    assert sorted(p.name for p in (tmp_path / "livecodebench").iterdir()) == [
        "test_v5_2410_2502.jsonl", "test_v5_2410_2502.tests.jsonl"]
    rows = read_jsonl(tmp_path / "livecodebench" / "test_v5_2410_2502.jsonl")
    assert [list(r) for r in rows] == [[*UPSTREAM_FIELDS, "task_id", "question", "subset_for_metrics",
                                        "release_version"]] * 3
    assert rows[0]["private_test_cases"] == PROBLEMS["2052_B"]["private_test_cases"]
    # the reference's --release_version/--start_date/--end_date: v6 adds test6.jsonl (dated 2025-02..05)
    assert main(["prepare_data", "livecodebench", f"--data_dir={tmp_path}", f"--mirror={MIRROR}",
                 "--release_version", "v6", "--start_date", "2025-02", "--end_date", "2025-06"]) == 0
    rows = read_jsonl(tmp_path / "livecodebench" / "test_v6_2502_2506.jsonl")
    assert [r["task_id"] for r in rows] == ["3466", "arc195_a", "abc407_a"]


@pytest.mark.parametrize("args,error", [
    (["--release_version", "v5", "--start_date", "2024-07"], "needs all of --release_version"),
    (["--split=test_v5_2407_2412", "--release_version=v5", "--start_date=2024-07", "--end_date=2024-08"],
     "and no --split"),
    (["--split=latest"], "is not test_<vN>_<YYMM>_<YYMM>"),
    (["--random_seed=1"], "unknown prepare_data option --random_seed"),
    (["--release_version=v1", "--start_date=2020-01", "--end_date=2020-02"], "the source has no entries"),
])
def test_prepare_errors(tmp_path, sentences, args, error):
    from skills.data.prepare import prepare_benchmarks

    with pytest.raises(UsageError, match=error):
        prepare_benchmarks(["livecodebench"], tmp_path, MIRROR, args)


def test_prepare_refuses_rows_that_are_not_upstream(tmp_path, sentences):
    (tmp_path / "livecodebench").mkdir()
    for name in RELEASES:
        (tmp_path / "livecodebench" / name).write_text('{"question_id": "x"}\n' if name == "test.jsonl" else "")
    from skills.data.prepare import prepare_benchmarks

    with pytest.raises(UsageError, match=r"test.jsonl:1: not an upstream LiveCodeBench row \(field question_title"):
        prepare_benchmarks(["livecodebench"], tmp_path / "out", tmp_path, ["--split=test_v1_2305_2305"])
    assert not (tmp_path / "out" / "livecodebench" / "test_v1_2305_2305.jsonl").exists()  # nothing half-written


# -- private tests: restricted decoding -----------------------------------------------------------

class Evil:
    """Unpickling calls open(marker, "w"): a file appears if the payload ever runs."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


def _blob(payload: bytes) -> str:
    return base64.b64encode(zlib.compress(payload)).decode()


def test_upstream_blob_and_json_fields_decode():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    assert decode_tests(encode_private_tests(tests)) == tests
    assert decode_tests(json.dumps(tests)) == tests  # plain JSON text, as public tests are
    assert decode_tests("") == []
    for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
        assert decode_tests(_blob(pickle.dumps(json.dumps(tests), protocol=proto))) == tests
    assert decode_tests(_blob(pickle.dumps(tests, protocol=2))) == tests  # plain data, not the str shape


@pytest.mark.parametrize("proto", [0, 2, 4])
def test_malicious_reduce_is_refused_and_never_runs(tmp_path, proto):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Evil(marker), protocol=proto)
    with pytest.raises(UnsafeTests, match="refused pickle opcode (GLOBAL|STACK_GLOBAL)"):
        decode_tests(_blob(payload))
    with pytest.raises(UnsafeTests):  # the same object hidden inside plain-looking data
        decode_tests(_blob(pickle.dumps([{"input": "1", "output": Evil(marker), "testtype": "stdin"}],
                                        protocol=proto)))
    assert not marker.exists()


@pytest.mark.parametrize("field,error", [
    ("bm90IHpsaWI=", "neither JSON nor base64"),  # base64 of "not zlib"
    (_blob(b"garbage"), "not a pickle"),
    (_blob(pickle.dumps(json.dumps({"input": "1"}))), "not a list of"),
    (_blob(pickle.dumps(json.dumps([{"input": "1", "output": "2", "testtype": "shell"}]))), "not a list of"),
    (json.dumps([{"input": 1, "output": "2", "testtype": "stdin"}]), "not a list of"),
])
def test_bad_test_fields(field, error):
    with pytest.raises(UnsafeTests, match=error):
        decode_tests(field)


def test_decompression_is_bounded(monkeypatch):
    from skills.benchmarks.livecodebench import codec

    monkeypatch.setattr(codec, "MAX_INFLATED", 1000)
    with pytest.raises(UnsafeTests, match="inflate beyond"):
        decode_tests(_blob(pickle.dumps("x" * 5000, protocol=4)))
    assert plain_unpickle(pickle.dumps("x", protocol=4)) == "x"


# -- code extraction (eval-metrics.md 6) ----------------------------------------------------------

@pytest.mark.parametrize("generation,code", [
    ("print(1)", "print(1)"),  # no fence: the whole text
    ("  \n print(1)  \n", "print(1)"),  # stripped
    (f"Here:\n{F}python\nx = 1\nprint(x)\n{F}\nDone.", "x = 1\nprint(x)"),
    (f"{F}\nprint(2)\n{F}", "print(2)"),  # generic fence
    (f"{F}\nprint(0)\n{F}\n{F}python\nprint(1)\n{F}", "print(1)"),  # a python fence wins over earlier generic
    (f"{F}python\nprint(1)\n{F}\n{F}python\nprint(2)\n{F}", "print(1)"),  # the first python fence
    (f"{F}python\nprint(1)\n", "print(1)"),  # never closed: everything after the opening
    (f"{F}py\nprint(1)\n{F}", "py\nprint(1)"),  # only ```python is the language fence
    ("a\r\nb", "a\nb"),  # carriage returns dropped
    (f"<think>plan {F}python\nprint(0)\n{F}", ""),  # unfinished thinking: no code at all
    (f"<think>x</think> {F}python\nprint(1)\n{F}", "print(1)"),  # only what follows </think>
    (f"<think>a</think>b</think>{F}python\nprint(1)\n{F}", "print(1)"),  # after the FIRST </think>
    ("<think></think>\nprint(3)", "print(3)"),
    (f"</think>{F}python\nprint(1)\n{F}", "print(1)"),  # no <think>: tags are just text
    (f"{F}python   \n    x = 1\n{F}", "x = 1"),  # inner code stripped too
    ("", ""),
])
def test_extraction_rules(generation, code):
    assert extract_code(generation) == code


# -- grader configuration and checks --------------------------------------------------------------

def test_grader_accepts_the_reference_keys_and_refuses_typos():
    from skills.evaluation.registry import build_config, get_grader

    grader = get_grader("livecodebench")
    assert grader.sidecars == ("sandbox",) and not grader.separate_step and grader.runs == "inline"
    cfg = build_config(grader, {"sandbox": {"sandbox_type": "local"}, "timeout": 6, "num_processes": 12,
                                "timeout_buffer": 60, "num_retries": 3, "test_file": "x.jsonl", "split": "s",
                                "data_dir": "/d", "language": "python", "interpreter": "python"})
    assert (cfg.timeout, cfg.test_file) == (6, "x.jsonl")
    with pytest.raises(UsageError, match="unknown eval_config key 'timeuot'"):
        build_config(grader, {"timeuot": 6})
    with pytest.raises(UsageError, match="eval_config.timeout must be a number > 0"):
        build_config(grader, {"timeout": 0})


def _rows(tmp_path: Path, rows) -> Path:
    path = tmp_path / "output.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("rows,config,error", [
    ([{"generation": "x", "task_id": "1", "release_version": "v5"},
      {"generation": "x", "task_id": "2", "release_version": "v6"}], {}, r"one release_version.*'v5', 'v6'"),
    ([{"generation": "x", "task_id": "1", "release_version": "v5"}], {"language": "java"}, "language must be python or cpp"),
    ([{"generation": "x", "task_id": "1", "release_version": "v5"}], {"interpreter": "pypy3"}, "language must be python or cpp"),
    ([{"generation": "x", "release_version": "v5"}], {}, "line 1 has no task_id"),
])
def test_grader_checks_before_grading(tmp_path, rows, config, error):
    from skills.evaluation import grade_file

    path = _rows(tmp_path, rows)
    with pytest.raises(UsageError, match=error):
        grade_file(path, "livecodebench", config)
    assert read_jsonl(path) == rows  # untouched


def test_missing_tests_are_an_error_naming_the_problems(tmp_path, monkeypatch):
    from skills.evaluation import grade_file

    rows = [{"generation": "x", "task_id": "2052_B", "release_version": "v5"},
            {"generation": "x", "task_id": "nope", "release_version": "v5"}]
    path = _rows(tmp_path, rows)
    with pytest.raises(UsageError, match=r"no tests for 1 problem\(s\) \(nope\) in .*test5.jsonl"):
        grade_file(path, "livecodebench", {"test_file": str(MIRROR / "livecodebench" / "test5.jsonl")})
    with pytest.raises(UsageError, match="test_file .* does not exist"):
        grade_file(path, "livecodebench", {"test_file": str(tmp_path / "none.jsonl")})
    monkeypatch.setenv("SKILLS_DATA_MIRROR", str(tmp_path))  # no tests file, no release file
    with pytest.raises(UsageError, match="missing mirror file .*livecodebench/test.jsonl"):
        grade_file(path, "livecodebench", {"data_dir": str(tmp_path), "split": "test_v5_2408_2502"})
    assert read_jsonl(path) == rows


# -- benchmark definition and plan ----------------------------------------------------------------

def test_benchmark_defaults_and_plan(tmp_path, capsys):
    from skills.registry.benchmarks import get_benchmark

    spec = get_benchmark("livecodebench")
    assert (spec.eval_split, spec.prompt_config, spec.eval_type, spec.metrics_type, spec.dataset_group) == (
        "test_v6_2408_2505", "eval/livecodebench/python_codegen", "livecodebench", "livecodebench", "code")
    data = tmp_path / "data"
    (data / "livecodebench").mkdir(parents=True)
    (data / "livecodebench" / "test_v5_2407_2412.jsonl").write_text('{"question": "q"}\n')
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=livecodebench:2", "--split=test_v5_2407_2412", f"--data_dir={data}",
               f"--output_dir={tmp_path / 'out'}", "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert [j["kind"] for j in jobs] == ["generation", "metrics"]  # graded inline, as the reference
    gen = jobs[0]
    (sidecar,) = gen["sidecars"]
    assert sidecar["name"] == "sandbox" and gen["env"]["SKILLS_SANDBOX_URL"].endswith(str(sidecar["port"]))
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in gen["commands"])
    for token in ("++prompt_config=eval/livecodebench/python_codegen", "++eval_type=livecodebench",
                  "++eval_config.split=test_v5_2407_2412", f"++eval_config.data_dir={data}",
                  f"++input_file={data}/livecodebench/test_v5_2407_2412.jsonl"):
        assert token in text
    assert (REPO_ROOT / "prompts" / "eval" / "livecodebench" / "python_codegen.yaml").is_file()


# -- metric type and tables -----------------------------------------------------------------------

def test_metric_type_is_ours():
    from skills.benchmarks.livecodebench.metrics import LiveCodeBenchScorer
    from skills.metrics.types import make_scorer, metric_type_for

    assert isinstance(make_scorer("livecodebench"), LiveCodeBenchScorer)  # the type the package declares
    assert metric_type_for("livecodebench") == "livecodebench"


# Four problems, three seeds (c = correct seeds): p1 easy TTF (2), p2 hard FFF (0), p3 easy TFT (2),
# p4 medium FFT (1). Runs: rs0 = 2/4, rs1 = 1/4, rs2 = 2/4.
GRADES = {"p1": [True, True, False], "p2": [False, False, False], "p3": [True, False, True],
          "p4": [False, False, True]}
SUBSETS = {"p1": "easy", "p2": "hard", "p3": "easy", "p4": "medium"}


def lcb_results(root: Path) -> Path:
    bench = root / "eval-results" / "livecodebench"
    bench.mkdir(parents=True)
    for seed in range(3):
        rows = []
        for pid, grades in GRADES.items():
            rows.append({"task_id": pid, "subset_for_metrics": SUBSETS[pid], "release_version": "v5",
                         "generation": "...", "graded_list": [grades[seed]],
                         "num_generated_tokens": 200 if pid == "p2" else 100,
                         "generation_start_time": 990.5 if (pid, seed) == ("p2", 1) else 1000.0,
                         "generation_end_time": 1100.9 if (pid, seed) == ("p4", 2) else 1010.0})
        (bench / f"output-rs{seed}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_metrics_json_hand_computed(tmp_path):
    from skills.metrics.summarize import summarize_results

    _, path = summarize_results(str(lcb_results(tmp_path)))
    m = json.loads(path.read_text())
    assert list(m) == ["livecodebench", "livecodebench-easy", "livecodebench-hard", "livecodebench-medium"]
    top = m["livecodebench"]
    # the reference's order (pass@k, then pass@1[avg-of-k], for each k); no majority modes
    assert list(top) == ["pass@1", "pass@2", "pass@1[avg-of-2]", "pass@3", "pass@1[avg-of-3]"]
    acc = {mode: top[mode]["accuracy"] for mode in top}
    assert acc == pytest.approx({"pass@1": 500 / 12, "pass@2": 200 / 3, "pass@3": 75.0,
                                 "pass@1[avg-of-2]": 37.5, "pass@1[avg-of-3]": 500 / 12})
    assert all("no_answer" not in v for v in top.values())
    assert top["pass@3"]["num_entries"] == 4 and top["pass@3"]["avg_tokens"] == 125
    assert top["pass@3"]["gen_seconds"] == 110  # 1100.9 - 990.5
    stats = top["pass@1[avg-of-3]"]["accuracy_statistics"]
    assert stats["avg"] == pytest.approx(5 / 12)
    assert stats["std_dev_across_runs"] == pytest.approx((1 / 48) ** 0.5)  # runs .5 .25 .5
    assert stats["std_err_across_runs"] == pytest.approx((1 / 48) ** 0.5 / 3 ** 0.5)
    easy = m["livecodebench-easy"]
    assert (easy["pass@1"]["accuracy"], easy["pass@2"]["accuracy"], easy["pass@1[avg-of-2]"]["accuracy"]) == \
        pytest.approx((200 / 3, 100.0, 75.0))
    assert (easy["pass@3"]["num_entries"], easy["pass@3"]["avg_tokens"], easy["pass@3"]["gen_seconds"]) == (2, 100, 10)
    assert m["livecodebench-hard"]["pass@3"]["accuracy"] == 0.0
    assert m["livecodebench-hard"]["pass@3"]["gen_seconds"] == 19  # int(19.5)
    assert m["livecodebench-medium"]["pass@1[avg-of-3]"]["accuracy_statistics"]["std_dev_across_runs"] == \
        pytest.approx((1 / 3) ** 0.5)


def test_summarize_tables_in_the_reference_layout(tmp_path, capsys):
    assert main(["summarize_results", str(lcb_results(tmp_path))]) == 0
    out = capsys.readouterr().out
    expected = [
        "-" * 30 + " livecodebench " + "-" * 30,
        "evaluation_mode  | num_entries | avg_tokens | gen_seconds | accuracy       ",
        "pass@1[avg-of-3] | 4           | 125        | 110         | 41.67% ± 14.43%",
        "pass@3           | 4           | 125        | 110         | 75.00%         ",
        "", "",
        "-" * 28 + " livecodebench-easy " + "-" * 27,
        "evaluation_mode  | num_entries | avg_tokens | gen_seconds | accuracy       ",
        "pass@1[avg-of-3] | 2           | 100        | 10          | 66.67% ± 28.87%",
        "pass@3           | 2           | 100        | 10          | 100.00%        ",
        "", "",
        "-" * 27 + " livecodebench-hard " + "-" * 26,
        "evaluation_mode  | num_entries | avg_tokens | gen_seconds | accuracy     ",
        "pass@1[avg-of-3] | 1           | 200        | 19          | 0.00% ± 0.00%",
        "pass@3           | 1           | 200        | 19          | 0.00%        ",
        "", "",
        "-" * 27 + " livecodebench-medium " + "-" * 26,
        "evaluation_mode  | num_entries | avg_tokens | gen_seconds | accuracy       ",
        "pass@1[avg-of-3] | 1           | 100        | 100         | 33.33% ± 57.74%",
        "pass@3           | 1           | 100        | 100         | 100.00%        ",
        "", "",
    ]
    assert out.splitlines()[:len(expected)] == expected


def test_greedy_table_and_max_seq_len(tmp_path, capsys):
    """One file prints one pass@1 row; a too-long generation becomes the reference's bare failed row,
    which also drops its tokens, times and subset (so p2's "hard" table disappears)."""
    root = lcb_results(tmp_path)
    bench = root / "eval-results" / "livecodebench"
    assert main(["summarize_results", str(root), "--max_seq_len=150"]) == 0
    assert not (root / "eval-results" / "metrics.json").exists()  # a what-if goes beside it
    m = json.loads((root / "eval-results" / "metrics-max_seq_len-150.json").read_text())
    assert list(m) == ["livecodebench", "livecodebench-easy", "livecodebench-medium"]
    assert m["livecodebench"]["pass@3"]["avg_tokens"] == 75 and m["livecodebench"]["pass@3"]["gen_seconds"] == 100
    for seed in (1, 2):
        (bench / f"output-rs{seed}.jsonl").unlink()
    (bench / "output-rs0.jsonl").rename(bench / "output.jsonl")
    capsys.readouterr()
    assert main(["summarize_results", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == ["evaluation_mode | num_entries | avg_tokens | gen_seconds | accuracy",
                          "pass@1          | 4           | 125        | 10          | 50.00%  "]
