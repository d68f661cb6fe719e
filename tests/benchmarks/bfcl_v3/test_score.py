"""BFCL v3 group score (eval-metrics.md 9): hand-computed member metrics, the tutorial's numbers,
the K rules, and ``ns summarize_results`` on a multi-seed group folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills.benchmarks.bfcl_v3 import SPLITS
from skills.benchmarks.bfcl_v3.score import SCORE
from skills.config.errors import UsageError
from skills.metrics.summarize import main as summarize_main

COUNTS = {"simple": 400, "parallel": 200, "multiple": 200, "parallel_multiple": 200, "java": 100, "javascript": 50,
          "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
          "live_parallel_multiple": 24, "live_irrelevance": 882, "live_relevance": 18, "multi_turn_base": 200,
          "multi_turn_miss_func": 200, "multi_turn_miss_param": 200, "multi_turn_long_context": 200}


def members(acc: dict, mode: str = "pass@1", counts: dict = COUNTS) -> dict:
    return {f"bfcl_v3.{s}": {mode: {"num_entries": counts[s], "avg_tokens": 10, "accuracy": acc[s]}} for s in SPLITS}


def test_tutorial_numbers():
    # eval-metrics.md 9: (4 x 85.15 + 85.83)/5 = 85.28; (1351 x 80.24 + 882 x 85.15 + 18 x 66.67)/2251 = 82.05;
    # (85.28 + 82.05 + 33.75)/3 = 67.03 over 1390 + 2251 + 800 = 4441 entries
    acc = {"simple": 90.0, "java": 80.0, "javascript": 85.45, "parallel": 85.15, "multiple": 84.15,
           "parallel_multiple": 86.15, "irrelevance": 85.83, "live_simple": 80.24, "live_multiple": 80.24,
           "live_parallel": 80.24, "live_parallel_multiple": 80.24, "live_irrelevance": 85.15,
           "live_relevance": 66.67, "multi_turn_base": 40.0, "multi_turn_miss_func": 30.0,
           "multi_turn_miss_param": 25.0, "multi_turn_long_context": 40.0}
    out = SCORE.compute("bfcl_v3", members(acc))
    assert list(out) == ["overall_accuracy", "non_live_single_turn", "live_single_turn", "multi_turn"]
    nl, live, mt = out["non_live_single_turn"], out["live_single_turn"], out["multi_turn"]
    assert list(nl) == ["overall_non_live", "non_live_ast", "irrelevance"]
    assert list(live) == ["overall_live", "live_ast", "live_irrelevance", "live_relevance"]
    assert nl["non_live_ast"] == {"accuracy": pytest.approx(85.15), "num_entries": 1150}
    assert nl["overall_non_live"] == {"accuracy": pytest.approx(85.286), "num_entries": 1390}
    assert nl["irrelevance"] == {"num_entries": 240, "avg_tokens": 10, "accuracy": 85.83}  # the whole mode dict
    assert live["live_ast"] == {"accuracy": pytest.approx(80.24), "num_entries": 1351}
    assert live["overall_live"]["num_entries"] == 2251
    assert live["overall_live"]["accuracy"] == pytest.approx(82.05, abs=0.01)  # inputs are rounded
    assert mt == {"overall_multi_turn": {"accuracy": 33.75, "num_entries": 800}}
    assert out["overall_accuracy"]["accuracy"] == pytest.approx(67.03, abs=0.005)
    assert out["overall_accuracy"]["num_entries"] == 4441
    assert list(out["overall_accuracy"]) == ["accuracy", "num_entries"]


def test_weighted_and_unweighted_rules():
    # one deviating split per block shows which average is used where
    acc = {s: 50.0 for s in SPLITS}
    acc.update(java=100.0, live_parallel=100.0, multi_turn_base=90.0)
    out = SCORE.compute("bfcl_v3", members(acc))
    # java only moves the simple entry: (50 + 100 + 50) / 3, then averaged with 3 others unweighted
    simple = 200.0 / 3
    assert out["non_live_single_turn"]["non_live_ast"]["accuracy"] == pytest.approx((simple + 150) / 4)
    assert out["non_live_single_turn"]["overall_non_live"]["accuracy"] == pytest.approx((simple + 200) / 5)
    # live is weighted by entries: 16 of 1351 at 100
    assert out["live_single_turn"]["live_ast"]["accuracy"] == pytest.approx(50 + 50 * 16 / 1351)
    assert out["live_single_turn"]["overall_live"]["accuracy"] == pytest.approx(50 + 50 * 16 / 2251)
    assert out["multi_turn"]["overall_multi_turn"]["accuracy"] == pytest.approx(60.0)
    overall = ((simple + 200) / 5 + 50 + 50 * 16 / 2251 + 60) / 3
    assert out["overall_accuracy"]["accuracy"] == pytest.approx(overall)


def test_largest_k_is_used_and_must_agree():
    m = members({s: 50.0 for s in SPLITS}, mode="pass@1[avg-of-4]")
    for s in SPLITS:  # smaller K modes and pass@k are ignored
        m[f"bfcl_v3.{s}"]["pass@1[avg-of-2]"] = {"num_entries": COUNTS[s], "accuracy": 0.0}
        m[f"bfcl_v3.{s}"]["pass@4"] = {"num_entries": COUNTS[s], "accuracy": 100.0}
    assert SCORE.compute("bfcl_v3", m)["overall_accuracy"]["accuracy"] == pytest.approx(50.0)
    del m["bfcl_v3.live_relevance"]["pass@1[avg-of-4]"]  # that split now has K = 2
    with pytest.raises(UsageError, match=r"different numbers of seeds.*live_relevance: 2"):
        SCORE.compute("bfcl_v3", m)


def test_missing_split_and_empty_totals():
    m = members({s: 50.0 for s in SPLITS})
    del m["bfcl_v3.java"]
    with pytest.raises(UsageError, match="missing: java"):
        SCORE.compute("bfcl_v3", m)
    zero = members({s: 0.0 for s in SPLITS}, counts={s: 0 for s in SPLITS})
    out = SCORE.compute("bfcl_v3", zero)
    assert out["overall_accuracy"] == {"accuracy": 0, "num_entries": 0}


def test_table():
    out = SCORE.compute("bfcl_v3", members({s: 50.0 for s in SPLITS}))
    lines = SCORE.table("bfcl_v3", out)
    assert " bfcl_v3 " in lines[0] and lines[1].split(" | ")[0].strip() == "category"
    assert [ln.split(" | ")[0].strip() for ln in lines[2:]] == [
        "overall_accuracy", "overall_non_live", "non_live_ast", "irrelevance", "overall_live", "live_ast",
        "live_irrelevance", "live_relevance", "overall_multi_turn"]
    assert lines[2].split(" | ")[1:] == ["4441       ", "50.00%  "]
    assert len({len(ln) for ln in lines}) == 1


def write_group(root: Path, seeds: int, rows: int = 3) -> dict:
    """A multi-seed bfcl_v3 result folder; row r of seed s of split i is correct iff (r+1)(s+2)(i+3) mod 5 < 3.
    Returns each split's expected pass@1[avg-of-seeds] accuracy."""
    expected = {}
    for i, split in enumerate(SPLITS):
        folder = root / "eval-results" / "bfcl_v3" / f"bfcl_v3.{split}"
        folder.mkdir(parents=True)
        good = 0
        for s in range(seeds):
            lines = []
            for r in range(rows + i % 2):
                ok = ((r + 1) * (s + 2) * (i + 3)) % 5 < 3
                good += ok
                lines.append(json.dumps({"id": f"{split}_{r}", "generation": [], "is_correct": ok,
                                         "num_generated_tokens": 7}))
            (folder / f"output-rs{s}.jsonl").write_text("\n".join(lines) + "\n")
        expected[split] = (100.0 * good / (seeds * (rows + i % 2)), rows + i % 2)
    (root / "eval-results" / "bfcl_v3" / "metrics.json").write_text("{}")  # an old group file is not a member
    return expected


