/** The console's lints, after tokio-console's: each finding is also listed on its task (`lints`). */
import { lockOrderViolations } from "../../diagnostics/lock-order.js";
import type { ResolvedConsoleOptions } from "../options.js";
import { LOCK_KINDS } from "./resources.js";
import type { TaskStats } from "./task-stats.js";
import type { ConsoleWarning, LintKind, ResourceSnapshot, TaskSnapshot } from "./types.js";

function who(t: { id: number; name?: string | undefined }): string {
  return t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
}

/**
 * A task's lints. Slow resumes during start-up (`lints.startupMs` after the console started:
 * module loading and a service's setup run synchronously, legitimately) do not count as slow;
 * a never-yielded resume counts whenever it happened.
 */
export function taskLints(t: TaskSnapshot, s: TaskStats, o: ResolvedConsoleOptions, out: SnapshotWarnings): void {
  const L = o.lints;
  let kinds: LintKind[] | undefined;
  const neverYielded = Math.max(t.maxResumeMs, s.supervisorBlockedMs);
  const slow = s.maxLintedResume;
  if (neverYielded >= L.neverYieldedMs) {
    (kinds ??= []).push("never-yielded");
    if (out.wants("error")) {
      const message = `${who(t)} ran ${fmt(neverYielded)} without yielding (spawned at ${t.spawnedAt}): the event loop was blocked; move the work to blockingPool() or add await yieldNow()`;
      out.push({ lint: "never-yielded", severity: "error", message, task: t.id });
    }
  } else if (slow >= L.slowResumeMs) {
    (kinds ??= []).push("slow-resume");
    if (out.wants("warn")) {
      const message = `${who(t)} has a slow resume: ${fmt(slow)} (p99 ${fmt(t.p99ResumeMs)} over ${t.resumes} resumes), spawned at ${t.spawnedAt}`;
      out.push({ lint: "slow-resume", severity: "warn", message, task: t.id });
    }
  }
  if (t.state === "scheduled" ? t.stateMs >= L.scheduleDelayMs : t.maxScheduledMs >= L.scheduleDelayMs) {
    (kinds ??= []).push("schedule-delay");
    if (out.wants("warn")) {
      const d = t.state === "scheduled" ? t.stateMs : t.maxScheduledMs;
      out.push({ lint: "schedule-delay", severity: "warn", message: `${who(t)} waited ${fmt(d)} to run after it was woken: the loop is busy elsewhere`, task: t.id });
    }
  }
  if (t.state === "idle" && t.waitingOn === undefined && t.stateMs >= L.idleOnNothingMs) {
    (kinds ??= []).push("idle-on-nothing");
    if (out.wants("warn")) {
      const message =
        `${who(t)} has been idle ${fmt(t.stateMs)} awaiting something steward cannot see (a raw promise, an event, a callback): ` +
        "if it is stuck, nothing will wake it; pass ctx.signal to what it awaits";
      out.push({ lint: "idle-on-nothing", severity: "warn", message, task: t.id });
    }
  }
  if (kinds !== undefined) t.lints = kinds;
}

/**
 * A snapshot's warnings as its tasks are built. A snapshot shows the first `max` of them, errors
 * first: once `max` of one severity were found, no later one of that severity can be shown, so
 * none is made (with 2,000 tasks idle on raw promises, formatting 2,000 messages to keep 500 was
 * a large share of a build).
 */
export class SnapshotWarnings {
  readonly list: ConsoleWarning[] = [];
  #errors = 0;
  #warns = 0;
  constructor(readonly max: number) {}

  /** Whether a warning of `severity` found now could still be shown. */
  wants(severity: ConsoleWarning["severity"]): boolean {
    return (severity === "error" ? this.#errors : this.#warns) < this.max;
  }

  push(w: ConsoleWarning): void {
    if (w.severity === "error") this.#errors++;
    else this.#warns++;
    this.list.push(w);
  }
}

/** True when a completed task is worth keeping apart (a lint fires for it, or it panicked). */
export function notable(s: TaskStats, o: ResolvedConsoleOptions): boolean {
  const L = o.lints;
  return s.outcome === "panic" || s.maxLintedResume >= L.slowResumeMs || s.maxSched >= L.scheduleDelayMs || s.supervisorBlockedMs > 0 || s.maxResume >= L.neverYieldedMs;
}

/** Resource lints: a lock held across a long await, an unbounded channel past its watermark. */
export function resourceLints(r: ResourceSnapshot, o: ResolvedConsoleOptions, nowEpoch: number, out: ConsoleWarning[]): void {
  const L = o.lints;
  const d = r.details;
  if (LOCK_KINDS.has(r.kind)) {
    const heldSince = d?.heldSinceMs;
    const holder = d?.holder;
    if (typeof heldSince === "number" && nowEpoch - heldSince >= L.lockHeldMs) {
      const by = typeof holder === "number" ? ` by task ${holder}` : "";
      out.push({
        lint: "lock-held",
        severity: "warn",
        resource: r.id,
        message: `${r.label} held${by} for ${fmt(nowEpoch - heldSince)}: a lock held across a long await blocks everyone behind it (${r.waiters} waiting)`,
      });
      return;
    }
    let worst: { headWaitMs?: number; headTask?: number } | undefined;
    for (const op of r.ops ?? []) if (op.headWaitMs !== undefined && (worst?.headWaitMs === undefined || op.headWaitMs > worst.headWaitMs)) worst = op;
    if (worst?.headWaitMs !== undefined && worst.headWaitMs >= L.lockHeldMs) {
      const first = worst.headTask === undefined ? "its first waiter" : `task ${worst.headTask}`;
      out.push({
        lint: "lock-held",
        severity: "warn",
        resource: r.id,
        message: `${r.label}: ${first} has waited ${fmt(worst.headWaitMs)} for it (${r.waiters} waiting): its holder keeps it across a long await`,
      });
    }
  }
  if (d !== undefined && d.capacity === "unbounded" && typeof d.length === "number" && d.length >= L.unboundedWatermark) {
    out.push({
      lint: "unbounded-watermark",
      severity: "warn",
      resource: r.id,
      message: `${r.label} (unbounded) holds ${d.length} messages (watermark ${L.unboundedWatermark}): its consumer falls behind and memory grows; use a bounded channel for backpressure`,
    });
  }
}

/**
 * Lock-order lints: the process's recent lock-order problems (an inversion that never deadlocked,
 * a broken rank; diagnostics/lock-order.ts, at most 100), each on the task whose acquire broke
 * the order, with the one line that names both orders and their sites.
 */
export function lockOrderLints(out: ConsoleWarning[]): void {
  for (const v of lockOrderViolations()) out.push({ lint: "lock-order", severity: "warn", message: v.message, task: v.now.task.id });
}
