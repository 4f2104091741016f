import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import type { TaskLike } from "../core/context.js";
import { acquireSite, diag, type OrderedHold, type OrderedLock, popHold, pushHold, replaceHold, taskIds } from "../core/holds.js";
import { checkFunction } from "../util/validate.js";
import { readyNow, readyTask, type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { entryTask, fastEntry, hasWaiters, label, type LockOptions, orderBeforeWait, rankOf, released, runGuarded, runningTask } from "./shared.js";

/**
 * Exclusive access to a Mutex's value, from `lock()` until `release()` (or the end of the
 * `using` block that holds it: `using g = await m.lock()`). Reading or writing `value` after
 * release throws an Error; `release()` itself never throws.
 */
export interface MutexGuard<T> extends Disposable {
  /** The protected value; assigning it replaces the mutex's value. */
  value: T;
  /** Unlocks the mutex, handing it to the next waiter in line. Idempotent: a second call does nothing. */
  release(): void;
  /**
   * A guard of a part of the value (tokio's `MutexGuard::map`): the lock moves to the returned
   * guard, which releases it, and this guard becomes released (reading `value` throws, `release`
   * does nothing). Hand it to code that should see only that part.
   * @param fn picks the part; it runs once, now. If it throws, nothing changes: this guard still
   *   holds the lock.
   * @throws TypeError when `fn` is not a function; Error when this guard was already released;
   *   whatever `fn` throws.
   */
  map<U>(fn: (value: T) => U): MappedMutexGuard<U>;
}

/**
 * A guard of a part of a Mutex's value, from {@link MutexGuard.map}: the mutex stays locked until
 * it is released (or disposed). Its `value` is the part `map` picked, read-only: to replace the
 * whole value keep the original guard; an object part can be changed in place.
 */
export interface MappedMutexGuard<U> extends Disposable {
  /** The part. Throws after release. */
  readonly value: U;
  /** Unlocks the mutex. Idempotent. */
  release(): void;
  /** A guard of a part of this part; the lock moves to it, as {@link MutexGuard.map}. */
  map<V>(fn: (value: U) => V): MappedMutexGuard<V>;
}

class MutexState<T> implements Resource<MutexGuard<T>, undefined>, OrderedLock {
  locked = false;
  /** The guard holding it now (for the deadlock detector and dumps). */
  hold: OrderedHold | undefined = undefined;
  readonly kind = "mutex";
  orderClass: unknown = undefined;
  readonly q: WaitQueue<MutexGuard<T>>;
  constructor(
    public value: T,
    readonly label: string,
    readonly name: string | undefined,
    readonly rank: number | undefined,
  ) {
    this.q = new WaitQueue<MutexGuard<T>>(this, `lock on ${label}`);
    this.q.graph = true;
  }
  ready(): boolean {
    return !this.locked;
  }
  take(_: undefined, task: TaskLike | undefined): MutexGuard<T> {
    this.locked = true;
    return new Guard(this, task);
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "Mutex", op: "lock", label: this.q.what.slice("lock on ".length), locked: this.locked, ...(this.hold?.task === undefined ? {} : { holder: this.hold.task.id }) };
  }
  /** Ends hold `h` (the one holding it) and hands the lock on. */
  unlock(h: OrderedHold): void {
    if (hooks !== null) hooks.resource(this.q, RESOURCE_RELEASE, 1);
    popHold(h);
    this.hold = undefined;
    this.locked = false;
    if (this.q.head !== null) this.q.pump();
  }
}

/** @internal Runs a guard's `map` callback; the lock moves only when it returns. */
function pick<A, B>(fn: (value: A) => B, value: A): B {
  checkFunction(fn, "fn");
  return fn(value);
}

