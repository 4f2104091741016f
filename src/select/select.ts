import type { CancellationToken } from "../cancel/token.js";
import { type Branch, branchLive, claimBranch, type ClaimWaiter, enterBranch, LOST, LOST_REJECTED, markSettleNeeded, type SelectGroup, setSignalBranch, WITHDRAWN_BRANCH } from "../core/claim.js";
import { als, BranchFrame, currentFrame, type TaskLike } from "../core/context.js";
import { checkOptions, typeName } from "../util/validate.js";
import { precheck, Waiter } from "../core/waiter.js";
import { noteUnclaimable } from "./warn.js";

/** A select branch: called at once with its own signal; returns the operation to race. */
export type Branch_ = (signal: AbortSignal) => PromiseLike<unknown>;
export type { Branch_ as Branch };

/** What select resolves with: the key of the branch that won and its value. */
export type Selected<B extends Record<string, Branch_>> = {
  [K in keyof B]: { key: K; value: Awaited<ReturnType<B[K]>> };
}[keyof B];

const AsyncFunction = (async () => {}).constructor;

/**
 * Waits for the first of several operations, like tokio's `select!` and Go's `select`.
 *
 * Every branch function is called synchronously, with its own AbortSignal if it declares a
 * parameter (a function that declares none gets no signal: none is made). At most one branch
 * takes effect: the steward waits (recv, send, reserve, recvMany, joinNext, lock, read, write,
 * acquire, notified, changed, cancelled, wait, sleep, oneshot receive, ...) of a branch claim the
 * select before they take anything, so a losing branch takes no message, sends nothing and
 * holds no lock or permit, even when several become ready in the same tick. A wait belongs to a
 * branch when
 *  - the branch function starts it synchronously (before it returns or first awaits), signal or not;
 *  - an `async` branch function starts it at any point, after any number of awaits;
 *  - it was given the branch's signal, wherever and whenever it starts.
 * The first of a branch's waits to be served wins the select for the branch; what the branch does
 * after that is its body, which select waits for (so in a looping branch the loop's first wait
 * decides, as the first operation does in Go). Waits a non-async branch function starts later
 * (in a `.then` callback, a timer) without the signal are outside the claim: in development
 * (`NODE_ENV` not "production") select warns once per branch when such a branch loses while it
 * still runs. Any other promise races: the first to settle wins and the losers' signals abort.
 *
 * Without `biased`, ready branches are chosen at random (branches are started from a random
 * position); with `biased`, in key order. If the winning branch rejects, select rejects with its
 * error. `opts.signal` or the task's cancellation withdraws every branch.
 * @throws TypeError for an empty or malformed `branches` or `opts`.
 */
export function select<B extends Record<string, Branch_>>(branches: B, opts?: { biased?: boolean; signal?: AbortSignal }): Promise<Selected<B>> {
  if (branches === null || typeof branches !== "object") throw new TypeError(`branches must be an object of functions, got ${typeName(branches)}`);
  const keys = Object.keys(branches);
  const n = keys.length;
  if (n === 0) throw new TypeError("branches must have at least one branch");
  for (let i = 0; i < n; i++) {
    if (typeof branches[keys[i]!] !== "function") throw new TypeError(`branches.${keys[i]!} must be a function, got ${typeName(branches[keys[i]!])}`);
  }
  let biased: unknown;
  if (opts !== undefined) {
    checkOptions(opts);
    biased = opts.biased;
    if (biased !== undefined && typeof biased !== "boolean") throw new TypeError(`opts.biased must be a boolean, got ${typeName(biased)}`);
  }
  const e = precheck(opts);
  if (e instanceof Promise) return e;

  const sel = new SelectWaiter<Selected<B>>(e.signal, e.token, e.task, e.branch);
  const start = biased === true ? 0 : Math.floor(Math.random() * n);
  for (let j = 0; j < n; j++) {
    const key = keys[(start + j) % n]!;
    const fn = branches[key]!;
    const b = new BranchState(sel, key);
    const isAsync = fn.constructor === AsyncFunction;
    let signal: AbortSignal | undefined;
    if (fn.length !== 0) {
      const c = new AbortController();
      signal = c.signal;
      setSignalBranch(signal, b);
      b.controller = c;
      markSettleNeeded(sel);
    }
    let p: PromiseLike<unknown>;
    const prev = enterBranch(b);
    try {
      if (isAsync) p = als.run(new BranchFrame(currentFrame(), b), fn as (s: AbortSignal | undefined) => PromiseLike<unknown>, signal);
      else p = signal === undefined ? (fn as () => PromiseLike<unknown>)() : fn(signal);
    } catch (err) {
      enterBranch(prev);
      if (claimBranch(b)) sel.fail(err);
      continue;
    }
    enterBranch(prev);
    // A wait refused because another branch won already: nothing to wait for.
    if (p === LOST_REJECTED && !branchLive(b)) continue;
    // The branch returned the promise of a wait that claimed on its ready path: its value is known.
    if (p === b.readyPromise && sel.winner === b) {
      sel.complete({ key, value: b.readyValue } as Selected<B>);
      continue;
    }
    if (!isAsync && signal === undefined && !b.startedWait) noteUnclaimable(b, fn, p);
    sel.track(b);
    Promise.resolve(p).then(
      (value) => {
        b.settled = true;
        if (claimBranch(b)) sel.complete({ key, value } as Selected<B>);
      },
      (err: unknown) => {
        b.settled = true;
        if (claimBranch(b)) sel.fail(err);
      },
    );
  }
  return sel.promise;
}

