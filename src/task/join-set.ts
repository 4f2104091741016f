import { Deque } from "../util/deque.js";
import { WaitQueue, type WaitOptions } from "../core/waiter.js";
import type { JoinHandle, JoinResult, SpawnOptions, TaskContext, TaskOwner } from "./join-handle.js";
import { shield, spawnHere } from "./spawn.js";

/**
 * A set of tasks joined in completion order, like tokio's JoinSet. Its tasks' outcomes are
 * observed by the set, so a panic joined through it is not reported as unobserved.
 * Disposing it (`await using set = new JoinSet()`) aborts and awaits every task.
 */
export class JoinSet<T> implements AsyncDisposable, AsyncIterable<JoinResult<T>>, TaskOwner {
  private readonly live = new Set<JoinHandle<T>>();
  private readonly done = new Deque<JoinHandle<T>>();
  private readonly joins: WaitQueue<JoinResult<T> | undefined>;

  constructor() {
    this.joins = new WaitQueue<JoinResult<T> | undefined>(
      {
        ready: () => this.done.length > 0 || this.live.size === 0,
        take: () => this.done.shift()?.outcome() as JoinResult<T> | undefined,
      },
      "joinNext on JoinSet",
    );
  }

  /** Spawns a task into the set, on the current runtime. */
  spawn(fn: (ctx: TaskContext) => T | PromiseLike<T>, opts?: SpawnOptions): JoinHandle<T> {
    const h = spawnHere(fn, opts, this);
    this.live.add(h);
    return h;
  }

  /** Tasks in the set not yet joined (running, or finished and waiting to be joined). */
  get size(): number {
    return this.live.size + this.done.length;
  }

  /**
   * The next task to finish, in completion order; undefined when the set is empty.
   * Cancel-safe and select-safe: a withdrawn call joins nothing, the result stays in the set.
   */
  joinNext(opts?: WaitOptions): Promise<JoinResult<T> | undefined> {
    return this.joins.wait(undefined, opts);
  }

  /** A finished task's outcome if one is ready now, else undefined. Does not wait. */
  tryJoinNext(): JoinResult<T> | undefined {
    return this.done.shift()?.outcome();
  }

  /**
   * Every task's value, in completion order. On the first JoinError it aborts the rest, waits for
   * them to end, then rejects with that JoinError.
   */
  async joinAll(): Promise<T[]> {
    const values: T[] = [];
    for (;;) {
      const r = await this.joinNext();
      if (r === undefined) return values;
      if (!r.ok) {
        await this.shutdown();
        throw r.error;
      }
      values.push(r.value);
    }
  }

  /**
   * Removes every task from the set without aborting it (tokio's `detach_all`): `size` drops to 0,
   * the tasks run on as plain tasks of their runtime, and their outcomes — including those of
   * tasks that had finished but were not joined yet — are no longer collected here. A detached
   * task that panics is reported as unobserved (through the runtime's `onTaskPanic`) unless its
   * JoinHandle is awaited. A waiting `joinNext()` resolves undefined, as for an empty set. Never throws.
   */
  detachAll(): void {
    for (const h of this.live) h.owner = undefined;
    this.live.clear();
    this.done.clear();
    this.joins.pump();
  }

  /** Cancels every task in the set (they end at their next steward wait). */
  abortAll(reason?: unknown): void {
    for (const h of this.live) h.abort(reason);
  }

  /**
   * Aborts every task and waits until each has ended; their outcomes are discarded. Runs
   * shielded: a cancelled caller still waits, so no task of the set outlives the call.
   */
  shutdown(): Promise<void> {
    this.abortAll();
    return shield(async () => {
      while ((await this.joinNext()) !== undefined);
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Yields each task's outcome as it finishes, until the set is empty. */
  async *[Symbol.asyncIterator](): AsyncIterator<JoinResult<T>> {
    for (;;) {
      const r = await this.joinNext();
      if (r === undefined) return;
      yield r;
    }
  }

  /** @internal */
  onTaskDone(h: JoinHandle<unknown>): void {
    this.live.delete(h as JoinHandle<T>);
    this.done.push(h as JoinHandle<T>);
    this.joins.pump();
  }
}
