/** Plain-text tables of a snapshot: `steward console --once`, the terminal UI and SIGUSR2 dumps. */
import { fmtMs } from "../model/histogram.js";
import type { BlockedGroup, ConsoleSnapshot, ResourceSnapshot, TaskSnapshot } from "../model/types.js";

/** A column of a text table. */
export interface Column<T> {
  title: string;
  get(row: T): string;
  right?: boolean;
  /** Columns that may be cut to fit a width, longest first. */
  flex?: boolean;
}

function cut(s: string, w: number): string {
  if (s.length <= w) return s;
  if (w <= 1) return s.slice(0, w);
  return "…" + s.slice(s.length - w + 1); // the end of a path or a label says most
}

/** Lays out rows as aligned columns; with `width`, flexible columns are cut to fit. */
export function table<T>(rows: readonly T[], cols: readonly Column<T>[], width?: number): string[] {
  const cells = rows.map((r) => cols.map((c) => c.get(r).replace(/[\r\n\t]/g, " ")));
  const widths = cols.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i]!.length)));
  if (width !== undefined) {
    const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (cols.length - 1);
    let over = total() - width;
    while (over > 0) {
      let best = -1;
      for (let i = 0; i < cols.length; i++) if (cols[i]!.flex === true && widths[i]! > 12 && (best < 0 || widths[i]! > widths[best]!)) best = i;
      if (best < 0) break;
      const take = Math.min(over, widths[best]! - 12);
      widths[best] = widths[best]! - take;
      over -= take;
    }
  }
  const line = (vals: string[]): string =>
    vals
      .map((v, i) => {
        const w = widths[i]!;
        const s = cut(v, w);
        return cols[i]!.right === true ? s.padStart(w) : i === vals.length - 1 ? s : s.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return [line(cols.map((c) => c.title)), ...cells.map(line)];
}

const state = (t: TaskSnapshot): string => (t.outcome !== undefined && t.outcome !== "ok" ? `${t.state}(${t.outcome})` : t.state);

/** The task table's columns (the terminal UI sorts by them). */
export const TASK_COLUMNS: readonly (Column<TaskSnapshot> & { key: keyof TaskSnapshot })[] = [
  { key: "id", title: "ID", get: (t) => String(t.id), right: true },
  { key: "name", title: "NAME", get: (t) => t.name ?? "", flex: true },
  { key: "state", title: "STATE", get: state },
  { key: "totalMs", title: "TOTAL", get: (t) => fmtMs(t.totalMs), right: true },
  { key: "busyMs", title: "BUSY", get: (t) => fmtMs(t.busyMs), right: true },
  { key: "scheduledMs", title: "SCHED", get: (t) => fmtMs(t.scheduledMs), right: true },
  { key: "idleMs", title: "IDLE", get: (t) => fmtMs(t.idleMs), right: true },
  { key: "resumes", title: "RESUMES", get: (t) => String(t.resumes), right: true },
  { key: "maxResumeMs", title: "MAX RESUME", get: (t) => fmtMs(t.maxResumeMs), right: true },
  { key: "waitingOn", title: "WAITING ON", get: (t) => t.waitingOn ?? (t.state === "idle" ? "?" : ""), flex: true },
  { key: "spawnedAt", title: "SPAWNED AT", get: (t) => t.spawnedAt, flex: true },
];

export function resourceDetails(r: ResourceSnapshot): string {
  const d =
    r.details === undefined
      ? ""
      : Object.entries(r.details)
          .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
          .join(" ");
  return d;
}

export const RESOURCE_COLUMNS: readonly Column<ResourceSnapshot>[] = [
  { title: "RESOURCE", get: (r) => r.id, flex: true },
  { title: "KIND", get: (r) => r.kind },
  { title: "WAITERS", get: (r) => String(r.waiters), right: true },
  {
    title: "QUEUES",
    get: (r) => (r.ops ?? []).map((o) => `${o.op}:${o.waiters}${o.headWaitMs !== undefined ? ` (first ${fmtMs(o.headWaitMs)})` : ""}`).join(", "),
    flex: true,
  },
  { title: "DETAILS", get: resourceDetails, flex: true },
];

const time = (ms: number): string => new Date(ms).toISOString().slice(11, 23);
const who = (t: { id: number; name?: string }): string => (t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`);

/** The blocked view's columns: one row per place the loop was blocked. */
export const BLOCKED_COLUMNS: readonly Column<BlockedGroup>[] = [
  { title: "WHERE", get: (g) => g.frame, flex: true },
  { title: "TIMES", get: (g) => String(g.count), right: true },
  { title: "MAX", get: (g) => fmtMs(g.maxMs), right: true },
  { title: "TOTAL", get: (g) => fmtMs(g.totalMs), right: true },
  { title: "FIRST", get: (g) => time(g.firstAtMs) },
  { title: "LAST", get: (g) => time(g.lastAtMs) },
  { title: "TASKS", get: (g) => g.tasks.map(who).join(", "), flex: true },
];

/** A blocked-episode group's stack, for the terminal UI's detail. */
export function blockedStackLines(s: ConsoleSnapshot, key: string): string[] {
  const g = s.blockedGroups.find((x) => x.key === key);
  if (g === undefined) return ["", "this group is no longer shown"];
  const out = ["", `Blocked ${g.count} time${g.count === 1 ? "" : "s"} at ${g.frame} (max ${fmtMs(g.maxMs)}, total ${fmtMs(g.totalMs)}), first ${time(g.firstAtMs)}, last ${time(g.lastAtMs)}`];
  if (g.tasks.length > 0) out.push(`  in ${g.tasks.map(who).join(", ")}`);
  out.push("", ...(g.stack ?? ["(no stack: reported by a task's resume or the loop monitor)"]).map((f) => `  at ${f}`));
  return out;
}

/** The header as one or two lines. */
export function headerLines(s: ConsoleSnapshot): string[] {
  const h = s.header;
  const rts = h.runtimes.map((r) => (r.state === "running" ? r.name : `${r.name} [${r.state}]`)).join(", ");
  const done = h.completed.ok + h.completed.panic + h.completed.cancelled;
  return [
    `steward console — pid ${h.pid} (${h.node}), runtime${h.runtimes.length === 1 ? "" : "s"} ${rts}, ${new Date(s.now).toISOString()}`,
    `ELU ${Math.round(h.elu * 100)}%  loop delay p99 ${fmtMs(h.loopDelayP99Ms)} (max ${fmtMs(h.loopDelayMaxMs)})  tasks ${h.liveTasks} live, ${h.spawned} spawned, ${done} ended ` +
      `(${h.completed.panic} panicked, ${h.completed.cancelled} cancelled)  blocked ${h.blockedEpisodes}${h.blockedEpisodes > 0 ? ` (${fmtMs(h.blockedMsTotal)})` : ""}` +
      (h.outside !== undefined && h.outside.resumes > 0 ? `  outside tasks ${h.outside.resumes} resumes (${fmtMs(h.outside.busyMs)})` : ""),
  ];
}

/** The whole snapshot as text: header, tasks, resources, warnings. */
export function formatSnapshot(s: ConsoleSnapshot, opts: { width?: number } = {}): string {
  const out = [...headerLines(s), ""];
  out.push(`TASKS (${s.tasks.length}${s.header.truncatedTasks > 0 ? `, ${s.header.truncatedTasks} not shown` : ""})`);
  out.push(...table(s.tasks, TASK_COLUMNS, opts.width).map((l) => `  ${l}`));
  out.push("", `RESOURCES (${s.resources.length})`);
  if (s.resources.length > 0) out.push(...table(s.resources, RESOURCE_COLUMNS, opts.width).map((l) => `  ${l}`));
  out.push("", `WARNINGS (${s.warnings.length})`);
  for (const w of s.warnings) out.push(`  [${w.severity}] ${w.lint}: ${w.message}`);
  if (s.blocked.length > 0) {
    out.push("", `BLOCKED (${s.header.blockedEpisodes} episodes, ${fmtMs(s.header.blockedMsTotal)}; grouped by where)`);
    out.push(...table(s.blockedGroups, BLOCKED_COLUMNS, opts.width).map((l) => `  ${l}`));
    const last = s.blocked.at(-1)!;
    out.push("", `  latest: ${last.id} ${new Date(last.startMs).toISOString()} ${fmtMs(last.durationMs)} (${last.source})${last.task === undefined ? "" : ` in ${who(last.task)}`}`);
    for (const f of (last.stack ?? []).slice(0, 10)) out.push(`    at ${f}`);
  }
  return out.join("\n") + "\n";
}

/** What SIGUSR2 adds to a runtime dump when its console is on: the lints and the loop. */
export function formatConsoleSummary(s: ConsoleSnapshot): string {
  const lines = headerLines(s).map((l) => `  ${l}`);
  for (const r of s.resources)
    if (r.source === "wait-queue" && (r.waiters > 0 || r.details !== undefined)) {
      lines.push(`  resource ${r.id} (${r.kind}): ${r.waiters} waiting${r.details === undefined ? "" : `, ${resourceDetails(r)}`}`);
    }
  for (const t of s.tasks)
    if (t.state !== "done") {
      lines.push(
        `  task ${t.id}${t.name === undefined ? "" : ` '${t.name}'`}: ${t.state}, busy ${fmtMs(t.busyMs)}, idle ${fmtMs(t.idleMs)}, scheduled ${fmtMs(t.scheduledMs)}, ${t.resumes} resumes (max ${fmtMs(t.maxResumeMs)})`,
      );
    }
  for (const w of s.warnings) lines.push(`  [${w.severity}] ${w.lint}: ${w.message}`);
  return lines.join("\n") + "\n";
}
