/**
 * Error classes thrown by steward. Each has a `name` equal to its class name, so they survive
 * structured logging and `instanceof` checks across module copies can fall back to `name`.
 */

/**
 * The base of every error steward throws of its own, in the root and in every subpath
 * (`steward/redis`, `steward/supervisor`, ...): `err instanceof StewardError` tells steward's
 * errors from the rest. Bad arguments are not among them: they throw TypeError or RangeError.
 */
export class StewardError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StewardError";
  }
}

/** A wait was withdrawn because the task (or scope) it ran in was cancelled. */
export class CancelledError extends StewardError {
  /** What the cancellation was given as its reason (`token.cancel(reason)`), if anything. */
  readonly reason: unknown;
  constructor(reason?: unknown, message: string = "the task was cancelled") {
    super(text(message));
    this.name = "CancelledError";
    this.reason = reason;
  }
}

/** The error a wait rejects with when its task's token is cancelled with `reason`. */
export function asCancelledError(reason: unknown): CancelledError {
  return reason instanceof CancelledError ? reason : new CancelledError(reason);
}

/** How a task ended when it did not return a value. */
export type JoinErrorKind = "panic" | "cancelled";

/** A task ended by throwing (`kind: "panic"`) or by being cancelled (`kind: "cancelled"`). */
export class JoinError extends StewardError {
  readonly kind: JoinErrorKind;
  readonly taskId: number;
  readonly taskName: string | undefined;
  /** What the task threw. */
  declare readonly cause: unknown;
  constructor(kind: JoinErrorKind, taskId: number, taskName: string | undefined, cause: unknown) {
    const who = taskName === undefined ? `task ${taskId}` : `task ${taskId} '${taskName}'`;
    const what = kind === "panic" ? `panicked: ${describe(cause)}` : "was cancelled";
    super(`${who} ${what}`, { cause });
    this.name = "JoinError";
    this.kind = kind;
    this.taskId = taskId;
    this.taskName = taskName;
  }
  isPanic(): boolean {
    return this.kind === "panic";
  }
  isCancelled(): boolean {
    return this.kind === "cancelled";
  }
}

/** `timeout()` ran out of time. */
export class TimeoutError extends StewardError {
  readonly ms: number;
  constructor(ms: number) {
    super(`timed out after ${text(ms)} ms`);
    this.name = "TimeoutError";
    this.ms = ms;
  }
}

/** The other side of a channel is gone. */
export class ChannelClosedError extends StewardError {
  constructor(message: string = "the channel is closed") {
    super(text(message));
    this.name = "ChannelClosedError";
  }
}

/** A broadcast receiver fell behind; `skipped` values were overwritten before it read them. */
export class LaggedError extends StewardError {
  readonly skipped: number;
  constructor(skipped: number) {
    super(`receiver lagged behind and skipped ${text(skipped)} value(s)`);
    this.name = "LaggedError";
    this.skipped = skipped;
  }
}

/** The semaphore was closed. */
export class SemaphoreClosedError extends StewardError {
  constructor(message: string = "the semaphore is closed") {
    super(text(message));
    this.name = "SemaphoreClosedError";
  }
}

/** The runtime is shutting down or shut down. */
export class ShutdownError extends StewardError {
  constructor(message: string = "the runtime is shutting down") {
    super(text(message));
    this.name = "ShutdownError";
  }
}

/** One task of a deadlock's cycle, as {@link DeadlockError} names it. */
export interface DeadlockLink {
  /** The task. */
  task: { id: number; name?: string; spawnedAt: string };
  /** What it waits for, as dumps name it: `lock on Mutex "b"`, `join task 7`. */
  waitsFor: string;
  /** Where it awaits that, in the user's code (file:line:col, source-mapped), when known. */
  awaitSite?: string;
  /**
   * What of its own stands in the way of the next task's wait: `Mutex "a"`, `read on RwLock`;
   * `acquiredAt`, where it took it (the user's file:line:col, source-mapped), under
   * `configure({ lockSites: true })`.
   */
  holds: { lock: string; acquiredAt?: string }[];
  /** The ids of the tasks it waits for (the next link of the cycle among them). */
  waitsOn: number[];
}

/**
 * A wait would never end: tasks wait for each other in a cycle of steward's locks, semaphores,
 * OnceCells and joins (see README, "Deadlocks"). The wait that closed the cycle (the last one
 * to park) rejects with it; the other tasks keep waiting and proceed once this one releases.
 */
export class DeadlockError extends StewardError {
  /** Every task of the cycle, starting with the one whose wait rejected. */
  readonly cycle: readonly DeadlockLink[];
  constructor(cycle: readonly DeadlockLink[]) {
    super(deadlockMessage(cycle));
    this.name = "DeadlockError";
    this.cycle = cycle;
  }
}

function who(t: DeadlockLink["task"]): string {
  return t.name === undefined ? `task ${t.id}` : `task ${t.id} '${t.name}'`;
}

function deadlockMessage(cycle: readonly DeadlockLink[]): string {
  const lines = cycle.map((l, i) => {
    const holds = l.holds.length === 0 ? "" : ` while holding ${l.holds.map((h) => (h.acquiredAt === undefined ? h.lock : `${h.lock} (acquired at ${h.acquiredAt})`)).join(", ")}`;
    const at = l.awaitSite === undefined ? "" : ` at ${l.awaitSite}`;
    const next = cycle[(i + 1) % cycle.length]!;
    return `  ${who(l.task)} (spawned at ${l.task.spawnedAt}) waits for ${l.waitsFor}${at}${holds}, held up by ${who(next.task)}`;
  });
  const first = cycle[0];
  const head = first === undefined ? "deadlock" : `deadlock: ${who(first.task)} would wait forever for ${first.waitsFor} (a cycle of ${cycle.length} task${cycle.length === 1 ? "" : "s"})`;
  return `${head}\n${lines.join("\n")}`;
}

/** An acquire broke the lock order or a lock's rank, under `configure({ lockOrder: "throw" })`. */
export class LockOrderError extends StewardError {
  /** The two locks, in the order this acquire would take them. */
  readonly locks: readonly [string, string];
  constructor(message: string, locks: readonly [string, string]) {
    super(text(message));
    this.name = "LockOrderError";
    this.locks = locks;
  }
}

/** `String(v)`, for values that have no string form too (a null-prototype object): an error class must not throw. */
function text(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return String(e);
  } catch {
    return "<unprintable>";
  }
}
