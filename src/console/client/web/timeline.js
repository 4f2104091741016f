/*
 * The flight recorder's timeline: tasks as rows, time across; what each did as spans (running its
 * first run, active, waiting on something, joining another task); the loop's utilization; blocked
 * episodes as bands across every row (a click shows the stack); resources alongside (holds,
 * depths, sheds). Scrubbing (the slider, a click on the chart, ←/→) shows what every task was
 * doing, and waiting on, at that moment. Data: GET api/recording (a decoded dump, see
 * src/recorder/reader.ts). Every value is written with textContent, never as HTML.
 */
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const token = params.get("token") || sessionStorage.getItem("steward-console-token") || "";
  const { el, withToken } = window.stewardDom; // dom.js
  const q = (path) => withToken(path, token);
  const fmt = (ms) => {
    if (ms === undefined || ms === null || Number.isNaN(ms)) return "-";
    if (ms < 1) return Math.round(ms * 1000) + "µs";
    if (ms < 10) return ms.toFixed(2) + "ms";
    if (ms < 1000) return ms.toFixed(1) + "ms";
    return (ms / 1000).toFixed(2) + "s";
  };
  const MAX_ROWS = 400;
  let R = null,
    at = 0,
    selectedEpisode = null,
    selectedTask = null;

  const span = () => R.endMs - R.startMs || 1;
  const pct = (t) => ((t - R.startMs) / span()) * 100;
  const rel = (t) => "+" + fmt(t - R.startMs);
  const who = (id) => {
    const t = R.tasks.find((x) => x.id === id);
    return t ? "task " + id + (t.name ? " '" + t.name + "'" : "") : "task " + id;
  };
  const place = (e, start, end) => {
    e.style.left = pct(start) + "%";
    e.style.width = Math.max(0, pct(end) - pct(start)) + "%";
    return e;
  };

  function header() {
    const h = R.header;
    $("trigger").textContent = h.trigger.kind + (h.trigger.detail ? " — " + h.trigger.detail : "");
    $("range").textContent = new Date(R.startMs).toLocaleTimeString() + " → " + new Date(R.endMs).toLocaleTimeString() + " (" + fmt(R.endMs - R.startMs) + ")";
    $("proc").textContent = "pid " + h.pid + " (" + h.node + ")";
    $("events").textContent = R.events + (h.ring.overwritten ? " (the " + h.ring.overwritten + " before were overwritten)" : "");
    $("conn").className = "live";
    $("conn").textContent = "loaded";
  }

  function axis() {
    const lane = $("axis-lane");
    const frag = document.createDocumentFragment();
    const n = 8;
    for (let i = 0; i <= n; i++) {
      const t = R.startMs + (span() * i) / n;
      const tick = el("div", { class: "tick", text: rel(t) });
      tick.style.left = (i * 100) / n + "%";
      frag.append(tick);
    }
    lane.replaceChildren(frag);
    const loop = $("loop-lane");
    const lf = document.createDocumentFragment();
    let prev = R.startMs;
    for (const s of R.loop) {
      const b = place(el("div", { class: "elu", title: "utilization " + Math.round(s.elu * 100) + "%, delay p99 " + fmt(s.p99Ms) + ", max " + fmt(s.maxMs) }), prev, s.atMs);
      b.style.height = Math.max(1, Math.round(s.elu * 16)) + "px";
      lf.append(b);
      prev = s.atMs;
    }
    loop.replaceChildren(lf);
  }

  const matches = (t, f) => !f || String(t.id) === f || (t.name || "").toLowerCase().includes(f) || t.spans.some((s) => (s.what || "").toLowerCase().includes(f));

  function rows() {
    const f = $("filter").value.trim().toLowerCase();
    const all = R.tasks.filter((t) => matches(t, f));
    // Tasks a blocked episode names first, then by when they appear.
    const named = new Set(R.episodes.map((e) => e.task && e.task.id).filter((x) => x !== undefined));
    const first = (t) => (t.spans.length ? t.spans[0].start : R.endMs);
    all.sort((a, b) => named.has(b.id) - named.has(a.id) || first(a) - first(b) || a.id - b.id);
    const shown = all.slice(0, MAX_ROWS);
    const frag = document.createDocumentFragment();
    for (const t of shown) {
      const lane = el("div", { class: "lane" });
      for (const s of t.spans) {
        const title = s.kind + (s.what ? ": " + s.what : "") + " — " + rel(s.start) + " for " + fmt(s.end - s.start);
        lane.append(place(el("div", { class: "span k-" + s.kind, title }), s.start, s.end));
      }
      const label = (t.name ? t.name + " " : "") + "#" + t.id + (t.outcome && t.outcome !== "ok" ? " (" + t.outcome + ")" : "");
      frag.append(el("div", { class: "row" + (t.id === selectedTask ? " sel" : ""), "data-task-id": String(t.id) }, el("div", { class: "label", text: label, title: t.site || "" }), lane));
    }
    $("rows").replaceChildren(frag);
    $("more").hidden = all.length <= MAX_ROWS;
    $("more").textContent = all.length - MAX_ROWS + " more tasks: filter to see them";
    const rf = document.createDocumentFragment();
    const byLabel = new Map();
    for (const r of R.resources) {
      // a channel's queues are one resource, as in the console
      const key = /#\d+$/.test(r.label) ? r.label : r.id;
      const g = byLabel.get(key);
      if (g) {
        g.holds.push(...r.holds);
        g.depth.push(...r.depth);
        g.sheds.push(...r.sheds);
      } else byLabel.set(key, { label: r.label, kind: r.kind, holds: [...r.holds], depth: [...r.depth], sheds: [...r.sheds] });
    }
    for (const r of byLabel.values()) {
      const lane = el("div", { class: "lane" });
      for (const h of r.holds)
        lane.append(place(el("div", { class: "hold", title: "held by " + who(h.task) + (h.permits > 1 ? " (" + h.permits + " permits)" : "") + " for " + fmt(h.end - h.start) }), h.start, h.end));
      for (const d of r.depth) {
        const b = el("div", { class: "depth", title: d.length + (d.capacity !== undefined ? "/" + d.capacity : "") + " messages at " + rel(d.atMs) });
        b.style.left = pct(d.atMs) + "%";
        b.style.height = Math.max(1, Math.round((d.capacity ? d.length / d.capacity : Math.min(1, d.length / 100)) * 16)) + "px";
        lane.append(b);
      }
      for (const s of r.sheds) {
        const b = el("div", { class: "shed", title: "shed (" + s.reason + ") at " + rel(s.atMs) });
        b.style.left = pct(s.atMs) + "%";
        lane.append(b);
      }
      rf.append(el("div", { class: "row res", "data-resource": r.label }, el("div", { class: "label", text: r.label, title: r.kind }), lane));
    }
    $("res-rows").replaceChildren(rf);
  }

  function overlay() {
    const ef = document.createDocumentFragment();
    for (const e of R.episodes) {
      const band = place(
        el("div", {
          class: "episode" + (e.n === selectedEpisode ? " sel" : ""),
          "data-episode": String(e.n),
          title: "event loop blocked " + fmt(e.durationMs) + (e.task ? " in " + who(e.task.id) : "") + (e.stack ? " at " + e.stack[0] : ""),
        }),
        e.startMs,
        e.startMs + e.durationMs,
      );
      band.addEventListener("click", (ev) => {
        ev.stopPropagation();
        showEpisode(e.n, true);
      });
      ef.append(band);
    }
    $("episodes-layer").replaceChildren(ef);
    const mf = document.createDocumentFragment();
    for (const m of R.marks) {
      const l = el("div", { class: "mark", title: m.text + " at " + rel(m.atMs) });
      l.style.left = pct(m.atMs) + "%";
      mf.append(l);
    }
    $("marks-layer").replaceChildren(mf);
  }

  function showEpisode(n, move) {
    const e = R.episodes.find((x) => x.n === n);
    if (!e) return;
    selectedEpisode = n;
    for (const b of document.querySelectorAll(".episode")) b.classList.toggle("sel", Number(b.dataset.episode) === n);
    $("episode-detail").hidden = false;
    $("episode-title").textContent = "Event loop blocked " + fmt(e.durationMs) + " at " + rel(e.startMs) + (e.task ? " in " + who(e.task.id) : "") + " (" + e.source + ", " + e.id + ")";
    $("episode-stack").textContent = e.stack ? e.stack.map((f) => "at " + f).join("\n") : "(no stack: seen by the loop monitor only; run with the supervisor for stacks)";
    if (move) setCursor(e.startMs + e.durationMs / 2);
  }

  // What every task was doing at `t`: the span that covers it.
  function stateAt(t) {
    const out = [];
    for (const task of R.tasks) {
      for (const s of task.spans) {
        if (s.start <= t && (t < s.end || (s.end === R.endMs && t <= s.end))) {
          out.push({ task, s });
          break;
        }
      }
    }
    return out;
  }

  function side() {
    $("at-time").textContent = rel(at) + " (" + new Date(at).toLocaleTimeString() + ")";
    $("cursor-time").textContent = rel(at);
    const f = $("filter").value.trim().toLowerCase();
    const tb = document.createDocumentFragment();
    for (const { task, s } of stateAt(at)) {
      if (!matches(task, f)) continue;
      tb.append(
        el(
          "tr",
          { class: "k-row-" + s.kind + (task.id === selectedTask ? " sel" : ""), "data-task-id": String(task.id) },
          el("td", { class: "clip", text: (task.name ? task.name + " " : "") + "#" + task.id }),
          el("td", { class: "st", text: s.kind }),
          el("td", { class: "clip", text: s.what || (s.kind === "active" ? "(running, or awaiting something steward does not see)" : "") }),
          el("td", { class: "num", text: fmt(at - s.start) }),
        ),
      );
    }
    $("state").tBodies[0].replaceChildren(tb);
    const rb = document.createDocumentFragment();
    for (const r of R.resources) {
      const holds = r.holds.filter((h) => h.start <= at && at < h.end);
      const d = r.depth.filter((x) => x.atMs <= at).pop();
      if (!holds.length && !d) continue;
      rb.append(
        el(
          "tr",
          null,
          el("td", { class: "clip", text: r.label }),
          el("td", { class: "clip", text: holds.map((h) => who(h.task)).join(", ") }),
          el("td", { text: d ? d.length + (d.capacity !== undefined ? "/" + d.capacity : "") : "" }),
        ),
      );
    }
    $("res-state").tBodies[0].replaceChildren(rb);
    $("cursor").style.left = pct(at) + "%";
    const inside = R.episodes.find((e) => e.startMs <= at && at <= e.startMs + e.durationMs);
    if (inside && inside.n !== selectedEpisode) showEpisode(inside.n, false);
  }

  function setCursor(t) {
    at = Math.min(R.endMs, Math.max(R.startMs, t));
    $("scrub").value = String(Math.round(((at - R.startMs) / span()) * 10000));
    side();
  }

  function render() {
    rows();
    overlay();
    side();
  }

  $("scrub").addEventListener("input", () => setCursor(R.startMs + (Number($("scrub").value) / 10000) * span()));
  $("filter").addEventListener("input", () => {
    rows();
    side();
  });
  $("chart").addEventListener("click", (ev) => {
    const lane = $("axis-lane").getBoundingClientRect();
    if (ev.clientX >= lane.left) setCursor(R.startMs + ((ev.clientX - lane.left) / lane.width) * span());
    const row = ev.target.closest(".row[data-task-id]");
    if (row && ev.clientX < lane.left) {
      selectedTask = Number(row.dataset.taskId);
      rows();
      side();
    }
  });
  const step = (dir) => {
    const sorted = R.episodes.slice().sort((a, b) => a.startMs - b.startMs);
    const next = dir > 0 ? sorted.find((e) => e.startMs > at + 1) : sorted.reverse().find((e) => e.startMs + e.durationMs < at - 1);
    if (next) showEpisode(next.n, true);
  };
  $("prev-ep").addEventListener("click", () => step(-1));
  $("next-ep").addEventListener("click", () => step(1));
  document.addEventListener("keydown", (ev) => {
    if (ev.target === $("filter") || !R) return;
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      ev.preventDefault();
      setCursor(at + ((ev.key === "ArrowRight" ? 1 : -1) * span()) / (ev.shiftKey ? 20 : 200));
    }
  });

  fetch(q("api/recording"), { cache: "no-store" })
    .then(async (r) => {
      if (!r.ok) throw new Error("HTTP " + r.status);
      R = await r.json();
      header();
      axis();
      at = R.header.trigger.atMs <= R.endMs && R.header.trigger.atMs >= R.startMs ? R.header.trigger.atMs : R.endMs;
      render();
      const first = R.episodes[R.episodes.length - 1];
      if (first) showEpisode(first.n, false);
      setCursor(at);
      document.body.dataset.loaded = "1";
    })
    .catch((e) => {
      $("conn").className = "down";
      $("conn").textContent = "could not load the recording: " + e.message;
    });
})();
