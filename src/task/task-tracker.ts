import { WaitQueue, type WaitOptions } from "../core/waiter.js";
import type { JoinHandle, SpawnOptions, TaskContext, TaskOwner } from "./join-handle.js";
import { spawnHere } from "./spawn.js";

/**
 * tokio-util's TaskTracker: counts tasks and promises, and `wait()` resolves once it is closed
 * and all of them have ended. Unlike a JoinSet it keeps no outcomes, so it suits many
 * fire-and-forget tasks (an unobserved panic among them is still reported by the runtime).
 */
export class TaskTracker implements TaskOwner {
  private count = 0;
  private closed = false;
  private readonly waiters: WaitQueue<void>;

  constructor() {
    this.waiters = new WaitQueue<void>({ ready: () => this.closed && this.count === 0, take: () => undefined }, "wait on TaskTracker");
  }

  /** Spawns a task on the current runtime and tracks it. */
  spawn<T>(fn: (ctx: TaskContext) => T | PromiseLike<T>, opts?: SpawnOptions): JoinHandle<T> {
    const h = spawnHere(fn, opts, this);
    this.count++;
    return h;
  }

  /**
   * A token that counts as one tracked task until it is released (tokio-util's
   * `TaskTracker::token`): for work the tracker should wait for that is not a steward task or a
   * single promise (a stream being drained, a callback-based job). `wait()` does not resolve while
   * a token is held. Release it with `release()` or `using t = tracker.token()`. Never throws.
   */
  token(): TaskTrackerToken {
    this.count++;
    return new TaskTrackerToken(this);
  }

  /** Tracks a promise until it settles; returns a promise with the same outcome. */
  track<T>(p: PromiseLike<T>): Promise<T> {
    if (p === null || typeof p !== "object" || typeof (p as PromiseLike<T>).then !== "function") {
      throw new TypeError("p must be a promise or thenable");
    }
    this.count++;
    const done = (): void => this.release();
    const tracked = Promise.resolve(p);
    tracked.then(done, done);
    return tracked;
  }

  /** Closes the tracker: `wait()` can resolve once it is empty. Tracking still works. */
  close(): void {
    this.closed = true;
    this.waiters.pump();
  }

  /** Opens it again: `wait()` waits for a new close. */
  reopen(): void {
    this.closed = false;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Tasks and promises tracked and not yet ended. */
  get size(): number {
    return this.count;
  }

  /** Resolves once the tracker is closed and empty. Cancel-safe and select-safe. */
  wait(opts?: WaitOptions): Promise<void> {
    return this.waiters.wait(undefined, opts);
  }

  /** @internal */
  onTaskDone(): void {
    this.release();
  }

  private release(): void {
    this.count--;
    if (this.count === 0) this.waiters.pump();
  }
}

/**
 * One unit of work a {@link TaskTracker} waits for, from `tracker.token()` (tokio-util's
 * `TaskTrackerToken`). It counts in `tracker.size` until released; `release()` is idempotent.
 */
export class TaskTrackerToken implements Disposable {
  #tracker: TaskTracker | undefined;

  /** @internal Use {@link TaskTracker.token}. */
  constructor(tracker: TaskTracker) {
    this.#tracker = tracker;
  }

  /** The tracker it counts in, until released. */
  get tracker(): TaskTracker | undefined {
    return this.#tracker;
  }

  /** Stops counting in the tracker (waking its `wait()` if this was the last thing in a closed tracker). Idempotent; never throws. */
  release(): void {
    const t = this.#tracker;
    if (t === undefined) return;
    this.#tracker = undefined;
    t.onTaskDone(); // one tracked thing ended, as when a task does
  }

  /** Same as {@link TaskTrackerToken.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}
