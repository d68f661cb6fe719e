"""The estimate of ``--dry_run`` (requests, tokens, dollars) and the whole plan's ETA in the live display.

Every expected number is worked out by hand here from the hand-made data (prompt = the problem's
text, counted as characters/4 rounded up per request), never read back from the code.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from skills.cli.app import main
from skills.pipeline.executors.display import Display, PlanEta, read_runs, tallies

pytestmark = pytest.mark.usefixtures("no_cluster_config_env")

PROBLEMS = ["What is 2+2?", "Name a prime number."]  # 12 and 20 characters: 3 and 5 tokens at chars/4
PROMPT_TOKENS = 3 + 5  # per run (both rows)
API = "--server_address=https://api.openai.com/v1"


@pytest.fixture(autouse=True)
def _offline_tokenizers(tmp_path, monkeypatch):
    """No tiktoken cache: API model names fall back to characters/4, whatever this machine has cached."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "no-tiktoken-cache"))
    monkeypatch.delenv("SKILLS_PRICE_TABLE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"problem": p, "expected_answer": "4"}) + "\n"
                                               for p in PROBLEMS))
    (tmp_path / "prompt.yaml").write_text('user: "{problem}"\n')
    (tmp_path / "judge.yaml").write_text('user: "{problem}|{generation}"\n')
    data = tmp_path / "data" / "aime24"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text((tmp_path / "in.jsonl").read_text())
    return tmp_path


def _dry_run(capsys, argv, fmt="json"):
    rc = main([*argv, "--dry_run", f"--dry_run_format={fmt}"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)["estimate"] if fmt == "json" else out


def _generate(files: Path, *extra: str):
    return ["generate", "--cluster=local", "--server_type=openai", API, "--model=gpt-4.1",
            f"--input_file={files / 'in.jsonl'}", f"--output_dir={files / 'out'}",
            f"++prompt_config={files / 'prompt.yaml'}", "++inference.tokens_to_generate=50", *extra]


def test_generate_counts_requests_tokens_and_dollars(files, capsys):
    est = _dry_run(capsys, _generate(files, "--num_random_seeds=3"))
    (stage,) = est["stages"]
    assert stage["requests"] == 2 * 3 and stage["runs"] == 3
    assert stage["prompt_tokens"] == PROMPT_TOKENS * 3
    assert stage["generated_bound"] == 50 * 6 and stage["generated_expected"] is None
    assert stage["counted_with"] == "approximated as characters/4"
    # example table: gpt-4.1 at $2 in / $8 out per million tokens
    assert stage["cost_bound"] == pytest.approx((24 * 2 + 300 * 8) / 1e6)
    assert est["totals"]["cost_usd_bound"] == pytest.approx((24 * 2 + 300 * 8) / 1e6)
    assert est["totals"]["unpriced_models"] == []
    text = _dry_run(capsys, _generate(files, "--num_random_seeds=3"), fmt="text")
    assert "6 requests (3 run(s)); 24 prompt tokens (approximated as characters/4)" in text
    assert "generated at most 300 tokens" in text and "not authoritative" in text


def test_earlier_results_give_the_expected_length(files, capsys):
    out = files / "out"
    out.mkdir()
    (out / "output-rs0.jsonl").write_text("".join(json.dumps({"problem": p, "generation": "x",
                                                              "num_generated_tokens": n}) + "\n"
                                                  for p, n in zip(PROBLEMS, (10, 30))))
    (out / "output-rs0.jsonl.done").write_text("")
    est = _dry_run(capsys, _generate(files, "--num_random_seeds=3"))  # seed 0 done: seeds 1 and 2 left
    (stage,) = est["stages"]
    assert stage["requests"] == 4 and stage["prompt_tokens"] == PROMPT_TOKENS * 2
    assert stage["generated_bound"] == 200
    assert stage["generated_expected"] == 4 * 20  # mean of 10 and 30
    assert stage["cost_expected"] == pytest.approx((16 * 2 + 80 * 8) / 1e6)
    assert stage["cost_bound"] == pytest.approx((16 * 2 + 200 * 8) / 1e6)


def test_a_user_given_folder_of_earlier_results(files, capsys):
    earlier = files / "earlier"
    earlier.mkdir()
    (earlier / "output.jsonl").write_text("".join(json.dumps({"num_generated_tokens": n}) + "\n" for n in (7, 9)))
    est = _dry_run(capsys, _generate(files, f"--estimate_from={earlier}"))
    (stage,) = est["stages"]
    assert stage["requests"] == 2 and stage["generated_expected"] == 2 * 8
    assert str(earlier) in stage["expected_from"]


def _word_tokenizer(folder: Path) -> None:
    """A tokenizer whose tokens are the words between spaces (so counts are easy to do by hand)."""
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    tok = tokenizers.Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = WhitespaceSplit()
    folder.mkdir(parents=True)
    tok.save(str(folder / "tokenizer.json"))


def test_the_models_tokenizer_counts_when_it_is_here(files, capsys):
    model = files / "model"
    _word_tokenizer(model)
    argv = [a if not a.startswith("--model=") else f"--model={model}" for a in _generate(files)]
    (stage,) = _dry_run(capsys, argv)["stages"]
    assert stage["prompt_tokens"] == 3 + 4  # words: "What is 2+2?", "Name a prime number."
    assert "tokenizer.json" in stage["counted_with"]
    assert stage["api"] and stage["price"] is None  # a local folder has no price: unknown, said


def test_a_hugging_face_id_in_the_local_cache(files, capsys, monkeypatch):
    pytest.importorskip("huggingface_hub")
    cache = files / "hf-cache"
    repo = cache / "models--my-org--my-model"
    _word_tokenizer(repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))  # read at import time
    argv = [a if not a.startswith("--model=") else "--model=my-org/my-model" for a in _generate(files)]
    (stage,) = _dry_run(capsys, argv)["stages"]
    assert stage["prompt_tokens"] == 3 + 4 and "abc123" in stage["counted_with"]
    argv = [a if not a.startswith("--model=") else "--model=my-org/not-cached" for a in _generate(files)]
    (stage,) = _dry_run(capsys, argv)["stages"]
    assert stage["prompt_tokens"] == PROMPT_TOKENS and stage["counted_with"] == "approximated as characters/4"


