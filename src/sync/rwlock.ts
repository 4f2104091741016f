import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import type { TaskLike } from "../core/context.js";
import { acquireSite, diag, type OrderedHold, type OrderedLock, popHold, pushHold, replaceHold, taskIds } from "../core/holds.js";
import { checkFunction } from "../util/validate.js";
import { entryTask, fastEntry, hasWaiters, label, type LockOptions, orderBeforeWait, rankOf, released, runningTask } from "./shared.js";

/**
 * Shared read access to an RwLock's value until `release()` (or the end of its `using` block).
 * Reading `value` after release throws an Error; `release()` never throws.
 */
export interface ReadGuard<T> extends Disposable {
  /** The protected value. Throws after release. */
  readonly value: T;
  /** Gives up this read hold. Idempotent: a second call does nothing. */
  release(): void;
  /**
   * A read guard of a part of the value (tokio's `RwLockReadGuard::map`): the read hold moves to
   * the returned guard and this one becomes released.
   * @param fn picks the part; it runs once, now. If it throws, nothing changes.
   * @throws TypeError when `fn` is not a function; Error when this guard was already released;
   *   whatever `fn` throws.
   */
  map<U>(fn: (value: T) => U): ReadGuard<U>;
}

/**
 * Exclusive write access to an RwLock's value until `release()` (or the end of its `using`
 * block). Using `value` after release throws an Error; `release()` never throws.
 */
export interface WriteGuard<T> extends Disposable {
  /** The protected value; assigning it replaces the lock's value. Throws after release. */
  value: T;
  /** Unlocks, handing the lock to the next waiters in line. Idempotent: a second call does nothing. */
  release(): void;
  /**
   * Turns the write hold into a read hold without unlocking (tokio's `downgrade`): no writer can
   * get in between, and the readers queued at the head of the line (up to the first queued
   * writer) get in at once. This guard becomes released; the returned one holds the read.
   * @throws Error when this guard was already released.
   */
  downgrade(): ReadGuard<T>;
  /**
   * A write guard of a part of the value (tokio's `RwLockWriteGuard::map`): the write hold moves
   * to the returned guard and this one becomes released.
   * @param fn picks the part; it runs once, now. If it throws, nothing changes.
   * @throws TypeError when `fn` is not a function; Error when this guard was already released;
   *   whatever `fn` throws.
   */
  map<U>(fn: (value: T) => U): MappedWriteGuard<U>;
}

/**
 * Exclusive access to a part of an RwLock's value, from {@link WriteGuard.map}. Its `value` is
 * the part, read-only (an object part can be changed in place; to replace the whole value keep
 * the original guard). The lock stays write-locked until it is released or downgraded.
 */
export interface MappedWriteGuard<U> extends Disposable {
  /** The part. Throws after release. */
  readonly value: U;
  /** Unlocks. Idempotent. */
  release(): void;
  /** Turns the write hold into a read hold of the same part, as {@link WriteGuard.downgrade}. */
  downgrade(): ReadGuard<U>;
  /** A guard of a part of this part; the hold moves to it. */
  map<V>(fn: (value: U) => V): MappedWriteGuard<V>;
}

const READ = 0;
const WRITE = 1;
type Kind = typeof READ | typeof WRITE;

