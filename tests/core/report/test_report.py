"""ns report: the HTML file's content, and the page itself in a real headless Chromium."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.helpers.prereqs import missing
from tests.core.report.helpers import LONG, SYSTEM, make_report_runs, write_run
from skills.config.errors import UsageError
from skills.metrics.summarize import summarize_results
from skills.report.build import build_report, main, parse_tables
from skills.report.page import cap



@pytest.fixture(autouse=True, scope="module")
def _plotly():
    try:
        import plotly  # noqa: F401  (a dependency: only a stale environment lacks it)
    except ImportError:
        missing("plotly is not installed (pip install -e .)")


def payload_of(html: str) -> Dict[str, Any]:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "no report-data script"
    return json.loads(m.group(1))


def samples_of(html: str, bench: int, chunk: int) -> List[Dict[str, Any]]:
    m = re.search(rf'<script type="application/octet-stream" id="s-{bench}-{chunk}">(.*?)</script>', html)
    assert m, f"no sample chunk {bench}-{chunk}"
    return json.loads(gzip.decompress(base64.b64decode(m.group(1))))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Dict[str, Path]:
    return make_report_runs(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    path, _ = build_report(str(runs["a"]), str(out), compare=[str(runs["b"])], max_text_chars=5000)
    return path


# --------------------------------------------------------------------------- content

def test_page_is_self_contained(report):
    html = report.read_text()
    assert "<script src" not in html and not re.search(r"<link[^>]+stylesheet", html)
    assert "Plotly" in html and html.count("<script") > 4
    assert html.rstrip().endswith("</html>")


def test_summary_tables_are_summarize_output(report, runs, tmp_path):
    text, _ = summarize_results(str(runs["a"]), save_metrics_path=str(tmp_path / "m.json"), show_ci=True)
    data = payload_of(report.read_text())
    assert data["tables"] == parse_tables(text)
    titles = [t["title"] for t in data["tables"]]
    assert titles[:3] == ["gpqa", "gpqa-even", "gpqa-odd"] and "hle" in titles and "math-500" in titles
    gpqa = data["tables"][0]
    assert gpqa["header"][0] == "evaluation_mode" and gpqa["rows"][0][0] == "pass@1[avg-of-4]"
    assert not (runs["a"] / "eval-results" / "metrics.json").exists()  # the results folder is left alone


def test_problem_table_data(report):
    data = payload_of(report.read_text())
    gpqa = next(b for b in data["benchmarks"] if b["name"] == "gpqa")
    p = gpqa["problems"]
    assert gpqa["seeds"] == ["rs0", "rs1", "rs2", "rs3"] and gpqa["main"] == "symbolic_correct"
    assert len(p["q"]) == 120 and p["q"][3].startswith("Question 3:")
    # (i + s) % 3 != 0 over s = 0..3: problem 0 is right in seeds 1, 2 -> 2/4
    assert p["sc"][0] == [0, 1, 1, 0] and p["c"][0] == 2 and p["mean"][0] == 0.5
    assert p["exp"][1] == "B" and p["tr"][5] == 1 and p["tr"][4] == 0
    assert gpqa["subsets"] == ["even", "odd"] and p["sub"][:2] == [0, 1]
    hle = next(b for b in data["benchmarks"] if b["name"] == "hle")
    assert hle["main"] == "judge_correct"
    greedy = next(b for b in data["benchmarks"] if b["name"] == "math-500")
    assert greedy["seeds"] == ["greedy"]


def test_figures_are_valid_plotly_and_match_metrics(report):
    import plotly.graph_objects as go

    data = payload_of(report.read_text())
    for b in data["benchmarks"]:
        for fig in b["figures"].values():
            go.Figure(fig)  # raises on any unknown property
    for c in data["compare"]:
        go.Figure(c["figure"])
    gpqa = next(b for b in data["benchmarks"] if b["name"] == "gpqa")
    passk = {t["name"]: t for t in gpqa["figures"]["passk"]["data"]}
    table = {row[0]: row for row in gpqa["tables"][0]["rows"]}
    assert f"{passk['pass@k']['y'][-1]:.2f}%" == table["pass@4"][3].split()[0]
    assert f"{passk['pass@1[avg-of-k]']['y'][-1]:.2f}%" == table["pass@1[avg-of-4]"][3].split()[0]
    hist = gpqa["figures"]["tokens"]["data"]
    assert [t["name"].split()[0] for t in hist] == ["correct", "wrong", "truncated"]
    assert sum(sum(t["y"]) for t in hist) == 120 * 4
    assert hist[2]["name"] == "truncated (1)"


def test_samples_are_compressed_and_capped(report):
    html = report.read_text()
    data = payload_of(html)
    bi = next(i for i, b in enumerate(data["benchmarks"]) if b["name"] == "gpqa")
    starts = data["benchmarks"][bi]["chunk_starts"]
    assert starts[0] == 0 and starts == sorted(starts) and len(starts) >= 3  # 120 problems, at most 50 a chunk
    first = samples_of(html, bi, 0)
    assert len(first) == starts[1]
    s = first[0]["samples"][1]
    assert s["seed"] == "rs1" and s["line"] == 1 and s["scores"] == {"symbolic_correct": 1.0}
    assert s["reasoning"] == "Thinking about problem 0 in seed 1..."
    assert len(LONG) > 5000 and s["generation"].startswith("Step. Step.") and s["generation"].endswith("The answer is A.")
    assert "characters left out of this report" in s["generation"]
    last = samples_of(html, bi, len(starts) - 1)
    assert len(last) == 120 - starts[-1] and last[-1]["text"].startswith("Question 119:")


def test_compare_section(report):
    data = payload_of(report.read_text())
    (cmp,) = data["compare"]
    names = [r["name"] for r in cmp["rows"]]
    assert names == ["gpqa", "gpqa-even", "gpqa-odd"]
    assert cmp["rows"][0]["cells"][-1] in ("B better", "B worse", "not significant")
    assert "only in A: hle, math-500" in cmp["notes"]
    assert cmp["text"].startswith("A = ") and "95% CI" in cmp["text"]
    assert cmp["flips"][0]["name"] == "gpqa"


def test_run_section_and_messages_sent(report):
    """The run's manifest in the page: model, server, settings (defaults included), seeds, prompt
    source and checksum, command, commit, versions; each problem's messages rebuilt from it."""
    html = report.read_text()
    data = payload_of(html)
    run = data["run"]
    (record,) = run["runs"]
    assert record["command"].startswith("ns eval --cluster=local") and record["git_commit"].startswith("c0ffee")
    assert record["packages"]["vllm (server)"] == "0.32.0" and record["server"]["type"] == "vllm"
    gpqa = run["benchmarks"]["gpqa"]
    assert gpqa["model"] == "/models/tiny" and gpqa["seeds"] == [0, 1, 2, 3]
    assert gpqa["prompt"]["source"] == "skills-builtin" and len(gpqa["prompt"]["sha256"]) == 64
    assert gpqa["settings"]["temperature"] == 0.6 and gpqa["settings"]["tokens_to_generate"] == 2048
    assert gpqa["settings"]["top_p"] == 0.95 and gpqa["settings"]["system_message"] == SYSTEM  # a default, then ours
    assert "hle" not in run["benchmarks"]  # no manifest entry: nothing claimed
    bi = next(i for i, b in enumerate(data["benchmarks"]) if b["name"] == "gpqa")
    assert data["benchmarks"][bi]["run"] == gpqa and data["benchmarks"][bi]["messages_note"] is None
    first = samples_of(html, bi, 0)[3]
    system, user = first["messages"]
    assert system == {"role": "system", "content": SYSTEM}
    assert user["role"] == "user" and user["content"].endswith(first["text"]) and "\\boxed{}" in user["content"]
    hle = next(i for i, b in enumerate(data["benchmarks"]) if b["name"] == "hle")
    assert "messages" not in samples_of(html, hle, 0)[0]
    assert data["benchmarks"][hle]["messages_note"] == "no run manifest: the messages sent are not known"


