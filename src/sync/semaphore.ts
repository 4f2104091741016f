import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import type { TaskLike } from "../core/context.js";
import { acquireSite, type Hold, holdSites, taskIds } from "../core/holds.js";
import { checkInteger, typeName } from "../util/validate.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { SemaphoreClosedError } from "../errors.js";
import { entryTask, fastEntry, hasWaiters, label, released, runningTask, type SyncOptions } from "./shared.js";

/**
 * Permits taken from a Semaphore, returned by `release()` (or at the end of the `using` block
 * that holds it: `using p = await sem.acquire()`). Like tokio's `SemaphorePermit`.
 */
export interface Permit extends Disposable {
  /** How many permits it holds now (what it was acquired with, less what was split off, plus what was merged in). */
  readonly count: number;
  /** Returns the permits to the semaphore. Idempotent: a second call (or one after `forget()`) does nothing. Never throws. */
  release(): void;
  /** Drops the permits without returning them: the semaphore has that many fewer for good (until `addPermits`). Never throws. */
  forget(): void;
  /**
   * Moves `n` of its permits into a new Permit of the same semaphore (tokio's `split`); this one
   * keeps the rest. Each is then released on its own. `split(0)` gives an empty permit.
   * @returns undefined when it holds fewer than `n` (nothing changes).
   * @throws TypeError/RangeError when `n` is not an integer >= 0; Error when this permit was
   *   already released or forgotten.
   */
  split(n: number): Permit | undefined;
  /**
   * Moves every permit `other` holds into this one (tokio's `merge`); `other` is left empty and
   * releasing it does nothing.
   * @throws TypeError when `other` is not a permit of the same semaphore, or is this permit;
   *   Error when either was already released or forgotten (nothing changes).
   */
  merge(other: Permit): void;
}

class SemState implements Resource<Permit, number> {
  permits: number;
  /** Permits in circulation (free plus held): the initial ones, plus added, less forgotten. */
  capacity: number;
  closed = false;
  readonly q: WaitQueue<Permit, number>;
  readonly name: string;
  readonly what1: string;
  /** Permits held now, newest first (an intrusive list through SemaphorePermit), for the deadlock detector. */
  holdHead: SemaphorePermit | null = null;
  /**
   * Started with no permits or was given some with addPermits: a counting semaphore, whose
   * permits any code may add, so waiting on it never counts as certainly stuck.
   */
  counting: boolean;
  readonly kind = "semaphore";
  constructor(permits: number, name: string) {
    this.permits = this.capacity = permits;
    this.counting = permits === 0;
    this.name = name;
    this.what1 = `acquire 1 on ${name}`;
    this.q = new WaitQueue<Permit, number>(this, this.what1);
    this.q.graph = true;
  }
  ready(n: number): boolean {
    return this.closed || this.permits >= n;
  }
  take(n: number, task: TaskLike | undefined): Permit {
    if (this.closed) throw new SemaphoreClosedError();
    this.permits -= n;
    if (hooks !== null) hooks.resource(this.q, RESOURCE_ACQUIRE, n);
    const p = new SemaphorePermit(this, n, task, taskIds.next);
    if (acquireSite !== null && task !== undefined) acquireSite(p, this.q);
    return p;
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "Semaphore", op: "acquire", label: this.name, available: this.permits, capacity: this.capacity, closed: this.closed };
  }
}

