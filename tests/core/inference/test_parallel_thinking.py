"""Parallel thinking (GenSelect / GenSynthesis) against a scripted stub server.

Every expected value is worked out here from the reference's rules (NeMo-Skills 0b012df8,
``ParallelThinkingTask``), not read back from our output: one ``random.Random(inference.random_seed)``
per row draws the candidates' seeds (``getrandbits(32)``, online), then shuffles the candidates, then
picks the fallback (``randint`` for GenSelect, ``choice`` for GenSynthesis); candidates longer than
``solution_length_cap`` go before the shuffle, empty ones after it; a candidate is its text after the
last ``</think>``; the selection prompt is the fetched prompt set's ``generic/genselect`` /
``generic/gensynthesis`` filled with ``problem``, ``Solution i: ...`` joined by a blank line,
``num_solutions`` and ``max_idx``.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import List

import pytest
import yaml

from tests.helpers.files import read_jsonl, write_jsonl
from tests.helpers.stub_server import StubProcess, generate_cmd

CANDIDATE = "<think>pondering</think> sol-{seed}"  # 2 whitespace-separated tokens (the stub's count)
SELECT_MARK = "candidate solutions"  # in both prompts' first line, never in a problem


def rows(*problems: str) -> List[dict]:
    return [{"id": i, "messages": [{"role": "user", "content": p}], "expected_answer": str(i)}
            for i, p in enumerate(problems)]


@pytest.fixture(scope="module")
def prompt_set(reference_prompt_sets: Path) -> Path:
    (folder,) = (reference_prompt_sets / "nemo-skills").iterdir()
    return folder


def template(mirror_dir: Path, name: str) -> str:
    """The reference's own wording, read from the mirror the prompt set was fetched from."""
    return yaml.safe_load((mirror_dir / "nemo-skills-prompts" / "config" / f"{name}.yaml").read_text())["user"]


def fill(text: str, problem: str, solutions: List[str]) -> str:
    joined = "\n\n".join(f"Solution {i}: {s}" for i, s in enumerate(solutions))
    return text.format(problem=problem, solutions=joined, num_solutions=len(solutions), max_idx=len(solutions) - 1)


def vllm_body(messages, **sampling) -> dict:
    """What our vLLM request carries, in the default settings unless ``sampling`` says otherwise."""
    body = {"model": "stub-model", "messages": messages, "temperature": 0.0, "top_p": 0.95, "seed": 0,
            "min_p": 0.0, "repetition_penalty": 1.0, "spaces_between_special_tokens": False}
    body.update(sampling)
    return {k: v for k, v in body.items() if v is not None}


def run_with(tmp: Path, script: list, prompt_set: Path, inputs: List[dict], *overrides: str, **knobs):
    """Generation against a stub answering by ``script``; returns (result, output rows, request bodies)."""
    script_file = tmp / "script.json"
    script_file.write_text(json.dumps(script))
    record = tmp / "requests.jsonl"
    src = write_jsonl(tmp / "in.jsonl", inputs)
    out = tmp / "out" / "output.jsonl"
    record.unlink(missing_ok=True)
    with StubProcess(answer=CANDIDATE, script=script_file, record=record, **knobs) as stub:
        res = subprocess.run(generate_cmd(stub.base_url, f"++input_file={src}", f"++output_file={out}",
                                          "++prompt_format=openai", f"++prompt_set_dir={prompt_set}",
                                          "++prompt_source=reference", *overrides),
                             cwd=tmp, capture_output=True, text=True, timeout=120)
    bodies = [r["body"] for r in read_jsonl(record)] if record.exists() else []
    return res, (read_jsonl(out) if out.exists() else []), bodies


def online_expectation(seed: int, window: int, texts, cap=None):
    """(candidate seeds, solutions after shuffle and filters, the row's Random, pre-shuffle texts)."""
    rng = random.Random(seed)
    seeds = [rng.getrandbits(32) for _ in range(window)]
    made = [texts(s) for s in seeds]
    kept = [t for t in made if cap is None or len(t) <= cap]
    rng.shuffle(kept)
    return seeds, [t for t in kept if t != ""], rng


