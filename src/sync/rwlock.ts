import { hooks, RESOURCE_ACQUIRE, RESOURCE_RELEASE } from "../core/instrument.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
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
  take(k: Kind): ReadGuard<T> | WriteGuard<T> {
    if (k === READ) {
      this.readers++;
      return new ReadG(this);
    }
    this.writer = true;
    return new WriteG(this);
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    return { kind: "RwLock", op: "lock", label: this.readWhat.slice("read on ".length), readers: this.readers, writer: this.writer, locked: this.writer || this.readers > 0 };
  }
}

class ReadG<T> implements ReadGuard<T> {
  #s: RwState<T> | undefined;
  constructor(s: RwState<T>) {
    this.#s = s;
    if (hooks !== null) hooks.resource(s.q, RESOURCE_ACQUIRE, 1);
  }
  get value(): T {
    if (this.#s === undefined) throw released("ReadGuard");
    return this.#s.value;
  }
  release(): void {
    const s = this.#s;
    if (s === undefined) return;
    this.#s = undefined;
    if (hooks !== null) hooks.resource(s.q, RESOURCE_RELEASE, 1);
    // Only a writer can be waiting while readers hold the lock, and it needs them all gone.
    if (--s.readers === 0) s.q.pump();
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
    if (hooks !== null) hooks.resource(s.q, RESOURCE_RELEASE, 1);
    s.writer = false;
    s.q.pump();
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
      return Promise.resolve(new ReadG(s));
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
    return new ReadG(s);
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
