/** Human-readable lines for dumps and reports (what runMain writes to stderr). Internal. */
import type { RuntimeDump, ShutdownReport, TaskInfo } from "./runtime.js";

/** "task 3 'worker' waiting on sleep 5000 ms, age 1200 ms, spawned at /app/main.ts:10:3" */
export function formatTask(t: TaskInfo): string {
  const who = t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`;
  const what = t.waitingOn === undefined ? t.state : `waiting on ${t.waitingOn}`;
  return `${who} ${what}, age ${t.ageMs} ms, spawned at ${t.spawnedAt}`;
}

/** A dump as indented lines, under a heading; `extra` are the optional parts' lines (Runtime#formatExtensions). */
export function formatDump(dump: RuntimeDump, heading: string, extra: readonly string[] = []): string {
  const lines = [`${heading}: ${dump.tasks.length} task(s), ${dump.resources.length} resource(s)`];
  for (const t of dump.tasks) lines.push(`  ${formatTask(t)}`);
  for (const r of dump.resources) {
    const { name, kind, ...rest } = r;
    const extra = Object.keys(rest).length === 0 ? "" : ` ${safeJson(rest)}`;
    lines.push(`  resource '${name}' (${kind})${extra}`);
  }
  lines.push(...extra);
  return lines.join("\n") + "\n";
}

/** What was not clean about a report: stuck tasks and failed disposers. */
export function formatUnclean(report: ShutdownReport, heading: string): string {
  const lines = [`${heading}: shutdown was not clean (${report.durationMs} ms)`];
  for (const t of report.tasks.stuck) lines.push(`  stuck: ${formatTask(t)}`);
  for (const e of report.disposeErrors) lines.push(`  failed: ${e.name}: ${describe(e.error)}`);
  return lines.join("\n") + "\n";
}

export function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  try {
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