def test_online_genselect_requests_and_fields(tmp_path, prompt_set, mirror_dir):
    reply = "Comparing... Judgement: 0 on a first look.\nJudgment: 2"  # the last match counts, both spellings
    res, out, bodies = run_with(
        tmp_path, [{"contains": SELECT_MARK, "answer": reply}], prompt_set, rows("Problem A", "Problem B"),
        "++parallel_thinking.mode=genselect", "++parallel_thinking.window_size=3",
        "++parallel_thinking.temperature=0.3", "++parallel_thinking.tokens_to_generate=100",
        "++inference.temperature=0.7", "++inference.top_p=0.8", "++inference.random_seed=11",
        "++max_concurrent_requests=3")  # one row at a time (3 // window_size): a fixed request order
    assert res.returncode == 0, res.stderr
    seeds, sols, rng = online_expectation(11, 3, lambda s: f"sol-{s}")
    chosen = sols[2]
    user = template(mirror_dir, "generic/genselect")
    assert len(bodies) == 8
    for n, problem in enumerate(("Problem A", "Problem B")):
        cands, selection = bodies[4 * n: 4 * n + 3], bodies[4 * n + 3]
        msgs = [{"role": "user", "content": problem}]
        assert sorted(cands, key=lambda b: b["seed"]) == [vllm_body(msgs, temperature=0.7, top_p=0.8, seed=s)
                                                          for s in sorted(seeds)]
        # the row's other settings (top_p, its seed), three replaced
        assert selection == vllm_body([{"role": "user", "content": fill(user, problem, sols)}],
                                      temperature=0.3, top_p=0.8, seed=11, max_tokens=100)
        row = out[n]
        assert row["generation"] == chosen and row["id"] == n and row["expected_answer"] == str(n)
        assert row["solution_list"] == sols
        assert row["genselect_comparison"] == reply and row["genselect_successful"] is True
        assert row["genselect_num_generated_tokens"] == len(reply.split())
        assert row["total_solution_generated_tokens"] == 3 * 2
        assert row["num_generated_tokens"] == 6 + len(reply.split())
        assert row["generation_time"] >= 0 and "_async_position" not in row
    assert (tmp_path / "out" / "output.jsonl.done").exists()


def test_online_gensynthesis_filters_and_sends_no_row_settings(tmp_path, prompt_set, mirror_dir):
    rng = random.Random(0)
    s = [rng.getrandbits(32) for _ in range(4)]
    script = [{"seed": s[1], "answer": ""},  # empty: dropped after the shuffle
              {"seed": s[2], "answer": "<think>long</think> " + "x" * 40},  # over the cap: dropped before it
              {"seed": s[3], "answer": "no thinking end {seed}"},  # kept whole
              {"contains": SELECT_MARK, "answer": "<NEW_SOLUTION>first</NEW_SOLUTION> then\n"
                                                  "<NEW_SOLUTION>\n  the new one \n</NEW_SOLUTION>"}]
    res, out, bodies = run_with(
        tmp_path, script, prompt_set, rows("Problem A"), "++parallel_thinking.mode=gensynthesis",
        "++parallel_thinking.window_size=4", "++parallel_thinking.solution_length_cap=30",
        "++inference.top_p=0.8", "++inference.temperature=0.7", "++inference.repetition_penalty=1.1")
    assert res.returncode == 0, res.stderr

    def text(seed):
        return {s[1]: "", s[2]: "x" * 40, s[3]: f"no thinking end {seed}"}.get(seed, f"sol-{seed}")

    seeds, sols, _ = online_expectation(0, 4, text, cap=30)
    assert seeds == s and len(sols) == 2
    assert [b["seed"] for b in bodies[:4]] != [] and sorted(b["seed"] for b in bodies[:4]) == sorted(s)
    # GenSynthesis: temperature 0.6 (the default), nothing else of the row: no seed, default top_p, penalty
    user = template(mirror_dir, "generic/gensynthesis")
    assert bodies[4] == vllm_body([{"role": "user", "content": fill(user, "Problem A", sols)}], temperature=0.6,
                                  seed=None)
    (row,) = out
    assert row["generation"] == "the new one" and row["gensynthesis_successful"] is True
    assert row["solution_list"] == sols
    # tokens: "" -> 0, the long one 2, "no thinking end N" 4, sol-N 2
    assert row["total_solution_generated_tokens"] == 0 + 2 + 4 + 2


