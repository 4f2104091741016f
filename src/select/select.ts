import { asCancelledError, type CancellationToken } from "../cancel/token.js";
import type { TaskLike } from "../core/context.js";
import { checkOptions } from "../core/validate.js";
import { claimGroup, claimSignal, joinGroup, LOST, precheck, type SelectGroup, Waiter } from "../core/waiter.js";

/** A select branch: called at once with its own signal; returns the operation to race. */
export type Branch = (signal: AbortSignal) => PromiseLike<unknown>;

/** What select resolves with: the key of the branch that won and its value. */
export type Selected<B extends Record<string, Branch>> = {
  [K in keyof B]: { key: K; value: Awaited<ReturnType<B[K]>> };
}[keyof B];

/**
 * Waits for the first of several operations, like tokio's `select!` and Go's `select`.
 *
 * Every branch function is called synchronously with its own AbortSignal. Steward operations
 * started with that signal (recv, send, reserve, recvMany, joinNext, lock, read, write, acquire,
 * notified, changed, cancelled, wait, sleep, oneshot receive) take part in a claim protocol: at
 * most one of them takes effect, even when several are ready in the same tick, and the losers
 * take nothing. Any other promise races: the first to settle wins and the losers' signals abort.
 *
 * Without `biased`, ready branches are chosen at random (branches are started from a random
 * position); with `biased`, in key order. If the winning branch rejects, select rejects with its
 * error. `opts.signal` or the task's cancellation withdraws every branch.
 * @throws TypeError for an empty or malformed `branches`.
 */
export function select<B extends Record<string, Branch>>(branches: B, opts?: { biased?: boolean; signal?: AbortSignal }): Promise<Selected<B>> {
  if (branches === null || typeof branches !== "object") throw new TypeError("branches must be an object of functions");
  const keys = Object.keys(branches);
  if (keys.length === 0) throw new TypeError("branches must have at least one branch");
  for (const k of keys) {
    if (typeof branches[k] !== "function") throw new TypeError(`branches.${k} must be a function`);
  }
  checkOptions(opts);
  const e = precheck(opts);
  if (e instanceof Promise) return e;

  const n = keys.length;
  const controllers = new Array<AbortController>(n);
  const group: SelectGroup = {
    winner: undefined,
    settleLosers() {
      for (const c of controllers) if (c !== undefined && c.signal !== group.winner) c.abort(LOST);
    },
  };
  const outer = new SelectWaiter<Selected<B>>(group, e.signal, e.token, e.task);
  outer.onWithdraw = () => {
    // Withdrawn before any branch won: nothing may win any more, and every branch stops.
    if (group.winner === undefined) group.winner = WITHDRAWN;
    const reason = e.signal?.aborted ? e.signal.reason : asCancelledError(e.token?.reason);
    for (const c of controllers) if (c !== undefined) c.abort(reason);
  };
  for (let i = 0; i < n; i++) {
    const c = new AbortController();
    joinGroup(c.signal, group);
    controllers[i] = c;
  }

  const start = opts?.biased === true ? 0 : Math.floor(Math.random() * n);
  for (let j = 0; j < n; j++) {
    const i = (start + j) % n;
    const key = keys[i]!;
    const signal = controllers[i]!.signal;
    let p: PromiseLike<unknown>;
    try {
      p = branches[key]!(signal);
    } catch (err) {
      if (claimSignal(signal)) outer.fail(err);
      continue;
    }
    Promise.resolve(p).then(
      (value) => {
        if (claimSignal(signal)) outer.complete({ key, value } as Selected<B>);
      },
      (err: unknown) => {
        if (claimSignal(signal)) outer.fail(err);
      },
    );
  }
  return outer.promise;
}

const WITHDRAWN = new AbortController().signal;

/**
 * The select call's own wait. A branch may have claimed (and taken a message) while its value is
 * still on its way through a microtask; a cancellation arriving in that gap must not drop it, so
 * once a branch has won, the select completes with it.
 */
class SelectWaiter<T> extends Waiter<T, undefined> {
  constructor(
    private readonly group: SelectGroup,
    signal: AbortSignal | undefined,
    token: CancellationToken | undefined,
    task: TaskLike | undefined,
  ) {
    super(undefined, "select", signal, token, task);
  }
  override tryClaim(): boolean {
    return this.isPending && claimGroup(this.signal);
  }
  override handleEvent(): void {
    if (this.group.winner === undefined || this.group.winner === WITHDRAWN) super.handleEvent();
  }
  override onTokenCancelled(reason: unknown): void {
    if (this.group.winner === undefined || this.group.winner === WITHDRAWN) super.onTokenCancelled(reason);
  }
}
