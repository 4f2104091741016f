/** Building a ConsoleSnapshot from the collector's records, and the lints. */
import { performance } from "node:perf_hooks";
import { formatSpawnSite } from "../task/spawn-site.js";
import { blockedEpisodes, DONE, IDLE, loopNow, round3, RUNNING, SCHEDULED, type TaskStats } from "./collector.js";
import { percentileMs, trimmed } from "./histogram.js";
import type { ResolvedConsoleOptions } from "./options.js";
import { collectResources, type DeferredLike, LOCK_KINDS } from "./resources.js";
import type { ConsoleHeader, ConsoleSnapshot, ConsoleWarning, LintKind, ResourceSnapshot, TaskSnapshot, TaskState } from "./types.js";

/** What the snapshot needs from one runtime's console. */
export interface SnapshotSource {
  readonly options: ResolvedConsoleOptions;
  readonly runtimeName: string;
  readonly runtimeState: string;
  readonly head: TaskStats | null;
  readonly liveCount: number;
  readonly spawned: number;
  readonly completed: { ok: number; panic: number; cancelled: number };
  /** Completed tasks still retained, oldest first (after evicting expired ones). */
  retainedTasks(now: number): Iterable<TaskStats>;
  readonly retainedCount: number;
  deferred(): readonly DeferredLike[];
}

/** At most this many completed tasks per snapshot (the rest stay retained for dumps of lints and counts). */
export const MAX_COMPLETED_SHOWN = 200;

/** At most this many warnings per snapshot (each task's lints stay on the task). */
export const MAX_WARNINGS = 500;

const STATES: readonly TaskState[] = ["scheduled", "running", "idle", "done"];

function epoch(perfMs: number): number {
  return Math.round(performance.timeOrigin + perfMs);
}

/** "join task 12 'worker'" (+ "and 2 more"), for a task awaiting handles. */
function joinText(s: TaskStats): string | undefined {
  const j = s.joining;
  if (j === undefined) return undefined;
  const who = j.name === undefined ? `task ${j.id}` : `task ${j.id} '${j.name}'`;
  return s.joiningMore === 0 ? `join ${who}` : `join ${who} and ${s.joiningMore} more`;
}

/** Formatted sites, per capture (tasks share captures: see siteFor in collector.ts). */
const siteTexts = new WeakMap<object, string>();

export function siteOf(s: TaskStats): string {
  if (s.siteText !== undefined) return s.siteText;
  const site = s.site;
  if (site === undefined) return (s.siteText = "unknown");
  let text = siteTexts.get(site);
  if (text === undefined) siteTexts.set(site, (text = formatSpawnSite(site)));
  return (s.siteText = text);
}

/** One task's record at `now` (performance.now()). */
export function taskSnapshot(s: TaskStats, now: number, runtime: string | undefined): TaskSnapshot {
  const st = s.state;
  const open = st === DONE ? 0 : now - s.since;
  const end = st === DONE ? s.endAt : now;
  const hist = trimmed(s.resumeCounts());
  const t: TaskSnapshot = {
    id: s.id,
    state: STATES[st]!,
    spawnedAt: siteOf(s),
    spawnedAtMs: s.spawnedAtMs,
    stateMs: round3(open),
    totalMs: round3(end - s.t0),
    busyMs: round3(s.busy + (st === RUNNING ? open : 0)),
    scheduledMs: round3(s.sched + (st === SCHEDULED ? open : 0)),
    idleMs: round3(s.idle + (st === IDLE ? open : 0)),
    resumes: s.resumes,
    lastResumeMs: round3(s.lastResume),
    maxResumeMs: round3(s.maxResume),
    p50ResumeMs: round3(percentileMs(hist, 50, s.maxResume)),
    p99ResumeMs: round3(percentileMs(hist, 99, s.maxResume)),
    maxScheduledMs: round3(Math.max(s.maxSched, st === SCHEDULED ? open : 0)),
    resumeHistogram: hist,
    scheduledHistogram: trimmed(s.scheduledCounts()),
    asOf: epoch(now),
  };
  if (s.name !== undefined) t.name = s.name;
  if (runtime !== undefined) t.runtime = runtime;
  if (s.parent !== undefined) t.parent = s.parent;
  if (s.outcome !== undefined) t.outcome = s.outcome;
  if (st === DONE) t.endedAtMs = epoch(s.endAt);
  const waiting = s.handle?.waitingOn ?? joinText(s);
  if (waiting !== undefined && st !== DONE) t.waitingOn = waiting;
  return t;
}

