/**
 * The instrumentation slot: how the optional observers — the live console (src/console) and the
 * flight recorder (src/recorder) — see tasks, waits and resources without the core knowing them.
 *
 * `hooks` is null unless an observer is on. Every hook site is a single `if (hooks !== null)`
 * check on this module-level binding: no allocation, no call, no promise hook when it is off.
 * Observers add themselves with {@link addInstrumentHooks}; with two of them on, `hooks` is a
 * small fan-out that calls each in turn.
 *
 * Hook sites (each one line):
 *  - task/join-handle.ts: constructor → {@link InstrumentHooks.taskSpawned}; finish →
 *    {@link InstrumentHooks.taskDone}; a join on the handle → {@link InstrumentHooks.taskJoined};
 *    an unobserved panic, when the runtime is about to report it → {@link InstrumentHooks.panicUnobserved};
 *  - task/spawn.ts (the start queue): {@link InstrumentHooks.pollStart}/{@link InstrumentHooks.pollEnd}
 *    around a task's first, synchronous run;
 *  - core/waiter.ts: a Waiter made for a task → {@link InstrumentHooks.taskParked}; a Waiter
 *    finished (served or withdrawn) → {@link InstrumentHooks.taskWoken}; WaitQueue constructor →
 *    {@link InstrumentHooks.queueCreated}; a waiter queued → {@link InstrumentHooks.queueWaited};
 *  - sync/mutex.ts, sync/rwlock.ts, sync/semaphore.ts: a guard or permit made / released →
 *    {@link InstrumentHooks.resource} with {@link RESOURCE_ACQUIRE}/{@link RESOURCE_RELEASE};
 *  - {@link recordShed} (for admission control: a Limiter that turns work away);
 *  - {@link recordBlocked} (a Supervisor listener: blocked-loop episodes).
 */
import type { TaskLike } from "./context.js";

/** A task record as the hooks see it (a JoinHandle). */
export interface InstrumentedTask extends TaskLike {
  /** The console's per-task record; undefined unless the task's runtime has a console. */
  instrument: unknown;
}

/** A stack frame of a blocked episode (1-based line and column, as the supervisor gives them). */
export interface BlockedFrameLike {
  functionName?: string;
  file?: string;
  line?: number;
  column?: number;
}

/**
 * A blocked event-loop episode, as the supervisor reports it: its `blocked` event (with the stack
 * taken while the loop was blocked) or its `unblocked` event (no stack; `blockedMs` is then the
 * final duration). `id` names the episode in both; without one, the observers match the two by
 * time.
 */
export interface BlockedEventLike {
  /** The episode's id, shared by its blocked and unblocked events (supervisors that give one). */
  id?: number | string;
  thread?: "main" | number;
  /** How long the loop had been blocked when the event was made: at detection, or (unblocked) in all. */
  blockedMs: number;
  /** When it was detected (epoch ms). */
  at?: number;
  task?: { id: number; name?: string };
  stack?: readonly BlockedFrameLike[];
}

/** A resource event ({@link InstrumentHooks.resource}): a guard or permit was made. `value`: permits (1 for a lock). */
export const RESOURCE_ACQUIRE = 1;
/** A guard or permit was released. `value`: permits (1 for a lock). */
export const RESOURCE_RELEASE = 2;
/** Work was turned away (admission control). `value`: a {@link ShedReason} code (see {@link SHED_REASONS}). */
export const RESOURCE_SHED = 3;

/** Why admission control turned work away. */
export type ShedReason = "queue-full" | "queue-timeout" | "rate" | "closed";
/** The codes `RESOURCE_SHED` events carry: the index of the reason here. */
export const SHED_REASONS: readonly ShedReason[] = ["queue-full", "queue-timeout", "rate", "closed"];

