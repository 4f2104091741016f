/**
 * The process-wide collector behind every runtime's console: it implements the core's
 * instrumentation hooks (core/instrument.ts), owns the `v8.promiseHooks` before/after pair that
 * marks every resume of a task, the registry of wait queues, the loop sampler and the ledger of
 * blocked episodes.
 *
 * Made when the first runtime with a console starts, dropped when the last one closes; with no
 * console on, none of this exists (no promise hook, no timer, no hook in the core).
 *
 * A task's time is split into three states, tokio-console's:
 *   scheduled — spawned, or woken by the waiter core (a waiter of it was served or withdrawn),
 *               and not yet running;
 *   running   — inside a resume: the first synchronous run of its function (pollStart/pollEnd
 *               around it in the start queue) or a promise reaction job that runs in its ALS
 *               frame (promise hooks before/after);
 *   idle      — between resumes, awaiting something.
 * A wait steward does not see (a raw promise: fetch, fs) goes idle → running directly, so its
 * scheduling delay counts as idle.
 *
 * Work that is not the task's own: a server created inside `main` runs its callbacks in main's
 * ALS frame, so their promise reactions look like main's resumes. A task parked on a steward wait
 * and not woken cannot be continuing its own code, so a reaction in its frame then is counted as
 * work outside tasks (ConsoleHeader.outside), not as a resume of the task.
 *
 * Mapping a reaction to a task: the reaction's promise carries the ALS store. On Node 20/22 the
 * ALS keeps it as a property of each promise (set by its own init hook), so `before(p)` reads
 * `p[als.kResourceStore]` — `als.getStore()` would be wrong there whenever async_hooks' own
 * promise hook was (re)registered after ours (it runs second and has not switched the context
 * yet). On Node 24 (AsyncContextFrame) the context is switched before any promise hook runs,
 * so `als.getStore()` is right.
 */
import v8 from "node:v8";
import { performance } from "node:perf_hooks";
import { als, type ContextFrame, type TaskLike } from "../../core/context.js";
import { addInstrumentHooks, type BlockedEventLike, type InstrumentedTask, type InstrumentHooks, removeInstrumentHooks } from "../../core/instrument.js";
import type { JoinHandle } from "../../task/join-handle.js";
import { EpisodeLedger } from "../model/episodes.js";
import {
  DONE,
  F_ACC,
  F_BUSY,
  F_IDLE,
  F_LAST,
  F_MAXLINT,
  F_MAXRES,
  F_MAXSCHED,
  F_SCHED,
  F_SINCE,
  F_SUP,
  F_END,
  IDLE,
  recordResume,
  recordSched,
  RUNNING,
  SCHEDULED,
  type TaskSink,
  TaskStats,
} from "../model/task-stats.js";
import { type LoopFigures, LoopSampler } from "./loop.js";
import { QueueRegistry } from "./queues.js";
import { SpawnSites } from "./spawn-sites.js";

/** Node 20/22 ALS keeps the store on each promise under this symbol; undefined on Node 24. */
const K: symbol | undefined = (() => {
  const k = (als as unknown as { kResourceStore?: unknown }).kResourceStore;
  return typeof k === "symbol" ? k : undefined;
})();

function statsOf(t: TaskLike | undefined): TaskStats | undefined {
  return t === undefined ? undefined : ((t as InstrumentedTask).instrument as TaskStats | undefined);
}

function epoch(perfMs: number): number {
  return performance.timeOrigin + perfMs;
}

function frameText(f: { functionName?: string; file?: string; line?: number; column?: number }): string {
  return `${f.functionName || "<anonymous>"} (${f.file ?? "?"}:${f.line ?? 0}:${f.column ?? 0})`;
}