def _eval(files: Path, *extra: str):
    return ["eval", "--cluster=local", "--server_type=openai", "--server_address=http://127.0.0.1:1/v1",
            "--model=my-local-model", "--benchmarks=aime24:2", f"--data_dir={files / 'data'}",
            f"--output_dir={files / 'out'}", f"++prompt_config={files / 'prompt.yaml'}",
            "++inference.tokens_to_generate=50", "--judge_server_type=openai", "--judge_model=gpt-4.1",
            "--judge_server_address=https://api.openai.com/v1",
            f"--extra_judge_args=++prompt_config={files / 'judge.yaml'} ++inference.tokens_to_generate=20", *extra]


# the judge's prompt over an empty generation: "<problem>|" (13 and 21 characters: 4 and 6 tokens),
# plus the generation it reads (at most 50 tokens per row)
JUDGE_PROMPT = 2 * ((4 + 6) + 2 * 50)


def test_judge_behind_an_api_and_an_unknown_model(files, capsys):
    est = _dry_run(capsys, _eval(files))
    stages = {s["label"]: s for s in est["stages"]}
    gen, judge = stages["aime24"], stages["aime24 judge"]
    assert gen["requests"] == 4 and gen["prompt_tokens"] == 2 * PROMPT_TOKENS and gen["generated_bound"] == 200
    assert judge["requests"] == 4 and judge["prompt_tokens"] == JUDGE_PROMPT and judge["generated_bound"] == 80
    assert judge["cost_bound"] == pytest.approx((JUDGE_PROMPT * 2 + 80 * 8) / 1e6)
    # the generation's model has no price: unknown, never $0
    assert gen["price"] is None and gen["cost_bound"] is None
    totals = est["totals"]
    assert totals["requests"] == 8 and totals["unpriced_models"] == ["my-local-model"]
    assert totals["cost_usd_bound"] is None and totals["cost_usd_expected"] is None
    text = _dry_run(capsys, _eval(files), fmt="text")
    assert "cost: unknown (no price for 'my-local-model' in the price table" in text
    api_line = next(line for line in text.splitlines() if line.startswith("  API cost:"))
    assert api_line == "  API cost: unknown: no price for 'my-local-model' (not counted as $0)"


