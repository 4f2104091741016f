/**
 * What the synchronisation primitives share: their constructor options, the labels their waits
 * carry in dumps, and the inlined fast path of WaitQueue.wait.
 */
import { takeBudget } from "../core/budget.js";
import { currentFrame, type TaskLike } from "../core/context.js";
import { diag, type OrderedLock } from "../core/holds.js";
import { checkOptions, typeName } from "../util/validate.js";
import { claimSignal, precheck, WaitQueue, type WaitOptions } from "../core/waiter.js";

/** Options every synchronisation primitive's constructor takes as its optional last argument. */
export interface SyncOptions {
  /** Shown in dumps and stuck-task reports: a task waiting on it is `lock on Mutex "db"`. */
  name?: string;
}

/** Options of Mutex's and RwLock's constructors. */
export interface LockOptions extends SyncOptions {
  /**
   * The lock's documented rank in your lock hierarchy: a task that holds a lock of a higher rank
   * and takes one of a lower rank is reported at once (see `configure({ lockOrder })`): take
   * locks in increasing rank. Any finite number; locks without a rank are not rank-checked.
   */
  rank?: number;
}

/** @internal Validates `opts.rank` (after {@link label} validated `opts`). */
export function rankOf(opts: LockOptions | undefined): number | undefined {
  const rank = opts?.rank;
  if (rank === undefined) return undefined;
  if (typeof rank !== "number") throw new TypeError(`opts.rank must be a number, got ${typeName(rank)}`);
  if (!Number.isFinite(rank)) throw new RangeError(`opts.rank must be a finite number, got ${rank}`);
  return rank;
}

/** @internal `Mutex`, or `Mutex "db"` when named. Validates `opts`. */
export function label(kind: string, opts: SyncOptions | undefined): string {
  if (opts === undefined) return kind;
  checkOptions(opts, "opts");
  const name = opts.name;
  if (name === undefined) return kind;
  if (typeof name !== "string") throw new TypeError(`opts.name must be a string, got ${typeName(name)}`);
  return `${kind} ${JSON.stringify(name)}`;
}

/** @internal Thrown when a guard or permit is used after release. */
export function released(what: string): TypeError {
  return new TypeError(`this ${what} was already released: it can no longer be used`);
}

/**
 * @internal WaitQueue.wait's fast path, for a caller that has just seen its queue empty and its
 * resource ready: the same checks in the same order (precheck, budget, select claim). True means
 * the caller takes the resource now and resolves at once, without a Waiter; false means it must
 * call `q.wait()`, which redoes the checks and rejects, parks on the budget or queues.
 *
 * Mutex, RwLock and Semaphore use it rather than going through `q.wait()` for their uncontended
 * path because `wait()` calls the resource through one call site shared by every WaitQueue in the
 * process: once channels, joins and locks are all in use that site is megamorphic and an
 * uncontended lock measured ≈ 20-25% slower.
 */
export function fastEntry(opts: WaitOptions | undefined): boolean {
  const e = precheck(opts);
  if (e instanceof Promise) {
    e.catch(ignore); // q.wait() will reject the call with a fresh promise
    return false;
  }
  entryTask = e.task;
  // A precheck that passed implies the claim succeeds (nothing ran in between); claimSignal still
  // has to run, as it is what makes this branch its select's winner.
  return takeBudget() && claimSignal(e.signal);
}

/** @internal The task (or undefined) of the last wait {@link fastEntry} admitted: who takes the lock. */
export let entryTask: TaskLike | undefined;

function ignore(): void {}

/** @internal The task running now, if any (for acquisitions that do not go through a precheck). */
export function runningTask(): TaskLike | undefined {
  return currentFrame()?.taskRecord;
}

/**
 * @internal The lock-order check of an acquire about to wait (the slow path: it reads the task
 * itself). An Error means `lockOrder: "throw"` refused the acquire: reject with it.
 */
export function orderBeforeWait(lock: OrderedLock): Error | undefined {
  const d = diag;
  if (d === null) return undefined;
  const t = currentFrame()?.taskRecord;
  return t === undefined || t.held === null ? undefined : d.ordered(t, lock);
}

/** @internal True when waiters are queued (after pruning any that can no longer be served). */
export function hasWaiters<T, D>(q: WaitQueue<T, D>): boolean {
  if (q.parked > 0) return true;
  if (q.head === null) return false;
  q.pump(); // withdraws select losers still queued; serves nothing a try-op could have taken
  return q.head !== null;
}

/** @internal runExclusive's body: holds the guard for fn's whole run, releases it however fn ends. */
export async function runGuarded<G extends { release(): void }, R>(p: Promise<G>, fn: (g: G) => R | PromiseLike<R>): Promise<R> {
  const g = await p;
  try {
    return await fn(g);
  } finally {
    g.release();
  }
}