def test_side_by_side_data_of_flipped_problems(report):
    html = report.read_text()
    (cmp,) = payload_of(html)["compare"]
    side = cmp["side"]["gpqa"]
    flips = cmp["flips"][0]
    assert side["index"] == sorted(set(flips["a_only"] + flips["b_only"])) and side["starts"][0] == 0
    m = re.search(rf'<script type="application/octet-stream" id="{side["id"]}-0">(.*?)</script>', html)
    entries = json.loads(gzip.decompress(base64.b64decode(m.group(1))))
    i = side["index"][0]
    assert entries[0]["text"].startswith(f"Question {i}:") and len(entries[0]["samples"]) == 4
    # B's own samples: (i + s) % 5 != 0 and i % 7 != 3 in B
    assert [s["scores"]["symbolic_correct"] for s in entries[0]["samples"]] == [
        float((i + s) % 5 != 0 and i % 7 != 3) for s in range(4)]
    a_mean, b_mean = flips["means"][str(i)]
    assert (a_mean >= 0.5) != (b_mean >= 0.5)


def test_default_text_cap_depends_on_run_size(runs, tmp_path, monkeypatch):
    from skills.report import build

    path, info = build_report(str(runs["a"]), str(tmp_path / "r.html"), benchmarks="gpqa")
    assert info["max_text_chars"] == 0  # small run: every text whole
    assert samples_of(path.read_text(), 0, 0)[0]["samples"][0]["generation"] == LONG + "The answer is A."
    monkeypatch.setattr(build, "FULL_TEXT_BYTES", 1000)
    path, info = build_report(str(runs["a"]), str(tmp_path / "r.html"), benchmarks="gpqa")
    assert info["max_text_chars"] == build.AUTO_CAP
    assert "left out of this report" in samples_of(path.read_text(), 0, 0)[0]["samples"][0]["generation"]