class RwState<T> implements Resource<ReadGuard<T> | WriteGuard<T>, Kind>, OrderedLock {
  readers = 0;
  writer = false;
  /** The write hold, while a writer holds it (for the deadlock detector and dumps). */
  writeHold: OrderedHold | undefined = undefined;
  /** The read holds, newest first (an intrusive list through RwLockReadGuard). */
  readHead: RwLockReadGuard<unknown> | null = null;
  readonly kind = "rwlock";
  orderClass: unknown = undefined;
  readonly q: WaitQueue<ReadGuard<T> | WriteGuard<T>, Kind>;
  readonly readWhat: string;
  readonly writeWhat: string;
  constructor(
    public value: T,
    readonly label: string,
    readonly name: string | undefined,
    readonly rank: number | undefined,
  ) {
    this.readWhat = `read on ${label}`;
    this.writeWhat = `write on ${label}`;
    this.q = new WaitQueue<ReadGuard<T> | WriteGuard<T>, Kind>(this, this.readWhat);
    this.q.graph = true;
  }
  ready(k: Kind): boolean {
    return k === READ ? !this.writer : !this.writer && this.readers === 0;
  }
  unlockRead(h: RwLockReadGuard<unknown>): void {
    if (hooks !== null) hooks.resource(this.q, RESOURCE_RELEASE, 1);
    endReadHold(h);
    // Only a writer can be waiting while readers hold the lock, and it needs them all gone.
    if (--this.readers === 0) this.q.pump();
  }
  unlockWrite(h: OrderedHold): void {
    if (hooks !== null) hooks.resource(this.q, RESOURCE_RELEASE, 1);
    popHold(h);
    this.writeHold = undefined;
    this.writer = false;
    this.q.pump();
  }
  /** The write hold becomes a read hold: for the console, still one hold (no release, no acquire). */
  downgradeWrite<U>(h: OrderedHold, mapped: boolean, part?: U): RwLockReadGuard<U> {
    this.writeHold = undefined;
    this.writer = false;
    this.readers++;
    const r = new RwLockReadGuard<U>(this as RwState<unknown>, undefined, mapped, part);
    replaceHold(h, r);
    this.q.pump(); // readers queued at the head join; a queued writer keeps waiting for them
    return r;
  }
  take(k: Kind, task: TaskLike | undefined): ReadGuard<T> | WriteGuard<T> {
    if (k === READ) {
      this.readers++;
      if (hooks !== null) hooks.resource(this.q, RESOURCE_ACQUIRE, 1);
      return new RwLockReadGuard<T>(this as RwState<unknown>, task);
    }
    this.writer = true;
    return new RwLockWriteGuard(this, task);
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "RwLock", op: "lock", label: this.readWhat.slice("read on ".length), readers: this.readers, writer: this.writer, locked: this.writer || this.readers > 0 };
  }
}

/** @internal Runs a guard's `map` callback; the hold moves only when it returns. */
function pick<A, B>(fn: (value: A) => B, value: A): B {
  checkFunction(fn, "fn");
  return fn(value);
}

/** A read hold of the lock's value, or (mapped) of a part of it. */
class RwLockReadGuard<T> implements ReadGuard<T>, OrderedHold {
  #s: RwState<unknown> | undefined;
  readonly #part: T | undefined;
  readonly #mapped: boolean;
  /** @internal The hold (core/holds.ts). */ task: TaskLike | undefined;
  /** @internal */ seq: number;
  /** @internal */ heldNext: OrderedHold | null = null;
  /** @internal */ readonly lock: RwState<unknown>;
  /** @internal The lock's list of read holds. */ rdPrev: RwLockReadGuard<unknown> | null = null;
  /** @internal */ rdNext: RwLockReadGuard<unknown> | null;
  /** `task` undefined with a hold to take over (mapped, downgraded): the caller moves it. */
  constructor(s: RwState<unknown>, task: TaskLike | undefined, mapped = false, part?: T) {
    this.#s = s;
    this.#mapped = mapped;
    this.#part = part;
    this.lock = s;
    this.task = task;
    this.seq = taskIds.next;
    const head = s.readHead;
    this.rdNext = head;
    if (head !== null) head.rdPrev = this as RwLockReadGuard<unknown>;
    s.readHead = this as RwLockReadGuard<unknown>;
    if (task !== undefined) {
      pushHold(task, this);
      if (acquireSite !== null) acquireSite(this, s.q);
    }
  }

