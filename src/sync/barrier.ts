import { checkInteger } from "../util/validate.js";
import { type Resource, type ResourceDescription, type WaitOptions, WaitQueue } from "../core/waiter.js";
import { label, type SyncOptions } from "./shared.js";

/** What `Barrier#wait` resolves with. */
export interface BarrierWaitResult {
  /** True for exactly one of the tasks released together (tokio's `is_leader`). */
  readonly isLeader: boolean;
}

const LEADER: BarrierWaitResult = Object.freeze({ isLeader: true });
const FOLLOWER: BarrierWaitResult = Object.freeze({ isLeader: false });

class BarrierState implements Resource<BarrierWaitResult, undefined> {
  /** Waiters still to be released by the trip in progress. */
  releasing = 0;
  readonly q: WaitQueue<BarrierWaitResult>;
  constructor(
    readonly n: number,
    what: string,
  ) {
    this.q = new WaitQueue<BarrierWaitResult>(this, what);
  }
  ready(): boolean {
    return this.releasing > 0 || this.n === 1;
  }
  take(): BarrierWaitResult {
    if (this.releasing === 0) return LEADER; // Barrier(1): every arrival completes its own generation
    return --this.releasing === 0 ? LEADER : FOLLOWER;
  }

  /**
   * The arrivals of the current generation are the live waiters in the queue (a withdrawn one
   * leaves it, so its arrival no longer counts). Once `n` of them are there, they are released
   * together: each is claimed first, so no select branch here is released after another branch
   * of its select has won. Claiming one branch rules out any other branch of the same select
   * queued here; then the generation turns out one short and the claimed waiters stay queued
   * (committed to this barrier) for the next arrival.
   */
  tryTrip(): void {
    const q = this.q;
    const n = this.n;
    if (q.length < n) return;
    let live = 0;
    for (let w = q.head; w !== null && live < n; w = w.next) if (w.isLive) live++;
    if (live < n) return; // select losers not yet unlinked: commit nobody
    let claimed = 0;
    for (let w = q.head; w !== null && claimed < n; w = w.next) {
      if (w.isLive && w.tryClaim()) claimed++;
    }
    if (claimed < n) return;
    this.releasing = n;
    try {
      q.pump(); // serves the first n live waiters, in order; the last is the leader
    } finally {
      this.releasing = 0;
    }
  }
  /** For the live console, the flight recorder and dumps (Resource.inspect). */
  inspect(): ResourceDescription {
    const what = this.q.what;
    return { kind: "Barrier", op: "wait", label: what.slice("wait on ".length, what.lastIndexOf(" (")), parties: this.n, arrived: this.q.length };
  }
}

/**
 * Makes `n` tasks wait for each other, like tokio's `Barrier`: the n-th call to `wait()` releases
 * all n, and exactly one of them is told it is the leader. Then the barrier starts over (it can
 * be used for any number of generations).
 *
 * Cancel safety: unlike tokio's, `wait()` is cancel-safe and select-safe: a withdrawn call takes
 * its arrival back. Waits carry `wait on Barrier (n parties)` for dumps.
 */
export class Barrier {
  readonly #s: BarrierState;

  /**
   * @param n tasks that must arrive before any is released; 1 releases every call at once.
   * @param opts `name` labels its waits in dumps.
   * @throws TypeError/RangeError when `n` is not an integer >= 1 (Barrier(0) is a RangeError);
   *   TypeError for malformed `opts`.
   */
  constructor(n: number, opts?: SyncOptions) {
    checkInteger(n, "n", 1);
    this.#s = new BarrierState(n, `wait on ${label("Barrier", opts)} (${n} parties)`);
  }

  /**
   * Arrives at the barrier and waits until `n` tasks have arrived in this generation. Resolves
   * `{ isLeader: true }` for exactly one of them (the last to be released) and
   * `{ isLeader: false }` for the others.
   *
   * Cancel-safe and select-safe: a call withdrawn by `opts.signal`, the task's cancellation or a
   * winning select branch takes its arrival back (the generation then needs another), and
   * rejects with the signal's reason (CancelledError for a cancelled task). A call is withdrawn
   * only before its generation is released; once released it resolves.
   * @throws TypeError (synchronously) when `opts` is malformed.
   */
  wait(opts?: WaitOptions): Promise<BarrierWaitResult> {
    const s = this.#s;
    const p = s.q.wait(undefined, opts);
    s.tryTrip();
    return p;
  }

  /** Tasks waiting at the barrier in the current generation. */
  get waiting(): number {
    return this.#s.q.length;
  }
}
