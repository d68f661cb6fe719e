"""Plotly figures of the report, as plain ``{"data": [...], "layout": {...}}`` dicts.

plotly.js (inlined in the page) draws them; building dicts instead of ``plotly.graph_objects``
keeps the page small (no 10 kB template per figure) and the build fast. tests/core/report/test_report.py
validates every figure against plotly's schema (``go.Figure(fig)``), so a typo still fails.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from skills.metrics.base import Metrics
from skills.report.runs import BenchmarkRun
from skills.report.stats import mean_interval, wilson_interval

Figure = Dict[str, Any]
COLORS = {"correct": "#2ca02c", "wrong": "#d62728", "truncated": "#7f7f7f"}
BINS = 40


def _layout(title: str, xtitle: str, ytitle: str, **extra: Any) -> Dict[str, Any]:
    layout = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {"title": {"text": xtitle}},
        "yaxis": {"title": {"text": ytitle}},
        "margin": {"l": 60, "r": 20, "t": 60, "b": 90},
        "height": 380,
        "legend": {"orientation": "h", "x": 0, "y": -0.3, "yanchor": "top"},
    }
    layout.update(extra)
    return layout


def pass_at_k(name: str, metrics: Metrics, method: str, n: int) -> Figure:
    """pass@k, majority@k and pass@1[avg-of-k] of ``method`` for k = 1..n, from summarize's metrics."""
    ks = list(range(1, n + 1))
    data = []
    for label, mode in (("pass@k", "pass@{k}"), ("majority@k", "majority@{k}"),
                        ("pass@1[avg-of-k]", "pass@1[avg-of-{k}]")):
        xs, ys = [], []
        for k in ks:
            entry = metrics.get(mode.format(k=k)) if not (k == 1 and "avg-of" in mode) else metrics.get("pass@1")
            if entry is not None and isinstance(entry.get(method), (int, float)):
                xs.append(k)
                ys.append(entry[method])
        if xs:
            data.append({"type": "scatter", "mode": "lines+markers", "name": label, "x": xs, "y": ys})
    layout = _layout(f"{name}: {method} across k", "k (samples per problem)", "%",
                     xaxis={"title": {"text": "k (samples per problem)"}, "dtick": 1})
    return {"data": data, "layout": layout}


def per_seed(run: BenchmarkRun, method: str, ci95: Optional[Dict[str, float]]) -> Figure:
    """Accuracy of each seed with its 95% interval (Wilson; normal for non-0/1 scores), and the
    mean over seeds with summarize's t interval (``<method>_ci95``) when there are >= 2 seeds."""
    scores = run.scores[method]
    n = run.num_problems
    ys, lo, hi = [], [], []
    for s in range(run.num_seeds):
        col = [p[s] for p in scores]
        acc = sum(col) / n
        low, high = wilson_interval(sum(col), n) if all(v in (0.0, 1.0) for v in col) else mean_interval(col)
        ys.append(100 * acc)
        lo.append(100 * (acc - low))
        hi.append(100 * (high - acc))
    labels = run.seed_labels
    data: List[Dict[str, Any]] = [{
        "type": "scatter", "mode": "markers", "name": "seed (95% interval)", "x": labels, "y": ys,
        "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
        "marker": {"size": 9},
    }]
    shapes = []
    if ci95 is not None and run.num_seeds >= 2:
        avg = sum(ys) / len(ys)
        data.append({"type": "scatter", "mode": "lines", "name": "mean of seeds (95% t interval)",
                     "x": [labels[0], labels[-1]], "y": [avg, avg], "line": {"dash": "dash"}})
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": ci95["low"], "y1": ci95["high"], "fillcolor": "rgba(31,119,180,0.12)",
                       "line": {"width": 0}, "layer": "below"})
    layout = _layout(f"{run.name}: {method} per seed", "seed", "%", shapes=shapes)
    return {"data": data, "layout": layout}


def token_histogram(run: BenchmarkRun, method: str) -> Figure:
    """Generated tokens per sample, stacked by outcome: truncated (finish_reason "length"),
    else correct (score >= 0.5) or wrong."""
    groups: Dict[str, List[int]] = {"correct": [], "wrong": [], "truncated": []}
    for scores, tokens, finish in zip(run.scores[method], run.tokens, run.finish):
        for v, t, f in zip(scores, tokens, finish):
            if t is None:
                continue
            key = "truncated" if f == "length" else ("correct" if v >= 0.5 else "wrong")
            groups[key].append(int(t))
    values = [t for g in groups.values() for t in g]
    layout = _layout(f"{run.name}: generated tokens per sample", "generated tokens", "samples",
                     barmode="stack", bargap=0.05)
    if not values:
        layout["annotations"] = [{"text": "no token counts in the rows", "showarrow": False,
                                  "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]
        return {"data": [], "layout": layout}
    lo, hi = min(values), max(values)
    width = max(1, -(-(hi - lo + 1) // BINS))
    edges = [lo + width * b for b in range(BINS + 1)]
    centres = [e + width / 2 for e in edges[:-1]]
    data = []
    for key, vals in groups.items():
        counts = [0] * BINS
        for t in vals:
            counts[min(BINS - 1, (t - lo) // width)] += 1
        data.append({"type": "bar", "name": f"{key} ({len(vals)})", "x": centres, "y": counts, "width": width,
                     "marker": {"color": COLORS[key]}})
    return {"data": data, "layout": layout}


def compare_forest(rows: Sequence[Dict[str, Any]], title: str) -> Figure:
    """B - A with its 95% interval per benchmark / subset (points with error bars, 0 line). Colours
    follow the verdicts (Holm-adjusted): blue significant, grey not; rows too small for a test are
    hollow with no interval; subset rows (exploratory) are named so."""
    rows = list(rows)[::-1]
    names = [r["name"] + (" (exploratory)" if r.get("family") == "exploratory" else "") for r in rows]
    colors = ["#1f77b4" if r["significant"] else "#aaaaaa" for r in rows]
    data = [{
        "type": "scatter", "mode": "markers", "name": "B - A", "y": names, "x": [r["diff"] for r in rows],
        "orientation": "h",
        "error_x": {"type": "data", "symmetric": False, "array": [r["high"] - r["diff"] for r in rows],
                    "arrayminus": [r["diff"] - r["low"] for r in rows]},
        "marker": {"size": 9, "color": colors,
                   "symbol": ["circle" if r.get("tested", True) else "circle-open" for r in rows]},
    }]
    layout = _layout(title, "B - A (percentage points)", "",
                     height=max(240, 110 + 24 * len(rows)), yaxis={"automargin": True},
                     shapes=[{"type": "line", "x0": 0, "x1": 0, "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
                              "line": {"dash": "dot", "color": "#555"}}],
                     margin={"l": 20, "r": 20, "t": 60, "b": 90})
    return {"data": data, "layout": layout}
