/* ns report: tabs, sortable/filterable problem tables, lazy drill-down, plotly figures.
   Data: #report-data (JSON). Sample texts: <script type="application/octet-stream" id="s-<b>-<chunk>">
   holding base64 gzip JSON, decoded only when a drill-down needs it, so a 12k x 8 run opens fast. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var PAGE = 50, PREVIEW = 2000;
  var tabs = document.getElementById("tabs"), main = document.getElementById("main");
  var sections = {}, chunkCache = {}, benchState = {};
  var domReady = new Promise(function (resolve) {
    if (document.readyState !== "loading") resolve();
    else document.addEventListener("DOMContentLoaded", resolve);
  });

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "cls") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function fmtPct(v) { return v === null || v === undefined ? "" : v.toFixed(2) + "%"; }

  /* ------------------------------------------------------------------ tabs */
  function addTab(id, label, build) {
    var button = el("button", { cls: "tab", "data-tab": id, text: label, onclick: function () { show(id); } });
    var section = el("section", { cls: "panel", id: "panel-" + id, hidden: "" });
    tabs.appendChild(button);
    main.appendChild(section);
    sections[id] = { button: button, section: section, build: build, built: false, plots: [] };
  }

  function show(id) {
    Object.keys(sections).forEach(function (k) {
      var s = sections[k], on = k === id;
      s.button.classList.toggle("active", on);
      if (on) s.section.removeAttribute("hidden"); else s.section.setAttribute("hidden", "");
    });
    var s = sections[id];
    if (!s.built) { s.built = true; s.build(s.section, s); }
    s.plots.forEach(function (p) { if (!p.drawn) { p.drawn = true; drawPlot(p.div, p.fig); } });
  }

  function plot(s, parent, fig) {
    var div = el("div", { cls: "plot" });
    parent.appendChild(div);
    s.plots.push({ div: div, fig: fig, drawn: false });
    return div;
  }

  function drawPlot(div, fig) {
    if (typeof Plotly === "undefined") { div.textContent = "plotly.js did not load"; return; }
    Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }

  /* ------------------------------------------------------------------ summary */
  function tableOf(t) {
    var head = el("tr", null);
    t.header.forEach(function (h) { head.appendChild(el("th", { text: h })); });
    var body = el("tbody", null);
    t.rows.forEach(function (r) {
      var tr = el("tr", null);
      r.forEach(function (c) { tr.appendChild(el("td", { text: c })); });
      body.appendChild(tr);
    });
    return el("div", { cls: "summary-table" }, el("h3", { text: t.title }),
              el("table", { cls: "metrics" }, el("thead", null, head), body));
  }

  function buildSummary(sec) {
    sec.appendChild(el("p", { cls: "muted", text: DATA.note }));
    if (!DATA.tables.length) sec.appendChild(el("p", { text: "No summary tables." }));
    DATA.tables.forEach(function (t) { sec.appendChild(tableOf(t)); });
    DATA.skipped.forEach(function (s) { sec.appendChild(el("p", { cls: "warn", text: "Skipped " + s })); });
  }

  /* ------------------------------------------------------------------ problems table */
  var COLUMNS = [
    ["idx", "#"], ["q", "problem"], ["sub", "subset"], ["exp", "expected"], ["ans", "answer"],
    ["score", "correct"], ["tok", "tokens"], ["tr", "truncated"]
  ];

  function problemValue(b, i, key) {
    var p = b.problems;
    switch (key) {
      case "idx": return i;
      case "score": return p.mean[i];
      case "sub": return p.sub[i] < 0 ? "" : b.subsets[p.sub[i]];
      case "tok": return p.tok[i] === null ? -1 : p.tok[i];
      default: return p[key][i] === null ? "" : p[key][i];
    }
  }

  function applyFilters(b, st) {
    var p = b.problems, q = st.query.trim().toLowerCase(), out = [];
    var exact = /^#\d+$/.test(q) ? parseInt(q.slice(1), 10) : null;
    for (var i = 0; i < p.q.length; i++) {
      if (exact !== null && i !== exact) continue;
      if (exact === null && q && (p.q[i] || "").toLowerCase().indexOf(q) < 0 &&
          (p.exp[i] || "").toLowerCase().indexOf(q) < 0 && (p.ans[i] || "").toLowerCase().indexOf(q) < 0) continue;
      if (st.subset !== "" && String(p.sub[i]) !== st.subset) continue;
      var c = p.c[i], n = b.seeds.length;
      if (st.outcome === "all" && c !== n) continue;
      if (st.outcome === "none" && c !== 0) continue;
      if (st.outcome === "some" && (c === 0 || c === n)) continue;
      if (st.outcome === "truncated" && !p.tr[i]) continue;
      out.push(i);
    }
    if (st.sortKey) {
      var dir = st.sortDir, key = st.sortKey;
      out.sort(function (x, y) {
        var a = problemValue(b, x, key), c = problemValue(b, y, key);
        if (a < c) return -dir;
        if (a > c) return dir;
        return x - y;
      });
    }
    st.order = out;
    st.page = 0;
  }

  function seedBoxes(b, i) {
    var span = el("span", { cls: "seeds" }), n = b.seeds.length;
    for (var s = 0; s < n; s++) {
      var v = b.problems.sc[i][s];
      span.appendChild(el("i", { cls: v >= 0.5 ? "ok" : "bad", title: b.seeds[s] + ": " + v }));
    }
    return span;
  }

  function renderRows(b, bi, st, ui) {
    var tbody = ui.tbody, p = b.problems;
    tbody.textContent = "";
    var start = st.page * PAGE, end = Math.min(st.order.length, start + PAGE);
    for (var r = start; r < end; r++) {
      var i = st.order[r];
      var tr = el("tr", { cls: "problem-row", "data-idx": String(i) });
      tr.appendChild(el("td", { cls: "num", text: String(i) }));
      tr.appendChild(el("td", { cls: "qtext", text: p.q[i] }));
      tr.appendChild(el("td", { text: p.sub[i] < 0 ? "" : b.subsets[p.sub[i]] }));
      tr.appendChild(el("td", { cls: "ans", text: p.exp[i] === null ? "" : p.exp[i] }));
      tr.appendChild(el("td", { cls: "ans " + (p.mean[i] >= 0.5 ? "good" : "poor"), text: p.ans[i] === null ? "(none)" : p.ans[i] }));
      tr.appendChild(el("td", { cls: "score" }, p.c[i] + "/" + b.seeds.length + " ", seedBoxes(b, i)));
      tr.appendChild(el("td", { cls: "num", text: p.tok[i] === null ? "" : String(p.tok[i]) }));
      tr.appendChild(el("td", { cls: "num", text: p.tr[i] ? String(p.tr[i]) : "" }));
      tr.addEventListener("click", toggleDetail.bind(null, b, bi, i, tr));
      tbody.appendChild(tr);
    }
    ui.status.textContent = st.order.length ? "Problems " + (start + 1) + "–" + end + " of " + st.order.length +
      (st.order.length < p.q.length ? " (filtered from " + p.q.length + ")" : "") : "No problem matches.";
    ui.prev.disabled = st.page === 0;
    ui.next.disabled = end >= st.order.length;
    ui.heads.forEach(function (th) {
      th.classList.toggle("asc", th.dataset.key === st.sortKey && st.sortDir === 1);
      th.classList.toggle("desc", th.dataset.key === st.sortKey && st.sortDir === -1);
    });
  }

  function buildProblems(sec, b, bi) {
    var st = { query: "", subset: "", outcome: "", sortKey: null, sortDir: 1, order: [], page: 0 };
    benchState[bi] = st;
    var ui = {};
    var input = el("input", { type: "search", cls: "filter", placeholder: "filter: text in problem / expected / answer, or #index" });
    var subset = el("select", { cls: "subset-filter" }, el("option", { value: "", text: "all subsets" }));
    b.subsets.forEach(function (s, k) { subset.appendChild(el("option", { value: String(k), text: s })); });
    var outcome = el("select", { cls: "outcome-filter" },
      el("option", { value: "", text: "any outcome" }), el("option", { value: "all", text: "correct in every seed" }),
      el("option", { value: "some", text: "correct in some seeds" }), el("option", { value: "none", text: "never correct" }),
      el("option", { value: "truncated", text: "has truncated samples" }));
    function refresh() { applyFilters(b, st); renderRows(b, bi, st, ui); }
    input.addEventListener("input", function () { st.query = input.value; refresh(); });
    subset.addEventListener("change", function () { st.subset = subset.value; refresh(); });
    outcome.addEventListener("change", function () { st.outcome = outcome.value; refresh(); });
    ui.prev = el("button", { text: "‹ prev", onclick: function () { st.page--; renderRows(b, bi, st, ui); } });
    ui.next = el("button", { text: "next ›", onclick: function () { st.page++; renderRows(b, bi, st, ui); } });
    ui.status = el("span", { cls: "status" });
    var head = el("tr", null);
    ui.heads = COLUMNS.map(function (c) {
      var th = el("th", { "data-key": c[0], text: c[1], title: "sort by " + c[1] });
      th.addEventListener("click", function () {
        if (st.sortKey === c[0]) st.sortDir = -st.sortDir; else { st.sortKey = c[0]; st.sortDir = 1; }
        refresh();
      });
      head.appendChild(th);
      return th;
    });
    ui.tbody = el("tbody", null);
    sec.appendChild(el("div", { cls: "problems-block" },
      el("div", { cls: "controls" }, input, subset, outcome, ui.prev, ui.next, ui.status),
      el("table", { cls: "problems", id: "problems-" + bi }, el("thead", null, head), ui.tbody)));
    ui.input = input;
    st.ui = ui;
    refresh();
  }

  /* ------------------------------------------------------------------ drill-down */
  function inflate(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (typeof DecompressionStream === "undefined") return Promise.reject(new Error("this browser cannot decompress (no DecompressionStream)"));
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function loadChunk(bi, j) {
    var id = "s-" + bi + "-" + j;
    if (!chunkCache[id]) {
      chunkCache[id] = domReady.then(function () {
        var node = document.getElementById(id);
        if (!node) throw new Error("sample data " + id + " is missing");
        return inflate(node.textContent);
      });
    }
    return chunkCache[id];
  }

  function textBlock(text, cls) {
    var box = el("div", { cls: "text " + (cls || "") });
    if (text === null || text === undefined) return box;
    var pre = el("pre", { text: text.length > PREVIEW ? text.slice(0, PREVIEW) + " …" : text });
    box.appendChild(pre);
    if (text.length > PREVIEW) {
      var btn = el("button", { cls: "expand", text: "Show all " + text.length + " characters" });
      btn.addEventListener("click", function (ev) {
        ev.stopPropagation();
        pre.textContent = text;
        btn.remove();
      });
      box.appendChild(btn);
    }
    return box;
  }

  function badge(name, v) {
    return el("span", { cls: "badge " + (v >= 0.5 ? "ok" : "bad"), text: name + " " + (v === 1 ? "✓" : v === 0 ? "✗" : v.toFixed(2)) });
  }

  function renderSample(b, s) {
    var outcome = s.finish === "length" ? "truncated" : (s.scores[b.main] >= 0.5 ? "correct" : "wrong");
    var head = el("div", { cls: "sample-head" }, el("b", { text: s.seed }));
    Object.keys(s.scores).forEach(function (m) { head.appendChild(badge(m, s.scores[m])); });
    head.appendChild(el("span", { cls: "muted", text: (s.tokens === null ? "? " : s.tokens + " ") + "tokens · finish " +
      (s.finish || "?") + " · " + s.file + ":" + s.line }));
    var box = el("div", { cls: "sample " + outcome }, head,
      el("div", null, "Predicted answer: ", el("code", { text: s.answer === null ? "(none)" : s.answer })));
    if (s.reasoning) {
      box.appendChild(el("details", { cls: "reasoning" }, el("summary", { text: "Reasoning (" + s.reasoning.length + " characters)" }),
                         textBlock(s.reasoning)));
    }
    box.appendChild(el("div", { cls: "label", text: "Generation" }));
    box.appendChild(textBlock(s.generation, "generation"));
    if (s.judgement !== null && s.judgement !== undefined) {
      var verdict = s.scores.judge_correct === undefined ? "" : (s.scores.judge_correct >= 0.5 ? ": correct" : ": wrong");
      box.appendChild(el("details", { cls: "judgement" }, el("summary", { text: "Judge verdict" + verdict }), textBlock(s.judgement)));
    }
    return box;
  }

  function toggleDetail(b, bi, i, tr) {
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("detail-row")) { next.remove(); tr.classList.remove("open"); return; }
    tr.classList.add("open");
    var cell = el("td", { colspan: String(COLUMNS.length) }, el("div", { cls: "muted", text: "loading…" }));
    var row = el("tr", { cls: "detail-row", "data-idx": String(i) }, cell);
    tr.parentNode.insertBefore(row, tr.nextSibling);
    var starts = b.chunk_starts, lo = 0, hi = starts.length - 1;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (starts[mid] <= i) lo = mid; else hi = mid - 1; }
    loadChunk(bi, lo).then(function (chunk) {
      var p = chunk[i - starts[lo]];
      var box = el("div", { cls: "detail" }, el("h4", { text: "Problem #" + i }), textBlock(p.text, "problem"),
        el("div", null, "Expected answer: ", el("code", { text: p.expected === null ? "(none)" : p.expected })));
      p.samples.forEach(function (s) { box.appendChild(renderSample(b, s)); });
      cell.textContent = "";
      cell.appendChild(box);
    }).catch(function (err) {
      cell.textContent = "Cannot show the samples: " + err.message;
    });
  }

  function openProblem(bi, i) {
    show("b" + bi);
    var st = benchState[bi];
    st.ui.input.value = "#" + i;
    st.query = "#" + i;
    applyFilters(DATA.benchmarks[bi], st);
    renderRows(DATA.benchmarks[bi], bi, st, st.ui);
    var tr = st.ui.tbody.querySelector("tr.problem-row");
    if (tr) tr.click();
  }

  /* ------------------------------------------------------------------ benchmark and compare tabs */
  function buildBench(sec, s, b, bi) {
    sec.appendChild(el("h2", { text: b.name }));
    sec.appendChild(el("p", { cls: "muted", text: b.folder + " · metric type " + b.metric_type + " · main score " +
      b.main + " · " + b.problems.q.length + " problems × " + b.seeds.length + " seed(s)" }));
    b.tables.forEach(function (t) { sec.appendChild(tableOf(t)); });
    var grid = el("div", { cls: "plots" });
    sec.appendChild(grid);
    ["passk", "seeds", "tokens"].forEach(function (k) { if (b.figures[k]) plot(s, grid, b.figures[k]); });
    sec.appendChild(el("h3", { text: "Problems" }));
    sec.appendChild(el("p", { cls: "muted", text: "Click a column to sort, a row to see its samples. " +
      "Correct = score ≥ 0.5; the answer column shows the most common predicted answer." }));
    buildProblems(sec, b, bi);
  }

  function flipLinks(res, name, ids) {
    var bi = DATA.benchmarks.findIndex(function (b) { return b.name === name; });
    var span = el("span", { cls: "flips" });
    if (!ids.length) span.appendChild(document.createTextNode("-"));
    ids.forEach(function (i, k) {
      if (k) span.appendChild(document.createTextNode(" "));
      if (bi < 0) span.appendChild(el("span", { text: "#" + i }));
      else span.appendChild(el("a", { href: "#", cls: "flip", text: "#" + i,
        onclick: function (ev) { ev.preventDefault(); openProblem(bi, i); } }));
    });
    return span;
  }

  function buildCompare(sec, s) {
    DATA.compare.forEach(function (res) {
      sec.appendChild(el("h2", { text: "A = " + res.a + "   vs   B = " + res.b }));
      (res.legend || []).forEach(function (line) { sec.appendChild(el("p", { cls: "muted", text: line })); });
      var head = el("tr", null), body = el("tbody", null);
      res.header.forEach(function (h) { head.appendChild(el("th", { text: h })); });
      res.rows.forEach(function (r) {
        var tr = el("tr", { cls: (r.significant ? "sig" : r.tested ? "nonsig" : "untested") + " " + r.family });
        r.cells.forEach(function (c) { tr.appendChild(el("td", { text: c })); });
        body.appendChild(tr);
      });
      sec.appendChild(el("table", { cls: "metrics compare" }, el("thead", null, head), body));
      plot(s, sec, res.figure);
      sec.appendChild(el("h3", { text: "Flipped problems" }));
      sec.appendChild(el("p", { cls: "muted", text: "Right = correct in at least half the seeds; click one to open it in A's tab." }));
      res.flips.forEach(function (f) {
        var box = el("div", { cls: "flip-box" }, el("b", { text: f.name + ": " }));
        if (!f.a_only.length && !f.b_only.length) box.appendChild(document.createTextNode("no problem flipped"));
        else {
          box.appendChild(el("div", null, "right in A, wrong in B (" + f.a_only.length + "): ", flipLinks(res, f.name, f.a_only)));
          box.appendChild(el("div", null, "wrong in A, right in B (" + f.b_only.length + "): ", flipLinks(res, f.name, f.b_only)));
        }
        sec.appendChild(box);
      });
      res.notes.forEach(function (n) { sec.appendChild(el("p", { cls: "warn", text: n })); });
      sec.appendChild(el("details", null, el("summary", { text: "Terminal output (ns compare)" }), el("pre", { text: res.text })));
    });
  }

  addTab("summary", "Summary", buildSummary);
  DATA.benchmarks.forEach(function (b, bi) {
    addTab("b" + bi, b.name, function (sec, s) { buildBench(sec, s, b, bi); });
  });
  if (DATA.compare.length) addTab("compare", "Comparison", buildCompare);
  show("summary");
  window.nsReport = { show: show, openProblem: openProblem, ready: true };
})();
