import type { TaskLike } from "../core/context.js";
import { checkFunction, checkOptions, checkSignal } from "../util/validate.js";
import { readyValue, type Resource, type ResourceDescription, standaloneWaiter, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { label, type SyncOptions } from "./shared.js";

/** What a served getOrInit waiter is told when it is its turn to run its own initialiser. */
const RUN: unique symbol = Symbol("steward.OnceCell.run");

const EMPTY = 0;
const RUNNING = 1;
const SET = 2;

class CellState<T> implements Resource<T | typeof RUN, undefined> {
  state: typeof EMPTY | typeof RUNNING | typeof SET = EMPTY;
  value: T | undefined = undefined;
  /** The task whose initialiser runs now (for the deadlock detector). */
  runner: TaskLike | undefined = undefined;
  readonly kind = "oncecell";
  readonly q: WaitQueue<T | typeof RUN>;
  constructor(
    readonly label: string,
    readonly what: string,
    readonly initWhat: string,
  ) {
    this.q = new WaitQueue<T | typeof RUN>(this, what);
    this.q.graph = true;
  }
  ready(): boolean {
    return this.state !== RUNNING;
  }
  take(_: undefined, task: TaskLike | undefined): T | typeof RUN {
    if (this.state === SET) return this.value as T;
    this.state = RUNNING; // this waiter runs its initialiser; the rest keep waiting
    this.runner = task;
    return RUN;
  }
  succeed(v: T): void {
    this.value = v;
    this.state = SET;
    this.runner = undefined;
    this.q.pump();
  }
  fail(): void {
    this.state = EMPTY;
    this.runner = undefined;
    this.q.pump(); // the next waiter in line runs its own initialiser
  }

  /** Runs `fn` as the one initialiser; the caller's wait for it is abortable, `fn` itself is not. */
  run(fn: () => T | PromiseLike<T>, opts: WaitOptions | undefined): Promise<T> {
    const w = standaloneWaiter<T>(opts, this.initWhat);
    if (w instanceof Promise) {
      this.fail(); // withdrawn before fn started: the turn passes on
      return w;
    }
    w.uncount(); // the task runs fn: it is not parked on this wait
    let p: PromiseLike<T> | T;
    try {
      p = fn();
    } catch (err) {
      this.fail();
      w.fail(err);
      return w.promise;
    }
    Promise.resolve(p).then(
      (v) => {
        this.succeed(v);
        w.complete(v);
      },
      (err: unknown) => {
        this.fail();
        w.fail(err);
      },
    );
    return w.promise;
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    const state = this.state === SET ? "set" : this.state === RUNNING ? "initializing" : "empty";
    return { kind: "OnceCell", op: "getOrInit", label: this.what.slice("getOrInit on ".length), state };
  }
}

/** Options of {@link OnceCell}'s constructor. */
export interface OnceCellOptions<T> extends SyncOptions {
  /** Starts the cell set to this value (tokio's `OnceCell::new_with(Some(v))` / `from(v)`). */
  value?: T;
}

/** Where a {@link OnceCell} is: not set, an initialiser running, or set. */
export type OnceCellState = "empty" | "initialising" | "set";

/**
 * A value set once, like tokio's `OnceCell`: typically a lazily created shared resource.
 * `getOrInit(fn)` runs at most one initialiser at a time; concurrent callers wait for it and get
 * its value. If it fails, its caller gets the error and the next waiting caller runs its own.
 *
 * Cancel safety: waiting in `getOrInit` is cancel-safe (see there for a running initialiser).
 * Waits carry `getOrInit on OnceCell` for dumps.
 *
 * Deadlocks: an initialiser that awaits `getOrInit` on its own cell (directly, or through tasks
 * that wait for it) rejects that inner call with DeadlockError once it parks; the initialiser
 * then fails with it unless it catches it.
 */
export class OnceCell<T> {
  readonly #s: CellState<T>;

  /**
   * @param opts `name` labels its waits in dumps; `value`, when present (even if undefined),
   *   starts the cell set to it.
   * @throws TypeError when `opts` or `opts.name` is malformed.
   */
  constructor(opts?: OnceCellOptions<T>) {
    const name = label("OnceCell", opts);
    this.#s = new CellState<T>(name, `getOrInit on ${name}`, `getOrInit on ${name} (running the initialiser)`);
    if (opts !== undefined && "value" in opts) {
      this.#s.value = opts.value;
      this.#s.state = SET;
    }
  }

  /**
   * Where the cell is: "empty", "initialising" (a getOrInit initialiser is running) or "set".
   * It tells why a `set` returned false: read it right after the call (nothing can change in
   * between), as tokio's `SetError` tells `AlreadyInitializedError` from `InitializingError`.
   */
  get state(): OnceCellState {
    const st = this.#s.state;
    return st === SET ? "set" : st === RUNNING ? "initialising" : "empty";
  }

  /**
   * Takes the value out, leaving the cell empty (tokio's `take`): the next `getOrInit` runs its
   * initialiser again. While an initialiser runs, or when empty, it takes nothing.
   * @returns the value, or undefined when the cell was not set. Never throws.
   */
  take(): T | undefined {
    const s = this.#s;
    if (s.state !== SET) return undefined;
    const v = s.value;
    s.value = undefined;
    s.state = EMPTY;
    return v;
  }

  /** The value, or undefined while it is not set. Never throws. */
  get(): T | undefined {
    return this.#s.state === SET ? this.#s.value : undefined;
  }

  /** True once a value is set (by `set` or a successful initialiser). */
  get isSet(): boolean {
    return this.#s.state === SET;
  }

  /**
   * Sets the value if it is not set and no initialiser is running; returns whether it did.
   * Callers waiting in `getOrInit` get this value. When it returns false, `state` says why:
   * "set" (already set) or "initialising" (an initialiser is running and will set it). Never throws.
   */
  set(value: T): boolean {
    const s = this.#s;
    if (s.state !== EMPTY) return false;
    s.succeed(value);
    return true;
  }

  /**
   * The value; if it is not set, runs `fn` to set it, or waits for the initialiser already
   * running. If that initialiser fails (throws or rejects), its own caller rejects with the
   * error and the next caller in line runs its `fn` (first-in, first-out).
   *
   * Cancel-safe while waiting for another caller's initialiser: a withdrawn call (`opts.signal`,
   * the task's cancellation) leaves the queue, runs nothing and rejects with the signal's reason
   * (CancelledError for a cancelled task). A caller whose own `fn` is running is withdrawn the
   * same way, but `fn` cannot be stopped: it runs on, still as the only initialiser, and the cell
   * takes its value if it succeeds (the next waiter runs its own if it fails).
   * @throws TypeError (synchronously) when `fn` is not a function or `opts` is malformed.
   */
  getOrInit(fn: () => T | PromiseLike<T>, opts?: WaitOptions): Promise<T> {
    checkFunction(fn, "fn");
    const s = this.#s;
    if (s.state === SET) return readyValue(s.value as T, opts, s.what);
    if (opts !== undefined) {
      checkOptions(opts);
      checkSignal(opts.signal);
    }
    return s.q.wait(undefined, opts).then((r) => (r === RUN ? s.run(fn, opts) : r));
  }
}