def test_cap_keeps_head_and_tail():
    text = "a" * 100 + "b" * 100
    out = cap(text, 40)
    assert out.startswith("a" * 30) and out.endswith("b" * 10) and "160 characters left out" in out
    assert cap(text, 0) == text and cap("short", 40) == "short" and cap(None, 5) is None


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1
    a = write_run(tmp_path / "a", "gpqa", 5, 1, lambda i, s: True)
    b = write_run(tmp_path / "b", "gpqa", 6, 1, lambda i, s: True)
    with pytest.raises(UsageError, match="A has 5 problems, B has 6"):
        build_report(str(a), str(tmp_path / "r.html"), compare=[str(b)])
    assert main([str(a), "--out", str(tmp_path / "r.html"), "--compare", str(b), "--force"]) == 0
    assert "Report written to" in capsys.readouterr().out and (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- in Chromium

@pytest.fixture(scope="module")
def browser():
    from tests.helpers.cdp import Browser, find_chromium

    if not find_chromium():
        missing("Chromium is not installed (apt-get install chromium)")
    with Browser(width=1400, height=1000) as b:
        yield b


@pytest.fixture()
def page(browser, report):
    p = browser.open(report.as_uri())
    p.wait_for("window.nsReport && window.nsReport.ready")
    yield p
    p.send("Page.close")


def _bench(page, name: str) -> int:
    return page.eval(f"Array.from(document.querySelectorAll('.tab')).findIndex(t => t.textContent === '{name}') - 1")


def _rows(page, bi: int) -> List[int]:
    return page.eval(f"Array.from(document.querySelectorAll('#problems-{bi} tr.problem-row')).map(r => +r.dataset.idx)")


@pytest.mark.slow
def test_loads_without_errors_and_shows_summary(page):
    assert page.errors() == []
    assert page.eval("document.querySelectorAll('#panel-summary table.metrics').length") >= 5
    assert page.eval("document.querySelector('#panel-summary .summary-table table.metrics td').textContent") == "pass@1[avg-of-4]"
    assert page.eval("document.querySelectorAll('.tab').length") == 5  # summary, 3 benchmarks, comparison


@pytest.mark.slow
def test_plots_render(page):
    bi = _bench(page, "gpqa")
    page.eval(f"nsReport.show('b{bi}')")
    page.wait_for(f"document.querySelectorAll('#panel-b{bi} .plot .main-svg').length >= 3")
    traces = page.eval(f"document.querySelectorAll('#panel-b{bi} .plot .scatterlayer .trace, "
                       f"#panel-b{bi} .plot .barlayer .trace').length")
    assert traces >= 3 + 2 + 3  # pass@k curves, seeds + mean, three histogram groups
    bars = page.eval(f"document.querySelectorAll('#panel-b{bi} .plot .barlayer .point path').length")
    assert bars > 0
    assert page.errors() == []


@pytest.mark.slow
def test_table_sorts_filters_and_pages(page):
    bi = _bench(page, "gpqa")
    page.eval(f"nsReport.show('b{bi}')")
    assert _rows(page, bi) == list(range(50))  # first page, file order
    assert "1–50 of 120" in page.eval(f"document.querySelector('#panel-b{bi} .status').textContent")
    page.eval(f"document.querySelector('#problems-{bi} th[data-key=\"tok\"]').click()")
    page.eval(f"document.querySelector('#problems-{bi} th[data-key=\"tok\"]').click()")  # descending
    assert _rows(page, bi)[:3] == [119, 118, 117]  # tokens grow with the problem index
    page.eval(f"document.querySelector('#problems-{bi} th[data-key=\"score\"]').click()")
    means = page.eval(f"Array.from(document.querySelectorAll('#problems-{bi} tr.problem-row')).map(r => +r.children[5].textContent.split('/')[0])")
    assert means == sorted(means) and means[0] < means[-1]
    # text filter, then subset and outcome filters
    page.eval(f"""(() => {{ const i = document.querySelector('#panel-b{bi} input.filter');
                 i.value = 'Question 11'; i.dispatchEvent(new Event('input')); }})()""")
    assert sorted(_rows(page, bi)) == [11, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119]
    page.eval(f"""(() => {{ const s = document.querySelector('#panel-b{bi} select.subset-filter');
                 s.value = '0'; s.dispatchEvent(new Event('change')); }})()""")
    assert sorted(_rows(page, bi)) == [110, 112, 114, 116, 118]
    page.eval(f"""(() => {{ const i = document.querySelector('#panel-b{bi} input.filter');
                 i.value = ''; i.dispatchEvent(new Event('input'));
                 const o = document.querySelector('#panel-b{bi} select.outcome-filter');
                 o.value = 'truncated'; o.dispatchEvent(new Event('change')); }})()""")
    assert _rows(page, bi) == []  # problem 5 (the truncated one) is odd; subset "even" still selected
    page.eval(f"""(() => {{ const s = document.querySelector('#panel-b{bi} select.subset-filter');
                 s.value = ''; s.dispatchEvent(new Event('change')); }})()""")
    assert _rows(page, bi) == [5]
    assert page.errors() == []


@pytest.mark.slow
def test_drill_down_shows_samples(page):
    bi = _bench(page, "gpqa")
    page.eval(f"nsReport.show('b{bi}')")
    page.eval(f"document.querySelector('#problems-{bi} tr.problem-row[data-idx=\"0\"]').click()")
    page.wait_for(f"document.querySelector('#problems-{bi} tr.detail-row .detail')")
    detail = f"document.querySelector('#problems-{bi} tr.detail-row')"
    text = page.eval(f"{detail}.innerText")
    assert "Problem #0" in text and "Question 0: which letter is number 0?" in text
    assert page.eval(f"{detail}.querySelectorAll('.sample').length") == 4
    assert page.eval(f"{detail}.querySelectorAll('.sample.correct').length") == 2
    # the messages sent, rebuilt from the run manifest: system message and filled template
    assert page.eval(f"{detail}.querySelector('details.messages summary').textContent") == "Messages sent (system + user)"
    assert page.eval(f"{detail}.querySelector('details.messages').open") is True
    messages = page.eval(f"{detail}.querySelector('details.messages').innerText")
    assert SYSTEM in messages and "Question 0: which letter is number 0?" in messages
    assert page.eval("location.hash") == "#gpqa/0"  # the address links to the open problem
    # reasoning is collapsed; long generations show a preview and expand on request
    assert page.eval(f"{detail}.querySelector('details.reasoning').open") is False
    assert "Thinking about problem 0 in seed 0" in page.eval(f"{detail}.querySelector('details.reasoning').textContent")
    pre = f"{detail}.querySelector('.generation pre')"
    assert page.eval(f"{pre}.textContent.length") < 2100
    page.eval(f"{detail}.querySelector('button.expand').click()")
    assert page.eval(f"{pre}.textContent").endswith("The answer is A.")
    # clicking the row again closes it
    page.eval(f"document.querySelector('#problems-{bi} tr.problem-row[data-idx=\"0\"]').click()")
    assert page.eval(f"{detail}") is None
    # a problem in a later chunk, opened by index (as the comparison's links do)
    page.eval(f"nsReport.openProblem({bi}, 117)")
    page.wait_for(f"document.querySelector('#problems-{bi} .detail')")
    assert _rows(page, bi) == [117] and "Question 117:" in page.eval(f"{detail}.innerText")
    assert page.errors() == []


@pytest.mark.slow
def test_judge_verdict_and_compare_tab(page):
    bi = _bench(page, "hle")
    page.eval(f"nsReport.show('b{bi}')")
    page.eval(f"document.querySelector('#problems-{bi} tr.problem-row[data-idx=\"1\"]').click()")
    page.wait_for(f"document.querySelector('#problems-{bi} .detail')")
    verdicts = page.eval(f"Array.from(document.querySelectorAll('#problems-{bi} details.judgement summary')).map(s => s.textContent)")
    assert verdicts == ["Judge verdict: correct", "Judge verdict: wrong"]  # yes when (1 + s) % 2, s = 0, 1
    page.eval("nsReport.show('compare')")
    page.wait_for("document.querySelectorAll('#panel-compare .plot .main-svg').length >= 1")
    rows = page.eval("Array.from(document.querySelectorAll('#panel-compare table.compare tbody tr')).map(r => r.children[0].textContent)")
    assert rows == ["gpqa", "gpqa-even", "gpqa-odd"]
    link = page.eval("document.querySelector('#panel-compare a.flip') && document.querySelector('#panel-compare a.flip').textContent")
    assert link and link.startswith("#")
    i = int(link[1:])
    assert page.eval("document.querySelector('#panel-compare a.flip').getAttribute('href')") == f"#compare/gpqa/{i}"
    # a flipped problem: A and B side by side, each with its own samples
    page.eval("document.querySelector('#panel-compare a.flip').click()")
    side = "document.querySelector('#panel-compare .side-by-side')"
    page.wait_for(f"{side} && {side}.querySelectorAll('.side-col').length == 2")
    cols = page.eval(f"Array.from({side}.querySelectorAll('.side-col')).map(c => [c.querySelector('h4').textContent, "
                     "c.querySelectorAll('.sample').length, c.querySelectorAll('.sample.correct').length])")
    (a_head, a_n, a_ok), (b_head, b_n, b_ok) = cols
    assert a_head.startswith("A · ") and b_head.startswith("B · ") and a_n == b_n == 4
    assert a_ok == sum((i + s) % 3 != 0 for s in range(4)) and b_ok == sum((i + s) % 5 != 0 and i % 7 != 3 for s in range(4))
    assert ("right" in a_head) != ("right" in b_head)  # it flipped
    assert f"Question {i}:" in page.eval(f"{side}.innerText") and page.eval("location.hash") == f"#compare/gpqa/{i}"
    # "open in A's tab" is a deep link to the problem's drill-down
    assert page.eval(f"{side}.querySelector('a.open-a').getAttribute('href')") == f"#gpqa/{i}"
    page.eval(f"{side}.querySelector('a.open-a').click()")
    gi = _bench(page, "gpqa")
    page.wait_for(f"document.querySelector('#problems-{gi} .detail')")
    assert _rows(page, gi) == [i]
    assert page.errors() == []


@pytest.mark.slow
def test_deep_links_open_problems(browser, report):
    """#bench/problem opens that drill-down, #compare/bench/problem A and B side by side, on load."""
    data = payload_of(report.read_text())
    flips = data["compare"][0]["flips"][0]
    i = (flips["b_only"] + flips["a_only"])[-1]
    for fragment, ready, check in (
            ("#gpqa/117", "document.querySelector('tr.detail-row .detail')",
             "document.querySelector('tr.detail-row').innerText.includes('Question 117:')"),
            (f"#compare/gpqa/{i}", "document.querySelectorAll('.side-by-side .side-col').length == 2",
             f"document.querySelector('.side-by-side').innerText.includes('Question {i}:')"),
            ("#hle", "!document.querySelector('#panel-b1').hidden", "true")):
        p = browser.open(report.as_uri() + fragment)
        try:
            p.wait_for("window.nsReport && window.nsReport.ready")
            p.wait_for(ready)
            assert p.eval(check) is True, fragment
            assert p.errors() == []
        finally:
            p.send("Page.close")


@pytest.mark.slow
def test_run_section_in_the_summary(page):
    text = page.eval("document.querySelector('#run-info').innerText")
    for needle in ("Run 20260101-000000-eval-1", "ns eval --cluster=local --model=/models/tiny",
                   "vllm · /models/tiny · args: --max-model-len 2048 · 1 GPU(s)", "exit code 0",
                   "c0ffee", "skills 0.1.0", "vllm (server) 0.32.0", "generic/math · skills-builtin · sha256 ",
                   "temperature 0.6", "top_p 0.95", "tokens_to_generate 2048", SYSTEM, "0, 1, 2, 3"):
        assert needle in text, needle
    bi = _bench(page, "gpqa")
    page.eval(f"nsReport.show('b{bi}')")
    settings = page.eval(f"document.querySelector('#panel-b{bi} p.run-settings').innerText")
    assert settings.startswith("Run: model /models/tiny · seeds 0,1,2,3 · prompt generic/math (skills-builtin)")
    assert "temperature 0.6" in settings
    assert page.errors() == []


def test_messages_in_the_report_are_the_ones_sent(tmp_path):
    """ns eval against the stub, which records every request body; the report's rebuilt messages of
    each problem are exactly those bodies' messages (system message and filled template)."""
    import subprocess
    import sys

    from tests.helpers.stub_server import StubProcess

    ns = str(Path(sys.executable).parent / "ns")
    data = tmp_path / "data" / "math-500"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text("".join(json.dumps({"problem": f"What is {i} + {i}?", "expected_answer": str(2 * i)})
                                             + "\n" for i in range(6)))
    record = tmp_path / "bodies.jsonl"
    with StubProcess(record=record) as stub:
        res = subprocess.run([ns, "eval", "--cluster=local", "--server_type=vllm", f"--server_address={stub.base_url}",
                              "--model=m", f"--output_dir={tmp_path / 'out'}", f"--data_dir={tmp_path / 'data'}",
                              "--benchmarks=math-500:2", "++system_message=Think, then answer.",
                              "++inference.temperature=0.6"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    bodies = [json.loads(line)["body"] for line in record.read_text().splitlines()]
    sent = {json.dumps(b["messages"]) for b in bodies if isinstance(b, dict) and "messages" in b}
    assert len(sent) == 6  # two seeds, the same six prompts
    path, _ = build_report(str(tmp_path / "out"), str(tmp_path / "r.html"))
    html = path.read_text()
    shown = {json.dumps(e["messages"]) for e in samples_of(html, 0, 0)}
    assert shown == sent
    run = payload_of(html)["run"]
    assert run["benchmarks"]["math-500"]["settings"]["temperature"] == 0.6
    assert run["runs"][0]["command"].startswith("ns eval --cluster=local") and run["runs"][0]["server"]["address"]