/** @internal One branch of a select call. */
export class BranchState implements Branch {
  /** Its AbortController, made only when the branch function declares a parameter. */
  controller: AbortController | undefined = undefined;
  /** Its promise settled. */
  settled = false;
  /** A steward wait started synchronously in its function (set by the waiter core's precheck). */
  startedWait = false;
  readyPromise: Promise<unknown> | undefined = undefined;
  readyValue: unknown = undefined;
  /** Nothing can withdraw it: warn if it loses while it runs (see ./warn.ts; development only). */
  unclaimed: ((b: BranchState) => void) | undefined = undefined;
  constructor(
    readonly group: SelectGroup,
    readonly key: string,
  ) {}
}

/**
 * The select call: its own wait (what select returns) and its claim group in one object. A branch
 * may have claimed (and taken a message) while its value is still on its way through a microtask;
 * a cancellation arriving in that gap must not drop it, so once a branch has won, the select
 * completes with it.
 */
class SelectWaiter<T> extends Waiter<T, undefined> implements SelectGroup {
  winner: Branch | undefined = undefined;
  waiters: Set<ClaimWaiter> | undefined = undefined;
  settleNeeded = false;
  /** The branch this select runs in (a select inside a select branch): claimed first. */
  readonly parent: Branch | undefined;
  /** Branches with something to do when they lose: a signal to abort, a warning to give. */
  private tracked: BranchState[] | undefined = undefined;

  constructor(signal: AbortSignal | undefined, token: CancellationToken | undefined, task: TaskLike | undefined, branch: Branch | undefined) {
    super(undefined, "select", signal, token, task, branch);
    this.parent = branch;
  }

  track(b: BranchState): void {
    if (b.controller !== undefined || b.unclaimed !== undefined) (this.tracked ??= []).push(b);
  }

  settle(): void {
    this.finishLosers(LOST);
  }

  private get undecided(): boolean {
    const w = this.winner;
    return w === undefined || w === WITHDRAWN_BRANCH;
  }
  override handleEvent(): void {
    if (this.undecided) super.handleEvent();
  }
  override onTokenCancelled(reason: unknown): void {
    if (this.undecided) super.onTokenCancelled(reason);
  }
  override withdraw(reason: unknown): void {
    if (!this.isPending) return;
    super.withdraw(reason);
    // Withdrawn before any branch won: nothing may win any more, and every branch stops.
    if (this.winner === undefined) this.winner = WITHDRAWN_BRANCH;
    this.finishLosers(reason);
  }

  /** Withdraws the waits and aborts the signals of every branch but the winner. */
  private finishLosers(reason: unknown): void {
    const winner = this.winner;
    const ws = this.waiters;
    this.waiters = undefined;
    if (ws !== undefined) for (const w of ws) if (w.branch !== winner) w.withdraw(reason);
    const tracked = this.tracked;
    this.tracked = undefined;
    if (tracked === undefined) return;
    for (const b of tracked) {
      if (b === winner) continue;
      b.controller?.abort(reason);
      if (b.unclaimed !== undefined && !b.settled) b.unclaimed(b);
    }
  }
}
