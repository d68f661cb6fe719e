"""LiveCodeBench Pro: prepared rows from the invented fixture mirror (upstream fields), the
submission fields the reference writes, the entry-count table and the plan (no sandbox: nothing runs)."""

from __future__ import annotations

import json

from skills.cli.app import main
from tests.helpers.files import read_jsonl
from tests.helpers.paths import FIXTURES

MIRROR = FIXTURES / "livecodebench-pro"


def expected_rows():
    out = []
    for split in MIRROR.joinpath("splits.txt").read_text().split():
        for line in MIRROR.joinpath(f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            pid, statement = row.pop("problem_id"), row.pop("problem_statement")
            out.append({**row, "task_id": pid, "question": statement, "split": split})
    return out


def test_prepare_walks_every_split_in_order(tmp_path):
    assert main(["prepare_data", "livecodebench-pro", f"--mirror={FIXTURES}", f"--data_dir={tmp_path}"]) == 0
    rows = read_jsonl(tmp_path / "livecodebench-pro" / "test.jsonl")
    assert rows == expected_rows() and [list(r) for r in rows] == [list(r) for r in expected_rows()]
    assert [r["task_id"] for r in rows].count("2001B") == 2  # overlapping release windows
    assert main(["prepare_data", "livecodebench-pro", f"--mirror={FIXTURES}", f"--data_dir={tmp_path}",
                 "--split=quater_2025_1_3"]) == 0
    assert [r["split"] for r in read_jsonl(tmp_path / "livecodebench-pro" / "test.jsonl")] == ["quater_2025_1_3"] * 2


def test_grading_writes_the_judges_submission_fields(tmp_path):
    from skills.evaluation import grade_file

    path = tmp_path / "output.jsonl"
    rows = [dict(r, generation=f"Plan.\n```python\nprint({i})\n```\ntrailing") for i, r in enumerate(expected_rows())]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    grade_file(path, "livecodebench_pro", {})
    got = read_jsonl(path)
    for i, (row, src) in enumerate(zip(got, rows)):
        assert list(row)[-3:] == ["problem_id", "text_response", "response_meta"] and "task_id" not in row
        assert (row["problem_id"], row["text_response"], row["response_meta"]) == (src["task_id"], f"print({i})", None)


def test_table_counts_submissions_and_plan(tmp_path, capsys):
    bench = tmp_path / "eval-results" / "livecodebench-pro"
    bench.mkdir(parents=True)
    (bench / "output.jsonl").write_text("".join(json.dumps({"problem_id": "a", "text_response": code,
                                                            "num_generated_tokens": 7}) + "\n" for code in ("x", "", "y")))
    assert main(["summarize_results", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [c.strip() for c in out[1].split("|")] == ["evaluation_mode", "num_entries", "avg_tokens", "has_code"]
    assert [c.strip() for c in out[2].split("|")] == ["pass@1", "3", "7", "66.67%"]
    data = tmp_path / "data"
    assert main(["prepare_data", "livecodebench-pro", f"--mirror={FIXTURES}", f"--data_dir={data}"]) == 0
    capsys.readouterr()
    assert main(["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
                 "--model=m", "--benchmarks=livecodebench-pro", f"--data_dir={data}", f"--output_dir={tmp_path / 'o'}",
                 "--dry_run", "--dry_run_format=json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert not jobs[0]["sidecars"]
    text = " ".join(" ".join(c) if isinstance(c, list) else c for c in jobs[0]["commands"])
    assert "++eval_type=livecodebench_pro" in text and "++prompt_config=eval/livecodebench/python_codegen" in text
