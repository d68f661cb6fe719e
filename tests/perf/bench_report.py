"""Size and speed of ``ns report`` on an MMLU-Pro-sized run (12,032 problems x 8 seeds).

Builds a synthetic results folder whose generations are random words (each sample different, so
gzip gains about what it gains on real model output), then prints: the build time and file size,
and, in headless Chromium (tests/cdp.py), the time until the page is usable, to open a benchmark
tab (table + plots), to filter and sort 12k problems, and to open a drill-down (decompressing its
chunk). Not a test: figures depend on the machine.

    python tests/perf/bench_report.py [--problems 12032] [--seeds 8] [--chars 4000] [--max_text_chars N]
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.cdp import Browser, find_chromium  # noqa: E402
from skills.report.build import build_report  # noqa: E402

CATEGORIES = ["biology", "business", "chemistry", "computer_science", "economics", "engineering", "health",
              "history", "law", "math", "other", "philosophy", "physics", "psychology"]


def _vocabulary(rng: random.Random, size: int = 3000) -> list:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10))) for _ in range(size)]


def _text(rng: random.Random, words: list, chars: int) -> str:
    out = rng.choices(words, k=max(1, chars // 6))
    return " ".join(out)


def make_results(root: Path, problems: int, seeds: int, chars: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = _vocabulary(rng)
    bench = root / "eval-results" / "mmlu-pro"
    bench.mkdir(parents=True, exist_ok=True)
    base = [(_text(rng, words, 600), rng.choice("ABCDEFGHIJ"), CATEGORIES[i % len(CATEGORIES)]) for i in range(problems)]
    for s in range(seeds):
        with open(bench / f"output-rs{s}.jsonl", "w") as f:
            for i, (problem, expected, cat) in enumerate(base):
                pred = expected if rng.random() < 0.7 else rng.choice("ABCDEFGHIJ")
                truncated = rng.random() < 0.03
                row = {
                    "problem": problem, "expected_answer": expected, "subset_for_metrics": cat,
                    "generation": _text(rng, words, rng.randint(chars // 4, 2 * chars)) + f" Answer: {pred}",
                    "predicted_answer": None if truncated else pred,
                    "symbolic_correct": (not truncated) and pred == expected,
                    "num_generated_tokens": 16384 if truncated else rng.randint(200, 12000),
                    "finish_reason": "length" if truncated else "stop",
                }
                f.write(json.dumps(row) + "\n")
    return root


def browser_timings(html: Path) -> dict:
    out = {}
    with Browser(width=1400, height=1000, timeout=300) as browser:
        t = time.perf_counter()
        page = browser.open(html.as_uri())
        page.wait_for("window.nsReport && window.nsReport.ready", timeout=300)
        out["page usable (load event + init)"] = time.perf_counter() - t
        nav = page.eval("(() => { const n = performance.getEntriesByType('navigation')[0]; "
                        "return [n.domInteractive, n.domContentLoadedEventEnd, n.loadEventEnd]; })()")
        out["  of which HTML parsed (domInteractive)"] = nav[0] / 1000
        out["  of which DOMContentLoaded done"] = nav[1] / 1000
        out["tab: table + 3 plots"] = page.eval(
            "(() => { const t = performance.now(); nsReport.show('b0'); return (performance.now() - t) / 1000; })()")
        out["filter 12k problems"] = page.eval("""(() => { const t = performance.now();
            const i = document.querySelector('#panel-b0 input.filter'); i.value = 'ab';
            i.dispatchEvent(new Event('input')); return (performance.now() - t) / 1000; })()""")
        out["sort 12k problems"] = page.eval("""(() => { const t = performance.now();
            document.querySelector('#problems-0 th[data-key="tok"]').click(); return (performance.now() - t) / 1000; })()""")
        t = time.perf_counter()
        page.eval("document.querySelector('#problems-0 tr.problem-row').click()")
        page.wait_for("document.querySelector('#problems-0 .detail')", timeout=120)
        out["drill-down (decompress a chunk)"] = time.perf_counter() - t
        out["heap MB"] = page.eval("performance.memory ? performance.memory.usedJSHeapSize / 1e6 : -1")
        errors = page.errors()
        if errors:
            print("console errors:", errors[:3])
    return out


def run() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=12032)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--chars", type=int, default=4000, help="typical generation length (uniform in chars/4..2*chars)")
    ap.add_argument("--max_text_chars", type=int, default=None, help="default: the report's own default")
    ap.add_argument("--no_browser", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_results(Path(tmp), args.problems, args.seeds, args.chars)
        size = sum(p.stat().st_size for p in (root / "eval-results" / "mmlu-pro").glob("*.jsonl"))
        t = time.perf_counter()
        html, info = build_report(str(root), str(Path(tmp) / "report.html"), max_text_chars=args.max_text_chars)
        build = time.perf_counter() - t
        print(f"data: {args.problems} problems x {args.seeds} seeds, {size / 1e6:.0f} MB of JSONL")
        print(f"build: {build:.1f} s; report {info['bytes'] / 1e6:.1f} MB with --max_text_chars "
              f"{info['max_text_chars']} "
              f"(sample JSON {info['sample_json_bytes'] / 1e6:.0f} MB before gzip + base64)")
        if args.no_browser or not find_chromium():
            print("browser timings skipped (no Chromium or --no_browser)")
            return
        for name, value in browser_timings(html).items():
            print(f"{name + ':':36s} {value:.2f}" + ("" if name == "heap MB" else " s"))


if __name__ == "__main__":
    run()