@pytest.mark.parametrize("mode,reply", [("genselect", "Judgment: 3"),  # index past the last candidate
                                        ("genselect", "I cannot decide."),
                                        ("gensynthesis", "<NEW_SOLUTION> never closed")])
def test_unparseable_selection_falls_back_to_the_rows_random(tmp_path, prompt_set, mode, reply):
    res, out, bodies = run_with(tmp_path, [{"contains": SELECT_MARK, "answer": reply}], prompt_set,
                                rows("Problem A"), f"++parallel_thinking.mode={mode}",
                                "++parallel_thinking.window_size=3", "++inference.random_seed=7")
    assert res.returncode == 0, res.stderr
    _, sols, rng = online_expectation(7, 3, lambda s: f"sol-{s}")
    expected = sols[rng.randint(0, 2)] if mode == "genselect" else rng.choice(sols)
    (row,) = out
    assert row["generation"] == expected and row[f"{mode}_successful"] is False
    assert row[f"{mode}_comparison"] == reply and len(bodies) == 4


def write_candidates(folder: Path, problems, per_file) -> None:
    """output-rs<k>.jsonl of an earlier run: each line its row's messages and ``per_file[k](problem)``."""
    folder.mkdir(parents=True)
    for k, make in per_file.items():
        write_jsonl(folder / f"output-rs{k}.jsonl",
                    [{"messages": [{"role": "user", "content": p}], "id": i, **make(p)} for i, p in enumerate(problems)])


def test_offline_genselect_window_smaller_than_candidates(tmp_path, prompt_set, mirror_dir):
    gen_dir = tmp_path / "earlier" / "eval-results" / "toy"
    write_candidates(gen_dir, ["Problem A", "Problem B"], {
        0: lambda p: {"generation": f"<think>t</think>c0 {p}"},
        1: lambda p: {"generation": "" if p == "Problem B" else f"c1 {p}"},
        10: lambda p: {"generation": f"c10 {p}"},
        2: lambda p: {"generation": f"c2 {p}"},  # after rs10 in name order: left out by num_initial_solutions=3
        3: lambda p: {"generation": "y" * 30},  # also left out
    })
    res, out, bodies = run_with(
        tmp_path, [{"contains": SELECT_MARK, "answer": "Judgment: 1"}], prompt_set,
        rows("Problem A", "Problem B", "Problem C"), "++parallel_thinking.mode=genselect",
        f"++parallel_thinking.generation_dir={gen_dir}", "++parallel_thinking.num_initial_solutions=3",
        "++parallel_thinking.window_size=2", "++inference.random_seed=4")
    assert res.returncode == 0, res.stderr
    user = template(mirror_dir, "generic/genselect")
    expected = {}
    for p in ("Problem A", "Problem B"):
        found = [f"c0 {p}", "" if p == "Problem B" else f"c1 {p}", f"c10 {p}"]  # rs0, rs1, rs10
        rng = random.Random(4)
        rng.shuffle(found)
        expected[p] = [t for t in found[:2] if t]  # the window, then the empty one out
    # (with seed 4 the shuffle puts rs10 first: A compares [c10, c1]; B [c10, ""] -> [c10])
    assert expected == {"Problem A": ["c10 Problem A", "c1 Problem A"], "Problem B": ["c10 Problem B"]}
    # offline: only the selection requests, one per row that has candidates (C has none)
    assert bodies == [vllm_body([{"role": "user", "content": fill(user, p, expected[p])}], temperature=0.6, seed=4)
                      for p in ("Problem A", "Problem B")]
    a, b, c = out
    assert a["solution_list"] == expected["Problem A"] and a["generation"] == "c1 Problem A"
    assert a["genselect_successful"] is True
    # "Judgment: 1" is past B's only candidate: the fallback, randint(0, 0) after the shuffle
    assert b["genselect_successful"] is False and b["generation"] == "c10 Problem B"
    assert a["total_solution_generated_tokens"] == 0 and a["num_generated_tokens"] == 2
    assert c["generation"] == "" and c["solution_list"] == [] and c["genselect_successful"] is False
    assert c["genselect_comparison"] == "" and c["num_best_solution_generated_tokens"] == 0
    assert c["num_generated_tokens"] == 0 and c["id"] == 2
    assert "no line of the candidate files has its prompt" in res.stderr


