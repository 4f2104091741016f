import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { checkFunction } from "../core/validate.js";
import { fastEntry, hasWaiters, label, released, type SyncOptions } from "./shared.js";

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

class RwState<T> implements Resource<ReadGuard<T> | WriteGuard<T>, Kind> {
  readers = 0;
  writer = false;
  readonly q: WaitQueue<ReadGuard<T> | WriteGuard<T>, Kind>;
  readonly readWhat: string;
  readonly writeWhat: string;
  constructor(
    public value: T,
    name: string,
  ) {
    this.readWhat = `read on ${name}`;
    this.writeWhat = `write on ${name}`;
    this.q = new WaitQueue<ReadGuard<T> | WriteGuard<T>, Kind>(this, this.readWhat);
  }
  ready(k: Kind): boolean {
    return k === READ ? !this.writer : !this.writer && this.readers === 0;
  }
  unlockRead(): void {
    if (hooks !== null) hooks.resource(this.q, RESOURCE_RELEASE, 1);
    // Only a writer can be waiting while readers hold the lock, and it needs them all gone.
    if (--this.readers === 0) this.q.pump();
  }
  unlockWrite(): void {
    if (hooks !== null) hooks.resource(this.q, RESOURCE_RELEASE, 1);
    this.writer = false;
    this.q.pump();
  }
  /** The write hold becomes a read hold: for the console, still one hold (no release, no acquire). */
  downgradeWrite(): void {
    this.writer = false;
    this.readers++;
    this.q.pump(); // readers queued at the head join; a queued writer keeps waiting for them
  }
  take(k: Kind): ReadGuard<T> | WriteGuard<T> {
    if (k === READ) {
      this.readers++;
      if (hooks !== null) hooks.resource(this.q, RESOURCE_ACQUIRE, 1);
      return new ReadG<T>(this as RwState<unknown>);
    }
    this.writer = true;
    return new WriteG(this);
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
class ReadG<T> implements ReadGuard<T> {
  #s: RwState<unknown> | undefined;
  readonly #part: T | undefined;
  readonly #mapped: boolean;
  constructor(s: RwState<unknown>, mapped = false, part?: T) {
    this.#s = s;
    this.#mapped = mapped;
    this.#part = part;
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
    s.unlockRead();
  }
  map<U>(fn: (value: T) => U): ReadGuard<U> {
    const v = this.value;
    const s = this.#s!;
    const part = pick(fn, v);
    if (this.#s !== s) throw released("ReadGuard"); // fn released it
    this.#s = undefined;
    return new ReadG<U>(s, true, part);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class WriteG<T> implements WriteGuard<T> {
  #s: RwState<T> | undefined;
  constructor(s: RwState<T>) {
    this.#s = s;
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
    s.unlockWrite();
  }
  downgrade(): ReadGuard<T> {
    const s = this.#s;
    if (s === undefined) throw released("WriteGuard");
    this.#s = undefined;
    s.downgradeWrite();
    return new ReadG<T>(s as RwState<unknown>);
  }
  map<U>(fn: (value: T) => U): MappedWriteGuard<U> {
    const s = this.#s;
    if (s === undefined) throw released("WriteGuard");
    const part = pick(fn, s.value);
    if (this.#s !== s) throw released("WriteGuard");
    this.#s = undefined;
    return new MappedWriteG(s as RwState<unknown>, part);
  }
  [Symbol.dispose](): void {
    this.release();
  }
}

class MappedWriteG<U> implements MappedWriteGuard<U> {
  #s: RwState<unknown> | undefined;
  readonly #part: U;
  constructor(s: RwState<unknown>, part: U) {
    this.#s = s;
    this.#part = part;
  }
  get value(): U {
    if (this.#s === undefined) throw released("MappedWriteGuard");
    return this.#part;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    s.unlockWrite();
  }
  downgrade(): ReadGuard<U> {
    const s = this.#s;
    if (s === undefined) throw released("MappedWriteGuard");
    this.#s = undefined;
    s.downgradeWrite();
    return new ReadG<U>(s, true, this.#part);
  }
  map<V>(fn: (value: U) => V): MappedWriteGuard<V> {
    const s = this.#s;
    if (s === undefined) throw released("MappedWriteGuard");
    const part = pick(fn, this.#part);
    if (this.#s !== s) throw released("MappedWriteGuard");
    this.#s = undefined;
    return new MappedWriteG(s, part);
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
 */
export class RwLock<T = void> {
  readonly #s: RwState<T>;

  /**
   * @param value the protected value.
   * @param opts `name` labels its waits in dumps.
   * @throws TypeError when `opts` or `opts.name` is malformed.
   */
  constructor(value?: T, opts?: SyncOptions) {
    this.#s = new RwState<T>(value as T, label("RwLock", opts));
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
      s.readers++;
      return Promise.resolve(new ReadG<T>(s as RwState<unknown>));
    }
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
      s.writer = true;
      return Promise.resolve(new WriteG(s));
    }
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
    return new ReadG<T>(s as RwState<unknown>);
  }

  /** Write access if no one holds the lock and no one is queued; undefined otherwise. Never waits, never throws. */
  tryWrite(): WriteGuard<T> | undefined {
    const s = this.#s;
    if (s.writer || s.readers > 0 || hasWaiters(s.q)) return undefined;
    s.writer = true;
    return new WriteG(s);
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