def test_summarize_multi_seed_group_folder(tmp_path, capsys):
    expected = write_group(tmp_path, seeds=3)
    assert summarize_main([str(tmp_path / "eval-results")]) == 0
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())
    assert list(saved)[0] == "bfcl_v3" and set(saved) == {"bfcl_v3"} | {f"bfcl_v3.{s}" for s in SPLITS}
    for s, (acc, n) in expected.items():
        assert saved[f"bfcl_v3.{s}"]["pass@1[avg-of-3]"]["accuracy"] == pytest.approx(acc)
        assert saved[f"bfcl_v3.{s}"]["pass@1[avg-of-3]"]["num_entries"] == n
    e = {s: {"accuracy": a, "num_entries": n} for s, (a, n) in expected.items()}

    def mean(xs):
        return sum(x["accuracy"] for x in xs) / len(xs)

    simple = mean([e["simple"], e["java"], e["javascript"]])
    non_live = (simple + sum(e[s]["accuracy"] for s in ("parallel", "multiple", "parallel_multiple", "irrelevance"))) / 5
    live = [e[s] for s in ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
                           "live_irrelevance", "live_relevance")]
    live_acc = sum(x["accuracy"] * x["num_entries"] for x in live) / sum(x["num_entries"] for x in live)
    multi = mean([e[s] for s in ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
                                 "multi_turn_long_context")])
    group = saved["bfcl_v3"]
    assert group["non_live_single_turn"]["overall_non_live"]["accuracy"] == pytest.approx(non_live)
    assert group["live_single_turn"]["overall_live"]["accuracy"] == pytest.approx(live_acc)
    assert group["multi_turn"]["overall_multi_turn"]["accuracy"] == pytest.approx(multi)
    assert group["overall_accuracy"] == {"accuracy": pytest.approx((non_live + live_acc + multi) / 3),
                                         "num_entries": sum(n for _, n in expected.values())}
    # the selected mode dicts keep the member's statistics (K = 3 seeds)
    assert "accuracy_statistics" in group["non_live_single_turn"]["irrelevance"]
    assert out.index("--- bfcl_v3 ---") < out.index(" bfcl_v3.simple ")
    assert "overall_multi_turn" in out and "pass@1[avg-of-3]" in out