/** What an observer implements. Every method must be cheap and must never throw. */
export interface InstrumentHooks {
  /** A task record was made (called at the end of its constructor, before it is linked). */
  taskSpawned(task: InstrumentedTask, host: unknown): void;
  /** The task's function is about to run for the first time (inside its ALS frame). */
  pollStart(task: InstrumentedTask): void;
  /** The first, synchronous run of the task's function returned. */
  pollEnd(task: InstrumentedTask): void;
  /** The task starts a steward wait on `what` ("recv on channel#3", "sleep 100 ms"). */
  taskParked(task: TaskLike, what: string): void;
  /** The task's wait on `what` finished (served or withdrawn). */
  taskWoken(task: TaskLike, what: string): void;
  /** The task ended; its outcome is set. */
  taskDone(task: InstrumentedTask): void;
  /** Someone awaits the task's outcome (then/result), from the code running now. */
  taskJoined(task: InstrumentedTask): void;
  /** A task's panic nobody observed is about to be reported by its runtime. */
  panicUnobserved(task: InstrumentedTask): void;
  /** A WaitQueue was constructed. */
  queueCreated(queue: object): void;
  /** A waiter of `task` (undefined outside tasks) was queued on `queue` (its resource was not ready). */
  queueWaited(queue: object, task: TaskLike | undefined): void;
  /**
   * Something happened to a resource (a lock, a semaphore, a limiter): `event` is one of the
   * RESOURCE_* codes, `value` what it carries. `resource` is the resource's WaitQueue (the same
   * object {@link InstrumentHooks.queueWaited} sees), or for other resources an object that
   * describes itself with `inspect()`. Runs in the code that caused it (the holder of an acquire
   * is the task running now).
   */
  resource(resource: object, event: number, value: number): void;
  /** A blocked event-loop episode was reported (see {@link recordBlocked}). */
  blocked(event: BlockedEventLike): void;
}

/** The installed hooks, or null (the default: instrumentation off). */
export let hooks: InstrumentHooks | null = null;

const installed: InstrumentHooks[] = [];

/** Calls every installed observer in turn (only while two or more are on). */
class FanOut implements InstrumentHooks {
  constructor(private readonly all: readonly InstrumentHooks[]) {}
  taskSpawned(task: InstrumentedTask, host: unknown): void {
    for (const h of this.all) h.taskSpawned(task, host);
  }
  pollStart(task: InstrumentedTask): void {
    for (const h of this.all) h.pollStart(task);
  }
  pollEnd(task: InstrumentedTask): void {
    // Reverse order: the last to start a resume is the first to end it.
    for (let i = this.all.length - 1; i >= 0; i--) this.all[i]!.pollEnd(task);
  }
  taskParked(task: TaskLike, what: string): void {
    for (const h of this.all) h.taskParked(task, what);
  }
  taskWoken(task: TaskLike, what: string): void {
    for (const h of this.all) h.taskWoken(task, what);
  }
  taskDone(task: InstrumentedTask): void {
    for (const h of this.all) h.taskDone(task);
  }
  taskJoined(task: InstrumentedTask): void {
    for (const h of this.all) h.taskJoined(task);
  }
  panicUnobserved(task: InstrumentedTask): void {
    for (const h of this.all) h.panicUnobserved(task);
  }
  queueCreated(queue: object): void {
    for (const h of this.all) h.queueCreated(queue);
  }
  queueWaited(queue: object, task: TaskLike | undefined): void {
    for (const h of this.all) h.queueWaited(queue, task);
  }
  resource(resource: object, event: number, value: number): void {
    for (const h of this.all) h.resource(resource, event, value);
  }
  blocked(event: BlockedEventLike): void {
    for (const h of this.all) h.blocked(event);
  }
}

function refresh(): void {
  hooks = installed.length === 0 ? null : installed.length === 1 ? installed[0]! : new FanOut([...installed]);
}

/** @internal Adds an observer (idempotent). */
export function addInstrumentHooks(h: InstrumentHooks): void {
  if (installed.includes(h)) return;
  installed.push(h);
  refresh();
}

/** @internal Removes an observer; `hooks` is null again once none is left. */
export function removeInstrumentHooks(h: InstrumentHooks): void {
  const i = installed.indexOf(h);
  if (i < 0) return;
  installed.splice(i, 1);
  refresh();
}

/**
 * Feeds a blocked event-loop episode to the observers: the live console (its header, its
 * blocked view, its never-yielded lint and the `steward.eventloop.blocked` metrics) and the flight
 * recorder (the episode, its stack, and a dump). A no-op while neither is on. Its signature fits
 * both Supervisor events: `supervisor.on("blocked", recordBlocked).on("unblocked", recordBlocked)`;
 * an episode reported by both is counted once, with its final duration.
 */
export function recordBlocked(event: BlockedEventLike): void {
  if (hooks !== null) hooks.blocked(event);
}

/**
 * For admission control (a Limiter): reports that `resource` turned work away. `resource` should
 * describe itself with `inspect()` (`{ kind: "Limiter", op: "run", label }`). A no-op (one null
 * check) while no observer is on.
 */
export function recordShed(resource: object, reason: ShedReason): void {
  if (hooks !== null) hooks.resource(resource, RESOURCE_SHED, SHED_REASONS.indexOf(reason));
}
