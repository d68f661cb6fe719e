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

  function settingsText(st) {
    if (!st) return "";
    return Object.keys(st).filter(function (k) {
      return st[k] !== null && st[k] !== undefined && st[k] !== "" && !(k === "few_shot_examples" && st[k] === 0);
    }).map(function (k) { return k + " " + JSON.stringify(st[k]); }).join(" · ");
  }

  function short(hash) { return hash ? String(hash).slice(0, 12) : ""; }

  function keyValues(pairs) {
    var body = el("tbody", null);
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      body.appendChild(el("tr", null, el("th", { text: p[0] }), el("td", null, typeof p[1] === "string" ? el("code", { text: p[1] }) : p[1])));
    });
    return el("table", { cls: "keyvalues" }, body);
  }

  function buildRun(sec) {
    var run = DATA.run;
    var box = el("div", { cls: "run-info", id: "run-info" }, el("h2", { text: "Run" }));
    if (!run) {
      box.appendChild(el("p", { cls: "muted", text: "No run manifest next to these results (written by ns eval / ns generate): " +
        "model, settings and messages sent are not known." }));
      sec.appendChild(box);
      return;
    }
    box.appendChild(el("p", { cls: "muted", text: "From " + run.manifest + "." }));
    run.runs.forEach(function (r) {
      var srv = r.server || {};
      var server = [srv.type, srv.model, srv.address, srv.args ? "args: " + srv.args : null,
                    srv.gpus !== undefined && srv.gpus !== null ? srv.gpus + " GPU(s)" : null].filter(Boolean).join(" · ");
      var versions = Object.keys(r.packages || {}).map(function (k) { return k + " " + r.packages[k]; }).join(", ");
      box.appendChild(el("h3", { text: "Run " + r.run }));
      box.appendChild(keyValues([
        ["command", r.command], ["server", server],
        ["started", (r.started || "?") + (r.finished ? " · finished " + r.finished : "") +
                    (r.exit_code !== null && r.exit_code !== undefined ? " · exit code " + r.exit_code : "")],
        ["where", [r.cluster, r.executor].filter(Boolean).join(" · ")],
        ["skills commit", r.git_commit ? r.git_commit + (r.git_dirty ? " (with uncommitted changes)" : "") : null],
        ["versions", versions]
      ]));
    });
    var head = el("tr", null), several = run.runs.length > 1;
    ["benchmark", "model", "data", "seeds", "prompt", "settings"].concat(several ? ["run"] : []).forEach(function (h) {
      head.appendChild(el("th", { text: h }));
    });
    var body = el("tbody", null);
    Object.keys(run.benchmarks).forEach(function (name) {
      var b = run.benchmarks[name], d = b.data || {}, pr = b.prompt || {};
      var seeds = b.seeds || [];
      body.appendChild(el("tr", { "data-bench": name },
        el("td", { text: name }), el("td", { text: b.model || "" }),
        el("td", { text: (b.split || "") + (d.rows !== undefined ? " · " + d.rows + " rows" : "") + (d.sha256 ? " · sha256 " + short(d.sha256) : "") }),
        el("td", { text: seeds.length ? (seeds[0] === null ? "greedy" : seeds.join(", ")) : "" }),
        el("td", { text: [pr.config, pr.source, pr.sha256 ? "sha256 " + short(pr.sha256) : null].filter(Boolean).join(" · ") }),
        el("td", { cls: "settings", text: settingsText(b.settings) }),
        several ? el("td", { text: b.run || "" }) : null));
    });
    box.appendChild(el("table", { cls: "metrics run-benchmarks" }, el("thead", null, head), body));
    sec.appendChild(box);
  }

  function buildSummary(sec) {
    buildRun(sec);
    sec.appendChild(el("h2", { text: "Results" }));
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

  function loadChunk(bi, j) { return loadBlob("s-" + bi + "-" + j); }

  function loadBlob(id) {
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

  function messagesBlock(messages, note) {
    var box = el("details", { cls: "messages", open: "" });
    box.appendChild(el("summary", { text: messages ? "Messages sent (" + messages.map(function (m) { return m.role; }).join(" + ") + ")" :
                                                     "Messages sent: not known" }));
    if (note) box.appendChild(el("p", { cls: "muted", text: note }));
    (messages || []).forEach(function (m) {
      box.appendChild(el("div", { cls: "label role-" + m.role, text: m.role }));
      box.appendChild(textBlock(m.content, "message"));
    });
    return box;
  }

  function setHash(h) {
    var target = "#" + h.split("/").map(encodeURIComponent).join("/");
    if (location.hash !== target) history.replaceState(null, "", target);
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
    setHash(b.name + "/" + i);
    loadChunk(bi, lo).then(function (chunk) {
      var p = chunk[i - starts[lo]];
      var box = el("div", { cls: "detail" }, el("h4", null, "Problem #" + i + " ",
          el("a", { cls: "permalink", href: "#" + encodeURIComponent(b.name) + "/" + i, text: "link", title: "link to this problem" })),
        textBlock(p.text, "problem"),
        el("div", null, "Expected answer: ", el("code", { text: p.expected === null ? "(none)" : p.expected })));
      box.appendChild(messagesBlock(p.messages, b.messages_note));
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
    if (b.run) {
      var pr = b.run.prompt || {}, seeds = b.run.seeds || [];
      sec.appendChild(el("p", { cls: "run-settings" }, el("b", { text: "Run: " }),
        [b.run.model ? "model " + b.run.model : null, seeds.length ? "seeds " + (seeds[0] === null ? "greedy" : seeds.join(",")) : null,
         pr.config ? "prompt " + pr.config + (pr.source ? " (" + pr.source + ")" : "") : null,
         settingsText(b.run.settings)].filter(Boolean).join(" · ")));
    }
    b.tables.forEach(function (t) { sec.appendChild(tableOf(t)); });
    var grid = el("div", { cls: "plots" });
    sec.appendChild(grid);
    ["passk", "seeds", "tokens"].forEach(function (k) { if (b.figures[k]) plot(s, grid, b.figures[k]); });
    sec.appendChild(el("h3", { text: "Problems" }));
    sec.appendChild(el("p", { cls: "muted", text: "Click a column to sort, a row to see its samples. " +
      "Correct = score ≥ 0.5; the answer column shows the most common predicted answer." }));
    buildProblems(sec, b, bi);
  }

  function compareKey(k) { return k ? "compare" + k : "compare"; }

  function flipLinks(k, f, ids) {
    var span = el("span", { cls: "flips" });
    if (!ids.length) span.appendChild(document.createTextNode("-"));
    ids.forEach(function (i, n) {
      if (n) span.appendChild(document.createTextNode(" "));
      span.appendChild(el("a", { href: "#" + compareKey(k) + "/" + encodeURIComponent(f.name) + "/" + i, cls: "flip",
        "data-idx": String(i), text: "#" + i,
        onclick: function (ev) { ev.preventDefault(); openSide(k, f.name, i); } }));
    });
    return span;
  }

  function sideColumn(title, b, entry, mean, seeds, link) {
    var col = el("div", { cls: "side-col" });
    var right = mean === undefined ? "" : " · " + (mean >= 0.5 ? "right" : "wrong") + " (mean score " + mean.toFixed(2) + " over " + seeds + " seed(s))";
    col.appendChild(el("h4", null, title + right + " ", link || null));
    if (!entry) { col.appendChild(el("p", { cls: "muted", text: "Its samples are not in this page." })); return col; }
    if (entry.messages) col.appendChild(messagesBlock(entry.messages, null));
    entry.samples.forEach(function (s) { col.appendChild(renderSample(b, s)); });
    return col;
  }

  function sideEntry(side, i) {
    if (!side) return Promise.resolve(null);
    var pos = side.index.indexOf(i);
    if (pos < 0) return Promise.resolve(null);
    var lo = 0;
    for (var j = 0; j < side.starts.length; j++) if (side.starts[j] <= pos) lo = j;
    return loadBlob(side.id + "-" + lo).then(function (chunk) { return chunk[pos - side.starts[lo]]; });
  }

  function aEntry(bi, i) {
    if (bi < 0) return Promise.resolve(null);
    var starts = DATA.benchmarks[bi].chunk_starts, lo = 0;
    for (var j = 0; j < starts.length; j++) if (starts[j] <= i) lo = j;
    return loadChunk(bi, lo).then(function (chunk) { return chunk[i - starts[lo]]; });
  }

  function openSide(k, name, i) {
    show("compare");
    var res = DATA.compare[k], f = res.flips.find(function (x) { return x.name === name; });
    var holder = document.getElementById("side-" + k + "-" + name);
    if (!f || !holder) return;
    setHash(compareKey(k) + "/" + name + "/" + i);
    var bi = DATA.benchmarks.findIndex(function (b) { return b.name === name; });
    var b = bi >= 0 ? DATA.benchmarks[bi] : { main: "", name: name };
    var m = f.means[String(i)] || [];
    holder.textContent = "";
    var box = el("div", { cls: "side-by-side", "data-idx": String(i) }, el("div", { cls: "muted", text: "loading…" }));
    holder.appendChild(box);
    Array.prototype.forEach.call(document.querySelectorAll("#panel-compare a.flip.current"), function (a) { a.classList.remove("current"); });
    var cur = document.querySelector("#flips-" + k + "-" + cssId(name) + " a.flip[data-idx='" + i + "']");
    if (cur) cur.classList.add("current");
    Promise.all([aEntry(bi, i), sideEntry(res.side[name], i)]).then(function (both) {
      var first = both[0] || both[1];
      box.textContent = "";
      box.appendChild(el("h4", null, name + " problem #" + i + " ",
        el("a", { cls: "permalink", href: "#" + compareKey(k) + "/" + encodeURIComponent(name) + "/" + i, text: "link" })));
      if (first) {
        box.appendChild(textBlock(first.text, "problem"));
        box.appendChild(el("div", null, "Expected answer: ", el("code", { text: first.expected === null ? "(none)" : first.expected })));
      }
      var open = bi >= 0 ? el("a", { href: "#" + encodeURIComponent(name) + "/" + i, cls: "open-a", text: "open in A's tab" }) : null;
      box.appendChild(el("div", { cls: "side-grid" },
        sideColumn("A", b, both[0], m[0], f.seeds[0], open), sideColumn("B", b, both[1], m[1], f.seeds[1], null)));
      box.scrollIntoView({ block: "start" });
    }).catch(function (err) { box.textContent = "Cannot show the samples: " + err.message; });
  }

  function cssId(name) { return String(name).replace(/[^A-Za-z0-9_-]/g, "_"); }

  function buildCompare(sec, s) {
    DATA.compare.forEach(function (res, k) {
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
      sec.appendChild(el("p", { cls: "muted", text: "Right = correct in at least half the seeds. Click one to see A and B " +
        "side by side (its address links to it)." }));
      res.flips.forEach(function (f) {
        var box = el("div", { cls: "flip-box", id: "flips-" + k + "-" + cssId(f.name) }, el("b", { text: f.name + ": " }));
        if (!f.a_only.length && !f.b_only.length) box.appendChild(document.createTextNode("no problem flipped"));
        else {
          box.appendChild(el("div", null, "right in A, wrong in B (" + f.a_only.length + "): ", flipLinks(k, f, f.a_only)));
          box.appendChild(el("div", null, "wrong in A, right in B (" + f.b_only.length + "): ", flipLinks(k, f, f.b_only)));
        }
        box.appendChild(el("div", { cls: "side-holder", id: "side-" + k + "-" + f.name }));
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

  /* ------------------------------------------------------------------ deep links
     #<bench>            a benchmark's tab
     #<bench>/<i>        problem i's drill-down in that tab
     #compare/<bench>/<i> (#compare<k>/... for the k-th comparison) A and B side by side */
  function route() {
    var parts = location.hash.replace(/^#/, "").split("/").map(function (x) {
      try { return decodeURIComponent(x); } catch (e) { return x; }
    });
    var m = /^compare(\d*)$/.exec(parts[0] || "");
    if (m && DATA.compare.length) {
      var k = m[1] ? parseInt(m[1], 10) : 0;
      if (k < DATA.compare.length && parts.length >= 3 && /^\d+$/.test(parts[2])) openSide(k, parts[1], parseInt(parts[2], 10));
      else show("compare");
      return true;
    }
    var bi = DATA.benchmarks.findIndex(function (b) { return b.name === parts[0]; });
    if (bi < 0) return false;
    if (parts.length >= 2 && /^\d+$/.test(parts[1]) && parseInt(parts[1], 10) < DATA.benchmarks[bi].problems.q.length) {
      openProblem(bi, parseInt(parts[1], 10));
      var tr = document.querySelector("#problems-" + bi + " tr.problem-row");
      if (tr) tr.scrollIntoView({ block: "start" });
    } else show("b" + bi);
    return true;
  }
  window.addEventListener("hashchange", route);
  if (!route()) show("summary");
  window.nsReport = { show: show, openProblem: openProblem, openSide: openSide, route: route, ready: true };
})();