def test_offline_gensynthesis_solution_key(tmp_path, prompt_set, mirror_dir):
    gen_dir = tmp_path / "gen"
    write_candidates(gen_dir, ["Problem A"], {k: (lambda p, k=k: {"generation": "ignored", "completion": f"code {k}"})
                                              for k in range(3)})
    res, out, bodies = run_with(
        tmp_path, [{"contains": SELECT_MARK, "answer": "<NEW_SOLUTION>merged</NEW_SOLUTION>"}], prompt_set,
        rows("Problem A"), "++parallel_thinking.mode=gensynthesis", f"++parallel_thinking.generation_dir={gen_dir}",
        "++parallel_thinking.solution_key=completion", "++parallel_thinking.window_size=8",
        "++parallel_thinking.gensynthesis.prompt_config=generic/gensynthesis")
    assert res.returncode == 0, res.stderr
    sols = ["code 0", "code 1", "code 2"]
    random.Random(0).shuffle(sols)
    user = template(mirror_dir, "generic/gensynthesis")
    assert bodies == [vllm_body([{"role": "user", "content": fill(user, "Problem A", sols)}], temperature=0.6,
                                seed=None)]
    (row,) = out
    assert row["generation"] == "merged" and row["completion"] == "merged" and row["solution_list"] == sols


def test_chunks_merge_into_the_same_rows(tmp_path, prompt_set):
    """Two chunks of one seed, run one after the other: the merged file has each row's choice, as one run."""
    gen_dir = tmp_path / "gen"
    problems = ["Problem A", "Problem B", "Problem C"]
    write_candidates(gen_dir, problems, {k: (lambda p, k=k: {"generation": f"c{k} {p}"}) for k in range(3)})
    script = [{"contains": SELECT_MARK, "answer": "Judgment: 2"}]
    args = ["++parallel_thinking.mode=genselect", f"++parallel_thinking.generation_dir={gen_dir}",
            "++inference.random_seed=3", "++num_chunks=2"]
    for chunk in (0, 1):
        res, _, _ = run_with(tmp_path, script, prompt_set, rows(*problems), *args, f"++chunk_id={chunk}")
        assert res.returncode == 0, res.stderr
    merged = read_jsonl(tmp_path / "out" / "output.jsonl")
    for row, p in zip(merged, problems):
        found = [f"c0 {p}", f"c1 {p}", f"c2 {p}"]
        random.Random(3).shuffle(found)
        assert row["solution_list"] == found and row["generation"] == found[2]
    assert (tmp_path / "out" / "output.jsonl.done").exists()


def test_openmath_genselect_prompt_and_text_of_a_system_message(tmp_path, prompt_set, mirror_dir):
    """The problem is the first message's content (the reference's rule), here the system message."""
    inputs = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Problem A"}]}]
    res, out, bodies = run_with(tmp_path, [{"contains": "systematically analyze", "answer": "Judgment: 0"}],
                                prompt_set, inputs, "++parallel_thinking.mode=genselect",
                                "++parallel_thinking.window_size=2",
                                "++parallel_thinking.genselect.prompt_config=openmath/genselect")
    assert res.returncode == 0, res.stderr
    _, sols, _ = online_expectation(0, 2, lambda s: f"sol-{s}")
    user = template(mirror_dir, "openmath/genselect")
    assert bodies[2]["messages"] == [{"role": "user", "content": fill(user, "Be brief.", sols)}]
    assert out[0]["generation"] == sols[0]