/** The collector; one per process while any console is on (see {@link attach}). */
export class Collector implements InstrumentHooks {
  readonly sinks = new Map<unknown, TaskSink>();
  readonly queues = new QueueRegistry();
  /** Blocked episodes since the first console of this run of the collector started. */
  episodes = new EpisodeLedger();
  readonly sites = new SpawnSites();
  readonly loop: LoopSampler;
  /** Resumes at least this long are blocked episodes (the lowest `lints.blockedMs` of the consoles). */
  blockedMs = 100;
  readonly #blockedBySink = new Map<unknown, number>();
  readonly #tickListeners = new Set<(now: number, figures: LoopFigures) => void>();
  /** The task whose resume runs now, if any. */
  current: TaskStats | null = null;
  /**
   * Moves with every change the collector sees (a resume, a wake or park, a spawn, an end, an
   * episode, a loop sample): a snapshot built at the same version still holds (server/snapshot-cache.ts).
   */
  version = 0;
  readonly #interrupted: (TaskStats | null)[] = [];
  /** Work outside tasks running now: its sink and its start. */
  #outside: TaskSink | null = null;
  #outsideT0 = 0;
  #stopPromiseHooks: (() => void) | undefined;

  constructor() {
    this.loop = new LoopSampler((now, f, start) => this.#tick(now, f, start));
  }

  // -------------------------------------------------------------------------------------------
  // Life

  /** Starts collecting for the tasks of `host`; installs the hooks on the first sink. */
  attach(host: unknown, sink: TaskSink, lintBlockedMs: number): void {
    if (this.sinks.size === 0) this.#install();
    this.sinks.set(host, sink);
    this.#blockedBySink.set(host, lintBlockedMs);
    this.blockedMs = Math.min(...this.#blockedBySink.values());
  }

  /** Stops collecting for `host`; true when it was the last (every hook is then removed). */
  detach(host: unknown): boolean {
    if (!this.sinks.delete(host)) return false;
    this.#blockedBySink.delete(host);
    if (this.sinks.size > 0) {
      this.blockedMs = Math.min(...this.#blockedBySink.values());
      return false;
    }
    this.#uninstall();
    return true;
  }

  get active(): boolean {
    return this.#stopPromiseHooks !== undefined;
  }

  /** Called every sampling tick (retention eviction, metrics). */
  onTick(fn: (now: number, figures: LoopFigures) => void): () => void {
    this.#tickListeners.add(fn);
    return () => void this.#tickListeners.delete(fn);
  }

  #install(): void {
    this.current = null;
    this.#interrupted.length = 0;
    this.episodes = new EpisodeLedger(); // a console started after all others closed starts clean
    this.#stopPromiseHooks = v8.promiseHooks.createHook({ before: this.#before, after: this.#after }) as () => void;
    addInstrumentHooks(this);
    this.loop.start();
  }

  #uninstall(): void {
    removeInstrumentHooks(this);
    this.#stopPromiseHooks?.();
    this.#stopPromiseHooks = undefined;
    this.current = null;
    this.#interrupted.length = 0;
    this.loop.stop();
    // Queues created from now on are not seen; forget the old ones too (a later console starts clean).
    this.queues.clear();
  }

  #tick(now: number, f: LoopFigures, windowStart: number): void {
    this.version++;
    // A stall: the final duration of one already reported at detection, or one no resume or
    // supervisor report explains (code outside tasks, a timer callback, GC).
    if (f.delayMaxMs > 0) this.episodes.loopStall(epoch(windowStart), epoch(now), f.delayMaxMs, f.delayMaxMs >= this.blockedMs);
    this.episodes.settle();
    this.queues.prune();
    for (const fn of this.#tickListeners) {
      try {
        fn(now, f);
      } catch {
        // Keep sampling.
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Resumes (the promise hooks call these directly: the hot path)

  readonly #before = (p: Promise<unknown>): void => {
    const store = (K !== undefined ? (p as unknown as Record<symbol, ContextFrame | undefined>)[K] : als.getStore()) as ContextFrame | undefined;
    if (store === undefined) {
      this.current = null;
      return;
    }
    // A task is its own frame: read its slot directly; other frames (shield) through taskRecord.
    let s = (store as Partial<InstrumentedTask>).instrument as TaskStats | undefined;
    if (s === undefined && !("instrument" in store)) s = statsOf(store.taskRecord);
    if (s === undefined || s.state === DONE) {
      this.current = null;
      return;
    }
    if (s.wait0 !== undefined && s.state === IDLE) {
      this.current = null;
      this.#outside = s.sink;
      this.#outsideT0 = performance.now();
      return;
    }
    this.#beginResume(s, performance.now());
    this.current = s;
  };

  readonly #after = (): void => {
    const s = this.current;
    if (s === null) {
      const o = this.#outside;
      if (o !== null) {
        this.#outside = null;
        o.outside.resumes++;
        o.outside.busyMs += performance.now() - this.#outsideT0;
      }
      return;
    }
    this.current = null;
    this.#endResume(s, performance.now());
  };

  #beginResume(s: TaskStats, now: number): void {
    const f = s.f;
    const st = s.state;
    if (st === IDLE) {
      f[F_IDLE]! += now - f[F_SINCE]!;
    } else if (st === SCHEDULED) {
      const d = now - f[F_SINCE]!;
      f[F_SCHED]! += d;
      if (d > f[F_MAXSCHED]!) f[F_MAXSCHED] = d;
      recordSched(s, d);
    } else if (st === RUNNING) {
      f[F_BUSY]! += now - f[F_SINCE]!; // an after that never came (should not happen)
    }
    s.state = RUNNING;
    f[F_SINCE] = now;
    s.resumes++;
    this.version++;
    if (s.joining !== undefined) {
      s.joining = undefined;
      s.joiningMore = 0;
    }
  }

