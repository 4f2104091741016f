/**
 * The claim protocol of select (API.md §3), the part of Go's and core.async's select that makes a
 * losing branch take nothing.
 *
 * A select call is a {@link SelectGroup}; each of its branches is a {@link Branch}. Every steward
 * wait that belongs to a branch claims it before it consumes anything: the first claim wins the
 * group, and a wait of any other branch is then refused (it rejects with {@link LOST}) or, if it
 * is already queued, withdrawn. Claiming is synchronous and has no side effect beyond marking the
 * winner, so it holds even when several branches become ready in the same tick.
 *
 * Which branch a wait belongs to, in order:
 *  1. the branch whose function is running synchronously right now ({@link activeBranch}: select
 *     sets it around each call) — so `() => rx.recv()` needs no signal;
 *  2. the branch of the AsyncLocalStorage frame it runs in — select runs an async branch function
 *     in a frame of its own, so the waits it starts after an `await` belong to it too;
 *  3. the branch whose AbortSignal it was given, wherever and whenever it runs.
 * When the signal's branch is nested deeper than the one found by 1 or 2 (a select inside a
 * branch), the deeper one is used. A nested group's claim first claims its parent branch, so an
 * inner select's winner is also its outer branch's claim.
 */

/** @internal One select() call. */
export interface SelectGroup {
  /** The branch that won, {@link WITHDRAWN_BRANCH} once the select was withdrawn, or undefined. */
  winner: Branch | undefined;
  /** The branch this select runs in when it is itself inside a select branch. */
  readonly parent: Branch | undefined;
  /** Pending waits of its branches that started before the claim: the losers are withdrawn at settlement. */
  waiters: Set<ClaimWaiter> | undefined;
  /** True when settlement has work (waiters, signals, warnings); settlement then runs once, a microtask after the claim. */
  settleNeeded: boolean;
  /** Withdraws the losers, aborts their signals. */
  settle(): void;
}

/** @internal One branch of a select call. */
export interface Branch {
  readonly group: SelectGroup;
  /** Set by the precheck of a wait its function starts synchronously. */
  startedWait: boolean;
  /**
   * A wait of the branch that claimed on its ready fast path leaves its answer here (the promise
   * it returned and the value in it): when the branch function returned that very promise, select
   * knows the branch's value at once and need not wait for it through a `then`.
   */
  readyPromise: Promise<unknown> | undefined;
  readyValue: unknown;
}

/** @internal What the claim protocol needs of a waiter: its branch, and a way to withdraw it. */
export interface ClaimWaiter {
  readonly branch: Branch | undefined;
  withdraw(reason: unknown): void;
}

/**
 * @internal The reason a losing branch's waits and signal are rejected and aborted with. One
 * shared instance: building a DOMException captures a stack, which costs microseconds, and a
 * loser's stack says nothing.
 */
export const LOST = new DOMException("another select branch won", "AbortError");

/**
 * @internal What a wait of a losing branch returns: one promise rejected with {@link LOST}, shared,
 * and handled once here, so a refused wait allocates nothing and costs no unhandled-rejection
 * bookkeeping (a fresh rejected promise without a handler goes through Node's tracking twice).
 */
export const LOST_REJECTED: Promise<never> = Promise.reject(LOST);
LOST_REJECTED.catch(() => {});

/** @internal The winner of a select that was withdrawn (its signal aborted, its task cancelled) before any branch won. */
export const WITHDRAWN_BRANCH: Branch = {
  group: { winner: undefined, parent: undefined, waiters: undefined, settleNeeded: false, settle() {} },
  startedWait: false,
  readyPromise: undefined,
  readyValue: undefined,
};

/** @internal The branch whose function is running synchronously now, if any (select sets it with {@link enterBranch}). */
export let activeBranch: Branch | undefined;

/** @internal Sets the running branch; returns the previous one, to restore after the call. */
export function enterBranch(b: Branch | undefined): Branch | undefined {
  const prev = activeBranch;
  activeBranch = b;
  return prev;
}

const BRANCH = Symbol("steward.selectBranch");

/** @internal Marks `signal` as the signal of branch `b`. */
export function setSignalBranch(signal: AbortSignal, b: Branch): void {
  (signal as unknown as Record<symbol, Branch>)[BRANCH] = b;
}

/** @internal The branch `signal` was given to, if it is a select branch's signal. */
export function signalBranch(signal: AbortSignal): Branch | undefined {
  return (signal as unknown as Record<symbol, Branch | undefined>)[BRANCH];
}

/** True when `a` is `b` or a branch `b` is nested in. */
export function encloses(a: Branch, b: Branch | undefined): boolean {
  for (; b !== undefined; b = b.group.parent) if (b === a) return true;
  return false;
}

/** @internal The branch a wait belongs to, given its context's branch and its signal's (either may be missing). */
export function pickBranch(ctx: Branch | undefined, fromSignal: Branch | undefined): Branch | undefined {
  if (fromSignal === undefined || ctx === fromSignal) return ctx;
  if (ctx === undefined || encloses(ctx, fromSignal)) return fromSignal;
  return ctx;
}

/** @internal Could a wait of `b` still take effect: no branch won yet, or `b` did (at every level)? */
export function branchLive(b: Branch | undefined): boolean {
  for (; b !== undefined; b = b.group.parent) {
    const w = b.group.winner;
    if (w !== undefined) return w === b;
  }
  return true;
}

function settleGroup(g: SelectGroup): void {
  g.settle();
}

/**
 * @internal Claims branch `b` (and, for a nested select, its parent first). False when another
 * branch won: the caller must then take nothing. Idempotent for the winner.
 */
export function claimBranch(b: Branch | undefined): boolean {
  if (b === undefined) return true;
  const g = b.group;
  const w = g.winner;
  if (w !== undefined) return w === b;
  if (g.parent !== undefined && !claimBranch(g.parent)) return false;
  g.winner = b;
  if (g.settleNeeded) void Promise.resolve(g).then(settleGroup);
  return true;
}

/**
 * @internal Notes that `g` has work for its settlement (a signal to abort, a warning to give):
 * settlement runs a microtask after the claim, or, if the claim happened already, a microtask from now.
 */
export function markSettleNeeded(g: SelectGroup): void {
  if (g.settleNeeded) return;
  g.settleNeeded = true;
  if (g.winner !== undefined) void Promise.resolve(g).then(settleGroup);
}

/** @internal Registers a pending wait of `b`'s group, before the claim, for withdrawal if it loses. */
export function registerWaiter(b: Branch, w: ClaimWaiter): void {
  const g = b.group;
  if (g.winner !== undefined) return; // the winner's later waits cannot lose any more
  (g.waiters ??= new Set()).add(w);
  g.settleNeeded = true;
}

/** @internal Unregisters a wait that ended. */
export function unregisterWaiter(b: Branch, w: ClaimWaiter): void {
  b.group.waiters?.delete(w);
}

/**
 * @internal Does `signal` make the claim protocol withdraw a wait of `b` by itself (it is `b`'s
 * signal or an enclosing branch's)? Then the wait needs no abort listener on it.
 */
export function signalCovered(signal: AbortSignal, b: Branch | undefined): boolean {
  const sb = signalBranch(signal);
  return sb !== undefined && encloses(sb, b);
}