def test_text_endpoint_selection_uses_the_chat_template(tmp_path, prompt_set, mirror_dir):
    """``parallel_thinking.endpoint_type=text``: the filled prompt goes through the model's chat template
    (``apply_chat_template(..., add_generation_prompt=True)``, the reference's ``format_as_string``)."""
    from tests.helpers.paths import MODELS
    from tests.helpers.prereqs import missing

    tokenizer_dir = MODELS / "tiny-llama"
    if not (tokenizer_dir / "tokenizer.json").exists():
        missing(f"no tiny model tokenizer at {tokenizer_dir} (scripts/setup.sh builds it)")
    transformers = pytest.importorskip("transformers")
    res, out, bodies = run_with(tmp_path, [{"contains": SELECT_MARK, "answer": "Judgment: 1"}], prompt_set,
                                rows("Problem A"), "++parallel_thinking.mode=genselect",
                                "++parallel_thinking.window_size=2", "++parallel_thinking.endpoint_type=text",
                                "++parallel_thinking.tokens_to_generate=50", f"++tokenizer={tokenizer_dir}")
    assert res.returncode == 0, res.stderr
    _, sols, _ = online_expectation(0, 2, lambda s: f"sol-{s}")
    filled = fill(template(mirror_dir, "generic/genselect"), "Problem A", sols)
    tok = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    prompt = tok.apply_chat_template([{"role": "user", "content": filled}], tokenize=False, add_generation_prompt=True)
    assert [sorted(b) for b in bodies[:2]] == [sorted(vllm_body([]))] * 2  # the candidates stay chat requests
    expected = vllm_body(None, prompt=prompt, temperature=0.6, max_tokens=50, skip_special_tokens=False)
    assert bodies[2] == expected and out[0]["generation"] == sols[1]


def test_resume_keeps_rows_and_refuses_changed_candidates(tmp_path, prompt_set):
    gen_dir = tmp_path / "gen"
    write_candidates(gen_dir, ["Problem A", "Problem B"], {0: lambda p: {"generation": f"a {p}"},
                                                           1: lambda p: {"generation": f"b {p}"}})
    script = [{"contains": SELECT_MARK, "answer": "Judgment: 0"}]
    args = ["++parallel_thinking.mode=genselect", f"++parallel_thinking.generation_dir={gen_dir}",
            "++max_concurrent_requests=1"]  # row A, then row B
    inputs = rows("Problem A", "Problem B")
    final = tmp_path / "out" / "output.jsonl"
    journal = Path(f"{final}-async")
    # row B's selection is refused (400): the run stops with row A in the journal
    res, _, bodies = run_with(tmp_path, script, prompt_set, inputs, *args, fail_marker="Problem B", fail_kinds="400")
    assert res.returncode == 1 and journal.exists() and not final.exists()
    res, out, bodies = run_with(tmp_path, script, prompt_set, inputs, *args, "++skip_filled=True")
    assert res.returncode == 0, res.stderr
    assert len(bodies) == 1 and "Problem B" in bodies[0]["messages"][0]["content"]  # only the missing row
    assert [r["id"] for r in out] == [0, 1] and all(r["genselect_successful"] for r in out)
    # the same, but the candidates change between the runs: the resume is refused, naming the file
    final.unlink()
    res, _, _ = run_with(tmp_path, script, prompt_set, inputs, *args, fail_marker="Problem B", fail_kinds="400")
    assert res.returncode == 1 and journal.exists()
    write_jsonl(gen_dir / "output-rs1.jsonl", [{"messages": [{"role": "user", "content": "Problem A"}],
                                                "generation": "changed"}])
    res, _, bodies = run_with(tmp_path, script, prompt_set, inputs, *args, "++skip_filled=True")
    assert res.returncode == 2 and not bodies
    assert "parallel thinking candidates output-rs1.jsonl" in res.stderr, res.stderr


@pytest.mark.parametrize("token,words", [
    ("++parallel_thinking.mode=genselct", ["genselect or gensynthesis"]),
    ("++parallel_thinking.window_size=0", ["window_size", ">= 1"]),
    ("++parallel_thinking.num_initial_solutions=4", ["generation_dir"]),
    ("++parallel_thinking.end_reasoning_string=END", ["top-level", "++end_reasoning_string"]),
    ("++parallel_thinking.genselect.regex=(", ["regex"]),
    ("++parallel_thinking.genselect.prompt_config=generic/nosuch", ["nosuch"]),
])
def test_bad_settings_are_one_line(tmp_path, prompt_set, token, words):
    mode = [] if "mode=" in token else ["++parallel_thinking.mode=genselect"]
    res, out, bodies = run_with(tmp_path, [], prompt_set, rows("Problem A"), *mode, token)
    assert res.returncode == 2 and not bodies and not out
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("error:") and all(w in line for w in words), res.stderr


