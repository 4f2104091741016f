/** Building a ConsoleSnapshot from the collector's records. */
import { performance } from "node:perf_hooks";
import { describeTask, type WaitInfo } from "../../diagnostics/task-info.js";
import type { Collector } from "../instrument/collector.js";
import type { ResolvedConsoleOptions } from "../options.js";
import { percentileMs, trimmed } from "./histogram.js";
import { notable, lockOrderLints, resourceLints, SnapshotWarnings, taskLints } from "./lints.js";
import { collectResources, type DeferredLike } from "./resources.js";
import { DONE, IDLE, RUNNING, SCHEDULED, type TaskStats } from "./task-stats.js";
import type { ConsoleHeader, ConsoleSnapshot, TaskSnapshot, TaskState } from "./types.js";

/** What the snapshot needs from one runtime's console. */
export interface SnapshotSource {
  readonly options: ResolvedConsoleOptions;
  readonly runtimeName: string;
  readonly runtimeState: string;
  readonly head: TaskStats | null;
  readonly liveCount: number;
  readonly spawned: number;
  readonly completed: { ok: number; panic: number; cancelled: number };
  readonly outside: { resumes: number; busyMs: number };
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

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

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

/** The spawn site of a task, as views show it (formatted and source-mapped once per capture). */
export function siteOf(s: TaskStats, c: Collector): string {
  return (s.siteText ??= c.sites.text(s.site));
}

/** One task's record at `now` (performance.now()). */
export function taskSnapshot(s: TaskStats, now: number, runtime: string | undefined, c: Collector): TaskSnapshot {
  const st = s.state;
  const open = st === DONE ? 0 : now - s.since;
  const end = st === DONE ? s.endAt : now;
  const hist = trimmed(s.resumeCounts());
  const t: TaskSnapshot = {
    id: s.id,
    state: STATES[st]!,
    spawnedAt: siteOf(s, c),
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
  // Its oldest pending wait is its own; waits of other code in its context come after it.
  const waiting = s.wait0 ?? s.handle?.waitingOn ?? joinText(s);
  if (waiting !== undefined && st !== DONE) t.waitingOn = waiting;
  if (s.handle !== undefined && st !== DONE && s.handle.wait !== undefined) {
    // Where it awaits and who holds it up (the first snapshot queues the probe, later ones show it).
    const w: WaitInfo = {};
    describeTask(s.handle, w, Date.now());
    if (w.awaitSite !== undefined) t.awaitSite = w.awaitSite;
    if (w.heldBy !== undefined) t.heldBy = w.heldBy.map((h) => h.id);
  }
  return t;
}

/** A snapshot over one or more runtimes' consoles (lint thresholds from the first), in one go. */
export function buildSnapshot(sources: readonly SnapshotSource[], c: Collector): ConsoleSnapshot {
  const steps = snapshotSteps(sources, c, Infinity, false);
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  return r.value.snap;
}

/** A snapshot and, when asked for, its JSON (the same text `JSON.stringify(snap)` gives). */
export interface SnapshotResult {
  snap: ConsoleSnapshot;
  json: string | undefined;
  /** Tasks whose await site was not known yet (the build queued its probe: a later build shows it). */
  unprobed: number;
}

/** Tasks built between two looks at the clock. */
const CHUNK = 32;

/**
 * Builds a snapshot in steps: it yields (to let the caller give the loop back) whenever `sliceMs`
 * has passed since the step began, between chunks of tasks. With `json`, each task is serialised
 * as it is built, so the text is ready with the snapshot and no single step stringifies all of it.
 *
 * The tasks shown are chosen when it starts; each is read when its chunk is built, with the
 * clock of that moment (its `asOf`): a sliced snapshot is a series of consistent task records,
 * not one instant. The header, resources and episodes are read in the last step.
 */
export function* snapshotSteps(sources: readonly SnapshotSource[], c: Collector, sliceMs: number, json: boolean): Generator<void, SnapshotResult, void> {
  let stepStart = performance.now();
  const o = sources[0]!.options;
  const multi = sources.length > 1;
  const found = new SnapshotWarnings(MAX_WARNINGS);
  const runtimes: ConsoleHeader["runtimes"] = [];
  const deferred: DeferredLike[] = [];
  const idleSince = new Map<number, number>();
  let truncated = 0;
  let retained = 0;
  const maxTasks = Math.min(...sources.map((s) => s.options.maxTasks));
  // Which tasks, from which runtime: chosen now, built in chunks below.
  const picks: { s: TaskStats; src: SnapshotSource; rt: string | undefined }[] = [];
  for (const src of sources) {
    const rt = multi ? src.runtimeName : undefined;
    for (let s = src.head; s !== null; s = s.next) {
      if (s.state === IDLE) idleSince.set(s.id, s.since);
      if (picks.length >= maxTasks) {
        truncated++;
        continue;
      }
      picks.push({ s, src, rt });
    }
    const done = [...src.retainedTasks(stepStart)];
    retained += src.retainedCount;
    // Completed tasks: those a lint fires for, then the latest, newest first; under a high spawn
    // rate thousands end every second, and the view (and the stream) must stay bounded.
    const room = Math.min(Math.max(0, maxTasks - picks.length), MAX_COMPLETED_SHOWN);
    const picked = new Set<TaskStats>();
    for (let i = done.length - 1; i >= 0 && picked.size < room; i--) if (notable(done[i]!, src.options)) picked.add(done[i]!);
    for (let i = done.length - 1; i >= 0 && picked.size < room; i--) picked.add(done[i]!);
    truncated += done.length - picked.size;
    for (const s of picked) picks.push({ s, src, rt });
  }
  picks.sort((a, b) => a.s.id - b.s.id);
  const tasks: TaskSnapshot[] = new Array<TaskSnapshot>(picks.length);
  const parts: string[] | undefined = json ? new Array<string>(picks.length) : undefined;
  let unprobed = 0;
  for (let i = 0; i < picks.length; i += CHUNK) {
    let now = performance.now();
    if (now - stepStart >= sliceMs) {
      yield;
      now = stepStart = performance.now();
    }
    const end = Math.min(picks.length, i + CHUNK);
    for (let j = i; j < end; j++) {
      const { s, src, rt } = picks[j]!;
      const t = taskSnapshot(s, now, rt, c);
      taskLints(t, s, src.options, found);
      tasks[j] = t;
      if (t.awaitSite === undefined && s.state !== DONE && s.handle?.wait !== undefined) unprobed++;
      if (parts !== undefined) parts[j] = JSON.stringify(t);
    }
  }
  if (performance.now() - stepStart >= sliceMs) yield;
  const now = performance.now();
  const nowEpoch = epoch(now);
  let live = 0;
  let spawned = 0;
  const completed = { ok: 0, panic: 0, cancelled: 0 };
  const outside = { resumes: 0, busyMs: 0 };
  for (const src of sources) {
    runtimes.push({ name: src.runtimeName, state: src.runtimeState, liveTasks: src.liveCount });
    live += src.liveCount;
    spawned += src.spawned;
    completed.ok += src.completed.ok;
    completed.panic += src.completed.panic;
    completed.cancelled += src.completed.cancelled;
    outside.resumes += src.outside.resumes;
    outside.busyMs += src.outside.busyMs;
    deferred.push(...src.deferred());
  }
  const resources = collectResources(c.queues.entries, deferred, now, (id) => {
    const since = idleSince.get(id);
    return since === undefined ? undefined : now - since;
  });
  const warnings = found.list;
  for (const r of resources) resourceLints(r, o, nowEpoch, warnings);
  lockOrderLints(warnings);
  const loop = c.loop.now();
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
    blockedEpisodes: c.episodes.count,
    blockedMsTotal: round3(c.episodes.totalMs),
    outside: { resumes: outside.resumes, busyMs: round3(outside.busyMs) },
    truncatedTasks: truncated,
  };
  warnings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  if (warnings.length > MAX_WARNINGS) warnings.length = MAX_WARNINGS; // errors first, so they stay
  const snap: ConsoleSnapshot = { version: 2, now: nowEpoch, header, tasks, resources, warnings, blocked: c.episodes.list(), blockedGroups: c.episodes.groups() };
  if (parts === undefined) return { snap, json: undefined, unprobed };
  // The keys in the order of the literal above, so the text is what JSON.stringify(snap) gives.
  const text =
    `{"version":2,"now":${nowEpoch},"header":${JSON.stringify(header)},"tasks":[${parts.join(",")}],` +
    `"resources":${JSON.stringify(resources)},"warnings":${JSON.stringify(warnings)},"blocked":${JSON.stringify(snap.blocked)},"blockedGroups":${JSON.stringify(snap.blockedGroups)}}`;
  return { snap, json: text, unprobed };
}
