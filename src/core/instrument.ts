/**
 * The instrumentation slot: how the live console (src/console) observes tasks and wait queues
 * without the core knowing about it.
 *
 * `hooks` is null unless a console is on. Every hook site in the core is a single
 * `if (hooks !== null)` check on this module-level binding: no allocation, no call, no promise
 * hook when it is off. The console installs its hooks when the first runtime with
 * `console` enabled starts, and removes them when the last one closes.
 *
 * Hook sites (each one line):
 *  - JoinHandle constructor → {@link InstrumentHooks.taskSpawned}; JoinHandle finish →
 *    {@link InstrumentHooks.taskDone}; a join on a handle → {@link InstrumentHooks.taskJoined};
 *  - the start queue (task/spawn.ts) → {@link InstrumentHooks.pollStart}/{@link InstrumentHooks.pollEnd}
 *    around a task's first, synchronous run;
 *  - Waiter finish (a waiter of a task was served or withdrawn) → {@link InstrumentHooks.taskWoken};
 *  - WaitQueue constructor → {@link InstrumentHooks.queueCreated} (the console keeps a WeakRef).
 */
import type { TaskLike } from "./context.js";

/** A task record as the hooks see it (a JoinHandle). */
export interface InstrumentedTask extends TaskLike {
  /** The console's per-task record; undefined unless the task's runtime has a console. */
  instrument: unknown;
}

/** A blocked event-loop episode, as the supervisor reports it (API.md §8, BlockedEvent). */
export interface BlockedEventLike {
  thread?: "main" | number;
  blockedMs: number;
  /** When it was detected (epoch ms, or the supervisor's clock). */
  at?: number;
  task?: { id: number; name?: string };
  stack?: readonly { functionName?: string; file?: string; line?: number; column?: number }[];
}

/** What the console implements. Every method must be cheap and must never throw. */
export interface InstrumentHooks {
  /** A task record was made (called at the end of its constructor, before it is linked). */
  taskSpawned(task: InstrumentedTask, host: unknown): void;
  /** The task's function is about to run for the first time (inside its ALS frame). */
  pollStart(task: InstrumentedTask): void;
  /** The first, synchronous run of the task's function returned. */
  pollEnd(task: InstrumentedTask): void;
  /** A waiter of `task` finished (served or withdrawn): the task will be resumed. */
  taskWoken(task: TaskLike): void;
  /** The task ended; its outcome is set. */
  taskDone(task: InstrumentedTask): void;
  /** Someone awaits the task's outcome (then/result), from the code running now. */
  taskJoined(task: InstrumentedTask): void;
  /** A WaitQueue was constructed. */
  queueCreated(queue: object): void;
  /** A blocked event-loop episode was reported (see {@link recordBlocked}). */
  blocked(event: BlockedEventLike): void;
}

/** The installed hooks, or null (the default: instrumentation off). */
export let hooks: InstrumentHooks | null = null;

/** @internal Installs (or, with null, removes) the instrumentation hooks. */
export function setInstrumentHooks(h: InstrumentHooks | null): void {
  hooks = h;
}

/**
 * Feeds a blocked event-loop episode to the live console (its header, its never-yielded lint
 * and the `steward.eventloop.blocked` metrics). A no-op while no console is on. Its signature
 * fits a Supervisor listener: `supervisor.on("blocked", recordBlocked)`.
 */
export function recordBlocked(event: BlockedEventLike): void {
  if (hooks !== null) hooks.blocked(event);
}
