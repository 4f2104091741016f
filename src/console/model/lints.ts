/** The console's lints, after tokio-console's: each finding is also listed on its task (`lints`). */
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
export function taskLints(t: TaskSnapshot, s: TaskStats, o: ResolvedConsoleOptions, out: ConsoleWarning[]): void {
  const L = o.lints;
  const kinds: LintKind[] = [];
  const add = (lint: LintKind, severity: ConsoleWarning["severity"], message: string): void => {
    kinds.push(lint);
    out.push({ lint, severity, message, task: t.id });
  };
  const neverYielded = Math.max(t.maxResumeMs, s.supervisorBlockedMs);
  const slow = s.maxLintedResume;
  if (neverYielded >= L.neverYieldedMs) {
    add(
      "never-yielded",
      "error",
      `${who(t)} ran ${fmt(neverYielded)} without yielding (spawned at ${t.spawnedAt}): the event loop was blocked; move the work to blockingPool() or add await yieldNow()`,
    );
  } else if (slow >= L.slowResumeMs) {
    add("slow-resume", "warn", `${who(t)} has a slow resume: ${fmt(slow)} (p99 ${fmt(t.p99ResumeMs)} over ${t.resumes} resumes), spawned at ${t.spawnedAt}`);
  }
  if (t.state === "scheduled" ? t.stateMs >= L.scheduleDelayMs : t.maxScheduledMs >= L.scheduleDelayMs) {
    const d = t.state === "scheduled" ? t.stateMs : t.maxScheduledMs;
    add("schedule-delay", "warn", `${who(t)} waited ${fmt(d)} to run after it was woken: the loop is busy elsewhere`);
  }
  if (t.state === "idle" && t.waitingOn === undefined && t.stateMs >= L.idleOnNothingMs) {
    add(
      "idle-on-nothing",
      "warn",
      `${who(t)} has been idle ${fmt(t.stateMs)} awaiting something steward cannot see (a raw promise, an event, a callback): ` +
        "if it is stuck, nothing will wake it; pass ctx.signal to what it awaits",
    );
  }
  if (kinds.length > 0) t.lints = kinds;
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
