/** Human-readable lines for dumps and reports (what runMain writes to stderr). Internal. */
import { groupTasks, type RuntimeDump, type ShutdownReport, type TaskGroup, type TaskInfo } from "./runtime.js";

/** "task 3 'worker' waiting on sleep 5000 ms, age 1200 ms, spawned at /app/main.ts:10:3" */
export function formatTask(t: TaskInfo): string {
  const who = t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`;
  const what = t.waitingOn === undefined ? t.state : `waiting on ${t.waitingOn}`;
  return `${who} ${what}${waitDetail(t)}, age ${t.ageMs} ms, spawned at ${t.spawnedAt}`;
}

/**
 * What the diagnostics add to a waiting task (src/diagnostics/task-info.ts), or "":
 * " at /app/db.ts:12:5 for 1200 ms, held by task 3 'tx', holding Mutex \"a\"".
 */
export function waitDetail(t: TaskInfo): string {
  let out = "";
  if (t.awaitSite !== undefined) out += ` at ${t.awaitSite}`;
  if (t.waitingMs !== undefined && t.waitingOn !== undefined) out += ` for ${t.waitingMs} ms`;
  if (t.heldBy !== undefined && t.heldBy.length > 0) out += `, held by ${t.heldBy.map((h) => (h.name === undefined ? `task ${h.id}` : `task ${h.id} '${h.name}'`)).join(", ")}`;
  if (t.holds !== undefined && t.holds.length > 0) out += `, holding ${t.holds.map((h) => (h.acquiredAt === undefined ? h.lock : `${h.lock} (acquired at ${h.acquiredAt})`)).join(", ")}`;
  return out;
}

/** "×200 tasks (e.g. 4 'GET /work #4') waiting on sleep 400 ms, spawned at /app/service.ts:60:7"; one task: "task 4 'x' ...". */
export function formatGroup(g: TaskGroup): string {
  const id = g.name === undefined ? `${g.ids[0]}` : `${g.ids[0]} '${g.name}'`;
  const who = g.count === 1 ? `task ${id}` : `×${g.count} tasks (e.g. ${id})`;
  const what = g.waitingOn === undefined ? "running (not on a steward wait)" : `waiting on ${g.waitingOn}`;
  return `${who} ${what}, spawned at ${g.spawnedAt}`;
}

/** Live tasks grouped by spawn site, one line each (a second signal's summary). */
export function formatTaskGroups(tasks: readonly TaskInfo[], indent = "  "): string[] {
  return groupTasks(tasks).map((g) => `${indent}${formatGroup(g)}`);
}

/** A dump as indented lines, under a heading; `extra` are the optional parts' lines (Runtime#formatExtensions). */
export function formatDump(dump: RuntimeDump, heading: string, extra: readonly string[] = []): string {
  const lines = [`${heading}: ${dump.tasks.length} task(s), ${dump.resources.length} resource(s)`];
  for (const t of dump.tasks) lines.push(`  ${formatTask(t)}`);
  for (const r of dump.resources) {
    const { name, kind, ...rest } = r;
    const more = Object.keys(rest).length === 0 ? "" : ` ${safeJson(rest)}`;
    lines.push(`  resource '${name}' (${kind})${more}`);
  }
  lines.push(...extra);
  return lines.join("\n") + "\n";
}

/** "in 12.3 ms (announce 0, drain 5.1 ended by idle, collect 0.4, drop 6.8)" */
function timing(r: ShutdownReport): string {
  const p = r.phases;
  return `in ${r.durationMs} ms (announce ${p.announceMs}, drain ${p.drainMs} ended by ${r.drain.endedBy}, collect ${p.collectMs}, drop ${p.dropMs})`;
}

/**
 * What a report says beyond "clean": which tasks held the drain to its deadline, what was lost,
 * what was stuck (grouped by spawn site: 200 requests are one line), which callbacks failed.
 */
export function formatReport(report: ShutdownReport, heading: string): string {
  const lines = [`${heading}: shutdown ${report.clean ? "clean" : "was not clean"} ${timing(report)}`];
  for (const g of report.drain.heldBy) lines.push(`  held the drain to its deadline: ${formatGroup(g)}`);
  for (const l of report.lost) lines.push(`  lost: ${l.what}`);
  for (const g of groupTasks(report.tasks.stuck)) {
    // The first task of the group stands for it: where it awaits and who holds what it waits for.
    const first = report.tasks.stuck.find((t) => t.id === g.ids[0]);
    lines.push(`  stuck: ${formatGroup(g)}${first === undefined ? "" : waitDetail(first)}`);
  }
  for (const e of report.disposeErrors) lines.push(`  failed: ${e.name}: ${describe(e.error)}`);
  return lines.join("\n") + "\n";
}

/** An error's stack (or its String), never throwing. */
export function describe(e: unknown): string {
  try {
    if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
    return String(e);
  } catch {
    return "<unprintable>";
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return "";
  }
}
