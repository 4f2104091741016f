/**
 * The console's web page: one HTML document and one script, served by the console server as is
 * (no build step, no dependency). Live through Server-Sent Events (/api/events); every value is
 * written with textContent, never as HTML.
 */

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>steward console</title>
<style>
  :root { --bg:#0f1115; --panel:#171a21; --line:#262b36; --fg:#d7dae0; --dim:#8b93a3; --acc:#6cb6ff; --warn:#e3b341; --err:#f47067; --ok:#57ab5a; }
  @media (prefers-color-scheme: light) { :root { --bg:#fff; --panel:#f6f8fa; --line:#d0d7de; --fg:#1f2328; --dim:#59636e; --acc:#0969da; --warn:#9a6700; --err:#cf222e; --ok:#1a7f37; } }
  * { box-sizing: border-box; }
  body { margin:0; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background:var(--bg); color:var(--fg); }
  header { display:flex; flex-wrap:wrap; gap:4px 18px; align-items:baseline; padding:8px 14px; background:var(--panel); border-bottom:1px solid var(--line); }
  header h1 { font-size:14px; margin:0 8px 0 0; color:var(--acc); }
  header .m b { font-weight:600; }
  header .m span { color:var(--dim); }
  #conn { margin-left:auto; }
  #conn.live { color:var(--ok); } #conn.down { color:var(--err); }
  nav { display:flex; gap:4px; padding:6px 14px 0; border-bottom:1px solid var(--line); }
  nav button { background:none; color:var(--dim); border:1px solid transparent; border-bottom:none; padding:5px 12px; font:inherit; cursor:pointer; border-radius:4px 4px 0 0; }
  nav button.on { color:var(--fg); border-color:var(--line); background:var(--bg); margin-bottom:-1px; }
  nav input { margin-left:auto; margin-bottom:4px; background:var(--panel); color:var(--fg); border:1px solid var(--line); border-radius:4px; padding:3px 8px; font:inherit; width:260px; }
  main { display:flex; min-height:calc(100vh - 90px); }
  section { flex:1; overflow:auto; }
  table { border-collapse:collapse; width:100%; }
  th, td { padding:3px 10px; text-align:left; white-space:nowrap; border-bottom:1px solid var(--line); }
  th { position:sticky; top:0; background:var(--panel); color:var(--dim); font-weight:600; cursor:pointer; user-select:none; }
  th.sorted { color:var(--fg); }
  td.num, th.num { text-align:right; }
  td.clip { max-width:420px; overflow:hidden; text-overflow:ellipsis; }
  tbody tr { cursor:pointer; }
  tbody tr:hover { background:var(--panel); }
  tr.sel { background:color-mix(in srgb, var(--acc) 18%, transparent) !important; }
  tr.st-done td { color:var(--dim); }
  .st { font-weight:600; } .st-running .st { color:var(--ok); } .st-scheduled .st { color:var(--acc); } .st-idle .st { color:var(--dim); }
  .lint { color:var(--warn); } .lint.error { color:var(--err); }
  aside { width:min(560px, 45vw); border-left:1px solid var(--line); background:var(--panel); padding:12px 16px; overflow:auto; }
  aside h2 { font-size:14px; margin:0 0 8px; }
  aside dl { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:0 0 12px; }
  aside dt { color:var(--dim); } aside dd { margin:0; word-break:break-all; }
  aside .close { float:right; background:none; border:1px solid var(--line); color:var(--fg); border-radius:4px; cursor:pointer; font:inherit; }
  .hist { display:flex; align-items:flex-end; gap:2px; height:110px; border-bottom:1px solid var(--line); margin:4px 0 2px; }
  .hist div { flex:1; background:var(--acc); min-height:1px; position:relative; }
  .hist div.empty { background:transparent; }
  .hlab { display:flex; gap:2px; font-size:9px; color:var(--dim); }
  .hlab span { flex:1; text-align:center; overflow:hidden; }
  pre { white-space:pre-wrap; word-break:break-all; margin:0; color:var(--dim); font-size:12px; }
  .warnings li { margin:6px 0; }
  .empty-note { color:var(--dim); padding:20px; }
  #auth { padding:30px; } #auth input { font:inherit; padding:4px 8px; }
</style>
</head>
<body>
<header>
  <h1>steward console</h1>
  <div class="m"><span>pid</span> <b id="h-pid">-</b></div>
  <div class="m"><span>runtimes</span> <b id="h-rt">-</b></div>
  <div class="m"><span>ELU</span> <b id="h-elu">-</b></div>
  <div class="m"><span>loop p99</span> <b id="h-p99">-</b></div>
  <div class="m"><span>tasks</span> <b id="h-live">-</b> <span>live</span> · <b id="h-spawned">-</b> <span>spawned</span></div>
  <div class="m"><span>blocked</span> <b id="h-blocked">-</b></div>
  <div id="conn" class="down">connecting…</div>
</header>
<nav>
  <button id="tab-tasks" class="on" data-view="tasks">Tasks <span id="n-tasks"></span></button>
  <button id="tab-resources" data-view="resources">Resources <span id="n-resources"></span></button>
  <button id="tab-warnings" data-view="warnings">Warnings <span id="n-warnings"></span></button>
  <input id="filter" type="search" placeholder="filter: name, state, waiting on, site" aria-label="filter">
</nav>
<div id="auth" hidden>
  <p>This console requires a token.</p>
  <form id="auth-form"><input id="auth-token" type="password" placeholder="token" autocomplete="off"> <button>Connect</button></form>
</div>
<main>
  <section id="view-tasks">
    <table id="tasks"><thead><tr>
      <th data-key="id" class="num">ID</th><th data-key="name">Name</th><th data-key="state">State</th>
      <th data-key="totalMs" class="num">Total</th><th data-key="busyMs" class="num">Busy</th><th data-key="scheduledMs" class="num">Sched</th>
      <th data-key="idleMs" class="num">Idle</th><th data-key="resumes" class="num">Resumes</th><th data-key="maxResumeMs" class="num">Max resume</th>
      <th data-key="waitingOn">Waiting on</th><th data-key="spawnedAt">Spawned at</th>
    </tr></thead><tbody></tbody></table>
    <div id="tasks-empty" class="empty-note" hidden>No tasks.</div>
  </section>
  <section id="view-resources" hidden>
    <table id="resources"><thead><tr>
      <th data-key="id">Resource</th><th data-key="kind">Kind</th><th data-key="waiters" class="num">Waiters</th><th data-key="ops">Queues</th><th data-key="details">Details</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section id="view-warnings" hidden><ul id="warnings" class="warnings"></ul><div id="warnings-empty" class="empty-note">No warnings.</div></section>
  <aside id="detail" hidden></aside>
</main>
<script src="app.js"></script>
</body>
</html>
`;

export const APP_JS = String.raw`"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let token = params.get("token") || sessionStorage.getItem("steward-console-token") || "";
  const S = { tasks: new Map(), resources: [], warnings: [], blocked: [], header: null, serverNow: 0, at: 0 };
  let view = "tasks", sortKey = "id", sortDir = 1, selected = null, detailExtra = null, es = null;

  const fmt = (ms) => {
    if (ms === undefined || ms === null || Number.isNaN(ms)) return "-";
    if (ms < 1) return Math.round(ms * 1000) + "µs";
    if (ms < 10) return ms.toFixed(2) + "ms";
    if (ms < 1000) return ms.toFixed(1) + "ms";
    if (ms < 60000) return (ms / 1000).toFixed(2) + "s";
    return Math.floor(ms / 60000) + "m" + String(Math.floor((ms % 60000) / 1000)).padStart(2, "0") + "s";
  };
  const bucketLabel = (i, last) => (i === 0 ? "<1µs" : i >= last ? "≥" + fmt(2 ** (i - 1) / 1000) : "<" + fmt(2 ** i / 1000));
  const q = (path) => path + (token ? (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : "");
  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  };

  // A record's time fields grow while nothing else changes; the stream sends it only on change,
  // so extrapolate its open state from when it was taken.
  const nowMs = () => S.serverNow + (performance.now() - S.at);
  function live(t) {
    if (t.state === "done") return t;
    const d = Math.max(0, nowMs() - t.asOf);
    const o = Object.assign({}, t, { totalMs: t.totalMs + d, stateMs: t.stateMs + d });
    if (t.state === "idle") o.idleMs = t.idleMs + d;
    else if (t.state === "scheduled") { o.scheduledMs = t.scheduledMs + d; o.maxScheduledMs = Math.max(t.maxScheduledMs, o.stateMs); }
    else if (t.state === "running") o.busyMs = t.busyMs + d;
    return o;
  }

  function applySnapshot(s) {
    S.tasks = new Map(s.tasks.map((t) => [t.id, t]));
    S.resources = s.resources; S.warnings = s.warnings; S.blocked = s.blocked; S.header = s.header;
    S.serverNow = s.now; S.at = performance.now();
    render();
  }
  function applyDelta(d) {
    for (const t of d.tasks) S.tasks.set(t.id, t);
    for (const id of d.removed) S.tasks.delete(id);
    if (d.resources) S.resources = d.resources;
    S.warnings = d.warnings; S.blocked = d.blocked; S.header = d.header;
    S.serverNow = d.now; S.at = performance.now();
    render();
  }

  function setConn(ok, text) { const c = $("conn"); c.className = ok ? "live" : "down"; c.textContent = text; }

  async function connect() {
    try {
      const r = await fetch(q("api/snapshot"), { cache: "no-store" });
      if (r.status === 401) { $("auth").hidden = false; setConn(false, "token required"); return; }
      if (!r.ok) throw new Error("HTTP " + r.status);
      applySnapshot(await r.json());
    } catch (e) { setConn(false, "offline: " + e.message); setTimeout(connect, 2000); return; }
    $("auth").hidden = true;
    if (es) es.close();
    es = new EventSource(q("api/events"));
    es.addEventListener("snapshot", (ev) => { applySnapshot(JSON.parse(ev.data)); setConn(true, "live"); });
    es.addEventListener("delta", (ev) => { applyDelta(JSON.parse(ev.data)); setConn(true, "live"); });
    es.onerror = () => setConn(false, "reconnecting…");
  }

  function header() {
    const h = S.header; if (!h) return;
    $("h-pid").textContent = h.pid + " (" + h.node + ")";
    $("h-rt").textContent = h.runtimes.map((r) => r.name + (r.state === "running" ? "" : " [" + r.state + "]")).join(", ");
    $("h-elu").textContent = Math.round(h.elu * 100) + "%";
    $("h-p99").textContent = fmt(h.loopDelayP99Ms) + " (max " + fmt(h.loopDelayMaxMs) + ")";
    $("h-live").textContent = h.liveTasks;
    $("h-spawned").textContent = h.spawned;
    $("h-blocked").textContent = h.blockedEpisodes + (h.blockedEpisodes ? " (" + fmt(h.blockedMsTotal) + ")" : "");
    $("n-tasks").textContent = "(" + S.tasks.size + ")";
    $("n-resources").textContent = "(" + S.resources.length + ")";
    $("n-warnings").textContent = S.warnings.length ? "(" + S.warnings.length + ")" : "";
  }

  const filterText = () => $("filter").value.trim().toLowerCase();
  const matches = (f, ...xs) => !f || xs.some((x) => x !== undefined && String(x).toLowerCase().includes(f));
  const cmp = (a, b) => {
    const x = a[sortKey], y = b[sortKey];
    if (x === y) return a.id - b.id;
    if (x === undefined) return 1; if (y === undefined) return -1;
    return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
  };

  function renderTasks() {
    const f = filterText();
    const rows = [...S.tasks.values()].map(live).filter((t) => matches(f, t.id, t.name, t.state, t.waitingOn, t.spawnedAt, t.runtime)).sort(cmp);
    const tb = $("tasks").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const t of rows) {
      const tr = el("tr", { class: "st-" + t.state + (t.id === selected ? " sel" : ""), "data-task-id": String(t.id) },
        el("td", { class: "num", text: String(t.id) }),
        el("td", { class: "clip", text: t.name || "" }),
        el("td", { class: "st", text: t.state + (t.outcome && t.outcome !== "ok" ? " (" + t.outcome + ")" : "") }),
        el("td", { class: "num", text: fmt(t.totalMs) }),
        el("td", { class: "num", text: fmt(t.busyMs) }),
        el("td", { class: "num", text: fmt(t.scheduledMs) }),
        el("td", { class: "num", text: fmt(t.idleMs) }),
        el("td", { class: "num", text: String(t.resumes) }),
        el("td", { class: "num" + (t.lints ? " lint" : ""), text: fmt(t.maxResumeMs) }),
        el("td", { class: "clip" + (t.lints && t.lints.includes("idle-on-nothing") ? " lint" : ""), text: t.waitingOn || (t.state === "idle" ? "(nothing steward sees)" : "") }),
        el("td", { class: "clip", text: t.spawnedAt, title: t.spawnedAt }));
      frag.append(tr);
    }
    tb.replaceChildren(frag);
    $("tasks-empty").hidden = rows.length > 0;
    for (const th of $("tasks").tHead.rows[0].cells) {
      th.classList.toggle("sorted", th.dataset.key === sortKey);
      th.textContent = th.textContent.replace(/ [▲▼]$/, "") + (th.dataset.key === sortKey ? (sortDir > 0 ? " ▲" : " ▼") : "");
    }
  }

  function renderResources() {
    const f = filterText();
    const tb = $("resources").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const r of S.resources) {
      const details = r.details ? Object.entries(r.details).map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join(" ") : "";
      const ops = (r.ops || []).map((o) => o.op + ":" + o.waiters + (o.headWaitMs !== undefined ? " (first " + fmt(o.headWaitMs) + (o.headTask ? ", task " + o.headTask : "") + ")" : "")).join(", ");
      if (!matches(f, r.id, r.kind, details, ops)) continue;
      frag.append(el("tr", { "data-resource-id": r.id }, el("td", { class: "clip", text: r.id }), el("td", { text: r.kind }), el("td", { class: "num", text: String(r.waiters) }), el("td", { class: "clip", text: ops }), el("td", { class: "clip", text: details, title: details })));
    }
    tb.replaceChildren(frag);
  }

  function renderWarnings() {
    const ul = $("warnings");
    ul.replaceChildren(...S.warnings.map((w) => {
      const li = el("li", { class: "lint " + w.severity }, el("b", { text: "[" + w.lint + "] " }), w.message);
      if (w.task !== undefined) { li.style.cursor = "pointer"; li.onclick = () => { show("tasks"); select(w.task); }; }
      return li;
    }), ...S.blocked.slice().reverse().slice(0, 10).map((b) => el("li", { class: "lint" }, el("b", { text: "[blocked] " }),
      "event loop blocked " + fmt(b.durationMs) + " (" + b.source + ")" + (b.task ? " in task " + b.task.id + (b.task.name ? " '" + b.task.name + "'" : "") : "") + (b.frame ? " at " + b.frame : "") + ", " + new Date(b.atMs).toLocaleTimeString())));
    $("warnings-empty").hidden = ul.children.length > 0;
  }

  function histogram(counts) {
    const box = el("div", { class: "hist" }), lab = el("div", { class: "hlab" });
    const n = Math.max(counts.length, 1), max = Math.max(1, ...counts);
    for (let i = 0; i < n; i++) {
      const c = counts[i] || 0;
      const bar = el("div", { class: c ? "" : "empty", title: bucketLabel(i, 27) + ": " + c });
      bar.style.height = (c ? Math.max(2, Math.round((c / max) * 100)) : 0) + "%";
      box.append(bar);
      lab.append(el("span", { text: i % 2 === 0 || n < 10 ? bucketLabel(i, 27) : "" }));
    }
    return el("div", null, box, lab);
  }

  function renderDetail() {
    const box = $("detail");
    const raw = selected === null ? undefined : S.tasks.get(selected);
    if (raw === undefined) { box.hidden = true; return; }
    const t = live(raw);
    box.hidden = false;
    const dl = el("dl");
    const row = (k, v) => { if (v !== undefined && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: String(v) })); };
    row("state", t.state + (t.outcome ? " (" + t.outcome + ")" : "") + " for " + fmt(t.stateMs));
    row("runtime", t.runtime);
    row("parent", t.parent !== undefined ? "task " + t.parent : undefined);
    row("waiting on", t.waitingOn || (t.state === "idle" ? "nothing steward sees" : undefined));
    row("total", fmt(t.totalMs));
    row("busy", fmt(t.busyMs) + " (" + (t.totalMs ? Math.round((t.busyMs / t.totalMs) * 100) : 0) + "%)");
    row("scheduled", fmt(t.scheduledMs) + ", max delay " + fmt(t.maxScheduledMs));
    row("idle", fmt(t.idleMs));
    row("resumes", t.resumes + " (last " + fmt(t.lastResumeMs) + ", p50 " + fmt(t.p50ResumeMs) + ", p99 " + fmt(t.p99ResumeMs) + ", max " + fmt(t.maxResumeMs) + ")");
    row("spawned", new Date(t.spawnedAtMs).toLocaleTimeString() + " at " + t.spawnedAt);
    if (t.endedAtMs) row("ended", new Date(t.endedAtMs).toLocaleTimeString());
    const lints = S.warnings.filter((w) => w.task === t.id);
    const closeBtn = el("button", { class: "close", text: "close ✕", onclick: () => select(null) });
    box.replaceChildren(closeBtn, el("h2", { id: "detail-title", text: "Task " + t.id + (t.name ? " '" + t.name + "'" : "") }), dl,
      ...lints.map((w) => el("p", { class: "lint " + w.severity, text: "[" + w.lint + "] " + w.message })),
      el("h3", { text: "Resume times (" + t.resumes + ")" }), histogram(t.resumeHistogram),
      el("h3", { text: "Scheduling delays" }), histogram(t.scheduledHistogram),
      el("h3", { text: "Spawn stack" }), el("pre", { id: "detail-stack", text: detailExtra && detailExtra.task.id === t.id ? detailExtra.spawnStack.join("\n") : t.spawnedAt }));
  }

  async function select(id) {
    selected = id; detailExtra = null;
    history.replaceState(null, "", id === null ? location.pathname + location.search : "#task-" + id);
    render();
    if (id === null) return;
    try {
      const r = await fetch(q("api/tasks/" + id), { cache: "no-store" });
      if (r.ok) { detailExtra = await r.json(); if (selected === id) renderDetail(); }
    } catch { /* the table still shows it */ }
  }

  function show(v) {
    view = v;
    for (const name of ["tasks", "resources", "warnings"]) { $("view-" + name).hidden = name !== v; $("tab-" + name).classList.toggle("on", name === v); }
    render();
  }

  let pending = false;
  function render() {
    if (pending) return; pending = true;
    requestAnimationFrame(() => {
      pending = false;
      header();
      if (view === "tasks") renderTasks(); else if (view === "resources") renderResources(); else renderWarnings();
      renderDetail();
    });
  }

  $("tasks").tBodies[0].addEventListener("click", (ev) => { const tr = ev.target.closest("tr"); if (tr) select(Number(tr.dataset.taskId)); });
  $("tasks").tHead.addEventListener("click", (ev) => {
    const th = ev.target.closest("th"); if (!th) return;
    if (sortKey === th.dataset.key) sortDir = -sortDir; else { sortKey = th.dataset.key; sortDir = th.classList.contains("num") && sortKey !== "id" ? -1 : 1; }
    render();
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  $("filter").addEventListener("input", render);
  $("auth-form").addEventListener("submit", (ev) => { ev.preventDefault(); token = $("auth-token").value; sessionStorage.setItem("steward-console-token", token); connect(); });
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") select(null); });
  setInterval(render, 1000);
  const m = /^#task-(\d+)$/.exec(location.hash);
  if (m) select(Number(m[1]));
  connect();
})();
`;