  #endResume(s: TaskStats, now: number): void {
    const f = s.f;
    const seg = now - f[F_SINCE]!;
    f[F_BUSY]! += seg;
    const d = seg + f[F_ACC]!;
    f[F_ACC] = 0;
    f[F_LAST] = d;
    if (d > f[F_MAXRES]!) f[F_MAXRES] = d;
    if (d > f[F_MAXLINT]! && now - d >= s.sink.lintFrom) f[F_MAXLINT] = d;
    recordResume(s, d);
    const rh = s.sink.resumeHist;
    if (rh !== null) rh.record(d / 1000, s.sink.attrs);
    if (d >= this.blockedMs) this.#resumeEpisode(s, now, d);
    this.version++;
    if (s.ended) {
      s.state = DONE;
      this.#finalize(s, now);
    } else {
      s.state = IDLE;
      f[F_SINCE] = now;
    }
  }

  /** Closes the open state of an ended task and hands it to its sink. */
  #finalize(s: TaskStats, now: number): void {
    const f = s.f;
    const st = s.state;
    if (st === IDLE) f[F_IDLE]! += now - f[F_SINCE]!;
    else if (st === SCHEDULED) f[F_SCHED]! += now - f[F_SINCE]!;
    else if (st === RUNNING) f[F_BUSY]! += now - f[F_SINCE]!;
    s.state = DONE;
    f[F_SINCE] = now;
    f[F_END] = now;
    s.handle = undefined;
    this.version++;
    s.sink.finished(s);
  }

  #resumeEpisode(s: TaskStats, now: number, d: number): void {
    const task = s.name === undefined ? { id: s.id } : { id: s.id, name: s.name };
    this.episodes.report({ source: "resume", startMs: epoch(now - d), endMs: epoch(now), durationMs: d, task });
  }

  // -------------------------------------------------------------------------------------------
  // The core's hooks

  taskSpawned(task: InstrumentedTask, host: unknown): void {
    const sink = this.sinks.get(host);
    if (sink === undefined) return;
    const h = task as unknown as JoinHandle<unknown>;
    if (h.site === undefined) h.site = this.sites.siteFor((h as unknown as { fn?: unknown }).fn);
    const parent = als.getStore()?.taskRecord?.id;
    const s = new TaskStats(sink, h, parent, performance.now());
    h.instrument = s;
    this.version++;
    sink.link(s);
  }

  pollStart(task: InstrumentedTask): void {
    const s = task.instrument as TaskStats | undefined;
    if (s === undefined) return;
    const now = performance.now();
    const cur = this.current;
    if (cur !== null) {
      const seg = now - cur.f[F_SINCE]!;
      cur.f[F_BUSY]! += seg;
      cur.f[F_ACC]! += seg;
    }
    this.#interrupted.push(cur);
    this.#beginResume(s, now);
    this.current = s;
  }

  pollEnd(task: InstrumentedTask): void {
    const s = task.instrument as TaskStats | undefined;
    if (s === undefined) return;
    const now = performance.now();
    if (s.state === RUNNING) this.#endResume(s, now);
    const prev = this.#interrupted.pop() ?? null;
    if (prev !== null) prev.f[F_SINCE] = now;
    this.current = prev;
  }

  taskParked(task: TaskLike, what: string): void {
    const s = statsOf(task);
    if (s === undefined) return;
    this.version++;
    if (s.wait0 === undefined) s.wait0 = what;
    else if (s.moreWaits === null) s.moreWaits = [what];
    else if (s.moreWaits.length < 64) s.moreWaits.push(what);
  }

  taskWoken(task: TaskLike, what: string): void {
    const s = statsOf(task);
    if (s === undefined) return;
    this.version++;
    if (s.wait0 !== undefined) {
      const more = s.moreWaits;
      if (s.wait0 === what) s.wait0 = more === null ? undefined : more.shift();
      else if (more !== null) {
        const i = more.indexOf(what);
        if (i >= 0) more.splice(i, 1);
      }
      if (more !== null && more.length === 0) s.moreWaits = null;
      if (s.wait0 !== undefined) return; // another wait of its own is pending: still parked
    }
    if (s.state !== IDLE) return;
    const now = performance.now();
    const f = s.f;
    f[F_IDLE]! += now - f[F_SINCE]!;
    s.state = SCHEDULED;
    f[F_SINCE] = now;
  }

  taskDone(task: InstrumentedTask): void {
    const s = task.instrument as TaskStats | undefined;
    if (s === undefined || s.ended) return;
    s.ended = true;
    const e = (task as unknown as JoinHandle<unknown>).joinError;
    s.outcome = e === undefined ? "ok" : e.kind;
    // Ending inside its own resume (the usual case): endResume finalizes it when the resume ends.
    if (s.state !== RUNNING || this.current !== s) this.#finalize(s, performance.now());
  }

  taskJoined(task: InstrumentedTask): void {
    const me = statsOf(als.getStore()?.taskRecord);
    if (me === undefined || me === task.instrument || me.state === DONE) return;
    this.version++;
    if (me.joining === undefined) me.joining = { id: task.id, name: task.name };
    else me.joiningMore++;
  }

  panicUnobserved(): void {}

  queueCreated(queue: object): void {
    this.version++;
    this.queues.add(queue);
  }

  queueWaited(): void {
    this.version++;
  }

  resource(): void {
    this.version++;
  }

  blocked(e: BlockedEventLike): void {
    if (e === null || typeof e !== "object" || typeof e.blockedMs !== "number" || !(e.blockedMs >= 0)) return;
    if (e.thread !== undefined && e.thread !== "main") return; // a worker's loop: not this view's tasks
    const end = typeof e.at === "number" && e.at > 1e12 ? e.at : Date.now();
    const stack = Array.isArray(e.stack) && e.stack.length > 0 ? e.stack.slice(0, 32).map(frameText) : undefined;
    let task: { id: number; name?: string } | undefined;
    if (e.task !== undefined && typeof e.task.id === "number") {
      task = e.task.name === undefined ? { id: e.task.id } : { id: e.task.id, name: e.task.name };
      for (const sink of this.sinks.values()) {
        for (let s = sink.head; s !== null; s = s.next) if (s.id === task.id && e.blockedMs > s.f[F_SUP]!) s.f[F_SUP] = e.blockedMs;
      }
    }
    const r: Parameters<EpisodeLedger["report"]>[0] = { source: "supervisor", startMs: end - e.blockedMs, endMs: end, durationMs: e.blockedMs };
    if (e.id !== undefined && e.id !== null) r.id = String(e.id);
    if (task !== undefined) r.task = task;
    if (stack !== undefined) r.stack = stack;
    r.phase = "stack" in e ? "blocked" : "unblocked";
    this.version++;
    this.episodes.report(r);
  }
}

let collector: Collector | undefined;

/** @internal The collector, made on first use. */
export function getCollector(): Collector {
  return (collector ??= new Collector());
}

/** True while any console is on: the promise hooks and core hooks are installed. */
export function instrumentationActive(): boolean {
  return collector?.active === true;
}
