"""The bfcl grader (gorilla's checker at the reference's pin, per entry, in .venv-bfcl) on crafted generations:
each split family right and wrong, the reference's row format, confinement of the multi-turn eval."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers.paths import REPO_ROOT
from tests.helpers.files import read_jsonl
from skills.config.errors import UsageError
from skills.evaluation import grade_file

MARKER = REPO_ROOT / ".cache" / "bfcl-injection-marker"  # writable here, read-only inside the sandbox


def fc(func, **args):
    """One function call as the reference stores it: {name: JSON string of the arguments}."""
    return {func: json.dumps(args)}


DONE = "Done."
MT1 = [  # multi_turn_*_1: ls -a; mv log.txt to archive; grep Error; tail 20 lines
    [[fc("ls", a=True)], DONE],
    [[fc("cd", folder="workspace"), fc("mv", source="log.txt", destination="archive")], DONE],
    [[fc("cd", folder="archive"), fc("grep", file_name="log.txt", pattern="Error")], DONE],
    [[fc("tail", file_name="log.txt", lines=20)], DONE],
]
NO_ACTION = ["I cannot do that with the available functions."]

# (id, generation, is_correct, checker error type)
CASES = [
    # AST: simple / java / javascript / parallel / multiple / live
    ("simple_1", [fc("math_factorial", number=5)], True, None),
    ("simple_2", [fc("math_hypot", x=4, y=5, z=0)], True, None),
    ("simple_3", "The roots are 1 and 2.", False, "ast_decoder:decoder_failed"),  # text instead of a call
    ("simple_4", [{"solve_quadratic": {"a": 1, "b": -3, "c": 2}}], False, "ast_decoder:decoder_failed"),  # dict args
    ("simple_5", [fc("solve_quadratic", a=3, b=-11, c="__wrong__")], False, "type_error:simple"),
    ("java_2", [fc("FireBirdUtils_getViewSourceWithHeader", monitor="dbMonitor", view="EmployeeView",
                   source="SELECT * FROM Employee WHERE status = 'active'")], True, None),
    ("java_5", [fc("nonexistent_method", x="1")], False,
     "simple_function_checker:wrong_func_name"),
    ("javascript_1", [fc("getActiveDataEntries", listElement="listElement", attribute="data-active",
                         value="true")], True, None),
    ("javascript_3", [], False, "simple_function_checker:wrong_count"),
    ("parallel_1", [fc("calculate_em_force", b_field=5, area=2, d_time=4),
                    fc("calculate_em_force", b_field=5, area=2, d_time=10)], True, None),
    ("parallel_2", [fc("calculate_resistance", length=5, area=0.01, resistivity="copper")], False,
     "parallel_function_checker_no_order:wrong_count"),
    ("parallel_3", [], False, "parallel_function_checker_no_order:wrong_count"),
    ("multiple_1", [fc("math_triangle_area_heron", side1=3, side2=4, side3=5)], True, None),
    ("multiple_2", [fc("country_info.capital", country="Brazil")], False,
     "simple_function_checker:wrong_func_name"),  # names must use _ as in the tools sent
    ("live_simple_1-1-0", [fc("github_star", repos="ShishirPatil/gorilla,gorilla-llm/gorilla-cli", aligned=True)],
     True, None),
    ("live_simple_2-2-0", [fc("uber_ride", loc="2020 Addison Street, Berkeley, CA, USA", type="comfort", time=60)],
     False, "value_error:others"),
    # irrelevance: no call is right (text, [] and "" all count as no call); relevance: a call is right
    ("irrelevance_1", "I cannot help with that.", True, None),
    ("irrelevance_2", [], True, None),
    ("irrelevance_3", [fc("determine_body_mass_index", weight=70, height=1.75)], False,
     "irrelevance_error:decoder_success"),
    ("live_irrelevance_1-0-1", "", True, None),
    ("live_irrelevance_2-0-2", [fc("get_weather", location="Paris")], False, "irrelevance_error:decoder_success"),
    ("live_relevance_1-1-0", [fc("search_engine_query")], True, None),
    ("live_relevance_2-2-0", "Sure, here you go.", False, "relevance_error:decoder_failed"),
    # multi-turn: turns of steps; miss_param/miss_func "should not act" turns are a text step
    ("multi_turn_base_1", MT1, True, None),
    ("multi_turn_long_context_1", MT1, True, None),
    ("multi_turn_miss_param_1", MT1[:3] + [NO_ACTION] + MT1[3:], True, None),
    ("multi_turn_miss_func_1", MT1[:1] + [NO_ACTION] + MT1[1:], True, None),
    ("multi_turn_base_2", MT1 + [NO_ACTION], False, "multi_turn:instance_state_mismatch"),  # another entry's calls
    ("multi_turn_miss_func_2", MT1, False, "multi_turn:force_terminated"),  # 4 turns of 6
    ("multi_turn_base_3", [[[fc("find", path=".", name="test")], DONE], NO_ACTION], False,
     "multi_turn:empty_turn_model_response"),
]


def row(entry_id, generation):
    return {"id": entry_id, "generation": generation}


@pytest.fixture(scope="module")
def graded(bfcl_python, bwrap, tmp_path_factory):
    path = tmp_path_factory.mktemp("bfcl") / "output.jsonl"
    rows = [row(i, g) for i, g, _, _ in CASES]
    rows.append({**row("multi_turn_base_1", [["x"]]), "result": MT1})  # an existing result is what is graded
    rows.append(row("multi_turn_base_1", MT1))  # the same id again: no state carried over
    rows.append(row("multi_turn_base_1", [[[fc("__import__('os').makedirs", name=str(MARKER))]], ["ok"], ["ok"],
                                          ["ok"]]))  # code injection through a function name
    rows.append(row("multi_turn_base_1", [[[fc("__import__('os').abort")]], ["ok"], ["ok"], ["ok"]]))  # kills it
    rows.append(row("multi_turn_base_1", MT1))  # graded by a fresh worker
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    shutil.rmtree(MARKER, ignore_errors=True)
    counts = grade_file(path, "bfcl", {"record_error_type": True})
    out = read_jsonl(path)
    yield counts, out
    shutil.rmtree(MARKER, ignore_errors=True)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_verdicts(graded, index):
    entry_id, generation, correct, error_type = CASES[index]
    got = graded[1][index]
    assert got["id"] == entry_id and got["result"] == generation  # the reference's `result` field
    assert (got["is_correct"], got["bfcl_error_type"]) == (correct, error_type)


def test_counts_state_and_injection(graded):
    counts, out = graded
    assert counts == {"entries": len(CASES) + 5, "correct": sum(c[2] for c in CASES) + 3}
    existing, again, injected, killer, after = out[-5:]
    assert (killer["is_correct"], killer["bfcl_error_type"]) == (False, "grader:worker_died")
    assert after["is_correct"] is True
    assert existing["result"] == MT1 and existing["is_correct"] is True
    assert again["is_correct"] is True
    assert injected["is_correct"] is False and injected["bfcl_sandbox"] == "bwrap"
    assert not MARKER.exists(), "the injected makedirs ran on the host"
    assert all("bfcl_sandbox" in r for r in out if r["id"].startswith("multi_turn"))
    assert not any("bfcl_sandbox" in r for r in out if not r["id"].startswith("multi_turn"))


def test_error_type_only_on_request(bfcl_python, tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(row("simple_1", [fc("math_factorial", number=6)])) + "\n")
    grade_file(path, "bfcl")
    graded = json.loads(path.read_text())
    assert graded["is_correct"] is False and "bfcl_error_type" not in graded


def test_unknown_entry_is_a_usage_error_and_file_is_kept(bfcl_python, tmp_path, capfd):
    path = tmp_path / "out.jsonl"
    text = json.dumps(row("simple_1", [])) + "\n" + json.dumps(row("simple_99999", [])) + "\n"
    path.write_text(text)
    with pytest.raises(UsageError, match="with bfcl in environment 'bfcl' failed"):
        grade_file(path, "bfcl")
    assert "line 2: grade: UnknownEntry: 'simple_99999' is not an entry of BFCL v3 simple" in capfd.readouterr().err
    assert path.read_text() == text


def test_missing_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLS_PYTHON_BFCL", str(tmp_path / "nope" / "python"))
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(row("simple_1", [])) + "\n")
    with pytest.raises(UsageError, match="SKILLS_PYTHON_BFCL"):
        grade_file(path, "bfcl")


def test_config_is_checked(tmp_path):
    from skills.evaluation import check_config

    check_config("bfcl", {"model": "o3-mini-2025-01-31-FC", "timeout": 30})
    with pytest.raises(UsageError, match="timeout"):
        check_config("bfcl", {"timeout": 0})
    with pytest.raises(UsageError, match="unknown eval_config key"):
        check_config("bfcl", {"modle": "x"})


def test_tiny_tool_model_outcomes_grade_as_recorded(tiny_tool_model, bfcl_python, tmp_path):
    """What the tiny tool model is trained to answer grades as its trained_outcomes.json says (both modes)."""
    trained = json.loads((tiny_tool_model / "trained_outcomes.json").read_text())
    assert len(trained) == 30 and 0 < sum(o["correct"] for o in trained.values()) < 30
    for mode in ("server", "client"):
        path = tmp_path / f"{mode}.jsonl"
        path.write_text("".join(json.dumps(row(i, o[f"{mode}_generation"])) + "\n" for i, o in trained.items()))
        grade_file(path, "bfcl")
        got = {r["id"]: r["is_correct"] for r in map(json.loads, path.read_text().splitlines())}
        assert got == {i: o["correct"] for i, o in trained.items()}, mode


def first_option(value):
    """One concrete value from a possible-answer option list (the first non-empty option)."""
    if isinstance(value, list):
        value = next((v for v in value if v != ""), None)
    if isinstance(value, dict):
        return {k: first_option(v) for k, v in value.items() if first_option(v) is not None}
    return value


@pytest.mark.slow
def test_agrees_with_bfcl_evaluate(bfcl_python, bwrap, mirror_dir, tmp_path):
    """Per-entry verdicts equal those of ``bfcl evaluate`` (the reference's route) on whole splits."""
    import os
    import subprocess

    model = "o3-mini-2025-01-31-FC"  # the reference's checker model (gorilla at its pin)
    root = tmp_path / "root"
    (root / "result" / model).mkdir(parents=True)
    for split in ("live_simple", "irrelevance", "live_relevance"):
        entries = read_jsonl(mirror_dir / "bfcl_v3" / f"BFCL_v3_{split}.json")
        answers = {}
        gt_file = mirror_dir / "bfcl_v3" / "possible_answer" / f"BFCL_v3_{split}.json"
        if gt_file.exists():
            answers = {a["id"]: a["ground_truth"] for a in map(json.loads, gt_file.read_text().splitlines())}
        rows = []
        for n, e in enumerate(entries):
            if e["id"] in answers:
                gen = [{name.replace(".", "_"): json.dumps(first_option(args))} for call in answers[e["id"]]
                       for name, args in call.items()]
            else:
                gen = [fc(e["function"][0]["name"].replace(".", "_"))]
            rows.append(row(e["id"], "Some text." if n % 3 == 0 else gen))
        ours = tmp_path / f"{split}.jsonl"
        ours.write_text("".join(json.dumps(r) + "\n" for r in rows))
        grade_file(ours, "bfcl")
        (root / "result" / model / f"BFCL_v3_{split}_result.json").write_text(
            "".join(json.dumps({"id": r["id"], "result": r["generation"]}) + "\n" for r in rows))
        env = {**os.environ, "BFCL_PROJECT_ROOT": str(root), "OPENAI_API_KEY": "unused"}
        res = subprocess.run([str(bfcl_python.parent / "bfcl"), "evaluate", "--model", model, "--test-category", split],
                             env=env, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, res.stderr[-2000:]
        score = (root / "score" / model / f"BFCL_v3_{split}_score.json").read_text().splitlines()
        failed = {json.loads(x)["id"] for x in score[1:]}
        graded = {r["id"]: r["is_correct"] for r in map(json.loads, ours.read_text().splitlines())}
        assert graded == {r["id"]: r["id"] not in failed for r in rows}, split
        assert 0 < json.loads(score[0])["correct_count"] == sum(graded.values()) < len(rows)