class SemaphorePermit implements Permit, Hold {
  #s: SemState | undefined;
  #count: number;
  /** @internal The hold (core/holds.ts): who took these permits. Permits are on no task's held stack. */ task: TaskLike | undefined;
  /** @internal */ seq: number;
  /** @internal */ heldNext: Hold | null = null;
  /** @internal The semaphore's list of holds. */ pPrev: SemaphorePermit | null = null;
  /** @internal */ pNext: SemaphorePermit | null;
  constructor(s: SemState, count: number, task: TaskLike | undefined, seq: number) {
    this.#s = s;
    this.#count = count;
    this.task = task;
    this.seq = seq;
    const head = s.holdHead;
    this.pNext = head;
    if (head !== null) head.pPrev = this;
    s.holdHead = this;
  }
  get count(): number {
    return this.#count;
  }
  /** Off the semaphore's list of holds (private: a permit's public surface has no such method). */
  #detach(s: SemState): void {
    if (this.pPrev !== null) this.pPrev.pNext = this.pNext;
    else if (s.holdHead === this) s.holdHead = this.pNext;
    if (this.pNext !== null) this.pNext.pPrev = this.pPrev;
    this.pPrev = this.pNext = null;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    this.#detach(s);
    if (this.#count === 0) return;
    if (hooks !== null) hooks.resource(s.q, RESOURCE_RELEASE, this.#count);
    s.permits += this.#count;
    s.q.pump();
  }
  forget(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    if (hooks !== null && this.#count > 0) hooks.resource(s.q, RESOURCE_RELEASE, this.#count);
    this.#detach(s);
    s.capacity -= this.#count;
  }
  split(n: number): Permit | undefined {
    checkInteger(n, "n", 0);
    const s = this.#s;
    if (s === undefined) throw released("Permit");
    if (n > this.#count) return undefined;
    this.#count -= n;
    const p = new SemaphorePermit(s, n, this.task, this.seq);
    if (acquireSite !== null) {
      const site = holdSites.get(this);
      if (site !== undefined) holdSites.set(p, site);
    }
    return p;
  }
  merge(other: Permit): void {
    if (!(other instanceof SemaphorePermit)) throw new TypeError(`other must be a Permit of a Semaphore, got ${typeName(other)}`);
    if (other === this) throw new TypeError("other must be another permit, not this one");
    const s = this.#s;
    if (s === undefined) throw released("Permit");
    if (other.#s === undefined) throw released("Permit (other)");
    if (other.#s !== s) throw new TypeError("other must be a permit of the same semaphore");
    this.#count += other.#count;
    other.#count = 0;
    other.#s = undefined;
    other.#detach(s);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A counting semaphore, like tokio's (its batch_semaphore semantics): `acquire(n)` waits until `n`
 * permits are free and takes them together.
 *
 * Fair: waiters are served strictly first-in, first-out. A waiter asking for more permits than
 * are free blocks everyone behind it, so a large `acquire(n)` is never starved by a stream of
 * small ones; permits released meanwhile stay with the semaphore for it.
 *
 * Cancel safety: `acquire()` is cancel-safe and select-safe (a withdrawn call holds no permit
 * and keeps no place in line). Waits carry `acquire N on Semaphore` for dumps.
 *
 * Deadlocks: an `acquire(n)` that can only be served once permits come back from tasks that all
 * wait, directly or not, for this task rejects with DeadlockError. Detection is conservative: a
 * semaphore that started with 0 permits or was ever given some with `addPermits` counts as a
 * counting semaphore (any code may add permits), and waits on it are never reported.
 */
export class Semaphore {
  /**
   * The most permits a semaphore can have in circulation (free plus held): Number.MAX_SAFE_INTEGER,
   * so every count stays exact (tokio's `MAX_PERMITS` is `usize::MAX >> 3`).
   */
  static readonly MAX_PERMITS = Number.MAX_SAFE_INTEGER;

  readonly #s: SemState;

  /**
   * @param permits the permits it starts with; 0 is allowed (acquires wait for `addPermits`).
   * @param opts `name` labels its waits in dumps.
   * @throws TypeError/RangeError when `permits` is not an integer in [0, MAX_PERMITS]; TypeError
   *   for malformed `opts`.
   */
  constructor(permits: number, opts?: SyncOptions) {
    checkInteger(permits, "permits", 0);
    this.#s = new SemState(permits, label("Semaphore", opts));
  }

  /**
   * Waits until `n` permits are free and no one queued before this call, then takes them.
   *
   * Like tokio's `acquire_many`, a call asking for more permits than the semaphore holds now (a
   * `Semaphore(0)`, or more than its initial permits) waits for `addPermits` rather than failing:
   * counting completions with a zero-permit semaphore is a standard pattern. Since waiters are
   * served first-in, first-out, such a call also holds back every acquire queued behind it until
   * it is satisfied, withdrawn (`opts.signal`) or the semaphore is closed.
   *
   * Cancel-safe and select-safe: a call withdrawn by `opts.signal`, the task's cancellation or a
   * winning select branch leaves the queue holding no permit; it rejects with the signal's reason
   * (CancelledError for a cancelled task). If it was first in line, the waiters behind it are
   * served at once if they can be.
   * @param n permits to take, default 1.
   * @throws TypeError/RangeError (synchronously) when `n` is not an integer >= 1, TypeError for
   *   malformed `opts`. The promise rejects with SemaphoreClosedError once the semaphore is
   *   closed (also while waiting).
   */
  acquire(n = 1, opts?: WaitOptions): Promise<Permit> {
    const s = this.#s;
    if (n !== 1) checkInteger(n, "n", 1);
    if (s.permits >= n && !s.closed && s.q.idle && fastEntry(opts)) {
      s.permits -= n;
      return Promise.resolve(new SemaphorePermit(s, n, entryTask, taskIds.next));
    }
    s.q.what = n === 1 ? s.what1 : `acquire ${n} on ${s.name}`;
    return s.q.wait(n, opts);
  }

  /**
   * Takes `n` permits if they are free and no one is queued; undefined otherwise (also when `n`
   * is more than the semaphore holds). Never waits.
   * @throws TypeError/RangeError when `n` is not an integer >= 1; SemaphoreClosedError when the
   *   semaphore is closed.
   */
  tryAcquire(n = 1): Permit | undefined {
    const s = this.#s;
    if (n !== 1) checkInteger(n, "n", 1);
    if (s.closed) throw new SemaphoreClosedError();
    if (s.permits < n || hasWaiters(s.q)) return undefined;
    s.permits -= n;
    return new SemaphorePermit(s, n, runningTask(), taskIds.next);
  }

  /**
   * Adds `n` permits (0 is allowed and does nothing), waking waiters they satisfy, in order. Also
   * allowed after `close()` (the permits count in `available`; acquires still reject).
   * @throws TypeError/RangeError when `n` is not an integer >= 0, or when the permits in
   *   circulation (free plus held) would pass {@link Semaphore.MAX_PERMITS}.
   */
  addPermits(n: number): void {
    checkInteger(n, "n", 0);
    const s = this.#s;
    if (s.capacity + n > Semaphore.MAX_PERMITS) {
      throw new RangeError(`n is too large: the semaphore would hold more than Semaphore.MAX_PERMITS (Number.MAX_SAFE_INTEGER) permits, got ${n}`);
    }
    s.capacity += n;
    s.permits += n;
    if (n > 0) s.counting = true;
    s.q.pump();
  }

  /**
   * Takes up to `n` free permits away for good (tokio's `forget_permits`): fewer if fewer are free
   * (permits held are not touched; `Permit.forget()` drops those). Also allowed after `close()`.
   * Never waits.
   * @returns how many permits it took away.
   * @throws TypeError/RangeError when `n` is not an integer >= 0.
   */
  forgetPermits(n: number): number {
    checkInteger(n, "n", 0);
    const s = this.#s;
    const taken = Math.min(n, s.permits);
    s.permits -= taken;
    s.capacity -= taken;
    return taken;
  }

  /**
   * Closes the semaphore: every queued `acquire` and every later one rejects with
   * SemaphoreClosedError (tryAcquire throws it). Permits already held stay valid and may still be
   * released. Idempotent.
   */
  close(): void {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    s.q.failAll(new SemaphoreClosedError());
  }

  /**
   * Permits free now. While the first waiter in line needs more than this, they are kept for it
   * (tryAcquire and new acquires do not take them).
   */
  get available(): number {
    return this.#s.permits;
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#s.closed;
  }

  /** Acquires waiting. */
  get waiting(): number {
    return this.#s.q.length;
  }
}
