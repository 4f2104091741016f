/**
 * The process-wide collector behind every runtime's console: it implements the core's
 * instrumentation hooks (core/instrument.ts), owns the `v8.promiseHooks` before/after pair that
 * marks every resume of a task, the registry of wait queues (WeakRefs), and the loop sampler
 * (event-loop utilization, loop delay, blocked episodes).
 *
 * Installed when the first runtime with a console starts, removed when the last one closes; with
 * no console on, none of this exists (no promise hook, no timer, `hooks === null` in the core).
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
 * Mapping a reaction to a task: the reaction's promise carries the ALS store. On Node 20/22 the
 * ALS keeps it as a property of each promise (set by its own init hook), so `before(p)` reads
 * `p[als.kResourceStore]` — `als.getStore()` would be wrong there whenever async_hooks' own
 * promise hook was (re)registered after ours (it runs second and has not switched the context
 * yet). On Node 24 (AsyncContextFrame) the context is switched before any promise hook runs,
 * so `als.getStore()` is right.
 */
import v8 from "node:v8";
import { type IntervalHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks";
import { als, type Frame } from "../core/context.js";
import { type BlockedEventLike, type InstrumentedTask, type InstrumentHooks, setInstrumentHooks } from "../core/instrument.js";
import type { TaskLike } from "../core/context.js";
import type { JoinHandle } from "../task/join-handle.js";
import { captureSpawnSite, formatSpawnSite, type SpawnSite } from "../task/spawn-site.js";
import { BUCKETS, bucketOf } from "./histogram.js";
import type { BlockedEpisode, TaskOutcome } from "./types.js";

export const SCHEDULED = 0;
export const RUNNING = 1;
export const IDLE = 2;
export const DONE = 3;
export type StateCode = typeof SCHEDULED | typeof RUNNING | typeof IDLE | typeof DONE;

/** What a TaskStats reports to: the console of the task's runtime. */
export interface TaskSink {
  /** OTel resume-duration histogram (seconds), or null when metrics are off or a no-op. */
  resumeHist: { record(value: number, attributes?: Record<string, string>): void } | null;
  readonly attrs: Record<string, string>;
  /** First live task (intrusive list through TaskStats.next). */
  readonly head: TaskStats | null;
  link(s: TaskStats): void;
  finished(s: TaskStats): void;
}

// Numbers of a task live in one double array (a FixedDoubleArray, one object): as class fields
// each double would be a HeapNumber of its own, and a retained task's dozen extra objects made
// the scavenger cost more per task than the rest of the instrumentation.
export const F_T0 = 0; // performance.now() at spawn
export const F_SINCE = 1; // when the current state began
export const F_BUSY = 2;
export const F_SCHED = 3;
export const F_IDLE = 4;
/** Busy time of the current resume before a nested first run of another task interrupted it. */
export const F_ACC = 5;
export const F_LAST = 6;
export const F_MAXRES = 7;
export const F_MAXSCHED = 8;
export const F_END = 9;
/** The longest blocked episode a supervisor attributed to the task. */
export const F_SUP = 10;
export const F_SPAWNED = 11; // epoch ms
/**
 * The first INLINE resume durations, then the first INLINE scheduling delays: most tasks are
 * short, and a full histogram (2 × 28 buckets) per task made every retained task three times
 * bigger. A task's fifth value moves them all into `TaskStats.hist`.
 */
export const F_FIRST = 12;
export const F_SFIRST = F_FIRST + 4;
const INLINE = 4;
const F_LEN = F_SFIRST + INLINE;

function newFields(): number[] {
  // A literal is cloned from its boilerplate; the 0.5 makes it a packed double array.
  // prettier-ignore
  const f = [0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  f[0] = 0;
  return f.length === F_LEN ? f : new Array<number>(F_LEN).fill(0);
}

function newHist(): number[] {
  // prettier-ignore
  const h = [
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  ];
  return h.length === 2 * BUCKETS ? h : new Array<number>(2 * BUCKETS).fill(0);
}

/** Moves a task's inline values into a full histogram (resume buckets, then scheduling buckets). */
function migrate(s: TaskStats): number[] {
  const h = newHist();
  const f = s.f;
  for (let i = 0; i < s.nres && i < INLINE; i++) h[bucketOf(f[F_FIRST + i]!)]!++;
  for (let i = 0; i < s.nsched && i < INLINE; i++) h[BUCKETS + bucketOf(f[F_SFIRST + i]!)]!++;
  s.hist = h;
  return h;
}

function recordResume(s: TaskStats, d: number): void {
  const h = s.hist;
  if (h !== null) h[bucketOf(d)]!++;
  else if (s.nres < INLINE) s.f[F_FIRST + s.nres] = d;
  else migrate(s)[bucketOf(d)]!++;
  s.nres++;
}

function recordSched(s: TaskStats, d: number): void {
  const h = s.hist;
  if (h !== null) h[BUCKETS + bucketOf(d)]!++;
  else if (s.nsched < INLINE) s.f[F_SFIRST + s.nsched] = d;
  else migrate(s)[BUCKETS + bucketOf(d)]!++;
  s.nsched++;
}

/** The console's record of one task. The hooks update it on every resume. */
export class TaskStats {
  /** Live list of the sink (intrusive). */
  next: TaskStats | null = null;
  prev: TaskStats | null = null;
  /** The task record while it runs; dropped when it ends (so its value can be collected). */
  handle: JoinHandle<unknown> | undefined;
  readonly id: number;
  readonly name: string | undefined;
  readonly parent: number | undefined;
  readonly site: SpawnSite | undefined;
  siteText: string | undefined = undefined;
  state: StateCode = SCHEDULED;
  resumes = 0;
  ended = false;
  outcome: TaskOutcome | undefined = undefined;
  /** A task whose outcome this one awaits (then/result on its handle), until its next resume. */
  joining: { id: number; name: string | undefined } | undefined = undefined;
  joiningMore = 0;
  /** Values recorded: resume durations, scheduling delays (inline until a fifth, then in `hist`). */
  nres = 0;
  nsched = 0;
  /** Full histograms, once a task has more than four values of a kind: resume buckets, then scheduling buckets. */
  hist: number[] | null = null;
  /** See F_*. */
  readonly f: number[];

  constructor(
    readonly sink: TaskSink,
    h: JoinHandle<unknown>,
    parent: number | undefined,
    now: number,
  ) {
    this.handle = h;
    this.id = h.id;
    this.name = h.name;
    this.parent = parent;
    this.site = h.site;
    const f = newFields();
    f[F_T0] = now;
    f[F_SINCE] = now;
    f[F_SPAWNED] = h.spawnedAtMs;
    this.f = f;
  }

  get t0(): number {
    return this.f[F_T0]!;
  }
  get since(): number {
    return this.f[F_SINCE]!;
  }
  get busy(): number {
    return this.f[F_BUSY]!;
  }
  get sched(): number {
    return this.f[F_SCHED]!;
  }
  get idle(): number {
    return this.f[F_IDLE]!;
  }
  get lastResume(): number {
    return this.f[F_LAST]!;
  }
  get maxResume(): number {
    return this.f[F_MAXRES]!;
  }
  get maxSched(): number {
    return this.f[F_MAXSCHED]!;
  }
  get endAt(): number {
    return this.f[F_END]!;
  }
  get supervisorBlockedMs(): number {
    return this.f[F_SUP]!;
  }
  get spawnedAtMs(): number {
    return this.f[F_SPAWNED]!;
  }
  /** Resume-duration bucket counts. */
  resumeCounts(): number[] {
    return this.#counts(0, F_FIRST, this.nres);
  }
  /** Scheduling-delay bucket counts. */
  scheduledCounts(): number[] {
    return this.#counts(BUCKETS, F_SFIRST, this.nsched);
  }
  #counts(offset: number, inline: number, n: number): number[] {
    if (this.hist !== null) return this.hist.slice(offset, offset + BUCKETS);
    const out = new Array<number>(BUCKETS).fill(0);
    for (let i = 0; i < n && i < INLINE; i++) out[bucketOf(this.f[inline + i]!)]!++;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Hot paths: module-level state and plain functions (the promise hooks call these directly).

/** Node 20/22 ALS keeps the store on each promise under this symbol; undefined on Node 24. */
const K: symbol | undefined = (() => {
  const k = (als as unknown as { kResourceStore?: unknown }).kResourceStore;
  return typeof k === "symbol" ? k : undefined;
})();

let current: TaskStats | null = null;
const interrupted: (TaskStats | null)[] = [];
/** Resumes at least this long are blocked episodes (the lowest `lints.blockedMs` of the consoles). */
let blockedMs = 100;
let lastResumeEpisodeAt = 0;

function statsOf(t: TaskLike | undefined): TaskStats | undefined {
  return t === undefined ? undefined : ((t as InstrumentedTask).instrument as TaskStats | undefined);
}

function onBefore(p: Promise<unknown>): void {
  const store = (K !== undefined ? (p as unknown as Record<symbol, Frame | undefined>)[K] : als.getStore()) as Frame | undefined;
  if (store === undefined) {
    current = null;
    return;
  }
  // A task is its own frame: read its slot directly; other frames (shield) through taskRecord.
  let s = (store as Partial<InstrumentedTask>).instrument as TaskStats | undefined;
  if (s === undefined && !("instrument" in store)) s = statsOf(store.taskRecord);
  if (s === undefined || s.state === DONE) {
    current = null;
    return;
  }
  beginResume(s, performance.now());
  current = s;
}

function onAfter(): void {
  const s = current;
  if (s === null) return;
  current = null;
  endResume(s, performance.now());
}

function beginResume(s: TaskStats, now: number): void {
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
  if (s.joining !== undefined) {
    s.joining = undefined;
    s.joiningMore = 0;
  }
}

function endResume(s: TaskStats, now: number): void {
  const f = s.f;
  const seg = now - f[F_SINCE]!;
  f[F_BUSY]! += seg;
  const d = seg + f[F_ACC]!;
  f[F_ACC] = 0;
  f[F_LAST] = d;
  if (d > f[F_MAXRES]!) f[F_MAXRES] = d;
  recordResume(s, d);
  const rh = s.sink.resumeHist;
  if (rh !== null) rh.record(d / 1000, s.sink.attrs);
  if (d >= blockedMs) resumeEpisode(s, d);
  if (s.ended) {
    s.state = DONE;
    finalize(s, now);
  } else {
    s.state = IDLE;
    f[F_SINCE] = now;
  }
}

/** Closes the open state of an ended task and hands it to its sink. */
function finalize(s: TaskStats, now: number): void {
  const f = s.f;
  const st = s.state;
  if (st === IDLE) f[F_IDLE]! += now - f[F_SINCE]!;
  else if (st === SCHEDULED) f[F_SCHED]! += now - f[F_SINCE]!;
  else if (st === RUNNING) f[F_BUSY]! += now - f[F_SINCE]!;
  s.state = DONE;
  f[F_SINCE] = now;
  f[F_END] = now;
  s.handle = undefined;
  s.sink.finished(s);
}

// ---------------------------------------------------------------------------------------------
// Blocked episodes

const MAX_EPISODES = 50;
const episodes: BlockedEpisode[] = [];
let episodeCount = 0;
let episodeMsTotal = 0;
let supervisorFed = false;
const episodeListeners = new Set<(e: BlockedEpisode) => void>();

function pushEpisode(e: BlockedEpisode): void {
  episodes.push(e);
  if (episodes.length > MAX_EPISODES) episodes.shift();
  episodeCount++;
  episodeMsTotal += e.durationMs;
  for (const fn of episodeListeners) {
    try {
      fn(e);
    } catch {
      // A metrics exporter's failure must not reach the task that resumed.
    }
  }
}

function resumeEpisode(s: TaskStats, d: number): void {
  if (supervisorFed) return; // the supervisor reports these, with a stack
  lastResumeEpisodeAt = performance.now();
  const task = s.name === undefined ? { id: s.id } : { id: s.id, name: s.name };
  pushEpisode({ atMs: Math.round(performance.timeOrigin + lastResumeEpisodeAt), durationMs: round3(d), source: "resume", task });
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The hooks object and the registry

/** A wait queue as the registry keeps it. */
export interface QueueEntry {
  readonly ref: WeakRef<object>;
  readonly seq: number;
}

class Collector implements InstrumentHooks {
  readonly sinks = new Map<unknown, TaskSink>();
  readonly queues: QueueEntry[] = [];
  private queueSeq = 0;

  taskSpawned(task: InstrumentedTask, host: unknown): void {
    const sink = this.sinks.get(host);
    if (sink === undefined) return;
    const h = task as unknown as JoinHandle<unknown>;
    if (h.site === undefined) h.site = siteFor((h as unknown as { fn?: unknown }).fn);
    const parent = als.getStore()?.taskRecord?.id;
    const s = new TaskStats(sink, h, parent, performance.now());
    h.instrument = s;
    sink.link(s);
  }

  pollStart(task: InstrumentedTask): void {
    const s = task.instrument as TaskStats | undefined;
    if (s === undefined) return;
    const now = performance.now();
    const cur = current;
    if (cur !== null) {
      const seg = now - cur.f[F_SINCE]!;
      cur.f[F_BUSY]! += seg;
      cur.f[F_ACC]! += seg;
    }
    interrupted.push(cur);
    beginResume(s, now);
    current = s;
  }

  pollEnd(task: InstrumentedTask): void {
    const s = task.instrument as TaskStats | undefined;
    if (s === undefined) return;
    const now = performance.now();
    if (s.state === RUNNING) endResume(s, now);
    const prev = interrupted.pop() ?? null;
    if (prev !== null) prev.f[F_SINCE] = now;
    current = prev;
  }

  taskWoken(task: TaskLike): void {
    const s = statsOf(task);
    if (s === undefined || s.state !== IDLE) return;
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
    if (s.state !== RUNNING || current !== s) finalize(s, performance.now());
  }

  taskJoined(task: InstrumentedTask): void {
    const me = statsOf(als.getStore()?.taskRecord);
    if (me === undefined || me === task.instrument || me.state === DONE) return;
    if (me.joining === undefined) me.joining = { id: task.id, name: task.name };
    else me.joiningMore++;
  }

  queueCreated(queue: object): void {
    this.queues.push({ ref: new WeakRef(queue), seq: ++this.queueSeq });
  }

  blocked(e: BlockedEventLike): void {
    if (e === null || typeof e !== "object" || typeof e.blockedMs !== "number") return;
    if (e.thread !== undefined && e.thread !== "main") return; // a worker's loop: not this view's tasks
    supervisorFed = true;
    const top = e.stack?.[0];
    const ep: BlockedEpisode = { atMs: typeof e.at === "number" && e.at > 1e12 ? e.at : Date.now(), durationMs: round3(e.blockedMs), source: "supervisor" };
    if (e.task !== undefined) {
      ep.task = e.task.name === undefined ? { id: e.task.id } : { id: e.task.id, name: e.task.name };
      for (const sink of this.sinks.values()) {
        const s = findLive(sink, e.task.id);
        if (s !== undefined && e.blockedMs > s.f[F_SUP]!) s.f[F_SUP] = e.blockedMs;
      }
    }
    if (top !== undefined) ep.frame = `${top.functionName || "<anonymous>"} (${top.file ?? "?"}:${top.line ?? 0}:${top.column ?? 0})`;
    pushEpisode(ep);
  }

  /** Drops registry entries whose queue was collected. */
  pruneQueues(): void {
    const q = this.queues;
    let j = 0;
    for (let i = 0; i < q.length; i++) {
      const e = q[i]!;
      if (e.ref.deref() !== undefined) q[j++] = e;
    }
    q.length = j;
  }
}

// ---------------------------------------------------------------------------------------------
// Spawn sites. The console gives every task its spawn site, but a V8 stack capture costs 5–8 µs
// here, several times a whole spawn+join. Unnamed tasks (named ones capture theirs at spawn, per
// configure({ spawnSites })) therefore share the site of earlier tasks spawned with the same
// function source (closures of one spawn call share it): a share is re-verified at the 2nd,
// 4th, 8th, ... spawn, then every 1024th, and a source seen at two different sites is captured
// every time from then on.

interface SiteEntry {
  readonly site: SpawnSite;
  readonly text: string;
  n: number;
  ambiguous: boolean;
}
const siteCache = new Map<string, SiteEntry>();
const MAX_SITE_KEYS = 4096;

function siteFor(fn: unknown): SpawnSite {
  if (typeof fn !== "function") return captureSpawnSite();
  let key: string;
  try {
    key = Function.prototype.toString.call(fn);
  } catch {
    return captureSpawnSite();
  }
  if (key.length > 256) key = `${key.length}:${key.slice(0, 128)}${key.slice(-128)}`;
  const e = siteCache.get(key);
  if (e === undefined) {
    const site = captureSpawnSite();
    if (siteCache.size >= MAX_SITE_KEYS) siteCache.clear();
    siteCache.set(key, { site, text: formatSpawnSite(site), n: 1, ambiguous: key.endsWith("[native code] }") });
    return site;
  }
  if (e.ambiguous) return captureSpawnSite();
  const n = ++e.n;
  // Verified at the 2nd, 4th, 8th, ... 1024th spawn, then every 1024th (formatting a capture
  // costs tens of µs).
  if ((n & (n - 1)) !== 0 && (n & 1023) !== 0) return e.site;
  const site = captureSpawnSite();
  if (formatSpawnSite(site) === e.text) return e.site;
  e.ambiguous = true;
  return site;
}

function findLive(sink: TaskSink, id: number): TaskStats | undefined {
  for (let s = sink.head; s !== null; s = s.next) if (s.id === id) return s;
  return undefined;
}

const collector = new Collector();
const sinkBlockedMs = new Map<unknown, number>();

// ---------------------------------------------------------------------------------------------
// Loop sampler: ELU, loop delay, blocked episodes the resumes did not explain.

/** What the header shows about the loop, as of the last sampling tick (every second). */
const loopStats = { elu: 0, delayP99Ms: 0, delayMaxMs: 0 };

/**
 * The loop's figures for a header: over the window since the last tick when it is long enough
 * (a quarter second), else the last complete window's.
 */
export function loopNow(): { elu: number; delayP99Ms: number; delayMaxMs: number } {
  const now = performance.now();
  if (prevElu === undefined || now - lastTick < 250) return { ...loopStats };
  const elu = Math.round(performance.eventLoopUtilization(prevElu).utilization * 1000) / 1000;
  const d = delay;
  if (d === undefined || d.count === 0) return { elu, delayP99Ms: loopStats.delayP99Ms, delayMaxMs: loopStats.delayMaxMs };
  return { elu, delayP99Ms: lateMs(d.percentile(99)), delayMaxMs: lateMs(d.max) };
}

let stopPromiseHooks: (() => void) | undefined;
let delay: IntervalHistogram | undefined;
let sampler: NodeJS.Timeout | undefined;
let prevElu: ReturnType<typeof performance.eventLoopUtilization> | undefined;
let lastTick = 0;
const tickListeners = new Set<(now: number) => void>();

const SAMPLE_MS = 1000;

function sample(): void {
  const now = performance.now();
  const elu = performance.eventLoopUtilization(prevElu);
  prevElu = performance.eventLoopUtilization();
  loopStats.elu = Math.round(elu.utilization * 1000) / 1000;
  if (delay !== undefined) {
    const ok = delay.count > 0;
    loopStats.delayP99Ms = ok ? lateMs(delay.percentile(99)) : 0;
    loopStats.delayMaxMs = ok ? lateMs(delay.max) : 0;
    delay.reset();
    // A stall no resume explains (code outside tasks, a timer callback, GC): the loop saw it.
    if (!supervisorFed && loopStats.delayMaxMs >= blockedMs && lastResumeEpisodeAt < lastTick) {
      pushEpisode({ atMs: Date.now(), durationMs: loopStats.delayMaxMs, source: "loop" });
    }
  }
  lastTick = now;
  collector.pruneQueues();
  for (const fn of tickListeners) {
    try {
      fn(now);
    } catch {
      // Keep sampling.
    }
  }
}

const DELAY_RESOLUTION_MS = 10;

/** The histogram records each interval of its timer (ns), resolution included: how late it was, in ms. */
function lateMs(ns: number): number {
  return round3(Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS));
}

function install(): void {
  current = null;
  interrupted.length = 0;
  stopPromiseHooks = v8.promiseHooks.createHook({ before: onBefore, after: onAfter }) as () => void;
  setInstrumentHooks(collector);
  delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  delay.enable();
  prevElu = performance.eventLoopUtilization();
  lastTick = performance.now();
  sampler = setInterval(sample, SAMPLE_MS);
  sampler.unref();
}

function uninstall(): void {
  setInstrumentHooks(null);
  stopPromiseHooks?.();
  stopPromiseHooks = undefined;
  current = null;
  interrupted.length = 0;
  delay?.disable();
  delay = undefined;
  if (sampler !== undefined) clearInterval(sampler);
  sampler = undefined;
  // Queues created from now on are not seen; forget the old ones too (a later console starts clean).
  collector.queues.length = 0;
}

/** @internal Starts collecting for the tasks of `host` (a runtime); installs the hooks on first use. */
export function attach(host: unknown, sink: TaskSink, lintBlockedMs: number): void {
  if (collector.sinks.size === 0) install();
  collector.sinks.set(host, sink);
  sinkBlockedMs.set(host, lintBlockedMs);
  blockedMs = Math.min(...sinkBlockedMs.values());
}

/** @internal Stops collecting for `host`; removes every hook when it was the last. */
export function detach(host: unknown): void {
  if (!collector.sinks.delete(host)) return;
  sinkBlockedMs.delete(host);
  if (collector.sinks.size === 0) {
    uninstall();
    blockedMs = 100;
  } else {
    blockedMs = Math.min(...sinkBlockedMs.values());
  }
}

/** True while any console is on: the promise hooks and core hooks are installed. */
export function instrumentationActive(): boolean {
  return stopPromiseHooks !== undefined;
}

/** @internal The wait queues seen since the hooks were installed (some may be collected). */
export function registeredQueues(): readonly QueueEntry[] {
  return collector.queues;
}

/** @internal Blocked episodes: the latest ones, and the totals since the process started collecting. */
export function blockedEpisodes(): { list: readonly BlockedEpisode[]; count: number; totalMs: number } {
  return { list: episodes, count: episodeCount, totalMs: episodeMsTotal };
}

/** @internal Called with each blocked episode (the metrics record them). */
export function onEpisode(fn: (e: BlockedEpisode) => void): () => void {
  episodeListeners.add(fn);
  return () => void episodeListeners.delete(fn);
}

/** @internal Called every sampling tick (retention eviction, stream deltas). */
export function onTick(fn: (now: number) => void): () => void {
  tickListeners.add(fn);
  return () => void tickListeners.delete(fn);
}

/** @internal The task whose resume runs now, if the console sees one. */
export function currentStats(): TaskStats | null {
  return current;
}
