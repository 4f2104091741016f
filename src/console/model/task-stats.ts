/**
 * The console's record of one task: what the instrumentation updates on every resume, and what
 * snapshots are built from. Times are performance.now() ms unless a name says epoch.
 */
import type { JoinHandle } from "../../task/join-handle.js";
import type { SpawnSite } from "../../task/spawn-site.js";
import { BUCKETS, bucketOf } from "./histogram.js";
import type { TaskOutcome } from "./types.js";

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
  /** Resumes before this (performance.now()) are start-up: the slow-resume lint ignores them. */
  readonly lintFrom: number;
  /** Work in its tasks' context that was not theirs (see ConsoleHeader.outside). */
  readonly outside: { resumes: number; busyMs: number };
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
/** The longest resume that began after start-up (the one the slow-resume lint looks at). */
export const F_MAXLINT = 12;
/**
 * The first INLINE resume durations, then the first INLINE scheduling delays: most tasks are
 * short, and a full histogram (2 × 28 buckets) per task made every retained task three times
 * bigger. A task's ninth value moves them all into `TaskStats.hist` (a request with a handful of
 * awaits stays inline: the move was most of the console's allocation per request).
 */
export const F_FIRST = 13;
export const F_SFIRST = F_FIRST + 8;
const INLINE = 8;
const F_LEN = F_SFIRST + INLINE;

function newFields(): number[] {
  // A literal is cloned from its boilerplate; the 0.5 makes it a packed double array.
  // prettier-ignore
  const f = [0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
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

/** Counts one resume duration (ms) in the task's histogram. */
export function recordResume(s: TaskStats, d: number): void {
  const h = s.hist;
  if (h !== null) h[bucketOf(d)]!++;
  else if (s.nres < INLINE) s.f[F_FIRST + s.nres] = d;
  else migrate(s)[bucketOf(d)]!++;
  s.nres++;
}

/** Counts one scheduling delay (ms) in the task's histogram. */
export function recordSched(s: TaskStats, d: number): void {
  const h = s.hist;
  if (h !== null) h[BUCKETS + bucketOf(d)]!++;
  else if (s.nsched < INLINE) s.f[F_SFIRST + s.nsched] = d;
  else migrate(s)[BUCKETS + bucketOf(d)]!++;
  s.nsched++;
}

/** The console's record of one task. The instrumentation updates it on every resume. */
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
  /**
   * The steward waits it has pending, oldest first: `wait0`, then `moreWaits`. The oldest is the
   * task's own (its code is sequential); more appear when code running in its context that is not
   * its own (a server's callbacks in main's frame) waits too. While any is pending, a reaction in
   * its context is not its own code continuing (see ConsoleHeader.outside). Most tasks never have
   * two: the first needs no allocation.
   */
  wait0: string | undefined = undefined;
  moreWaits: string[] | null = null;
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
  /** The longest resume after start-up: what the slow-resume lint looks at. */
  get maxLintedResume(): number {
    return this.f[F_MAXLINT]!;
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