def test_a_judge_over_earlier_and_planned_generations(files, capsys):
    gen_dir = files / "out" / "tmp-eval-results" / "aime24"
    gen_dir.mkdir(parents=True)
    rows = [{"problem": p, "expected_answer": "4", "generation": g, "num_generated_tokens": n}
            for p, g, n in zip(PROBLEMS, ("1234", "12345678"), (10, 30))]
    (gen_dir / "output-rs0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (gen_dir / "output-rs0.jsonl.done").write_text("")
    stages = {s["label"]: s for s in _dry_run(capsys, _eval(files))["stages"]}
    gen, judge = stages["aime24"], stages["aime24 judge"]
    assert gen["requests"] == 2 and gen["generated_expected"] == 2 * 20  # seed 1 left; mean of 10 and 30
    # seed 0's judge reads the finished generations: "What is 2+2?|1234" (17 chars: 5 tokens) and
    # "Name a prime number.|12345678" (29: 8); seed 1's: an empty generation (4 + 6) + 20 measured per row
    assert judge["requests"] == 4 and judge["prompt_tokens"] == (5 + 8) + (4 + 6 + 2 * 20)
    assert judge["generated_bound"] == 4 * 20
    # --rerun_done makes seed 0's generations again: its judge reads those, not the file there now
    judge = {s["label"]: s for s in _dry_run(capsys, _eval(files, "--rerun_done"))["stages"]}["aime24 judge"]
    assert judge["requests"] == 4 and judge["prompt_tokens"] == 2 * (4 + 6 + 2 * 20)


def test_a_users_price_table_extends_and_overrides(files, capsys, monkeypatch):
    table = files / "prices.yaml"
    table.write_text("models:\n  gpt-4.1: {input: 1.0, output: 3.0}\n  my-local-model: {input: 0.5, output: 0.25}\n")
    est = _dry_run(capsys, _eval(files, f"--price_table={table}"))
    stages = {s["label"]: s for s in est["stages"]}
    gen_cost = (2 * PROMPT_TOKENS * 0.5 + 200 * 0.25) / 1e6
    judge_cost = (JUDGE_PROMPT * 1.0 + 80 * 3.0) / 1e6
    assert stages["aime24"]["cost_bound"] == pytest.approx(gen_cost)
    assert stages["aime24 judge"]["cost_bound"] == pytest.approx(judge_cost)
    assert est["totals"]["cost_usd_bound"] == pytest.approx(gen_cost + judge_cost)
    assert any(str(table) in s for s in est["price_sources"])
    # by environment variable, replacing the examples: gpt-4.1 has no price any more
    table.write_text("replace: true\nmodels:\n  my-local-model: {input: 0.5, output: 0.25}\n")
    monkeypatch.setenv("SKILLS_PRICE_TABLE", str(table))
    est = _dry_run(capsys, _eval(files))
    assert est["totals"]["unpriced_models"] == ["gpt-4.1"]
    assert {s["label"]: s for s in est["stages"]}["aime24"]["cost_bound"] == pytest.approx(gen_cost)


def test_a_bad_price_table_is_one_line(files, capsys):
    table = files / "prices.yaml"
    table.write_text("models:\n  gpt-4.1: {input: cheap}\n")
    rc = main([*_generate(files), f"--price_table={table}", "--dry_run"])
    err = capsys.readouterr().err
    assert rc == 2 and "gpt-4.1" in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- the whole plan's ETA
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plan_eta_from_the_plans_own_pace():
    clock = FakeClock()
    eta = PlanEta(clock, window_s=30)
    assert eta.update(0, 100) is None  # no pace yet
    clock.now = 10
    assert eta.update(20, 100) == pytest.approx(80 * 10 / 20)  # 2 rows/s, 80 left
    clock.now = 20
    assert eta.update(20, 100) == pytest.approx(80 * 20 / 20)  # a pause (grading, a server start) slows it
    clock.now = 100
    # the window keeps one sample at least 30 s old: (20 s, 20 rows) -> 40 rows in 80 s
    assert eta.update(60, 100) == pytest.approx(40 * 80 / 40)
    clock.now = 110
    assert eta.update(100, 100) == 0.0
    clock.now = 120
    assert eta.update(5, 100) is None  # counted anew: no pace until rows are done again


def _progress(folder: Path, label: str, state: str, done: int, total: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (label.replace(" ", "_") + ".json")).write_text(json.dumps(
        {"label": label, "state": state, "done": done, "total": total, "tok_s": 0, "eta_s": None}))


def test_pending_judges_count_in_the_plan(tmp_path):
    _progress(tmp_path, "aime24 rs0", "generating", 5, 10)
    runs = read_runs(tmp_path, ["aime24 rs0", "aime24 rs1", "aime24 rs0 judge"],
                     {"aime24 rs1": 10, "aime24 rs0 judge": 10})
    _, overall = tallies(runs)
    assert overall.runs == 3 and overall.expected_total == 30 and overall.done == 5


def test_the_display_line_shows_the_plans_eta(tmp_path):
    clock, out = FakeClock(), io.StringIO()
    expected = ["aime24 rs0", "aime24 rs0 judge"]
    display = Display(tmp_path, out, expected, rows={"aime24 rs0 judge": 10}, clock=clock)
    _progress(tmp_path, "aime24 rs0", "generating", 0, 10)
    display._print_changes()
    clock.now = 60
    _progress(tmp_path, "aime24 rs0", "generated", 10, 10)  # 10 rows a minute; 10 judge rows left
    display._print_changes()
    overall = [ln for ln in out.getvalue().splitlines() if ln.startswith("progress: all:")]
    assert overall[-1].startswith("progress: all: 1/2 seeds done, rows 10/20 (50%)")
    assert ", ETA 1m00s, 1 pending" in overall[-1]
    assert math.isclose(display.plan_eta.update(10, 20), 60.0)


def test_planned_rows_of_chunks_and_judges(tmp_path):
    from skills.pipeline.estimate import planned_rows
    from skills.pipeline.plan import Job, Plan

    src = tmp_path / "test.jsonl"
    src.write_text("".join(json.dumps({"problem": str(i)}) + "\n" for i in range(5)) + "\n")  # 5 rows, a blank line
    gen_out, judged = tmp_path / "tmp-eval-results" / "b" / "output-rs0.jsonl", tmp_path / "eval-results" / "b"
    gen = [["python", "-m", "skills.inference.generate", f"++input_file={src}", f"++output_file={gen_out}",
            "++num_chunks=2", f"++chunk_id={c}"] for c in (0, 1)]
    judge = [["python", "-m", "skills.inference.generate", f"++input_file={gen_out}",
              f"++output_file={judged / 'output-rs0.jsonl'}", "++generation_key=judgement", "++max_samples=4"]]
    plan = Plan("e", "local", "local", jobs=[Job("g", "generation", [], programs=gen),
                                             Job("j", "judge", [], programs=judge)])
    # chunks of 5 rows: 3 and 2; the judge reads the merged 5 rows, at most 4 of them
    assert planned_rows(plan) == {"b rs0 chunk0": 3, "b rs0 chunk1": 2, "b rs0 judge": 4}