def test_summarize_group_folder_itself_and_seed_mismatch(tmp_path, capsys):
    write_group(tmp_path, seeds=2)
    assert summarize_main([str(tmp_path / "eval-results" / "bfcl_v3")]) == 0
    assert "overall_accuracy" in capsys.readouterr().out
    (tmp_path / "eval-results" / "bfcl_v3" / "bfcl_v3.java" / "output-rs1.jsonl").unlink()
    assert summarize_main([str(tmp_path / "eval-results")]) == 2
    assert "different numbers of seeds" in capsys.readouterr().err


def test_metrics_json_records_the_checker_without_printing_it(tmp_path, capsys):
    write_group(tmp_path, seeds=1)
    for path in (tmp_path / "eval-results" / "bfcl_v3").glob("*/output-rs0.jsonl"):
        checker = "bfcl-eval==2025.7.17" if "live_relevance" in str(path) else "gorilla@d2177992bbba"
        rows = [{**json.loads(x), "bfcl_checker": checker} for x in path.read_text().splitlines()]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert summarize_main([str(tmp_path / "eval-results")]) == 0
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "eval-results" / "metrics.json").read_text())
    assert saved["bfcl_v3.simple"]["pass@1"]["bfcl_checker"] == "gorilla@d2177992bbba"
    assert saved["bfcl_v3.live_relevance"]["pass@1"]["bfcl_checker"] == "bfcl-eval==2025.7.17"
    assert saved["bfcl_v3"]["bfcl_checker"] == ["bfcl-eval==2025.7.17", "gorilla@d2177992bbba"]  # a mix shows
    assert "bfcl_checker" not in out and "gorilla" not in out  # tables stay the reference's
