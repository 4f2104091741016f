/** A lease held in Redis, as its holder sees it: the guard that acquire() and lock() return. */
import type { CancellationToken } from "../index.js";
import { LeaseLostError, type LeaseLossCause } from "./errors.js";

/**
 * Permits (or a lock) held in Redis, from the grant until `release()` (or the end of the
 * `using` / `await using` block that holds it). While held, steward renews it in the background
 * (every `leaseMs / 3`), up to `maxHoldMs`.
 *
 * When it is lost — Redis no longer has it, no renewal was confirmed before its time ran out, or
 * `maxHoldMs` passed — `signal` aborts with a {@link LeaseLostError}, `lost` turns true, and the
 * task that acquired it is cancelled with that error (unless `bindTask: false`). Pass `fence` to
 * the resource you protect so it can refuse a holder that lost its lease without knowing it yet.
 */
export interface Lease extends Disposable, AsyncDisposable {
  /**
   * The fencing token: larger than every token granted on this resource before (also across
   * Redis restarts, unless Redis's clock steps back). Increasing, not consecutive.
   */
  readonly fence: number;
  /** Permits it holds (1 for a mutex). */
  readonly count: number;
  /** Aborts with a LeaseLostError when the lease is lost; never aborts on release. */
  readonly signal: AbortSignal;
  /**
   * True once the lease is lost. Reading it also checks the clock, so it turns true the moment
   * the lease's time has run out without a confirmed renewal — even before the timer that would
   * tell the task has had a chance to run (after a long pause of this process).
   */
  readonly lost: boolean;
  /** True while it is held: not released and not lost. */
  readonly held: boolean;
  /** Throws the LeaseLostError if the lease is lost. Never throws otherwise. */
  throwIfLost(): void;
  /**
   * Gives the lease back. Resolves once Redis confirmed it (the next waiter in line is then served
   * at once), or once the lease would have expired anyway; never rejects. Idempotent; after the
   * lease was lost it resolves at once.
   */
  release(): Promise<void>;
}

/** @internal What a lease needs from the station that granted it. */
export interface LeaseHost {
  readonly label: string;
  readonly leaseMs: number;
  forget(lease: LeaseImpl): void;
  releaseId(id: string): Promise<void>;
}

const HELD = 0;
const RELEASED = 1;
const LOST = 2;

/** @internal */
export class LeaseImpl implements Lease {
  #state = HELD;
  readonly #ac = new AbortController();
  #error: LeaseLostError | undefined;
  /** performance.now() by which Redis may have let it expire. */
  #deadline: number;
  #lossTimer: NodeJS.Timeout | undefined;
  #holdTimer: NodeJS.Timeout | undefined;
  #released: Promise<void> | undefined;

  constructor(
    private readonly host: LeaseHost,
    readonly id: string,
    readonly count: number,
    readonly fence: number,
    deadline: number,
    /** The token cancelled with the LeaseLostError when it is lost (the acquiring task's). */
    readonly token: CancellationToken | undefined,
    /** The acquiring task, to stop renewing once it has ended. */
    readonly task: { readonly id: number; readonly name: string | undefined; isFinished(): boolean } | undefined,
    /** The runtime whose drop phase releases it. */
    readonly rt: unknown,
    maxHoldMs: number,
  ) {
    this.#deadline = deadline;
    this.#armLoss();
    if (maxHoldMs !== Infinity) {
      this.#holdTimer = setTimeout(() => this.lose("maxHold"), maxHoldMs);
      this.#holdTimer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.#ac.signal;
  }

  get lost(): boolean {
    if (this.#state === HELD && performance.now() >= this.#deadline) this.lose("unconfirmed");
    return this.#state === LOST;
  }

  get held(): boolean {
    return !this.lost && this.#state === HELD;
  }

  throwIfLost(): void {
    if (this.lost) throw this.#error!;
  }

  release(): Promise<void> {
    if (this.#state === LOST) return Promise.resolve();
    if (this.#released !== undefined) return this.#released;
    this.#state = RELEASED;
    this.#stop();
    const confirmed = this.host.releaseId(this.id);
    // Not renewed any more, so it cannot outlive its last renewal: waiting longer than that for
    // Redis to confirm would only hang the caller.
    const bound = Math.max(0, this.#deadline - performance.now()) + this.host.leaseMs;
    this.#released = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, bound);
      t.unref();
      void confirmed.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    return this.#released;
  }

  [Symbol.dispose](): void {
    void this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** @internal A renewal was confirmed: Redis holds it until local time `deadline`. */
  confirm(deadline: number): void {
    if (this.#state !== HELD) return;
    this.#deadline = deadline;
    this.#armLoss();
  }

  /** @internal True while it is held and should be renewed. */
  get active(): boolean {
    return this.#state === HELD;
  }

  /** @internal The lease is gone: tell the holder. Redis is asked to free it unless it said it had. */
  lose(why: LeaseLossCause): void {
    if (this.#state !== HELD) return;
    this.#state = LOST;
    this.#stop();
    const err = new LeaseLostError(this.host.label, this.fence, why);
    this.#error = err;
    this.#ac.abort(err);
    this.token?.cancel(err);
    if (why !== "expired") void this.host.releaseId(this.id);
  }

  /** @internal Drops a lease nobody ever saw (its waiter was withdrawn as it arrived): timers only. */
  discard(): void {
    this.#state = RELEASED;
    this.#stop();
  }

  /** @internal For reports: "fence 12 (task 3 'worker')". */
  describe(): string {
    const t = this.task;
    if (t === undefined) return `fence ${this.fence}`;
    return `fence ${this.fence} (task ${t.id}${t.name === undefined ? "" : ` '${t.name}'`})`;
  }

  #armLoss(): void {
    if (this.#lossTimer !== undefined) clearTimeout(this.#lossTimer);
    this.#lossTimer = setTimeout(() => this.lose("unconfirmed"), Math.max(0, this.#deadline - performance.now()));
    this.#lossTimer.unref();
  }

  #stop(): void {
    if (this.#lossTimer !== undefined) clearTimeout(this.#lossTimer);
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#lossTimer = this.#holdTimer = undefined;
    this.host.forget(this);
  }
}
