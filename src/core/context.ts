/**
 * Which task, runtime and cancellation a piece of code runs under. One AsyncLocalStorage holds a
 * ContextFrame; spawn, shield, scope and Runtime.enter each run code under their own ContextFrame.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CancellationToken } from "../cancel/token.js";
import type { Branch } from "./claim.js";
import type { Hold } from "./holds.js";

/** What the ALS holds. A task record is its own frame, so spawning allocates no extra object. */
export interface ContextFrame {
  /** The token whose cancellation withdraws steward waits, unless `shielded`. */
  readonly token: CancellationToken | undefined;
  readonly shielded: boolean;
  /** The task record, if this code runs in a task (typed loosely to avoid an import cycle). */
  readonly taskRecord: TaskLike | undefined;
  readonly runtimeRef: unknown;
  /** The select branch this code runs for: set in an async branch function's frame (see ./claim.ts). */
  readonly branch?: Branch | undefined;
}

export interface TaskLike {
  readonly id: number;
  readonly name: string | undefined;
  /** What the task waits on now, for dumps and stuck-task reports. */
  waitingOn: string | undefined;
  /** @internal Its steward waits that are pending (a task with more than one is not parked on any one of them). */
  waits: number;
  /** @internal When its latest wait began (Date.now()), for dumps. */
  waitSince: number;
  /** @internal Its latest steward wait (a Waiter) while that is pending, for dumps and the deadlock detector. */
  wait: object | undefined;
  /** @internal The guards it holds, most recent first (core/holds.ts). */
  held: Hold | null;
  /** @internal The task whose code spawned it, if any. */
  readonly parent: TaskLike | undefined;
}

export const als = new AsyncLocalStorage<ContextFrame>();

export function currentFrame(): ContextFrame | undefined {
  return als.getStore();
}

/**
 * The frame an async select branch function runs in: its caller's frame, plus the branch. The
 * function's continuations inherit it, so the waits it starts after an `await` belong to the branch.
 */
export class BranchFrame implements ContextFrame {
  readonly token: CancellationToken | undefined;
  readonly shielded: boolean;
  readonly taskRecord: TaskLike | undefined;
  readonly runtimeRef: unknown;
  constructor(
    outer: ContextFrame | undefined,
    readonly branch: Branch,
  ) {
    this.token = outer?.token;
    this.shielded = outer?.shielded ?? false;
    this.taskRecord = outer?.taskRecord;
    this.runtimeRef = outer?.runtimeRef;
  }
}

/**
 * The supervisor's watchdog evaluates this on the paused main thread to name the running task
 * without any per-task bookkeeping on the hot path.
 */
const hook = Symbol.for("steward.currentTask");
(globalThis as Record<symbol, unknown>)[hook] ??= (): { id: number; name?: string } | undefined => {
  const t = als.getStore()?.taskRecord;
  if (t === undefined) return undefined;
  return t.name === undefined ? { id: t.id } : { id: t.id, name: t.name };
};
