"""HumanEval-Infilling: prepared splits against rows computed here from the mirror, the reference's
extraction and overlap rules, the plan, and verdicts of our grader (programs in the sandbox) against
the upstream grader's own ``evaluate`` run directly on the same completions."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from skills.benchmarks.human_eval_infilling.grader import (cut_repeated_prefix, cut_repeated_suffix,
                                                           extract_unstripped)
from skills.cli.app import main
from skills.config.errors import UsageError
from tests.helpers.files import read_jsonl
from tests.helpers.prereqs import environment_or_missing, missing

FILES = {"single_line": ("HumanEval-SingleLineInfilling.jsonl", 1033),
         "multi_line": ("HumanEval-MultiLineInfilling.jsonl", 5815),
         "random_span": ("HumanEval-RandomSpanInfilling.jsonl", 1640)}


def mirror() -> Path:
    value = os.environ.get("SKILLS_DATA_MIRROR")
    if not value or not (Path(value) / "human-eval-infilling" / FILES["single_line"][0]).is_file():
        missing(f"the HumanEval-Infilling data is not in the mirror (SKILLS_DATA_MIRROR={value!r})")
    return Path(value)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("data")
    assert main(["prepare_data", "human-eval-infilling", "--mirror", str(mirror()), "--data_dir", str(data)]) == 0
    return data


@pytest.mark.parametrize("split", sorted(FILES))
def test_prepared_splits(prepared, split):
    name, count = FILES[split]
    upstream = (mirror() / "human-eval-infilling" / name).read_bytes()
    expected = []
    for line in upstream.decode().splitlines():
        t = json.loads(line)
        expected.append({"task_id": t["task_id"], "suffix": t["suffix"], "canonical_solution": t["canonical_solution"],
                         "prefix": t["prompt"], "language": "python", "split": split, "comment_delimiter": "#"})
    got = read_jsonl(prepared / "human-eval-infilling" / f"{split}.jsonl")
    assert len(got) == count and got == expected and [list(r) for r in got] == [list(r) for r in expected]
    assert (prepared / "human-eval-infilling" / name).read_bytes() == upstream


def test_unknown_split_is_refused(tmp_path):
    rc = main(["prepare_data", "human-eval-infilling", "--split", "two_line", "--mirror", str(mirror()),
               "--data_dir", str(tmp_path)])
    assert rc == 2


@pytest.mark.parametrize("generation, code", [
    ("```python\n    x = 1\n```", "\n    x = 1\n"),  # whitespace kept, unlike other code graders
    ("text\n```\n  y\n```\nmore", "\n  y\n"),
    ("<think>plan</think>\n```python\nz\n```", "\nz\n"),
    ("<think>never closed", ""),
    ("  no fence\r\n", "  no fence\n"),
])
def test_extraction_keeps_whitespace(generation, code):
    assert extract_unstripped(generation) == code


def test_overlap_rules():
    prefix, suffix = "def f(x):\n    y = x\n", "    return y\n"
    assert cut_repeated_prefix(prefix, "    y = x\n    y += 1\n") == "    y += 1\n"
    assert cut_repeated_suffix("    y += 1\n    return y\n", suffix) == "    y += 1\n"
    assert cut_repeated_prefix("a = 1 ", " b") == " b"  # spaces alone are never an overlap
    assert cut_repeated_prefix(prefix, "z = 2\n") == "z = 2\n"


def test_rows_must_share_a_split(tmp_path):
    from skills.benchmarks.human_eval_infilling.grader import InfillingConfig, grade
    from skills.evaluation.registry import GradeContext

    rows = [{"task_id": "a", "split": "single_line", "prefix": "", "suffix": "", "generation": ""},
            {"task_id": "b", "split": "multi_line", "prefix": "", "suffix": "", "generation": ""}]
    with pytest.raises(UsageError, match="share one split"):
        grade(rows, InfillingConfig(), GradeContext(path=tmp_path / "x.jsonl"))


def test_dry_run_plan(prepared, tmp_path, capsys):
    rc = main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
               "--model=m", "--benchmarks=human-eval-infilling:1", "--split=single_line", f"--data_dir={prepared}",
               f"--output_dir={tmp_path / 'out'}", "--dry_run", "--dry_run_format=json"])
    assert rc == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert [j["kind"] for j in jobs] == ["generation", "metrics"]
    assert [s["name"] for s in jobs[0]["sidecars"]] == ["sandbox"]
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    for token in ("++prompt_config=generic/fim", "++eval_type=human_eval_infilling",
                  f"++input_file={prepared}/human-eval-infilling/single_line.jsonl"):
        assert token in text


DIRECT = textwrap.dedent("""
    import json, sys
    from human_eval_infilling.data import read_problems
    from human_eval_infilling.execution import check_correctness
    problems = read_problems(sys.argv[1])
    samples = json.load(open(sys.argv[2]))
    print(json.dumps([check_correctness(problems[t], c, 3.0)["passed"] for t, c in samples]))
""")


def test_verdicts_in_the_sandbox_equal_the_upstream_grader(prepared, tmp_path):
    """Canonical middles pass; crafted ones (wrong, raising, looping, repeating the prefix and
    suffix, exiting) get the verdict of the upstream grader's ``check_correctness`` (what its
    ``evaluate`` calls per sample) run directly, reading the problems from its own cache."""
    from skills.benchmarks.human_eval_infilling.grader import InfillingConfig, grade
    from skills.evaluation.registry import GradeContext

    python = environment_or_missing("sandbox", "sandbox")
    split, (name, _) = "single_line", FILES["single_line"]
    rows = read_jsonl(prepared / "human-eval-infilling" / f"{split}.jsonl")[:3]
    first = rows[0]
    crafted = [
        "```python\n    return 42\n```",
        "```python\n    raise ValueError()\n```",
        "```python\n    while True: pass\n```",
        "```python\n" + first["prefix"][-20:] + first["canonical_solution"] + first["suffix"][:15] + "\n```",
        "```python\n    import sys; sys.exit(0)\n```",
        "Sure:\n```python\n" + first["canonical_solution"] + "```",
    ]
    samples = [dict(r, generation="```python\n" + r["canonical_solution"] + "```") for r in rows]
    samples += [dict(first, generation=g) for g in crafted]
    grade(samples, InfillingConfig(), GradeContext(pipeline={"data_dir": str(prepared)}))
    ours = [s["passed"] for s in samples]

    cache = tmp_path / "cache" / "evalplus"
    cache.mkdir(parents=True)
    (cache / name).write_bytes((prepared / "human-eval-infilling" / name).read_bytes())
    path = tmp_path / "samples.json"
    path.write_text(json.dumps([(s["task_id"], s["completion"]) for s in samples]))
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    done = subprocess.run([python, "-c", DIRECT, split, str(path)], env=env, check=True, capture_output=True,
                          text=True, timeout=300)
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert ours == theirs
    assert ours[:len(rows)] == [True] * len(rows) and ours[-1] is True
    assert ours[len(rows):-1].count(False) >= 4
