import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import { checkInteger } from "../core/validate.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { SemaphoreClosedError } from "../errors.js";
import { fastEntry, hasWaiters, label, type SyncOptions } from "./shared.js";

/**
 * Permits taken from a Semaphore, returned by `release()` (or at the end of the `using` block
 * that holds it: `using p = await sem.acquire()`). Like tokio's `SemaphorePermit`. Its methods
 * never throw.
 */
export interface Permit extends Disposable {
  /** How many permits it was acquired with. */
  readonly count: number;
  /** Returns the permits to the semaphore. Idempotent: a second call (or one after `forget()`) does nothing. */
  release(): void;
  /** Drops the permits without returning them: the semaphore has that many fewer for good (until `addPermits`). */
  forget(): void;
}

class SemState implements Resource<Permit, number> {
  permits: number;
  /** The most it can ever hold: the initial permits plus every addPermits. */
  capacity: number;
  closed = false;
  readonly q: WaitQueue<Permit, number>;
  readonly name: string;
  readonly what1: string;
  constructor(permits: number, name: string) {
    this.permits = this.capacity = permits;
    this.name = name;
    this.what1 = `acquire 1 on ${name}`;
    this.q = new WaitQueue<Permit, number>(this, this.what1);
  }
  ready(n: number): boolean {
    return this.closed || this.permits >= n;
  }
  take(n: number): Permit {
    if (this.closed) throw new SemaphoreClosedError();
    this.permits -= n;
    return new P(this, n);
  }
  check(n: number): void {
    checkInteger(n, "n", 1);
    if (n > this.capacity) {
      throw new RangeError(`n must be at most ${this.capacity}, the permits this ${this.name} can ever hold (initial plus added), got ${n}`);
    }
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "Semaphore", op: "acquire", label: this.name, available: this.permits, capacity: this.capacity, closed: this.closed };
  }
}

class P implements Permit {
  #s: SemState | undefined;
  constructor(
    s: SemState,
    readonly count: number,
  ) {
    this.#s = s;
    if (hooks !== null) hooks.resource(s.q, RESOURCE_ACQUIRE, count);
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    if (hooks !== null) hooks.resource(s.q, RESOURCE_RELEASE, this.count);
    s.permits += this.count;
    s.q.pump();
  }
  forget(): void {
    this.#s = undefined;
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
 */
export class Semaphore {
  readonly #s: SemState;

  /**
   * @param permits the permits it starts with; 0 is allowed (add some with `addPermits`).
   * @param opts `name` labels its waits in dumps.
   * @throws TypeError/RangeError when `permits` is not an integer >= 0; TypeError for malformed `opts`.
   */
  constructor(permits: number, opts?: SyncOptions) {
    checkInteger(permits, "permits", 0);
    this.#s = new SemState(permits, label("Semaphore", opts));
  }

  /**
   * Waits until `n` permits are free and no one queued before this call, then takes them.
   *
   * Cancel-safe and select-safe: a call withdrawn by `opts.signal`, the task's cancellation or a
   * winning select branch leaves the queue holding no permit; it rejects with the signal's reason
   * (CancelledError for a cancelled task). If it was first in line, the waiters behind it are
   * served at once if they can be.
   * @param n permits to take, default 1.
   * @throws TypeError/RangeError (synchronously) when `n` is not an integer >= 1, RangeError when
   *   it is more than the semaphore can ever hold (its initial permits plus all added), TypeError
   *   for malformed `opts`. The promise rejects with SemaphoreClosedError once the semaphore is
   *   closed (also while waiting).
   */
  acquire(n = 1, opts?: WaitOptions): Promise<Permit> {
    const s = this.#s;
    if (n !== 1 || s.capacity === 0) s.check(n);
    if (s.permits >= n && !s.closed && s.q.idle && fastEntry(opts)) {
      s.permits -= n;
      return Promise.resolve(new P(s, n));
    }
    s.q.what = n === 1 ? s.what1 : `acquire ${n} on ${s.name}`;
    return s.q.wait(n, opts);
  }

  /**
   * Takes `n` permits if they are free and no one is queued; undefined otherwise. Never waits.
   * @throws as `acquire` for a bad `n`; SemaphoreClosedError when the semaphore is closed.
   */
  tryAcquire(n = 1): Permit | undefined {
    const s = this.#s;
    if (n !== 1 || s.capacity === 0) s.check(n);
    if (s.closed) throw new SemaphoreClosedError();
    if (s.permits < n || hasWaiters(s.q)) return undefined;
    s.permits -= n;
    return new P(s, n);
  }

  /**
   * Adds `n` permits (0 is allowed and does nothing), waking waiters they satisfy, in order.
   * @throws TypeError/RangeError when `n` is not an integer >= 0 or the total would pass
   *   Number.MAX_SAFE_INTEGER.
   */
  addPermits(n: number): void {
    checkInteger(n, "n", 0);
    const s = this.#s;
    if (s.capacity + n > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`n is too large: the semaphore would hold more than Number.MAX_SAFE_INTEGER permits, got ${n}`);
    }
    s.capacity += n;
    s.permits += n;
    s.q.pump();
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
