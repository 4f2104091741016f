/*
 * The live console's web page: a snapshot, then the event stream's deltas (only what changed;
 * time passing in a task's current state is extrapolated here). Every value is written with
 * textContent, never as HTML.
 */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  let token = params.get("token") || sessionStorage.getItem("steward-console-token") || "";
  const S = { tasks: new Map(), resources: new Map(), warnings: [], blocked: [], groups: [], header: null, serverNow: 0, at: 0, seq: -1 };
  const openStacks = new Set();
  let view = "tasks",
    sortKey = "id",
    sortDir = 1,
    selected = null,
    detailExtra = null,
    es = null;

  const fmt = (ms) => {
    if (ms === undefined || ms === null || Number.isNaN(ms)) return "-";
    if (ms < 1) return Math.round(ms * 1000) + "µs";
    if (ms < 10) return ms.toFixed(2) + "ms";
    if (ms < 1000) return ms.toFixed(1) + "ms";
    if (ms < 60000) return (ms / 1000).toFixed(2) + "s";
    return Math.floor(ms / 60000) + "m" + String(Math.floor((ms % 60000) / 1000)).padStart(2, "0") + "s";
  };
  const bucketLabel = (i, last) => (i === 0 ? "<1µs" : i >= last ? "≥" + fmt(2 ** (i - 1) / 1000) : "<" + fmt(2 ** i / 1000));
  const { el, withToken } = window.stewardDom; // dom.js
  const q = (path) => withToken(path, token);

  // A record's time fields grow while nothing else changes; the stream sends it only on change,
  // so extrapolate its open state from when it was taken.
  const nowMs = () => S.serverNow + (performance.now() - S.at);
  function live(t) {
    if (t.state === "done") return t;
    const d = Math.max(0, nowMs() - t.asOf);
    const o = Object.assign({}, t, { totalMs: t.totalMs + d, stateMs: t.stateMs + d });
    if (t.state === "idle") o.idleMs = t.idleMs + d;
    else if (t.state === "scheduled") {
      o.scheduledMs = t.scheduledMs + d;
      o.maxScheduledMs = Math.max(t.maxScheduledMs, o.stateMs);
    } else if (t.state === "running") o.busyMs = t.busyMs + d;
    return o;
  }

  function applySnapshot(s) {
    S.tasks = new Map(s.tasks.map((t) => [t.id, t]));
    S.resources = new Map(s.resources.map((r) => [r.id, r]));
    S.warnings = s.warnings;
    S.blocked = s.blocked;
    S.groups = s.blockedGroups || [];
    S.header = s.header;
    S.serverNow = s.now;
    S.at = performance.now();
    S.seq = s.seq === undefined ? -1 : s.seq;
    render();
  }
  // A delta carries only what changed: merge it field by field.
  function applyDelta(d) {
    if (S.seq >= 0 && d.seq !== S.seq + 1) {
      connect();
      return;
    } // missed one: start over from a snapshot
    S.seq = d.seq;
    for (const t of d.tasks) S.tasks.set(t.id, Object.assign(S.tasks.get(t.id) || {}, t));
    for (const id of d.removed) S.tasks.delete(id);
    if (d.resources) for (const r of d.resources) S.resources.set(r.id, Object.assign(S.resources.get(r.id) || {}, r));
    if (d.resourcesRemoved) for (const id of d.resourcesRemoved) S.resources.delete(id);
    if (d.warnings) S.warnings = d.warnings;
    if (d.blocked) {
      for (const b of d.blocked) {
        const i = S.blocked.findIndex((x) => x.id === b.id);
        if (i >= 0) S.blocked[i] = b;
        else S.blocked.push(b);
      }
      if (S.blocked.length > 50) S.blocked.splice(0, S.blocked.length - 50);
    }
    if (d.blockedGroups) S.groups = d.blockedGroups;
    S.header = d.header;
    S.serverNow = d.now;
    S.at = performance.now();
    render();
  }

  function setConn(ok, text) {
    const c = $("conn");
    c.className = ok ? "live" : "down";
    c.textContent = text;
  }

  async function connect() {
    try {
      const r = await fetch(q("api/snapshot"), { cache: "no-store" });
      if (r.status === 401) {
        $("auth").hidden = false;
        setConn(false, "token required");
        return;
      }
      if (!r.ok) throw new Error("HTTP " + r.status);
      applySnapshot(await r.json());
    } catch (e) {
      setConn(false, "offline: " + e.message);
      setTimeout(connect, 2000);
      return;
    }
    $("auth").hidden = true;
    if (es) es.close();
    es = new EventSource(q("api/events"));
    es.addEventListener("snapshot", (ev) => {
      applySnapshot(JSON.parse(ev.data));
      setConn(true, "live");
    });
    es.addEventListener("delta", (ev) => {
      applyDelta(JSON.parse(ev.data));
      setConn(true, "live");
    });
    es.onerror = () => setConn(false, "reconnecting…");
  }

  function header() {
    const h = S.header;
    if (!h) return;
    $("h-pid").textContent = h.pid + " (" + h.node + ")";
    $("h-rt").textContent = h.runtimes.map((r) => r.name + (r.state === "running" ? "" : " [" + r.state + "]")).join(", ");
    $("h-elu").textContent = Math.round(h.elu * 100) + "%";
    $("h-p99").textContent = fmt(h.loopDelayP99Ms) + " (max " + fmt(h.loopDelayMaxMs) + ")";
    $("h-live").textContent = h.liveTasks;
    $("h-spawned").textContent = h.spawned;
    $("h-blocked").textContent = h.blockedEpisodes + (h.blockedEpisodes ? " (" + fmt(h.blockedMsTotal) + ")" : "");
    $("h-outside").textContent = h.outside ? h.outside.resumes + " resumes, " + fmt(h.outside.busyMs) : "-";
    $("n-tasks").textContent = "(" + S.tasks.size + ")";
    $("n-resources").textContent = "(" + S.resources.size + ")";
    $("n-blocked").textContent = h.blockedEpisodes ? "(" + h.blockedEpisodes + ")" : "";
    $("n-warnings").textContent = S.warnings.length ? "(" + S.warnings.length + ")" : "";
  }

  const filterText = () => $("filter").value.trim().toLowerCase();
  const matches = (f, ...xs) => !f || xs.some((x) => x !== undefined && String(x).toLowerCase().includes(f));
  const cmp = (a, b) => {
    const x = a[sortKey],
      y = b[sortKey];
    if (x === y) return a.id - b.id;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
  };

  function renderTasks() {
    const f = filterText();
    const rows = [...S.tasks.values()]
      .map(live)
      .filter((t) => matches(f, t.id, t.name, t.state, t.waitingOn, t.spawnedAt, t.runtime))
      .sort(cmp);
    const tb = $("tasks").tBodies[0];
    const frag = document.createDocumentFragment();
    for (const t of rows) {
      const tr = el(
        "tr",
        { class: "st-" + t.state + (t.id === selected ? " sel" : ""), "data-task-id": String(t.id) },
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
        el("td", { class: "clip", text: t.spawnedAt, title: t.spawnedAt }),
      );
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
    for (const r of S.resources.values()) {
      const details = r.details
        ? Object.entries(r.details)
            .map(([k, v]) => k + "=" + (typeof v === "object" ? JSON.stringify(v) : v))
            .join(" ")
        : "";
      const ops = (r.ops || []).map((o) => o.op + ":" + o.waiters + (o.headWaitMs !== undefined ? " (first " + fmt(o.headWaitMs) + (o.headTask ? ", task " + o.headTask : "") + ")" : "")).join(", ");
      if (!matches(f, r.id, r.kind, details, ops)) continue;
      frag.append(
        el(
          "tr",
          { "data-resource-id": r.id },
          el("td", { class: "clip", text: r.id }),
          el("td", { text: r.kind }),
          el("td", { class: "num", text: String(r.waiters) }),
          el("td", { class: "clip", text: ops }),
          el("td", { class: "clip", text: details, title: details }),
        ),
      );
    }
    tb.replaceChildren(frag);
  }

  function renderWarnings() {
    const ul = $("warnings");
    ul.replaceChildren(
      ...S.warnings.map((w) => {
        const li = el("li", { class: "lint " + w.severity }, el("b", { text: "[" + w.lint + "] " }), w.message);
        if (w.task !== undefined) {
          li.style.cursor = "pointer";
          li.onclick = () => {
            show("tasks");
            select(w.task);
          };
        }
        return li;
      }),
    );
    $("warnings-empty").hidden = ul.children.length > 0;
  }

  const who = (t) => (t ? "task " + t.id + (t.name ? " '" + t.name + "'" : "") : "");
  const time = (ms) => new Date(ms).toLocaleTimeString();

  // Blocked episodes: grouped by where the loop was blocked, then the latest; a row opens its stack.
  let blockedDrawn = "";
  function renderBlocked() {
    // Redrawn only when something changed: rows replaced under the pointer cannot be clicked.
    const sig = JSON.stringify([S.groups, S.blocked, [...openStacks]]);
    if (sig === blockedDrawn) return;
    blockedDrawn = sig;
    const gb = $("blocked-groups").tBodies[0];
    const gf = document.createDocumentFragment();
    for (const g of S.groups) {
      gf.append(
        el(
          "tr",
          { class: "group", "data-group": g.key },
          el("td", { class: "clip", text: g.frame, title: g.key }),
          el("td", { class: "num", text: String(g.count) }),
          el("td", { class: "num", text: fmt(g.maxMs) }),
          el("td", { class: "num", text: fmt(g.totalMs) }),
          el("td", { text: time(g.firstAtMs) }),
          el("td", { text: time(g.lastAtMs) }),
          el("td", { class: "clip", text: g.tasks.map(who).join(", ") }),
        ),
      );
      if (openStacks.has("g:" + g.key) && g.stack) gf.append(el("tr", { class: "stack-row" }, el("td", { colSpan: 7, text: g.stack.join("\n") })));
    }
    gb.replaceChildren(gf);
    const eb = $("blocked").tBodies[0];
    const ef = document.createDocumentFragment();
    for (const b of S.blocked.slice().reverse()) {
      ef.append(
        el(
          "tr",
          { class: "episode", "data-episode": b.id },
          el("td", { text: b.id }),
          el("td", { text: time(b.startMs) }),
          el("td", { class: "num", text: fmt(b.durationMs) }),
          el("td", { text: b.source }),
          el("td", { class: "clip", text: who(b.task) }),
          el("td", { class: "clip", text: b.frame || "", title: b.frame || "" }),
        ),
      );
      if (openStacks.has("e:" + b.id) && b.stack) ef.append(el("tr", { class: "stack-row" }, el("td", { colSpan: 6, text: b.stack.join("\n") })));
    }
    eb.replaceChildren(ef);
    $("blocked-empty").hidden = S.blocked.length > 0;
  }

  function histogram(counts) {
    const box = el("div", { class: "hist" }),
      lab = el("div", { class: "hlab" });
    const n = Math.max(counts.length, 1),
      max = Math.max(1, ...counts);
    for (let i = 0; i < n; i++) {
      const c = counts[i] || 0;
      const bar = el("div", { class: c ? "" : "empty", title: bucketLabel(i, 27) + ": " + c });
      bar.style.height = (c ? Math.max(2, Math.round((c / max) * 100)) : 0) + "%";
      box.append(bar);
      lab.append(el("span", { text: i % 2 === 0 || n < 10 ? bucketLabel(i, 27) : "" }));
    }
    return el("div", null, box, lab);
  }

  // Histograms are not streamed: the detail fetched from /api/tasks/:id has them.
  const hist = (t, k) => (detailExtra && detailExtra.task.id === t.id ? detailExtra.task[k] : t[k]) || [];

  function renderDetail() {
    const box = $("detail");
    const raw = selected === null ? undefined : S.tasks.get(selected);
    if (raw === undefined) {
      box.hidden = true;
      return;
    }
    const t = live(raw);
    box.hidden = false;
    const dl = el("dl");
    const row = (k, v) => {
      if (v !== undefined && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: String(v) }));
    };
    row("state", t.state + (t.outcome ? " (" + t.outcome + ")" : "") + " for " + fmt(t.stateMs));
    row("runtime", t.runtime);
    row("parent", t.parent !== undefined ? "task " + t.parent : undefined);
    row("waiting on", t.waitingOn || (t.state === "idle" ? "nothing steward sees" : undefined));
    row("await site", t.awaitSite);
    row("held by", t.heldBy ? t.heldBy.map((id) => "task " + id).join(", ") : undefined);
    row("total", fmt(t.totalMs));
    row("busy", fmt(t.busyMs) + " (" + (t.totalMs ? Math.round((t.busyMs / t.totalMs) * 100) : 0) + "%)");
    row("scheduled", fmt(t.scheduledMs) + ", max delay " + fmt(t.maxScheduledMs));
    row("idle", fmt(t.idleMs));
    row("resumes", t.resumes + " (last " + fmt(t.lastResumeMs) + ", p50 " + fmt(t.p50ResumeMs) + ", p99 " + fmt(t.p99ResumeMs) + ", max " + fmt(t.maxResumeMs) + ")");
    row("spawned", new Date(t.spawnedAtMs).toLocaleTimeString() + " at " + t.spawnedAt);
    if (t.endedAtMs) row("ended", new Date(t.endedAtMs).toLocaleTimeString());
    const lints = S.warnings.filter((w) => w.task === t.id);
    const closeBtn = el("button", { class: "close", text: "close ✕", onclick: () => select(null) });
    box.replaceChildren(
      closeBtn,
      el("h2", { id: "detail-title", text: "Task " + t.id + (t.name ? " '" + t.name + "'" : "") }),
      dl,
      ...lints.map((w) => el("p", { class: "lint " + w.severity, text: "[" + w.lint + "] " + w.message })),
      el("h3", { text: "Resume times (" + t.resumes + ")" }),
      histogram(hist(t, "resumeHistogram")),
      el("h3", { text: "Scheduling delays" }),
      histogram(hist(t, "scheduledHistogram")),
      el("h3", { text: "Spawn stack" }),
      el("pre", { id: "detail-stack", text: detailExtra && detailExtra.task.id === t.id ? detailExtra.spawnStack.join("\n") : t.spawnedAt }),
    );
  }

  async function select(id) {
    selected = id;
    detailExtra = null;
    history.replaceState(null, "", id === null ? location.pathname + location.search : "#task-" + id);
    render();
    if (id === null) return;
    try {
      const r = await fetch(q("api/tasks/" + id), { cache: "no-store" });
      if (r.ok) {
        detailExtra = await r.json();
        if (selected === id) renderDetail();
      }
    } catch {
      /* the table still shows it */
    }
  }

  function show(v) {
    view = v;
    for (const name of ["tasks", "resources", "warnings", "blocked"]) {
      $("view-" + name).hidden = name !== v;
      $("tab-" + name).classList.toggle("on", name === v);
    }
    render();
  }

  let pending = false;
  function render() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      header();
      if (view === "tasks") renderTasks();
      else if (view === "resources") renderResources();
      else if (view === "blocked") renderBlocked();
      else renderWarnings();
      renderDetail();
    });
  }

  // The table is redrawn live. When its rows are replaced between press and release, the browser
  // sends no click (the pressed element left the document), so a row opens on release over the
  // same task's row (task ids survive redraws), whether or not the element is the same.
  let pressedTask = null;
  const rowTask = (ev) => {
    const tr = ev.target.closest("tr");
    return tr && tr.dataset.taskId !== undefined ? Number(tr.dataset.taskId) : null;
  };
  $("tasks").tBodies[0].addEventListener("pointerdown", (ev) => {
    pressedTask = ev.button === 0 ? rowTask(ev) : null;
  });
  $("tasks").tBodies[0].addEventListener("pointerup", (ev) => {
    const id = rowTask(ev);
    if (ev.button === 0 && id !== null && id === pressedTask) select(id);
    pressedTask = null;
  });
  $("tasks").tHead.addEventListener("click", (ev) => {
    const th = ev.target.closest("th");
    if (!th) return;
    if (sortKey === th.dataset.key) sortDir = -sortDir;
    else {
      sortKey = th.dataset.key;
      sortDir = th.classList.contains("num") && sortKey !== "id" ? -1 : 1;
    }
    render();
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  $("filter").addEventListener("input", render);
  $("auth-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("auth-token").value;
    sessionStorage.setItem("steward-console-token", token);
    connect();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") select(null);
  });
  for (const id of ["blocked-groups", "blocked"])
    $(id).tBodies[0].addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (!tr || tr.classList.contains("stack-row")) return;
      const k = tr.dataset.group !== undefined ? "g:" + tr.dataset.group : "e:" + tr.dataset.episode;
      if (openStacks.has(k)) openStacks.delete(k);
      else openStacks.add(k);
      render();
    });
  setInterval(render, 1000);
  // While a task's detail is open, refresh what only /api/tasks/:id has (its histograms).
  setInterval(async () => {
    const id = selected;
    if (id === null) return;
    try {
      const r = await fetch(q("api/tasks/" + id), { cache: "no-store" });
      if (r.ok && selected === id) {
        detailExtra = await r.json();
        renderDetail();
      }
    } catch {
      /* keep the last */
    }
  }, 2000);
  // The flight recorder's timeline, when the program runs one.
  fetch(q("api/routes"), { cache: "no-store" })
    .then(
      (r) => (r.ok ? r.json() : []),
      () => [],
    )
    .then((routes) => {
      if (routes.includes("/api/recorder")) {
        const a = $("timeline-link");
        a.href = q("timeline.html");
        a.hidden = false;
      }
    });
  const m = /^#task-(\d+)$/.exec(location.hash);
  if (m) select(Number(m[1]));
  connect();
})();