  get value(): T {
    const s = this.#s;
    if (s === undefined) throw released("ReadGuard");
    return this.#mapped ? (this.#part as T) : (s.value as T);
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlockRead(this as RwLockReadGuard<unknown>);
  }
  map<U>(fn: (value: T) => U): ReadGuard<U> {
    const v = this.value;
    const s = this.#s!;
    const part = pick(fn, v);
    if (this.#s !== s) throw released("ReadGuard"); // fn released it
    this.#s = undefined;
    const r = new RwLockReadGuard<U>(s, undefined, true, part);
    replaceHold(this, r);
    endReadHold(this as RwLockReadGuard<unknown>);
    return r;
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class RwLockWriteGuard<T> implements WriteGuard<T>, OrderedHold {
  #s: RwState<T> | undefined;
  /** @internal The hold (core/holds.ts). */ task: TaskLike | undefined;
  /** @internal */ seq: number;
  /** @internal */ heldNext: OrderedHold | null = null;
  /** @internal */ readonly lock: RwState<T>;
  constructor(s: RwState<T>, task: TaskLike | undefined) {
    this.#s = s;
    this.lock = s;
    this.task = task;
    this.seq = taskIds.next;
    s.writeHold = this;
    if (task !== undefined) {
      pushHold(task, this);
      if (acquireSite !== null) acquireSite(this, s.q);
    }
    if (hooks !== null) hooks.resource(s.q, RESOURCE_ACQUIRE, 1);
  }
  get value(): T {
    if (this.#s === undefined) throw released("WriteGuard");
    return this.#s.value;
  }
  set value(v: T) {
    if (this.#s === undefined) throw released("WriteGuard");
    this.#s.value = v;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlockWrite(this);
  }
  downgrade(): ReadGuard<T> {
    const s = this.#s;
    if (s === undefined) throw released("WriteGuard");
    this.#s = undefined;
    return s.downgradeWrite<T>(this, false);
  }
  map<U>(fn: (value: T) => U): MappedWriteGuard<U> {
    const s = this.#s;
    if (s === undefined) throw released("WriteGuard");
    const part = pick(fn, s.value);
    if (this.#s !== s) throw released("WriteGuard");
    this.#s = undefined;
    return new RwLockMappedWriteGuard(s as RwState<unknown>, part, this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class RwLockMappedWriteGuard<U> implements MappedWriteGuard<U>, OrderedHold {
  #s: RwState<unknown> | undefined;
  readonly #part: U;
  /** @internal The hold, moved here from the guard it was mapped from. */ task: TaskLike | undefined = undefined;
  /** @internal */ seq = 0;
  /** @internal */ heldNext: OrderedHold | null = null;
  /** @internal */ readonly lock: RwState<unknown>;
  constructor(s: RwState<unknown>, part: U, from: OrderedHold) {
    this.#s = s;
    this.lock = s;
    this.#part = part;
    replaceHold(from, this);
    s.writeHold = this;
  }
  get value(): U {
    if (this.#s === undefined) throw released("MappedWriteGuard");
    return this.#part;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlockWrite(this);
  }
  downgrade(): ReadGuard<U> {
    const s = this.#s;
    if (s === undefined) throw released("MappedWriteGuard");
    this.#s = undefined;
    return s.downgradeWrite<U>(this, true, this.#part);
  }
  map<V>(fn: (value: U) => V): MappedWriteGuard<V> {
    const s = this.#s;
    if (s === undefined) throw released("MappedWriteGuard");
    const part = pick(fn, this.#part);
    if (this.#s !== s) throw released("MappedWriteGuard");
    this.#s = undefined;
    return new RwLockMappedWriteGuard(s, part, this);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * A reader-writer lock holding a value, like tokio's `RwLock<T>`: any number of readers at once,
 * or one writer alone.
 *
 * Fair and write-preferring: readers and writers wait in one first-in, first-out queue, so a
 * waiting writer goes before every reader that came after it (no writer starvation), and the
 * readers queued behind it go together once it is done. A new reader never joins active readers
 * while anyone is queued.
 *
 * Cancel safety: `read()` and `write()` are cancel-safe and select-safe (a withdrawn call holds
 * nothing and keeps no place in line). Waits carry `read on RwLock` / `write on RwLock` for dumps.
 *
 * Deadlocks: `write()` in a task that holds a read of the same lock, or `read()` queued behind a
 * writer that waits for this task's own read, rejects with DeadlockError once the task parks on
 * it, as does any cycle of tasks waiting on each other's locks (see `configure({ deadlocks })`).
 */
export class RwLock<T = void> {
  readonly #s: RwState<T>;

  /**
   * @param value the protected value.
   * @param opts `name` labels its waits in dumps (and names its lock class for the lock-order
   *   checks); `rank` places it in your lock hierarchy (see {@link LockOptions}).
   * @throws TypeError when `opts`, `opts.name` or `opts.rank` is malformed; RangeError when
   *   `opts.rank` is not finite.
   */
  constructor(value?: T, opts?: LockOptions) {
    this.#s = new RwState<T>(value as T, label("RwLock", opts), opts?.name, rankOf(opts));
  }

  /**
   * Waits for shared read access: until no writer holds the lock and none queued before this call.
   *
   * Cancel-safe and select-safe: a call withdrawn by `opts.signal`, the task's cancellation or a
   * winning select branch leaves the queue and holds nothing; it rejects with the signal's reason
   * (CancelledError for a cancelled task). If it was first in line, the waiters behind it are
   * served at once if they can be.
   * @throws TypeError (synchronously) when `opts` is malformed.
   */
  read(opts?: WaitOptions): Promise<ReadGuard<T>> {
    const s = this.#s;
    if (!s.writer && s.q.idle && fastEntry(opts)) {
      const t = entryTask;
      if (t !== undefined && t.held !== null && diag !== null) {
        const err = diag.ordered(t, s);
        if (err !== undefined) return Promise.reject(err);
      }
      s.readers++;
      return Promise.resolve(new RwLockReadGuard<T>(s as RwState<unknown>, t));
    }
    const err = orderBeforeWait(s);
    if (err !== undefined) return Promise.reject(err);
    s.q.what = s.readWhat;
    return s.q.wait(READ, opts) as Promise<ReadGuard<T>>;
  }

  /**
   * Waits for exclusive write access: until no one holds the lock and no one queued before this call.
   *
   * Cancel-safe and select-safe, as `read()`: a withdrawn writer holds nothing, and the readers
   * it kept waiting are let in at once.
   * @throws TypeError (synchronously) when `opts` is malformed.
   */
  write(opts?: WaitOptions): Promise<WriteGuard<T>> {
    const s = this.#s;
    if (!s.writer && s.readers === 0 && s.q.idle && fastEntry(opts)) {
      const t = entryTask;
      if (t !== undefined && t.held !== null && diag !== null) {
        const err = diag.ordered(t, s);
        if (err !== undefined) return Promise.reject(err);
      }
      s.writer = true;
      return Promise.resolve(new RwLockWriteGuard(s, t));
    }
    const err = orderBeforeWait(s);
    if (err !== undefined) return Promise.reject(err);
    s.q.what = s.writeWhat;
    return s.q.wait(WRITE, opts) as Promise<WriteGuard<T>>;
  }

  /**
   * Read access if no writer holds the lock and no one is queued (a waiting writer keeps new
   * readers out); undefined otherwise. Never waits, never throws.
   */
  tryRead(): ReadGuard<T> | undefined {
    const s = this.#s;
    if (s.writer || hasWaiters(s.q)) return undefined;
    s.readers++;
    return new RwLockReadGuard<T>(s as RwState<unknown>, runningTask());
  }

  /** Write access if no one holds the lock and no one is queued; undefined otherwise. Never waits, never throws. */
  tryWrite(): WriteGuard<T> | undefined {
    const s = this.#s;
    if (s.writer || s.readers > 0 || hasWaiters(s.q)) return undefined;
    s.writer = true;
    return new RwLockWriteGuard(s, runningTask());
  }

  /** Read guards now held. */
  get readers(): number {
    return this.#s.readers;
  }

  /** True while a writer holds the lock. */
  get isWriteLocked(): boolean {
    return this.#s.writer;
  }

  /** Readers and writers waiting. */
  get waiting(): number {
    return this.#s.q.length;
  }
}

/** Ends read hold `h`: off its task's held stack and its lock's list (a function, not a guard method: a guard's public surface has no such method). */
function endReadHold(h: RwLockReadGuard<unknown>): void {
  popHold(h);
  const s = h.lock;
  if (h.rdPrev !== null) h.rdPrev.rdNext = h.rdNext;
  else if (s.readHead === h) s.readHead = h.rdNext;
  if (h.rdNext !== null) h.rdNext.rdPrev = h.rdPrev;
  h.rdPrev = h.rdNext = null;
}