function who(t: { id: number; name?: string | undefined }): string {
  return t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms >= 10 ? ms.toFixed(0) : ms.toFixed(1)} ms`;
}

/** The task lints, as tokio-console's: each finding is also listed on the task (`lints`). */
export function taskLints(t: TaskSnapshot, s: TaskStats, o: ResolvedConsoleOptions, out: ConsoleWarning[]): void {
  const L = o.lints;
  const kinds: LintKind[] = [];
  const add = (lint: LintKind, severity: ConsoleWarning["severity"], message: string): void => {
    kinds.push(lint);
    out.push({ lint, severity, message, task: t.id });
  };
  const neverYielded = Math.max(t.maxResumeMs, s.supervisorBlockedMs);
  if (neverYielded >= L.neverYieldedMs) {
    add(
      "never-yielded",
      "error",
      `${who(t)} ran ${fmt(neverYielded)} without yielding (spawned at ${t.spawnedAt}): the event loop was blocked; move the work to blockingPool() or add await yieldNow()`,
    );
  } else if (t.maxResumeMs >= L.slowResumeMs) {
    add("slow-resume", "warn", `${who(t)} has a slow resume: ${fmt(t.maxResumeMs)} (p99 ${fmt(t.p99ResumeMs)} over ${t.resumes} resumes), spawned at ${t.spawnedAt}`);
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

/** Resource lints: a lock held across a long await, an unbounded channel past its watermark. */
export function resourceLints(r: ResourceSnapshot, o: ResolvedConsoleOptions, nowEpoch: number, out: ConsoleWarning[]): void {
  const L = o.lints;
  const d = r.details;
  if (LOCK_KINDS.has(r.kind)) {
    const heldSince = d?.heldSinceMs;
    const holder = d?.holder;
    if (typeof heldSince === "number" && nowEpoch - heldSince >= L.lockHeldMs) {
      const by = typeof holder === "number" ? ` by task ${holder}` : "";
      out.push({ lint: "lock-held", severity: "warn", resource: r.id, message: `${r.label} held${by} for ${fmt(nowEpoch - heldSince)}: a lock held across a long await blocks everyone behind it (${r.waiters} waiting)` });
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

/** A snapshot over one or more runtimes' consoles (lint thresholds from the first). */
export function buildSnapshot(sources: readonly SnapshotSource[]): ConsoleSnapshot {
  const now = performance.now();
  const nowEpoch = epoch(now);
  const o = sources[0]!.options;
  const multi = sources.length > 1;
  const tasks: TaskSnapshot[] = [];
  const warnings: ConsoleWarning[] = [];
  let live = 0;
  let spawned = 0;
  let retained = 0;
  const completed = { ok: 0, panic: 0, cancelled: 0 };
  const runtimes: ConsoleHeader["runtimes"] = [];
  const deferred: DeferredLike[] = [];
  let truncated = 0;
  const maxTasks = Math.min(...sources.map((s) => s.options.maxTasks));
  for (const src of sources) {
    const rt = multi ? src.runtimeName : undefined;
    runtimes.push({ name: src.runtimeName, state: src.runtimeState, liveTasks: src.liveCount });
    live += src.liveCount;
    spawned += src.spawned;
    completed.ok += src.completed.ok;
    completed.panic += src.completed.panic;
    completed.cancelled += src.completed.cancelled;
    for (let s = src.head; s !== null; s = s.next) {
      if (tasks.length >= maxTasks) {
        truncated++;
        continue;
      }
      const t = taskSnapshot(s, now, rt);
      taskLints(t, s, src.options, warnings);
      tasks.push(t);
    }
    const done = [...src.retainedTasks(now)];
    retained += src.retainedCount;
    // Completed tasks: those a lint fires for, then the latest, newest first; under a high spawn
    // rate thousands end every second, and the view (and the stream) must stay bounded.
    const room = Math.min(Math.max(0, maxTasks - tasks.length), MAX_COMPLETED_SHOWN);
    const L = src.options.lints;
    const picked = new Set<TaskStats>();
    for (let i = done.length - 1; i >= 0 && picked.size < room; i--) {
      const s = done[i]!;
      if (s.maxResume >= L.slowResumeMs || s.maxSched >= L.scheduleDelayMs || s.supervisorBlockedMs >= L.neverYieldedMs) picked.add(s);
    }
    for (let i = done.length - 1; i >= 0 && picked.size < room; i--) picked.add(done[i]!);
    truncated += done.length - picked.size;
    for (const s of picked) {
      const t = taskSnapshot(s, now, rt);
      taskLints(t, s, src.options, warnings);
      tasks.push(t);
    }
    deferred.push(...src.deferred());
  }
  tasks.sort((a, b) => a.id - b.id);
  const resources = collectResources(deferred, now);
  for (const r of resources) resourceLints(r, o, nowEpoch, warnings);
  const ep = blockedEpisodes();
  const loop = loopNow();
  const header: ConsoleHeader = {
    pid: process.pid,
    node: process.version,
    runtimes,
    elu: loop.elu,
    loopDelayP99Ms: loop.delayP99Ms,
    loopDelayMaxMs: loop.delayMaxMs,
    liveTasks: live,
    spawned,
    completed,
    retained,
    blockedEpisodes: ep.count,
    blockedMsTotal: round3(ep.totalMs),
    truncatedTasks: truncated,
  };
  warnings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  if (warnings.length > MAX_WARNINGS) warnings.length = MAX_WARNINGS; // errors first, so they stay
  return { version: 1, now: nowEpoch, header, tasks, resources, warnings, blocked: [...ep.list] };
}