class Guard<T> implements MutexGuard<T>, OrderedHold {
  #s: MutexState<T> | undefined;
  /** @internal The hold (core/holds.ts). */ task: TaskLike | undefined;
  /** @internal */ seq: number;
  /** @internal */ heldNext: OrderedHold | null = null;
  /** @internal */ readonly lock: MutexState<T>;
  constructor(s: MutexState<T>, task: TaskLike | undefined) {
    this.#s = s;
    this.lock = s;
    this.task = task;
    this.seq = taskIds.next;
    s.hold = this;
    if (task !== undefined) {
      pushHold(task, this);
      if (acquireSite !== null) acquireSite(this, s.q);
    }
    if (hooks !== null) hooks.resource(s.q, RESOURCE_ACQUIRE, 1);
  }
  get value(): T {
    if (this.#s === undefined) throw released("MutexGuard");
    return this.#s.value;
  }
  set value(v: T) {
    if (this.#s === undefined) throw released("MutexGuard");
    this.#s.value = v;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlock(this);
  }
  map<U>(fn: (value: T) => U): MappedMutexGuard<U> {
    const s = this.#s;
    if (s === undefined) throw released("MutexGuard");
    const part = pick(fn, s.value);
    if (this.#s !== s) throw released("MutexGuard"); // fn released it
    this.#s = undefined;
    return new MappedGuard(s as MutexState<unknown>, part, this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class MappedGuard<U> implements MappedMutexGuard<U>, OrderedHold {
  #s: MutexState<unknown> | undefined;
  readonly #part: U;
  /** @internal The hold, moved here from the guard it was mapped from. */ task: TaskLike | undefined = undefined;
  /** @internal */ seq = 0;
  /** @internal */ heldNext: OrderedHold | null = null;
  /** @internal */ readonly lock: MutexState<unknown>;
  constructor(s: MutexState<unknown>, part: U, from: OrderedHold) {
    this.#s = s;
    this.lock = s;
    this.#part = part;
    replaceHold(from, this);
    s.hold = this;
  }
  get value(): U {
    if (this.#s === undefined) throw released("MappedMutexGuard");
    return this.#part;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlock(this);
  }
  map<V>(fn: (value: U) => V): MappedMutexGuard<V> {
    const s = this.#s;
    if (s === undefined) throw released("MappedMutexGuard");
    const part = pick(fn, this.#part);
    if (this.#s !== s) throw released("MappedMutexGuard");
    this.#s = undefined;
    return new MappedGuard(s, part, this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * An async mutex holding a value, like tokio's `Mutex<T>`: `lock()` waits until no one else holds
 * it and returns a guard through which the value is read and written.
 *
 * Fair: waiters are served strictly first-in, first-out, and an unlock hands the mutex straight
 * to the next waiter, so a caller that did not wait can never barge ahead of one that does.
 *
 * Cancel safety: `lock()` is cancel-safe and select-safe (a withdrawn call holds nothing and
 * keeps no place in line). Every wait carries `lock on Mutex` (or `lock on Mutex "name"`) for
 * dumps and stuck-task reports.
 *
 * Deadlocks: a `lock()` in a task that parks so that tasks wait on each other in a cycle (this
 * task holding a lock another one waits for) rejects with DeadlockError; see
 * `configure({ deadlocks, lockOrder })` and `opts.rank` for the lock-order checks.
 *
 * ```ts
 * const m = new Mutex({ hits: 0 });
 * {
 *   using g = await m.lock();
 *   g.value.hits++;
 * } // unlocked here
 * ```
 */
export class Mutex<T = void> {
  readonly #s: MutexState<T>;

  /**
   * @param value the protected value (none for a plain lock: `new Mutex()`).
   * @param opts `name` labels its waits in dumps (and names its lock class for the lock-order
   *   checks: locks that share a name share a class); `rank` places it in your lock hierarchy.
   * @throws TypeError when `opts`, `opts.name` or `opts.rank` is malformed; RangeError when
   *   `opts.rank` is not finite.
   */
  constructor(value?: T, opts?: LockOptions) {
    this.#s = new MutexState<T>(value as T, label("Mutex", opts), opts?.name, rankOf(opts));
  }

  /**
   * Waits until the mutex is free, then locks it. Resolves at once (on the cooperative budget,
   * without allocating a waiter) when it is free and no one is queued.
   *
   * Cancel-safe and select-safe: when `opts.signal` aborts, the task is cancelled, or another
   * select branch wins, the call is withdrawn from the queue and holds nothing; it rejects with
   * the signal's reason (CancelledError for a cancelled task). It rejects with DeadlockError when
   * its task parks on it and that closes a cycle of waiting tasks (holding nothing from it), and
   * with LockOrderError under `configure({ lockOrder: "throw" })` when taking it breaks the lock
   * order or a rank.
   * @throws TypeError (synchronously) when `opts` or `opts.signal` is malformed.
   */
  lock(opts?: WaitOptions): Promise<MutexGuard<T>> {
    const s = this.#s;
    // WaitQueue.wait's fast path, inlined so the call sites stay monomorphic (see fastEntry);
    // without options, readyNow skips precheck's option handling.
    if (!s.locked && s.q.idle && (opts === undefined ? readyNow() : fastEntry(opts))) {
      const t = opts === undefined ? readyTask : entryTask;
      if (t !== undefined && t.held !== null && diag !== null) {
        const err = diag.ordered(t, s);
        if (err !== undefined) return Promise.reject(err);
      }
      s.locked = true;
      return Promise.resolve(new Guard(s, t));
    }
    const err = orderBeforeWait(s);
    return err !== undefined ? Promise.reject(err) : s.q.wait(undefined, opts);
  }

  /**
   * Locks the mutex if it is free and no one is waiting for it; undefined otherwise (it never
   * jumps the queue). Never waits, never throws, draws nothing from the cooperative budget.
   */
  tryLock(): MutexGuard<T> | undefined {
    const s = this.#s;
    if (s.locked || hasWaiters(s.q)) return undefined;
    s.locked = true;
    return new Guard(s, runningTask());
  }

  /**
   * Locks, runs `fn` with the guard, and unlocks however `fn` ends; resolves or rejects as `fn`
   * does. Waiting for the lock is cancel-safe as `lock()` is; once `fn` runs it is not withdrawn
   * (it sees the task's cancellation at its own steward waits).
   * @throws TypeError (synchronously) when `fn` is not a function or `opts` is malformed.
   */
  runExclusive<R>(fn: (guard: MutexGuard<T>) => R | PromiseLike<R>, opts?: WaitOptions): Promise<R> {
    checkFunction(fn, "fn");
    return runGuarded(this.lock(opts), fn);
  }

  /** True while someone holds the lock (including a waiter it was just handed to). */
  get isLocked(): boolean {
    return this.#s.locked;
  }

  /** Tasks waiting for the lock. */
  get waiting(): number {
    return this.#s.q.length;
  }
}