def test_missing_generation_dir_is_one_line(tmp_path, prompt_set):
    res, _, bodies = run_with(tmp_path, [], prompt_set, rows("Problem A"), "++parallel_thinking.mode=genselect",
                              f"++parallel_thinking.generation_dir={tmp_path / 'nothing'}")
    assert res.returncode == 2 and not bodies
    assert "generation_dir" in res.stderr and "Traceback" not in res.stderr


def test_modules_with_their_own_requests_refuse_it():
    from skills.config.errors import UsageError
    from skills.inference.math_judge import TASK
    from skills.inference.settings import load_config

    cfg = load_config(["++prompt_config=judge/math", "++output_file=o", "++parallel_thinking.mode=genselect"],
                      TASK.config_class, check=False)
    with pytest.raises(UsageError, match="its own"):
        TASK.check(cfg)


def test_ns_eval_plans_it_for_the_generation_not_the_judge(capsys, tmp_path, data_dir, no_cluster_config_env):
    """Every seed's generation gets the settings (and its own seed); the judge stage of a judged
    benchmark (HLE) does not; a plan-time check refuses bad values before any job."""
    from skills.cli.app import main

    base = ["eval", "--cluster=local", "--model=/m", "--server_type=vllm", "--server_gpus=1",
            f"--output_dir={tmp_path / 'out'}", f"--data_dir={data_dir}", "--benchmarks=math-500:2,hle:2",
            "++parallel_thinking.mode=gensynthesis", "++parallel_thinking.window_size=4"]
    assert main([*base, "--dry_run", "--dry_run_format=json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    argvs = [argv for job in plan["jobs"] for argv in job["programs"] if "skills.inference.generate" in argv]
    gens = [a for a in argvs if "++generation_key=judgement" not in a]
    judges = [a for a in argvs if "++generation_key=judgement" in a]
    assert len(gens) == 4 and judges
    for argv in gens:
        assert "++parallel_thinking.mode=gensynthesis" in argv and "++parallel_thinking.window_size=4" in argv
    assert sorted(next(t for t in a if t.startswith("++inference.random_seed=")) for a in gens) == \
        ["++inference.random_seed=0"] * 2 + ["++inference.random_seed=1"] * 2
    assert not any("parallel_thinking" in t for a in judges for t in a)
    assert main([*base, "++parallel_thinking.window_size=0", "--dry_run"]) == 2
    assert "window_size must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_ns_generate_genselect_on_the_tiny_model(vllm_server, tiny_model, toy_data_dir, prompt_set, tmp_path):
    """Real vLLM: ``ns generate`` plans it, every candidate is the greedy answer the tiny model was
    trained to give (so whatever the selection says, the line's answer is that one), grading and
    ``.done`` follow as for any generation."""
    from tests.helpers.commands import ns
    from tests.helpers.paths import TOY_DATASETS

    inputs = read_jsonl(toy_data_dir / "toy_math" / "test.jsonl")[:6]
    src = write_jsonl(tmp_path / "in.jsonl", inputs)
    out = tmp_path / "gen"
    res = ns("generate", "--cluster=local", *vllm_server.address_args(), f"--input_file={src}",
             f"--output_dir={out}", f"++prompt_config={TOY_DATASETS / 'prompt.yaml'}", "++inference.temperature=0.0",
             "++inference.tokens_to_generate=32", "++eval_type=math", f"++prompt_set_dir={prompt_set}",
             "++parallel_thinking.mode=genselect", "++parallel_thinking.window_size=2",
             "++parallel_thinking.tokens_to_generate=16", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    outcomes = json.loads((tiny_model / "trained_outcomes.json").read_text())["toy_math"]
    rows_out = read_jsonl(out / "output.jsonl")
    assert [r["id"] for r in rows_out] == [r["id"] for r in inputs] and (out / "output.jsonl.done").exists()
    for row in rows_out:
        trained = outcomes[row["id"]]
        assert [s.strip() for s in row["solution_list"]] == [trained["generation"]] * 2
        assert row["generation"].strip() == trained["generation"] and row["symbolic_correct"] is trained["correct"]
        assert isinstance(row["genselect_successful"], bool) and isinstance(row["genselect_comparison"], str)
        assert 0 < row["genselect_num_generated_tokens"] <= 16
        assert row["num_generated_tokens"] == row["total_solution_generated_tokens"] + row["genselect_num_generated_tokens"]
