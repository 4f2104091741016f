/**
 * Error classes thrown by steward. Each has a `name` equal to its class name, so they survive
 * structured logging and `instanceof` checks across module copies can fall back to `name`.
 */

/** A wait was withdrawn because the task (or scope) it ran in was cancelled. */
export class CancelledError extends Error {
  /** What the cancellation was given as its reason (`token.cancel(reason)`), if anything. */
  readonly reason: unknown;
  constructor(reason?: unknown, message: string = "the task was cancelled") {
    super(text(message));
    this.name = "CancelledError";
    this.reason = reason;
  }
}

/** How a task ended when it did not return a value. */
export type JoinErrorKind = "panic" | "cancelled";

/** A task ended by throwing (`kind: "panic"`) or by being cancelled (`kind: "cancelled"`). */
export class JoinError extends Error {
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
export class TimeoutError extends Error {
  readonly ms: number;
  constructor(ms: number) {
    super(`timed out after ${text(ms)} ms`);
    this.name = "TimeoutError";
    this.ms = ms;
  }
}

/** The other side of a channel is gone. */
export class ChannelClosedError extends Error {
  constructor(message: string = "the channel is closed") {
    super(text(message));
    this.name = "ChannelClosedError";
  }
}

/** A broadcast receiver fell behind; `skipped` values were overwritten before it read them. */
export class LaggedError extends Error {
  readonly skipped: number;
  constructor(skipped: number) {
    super(`receiver lagged behind and skipped ${text(skipped)} value(s)`);
    this.name = "LaggedError";
    this.skipped = skipped;
  }
}

/** The semaphore was closed. */
export class SemaphoreClosedError extends Error {
  constructor(message: string = "the semaphore is closed") {
    super(text(message));
    this.name = "SemaphoreClosedError";
  }
}

/** The runtime is shutting down or shut down. */
export class ShutdownError extends Error {
  constructor(message: string = "the runtime is shutting down") {
    super(text(message));
    this.name = "ShutdownError";
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
