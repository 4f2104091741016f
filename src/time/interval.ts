import { checkDuration, checkOptions, checkSignal } from "../core/validate.js";
import { WaitQueue, type WaitOptions } from "../core/waiter.js";

/** What an interval does with ticks it missed because nobody called `tick()` in time (tokio's MissedTickBehavior). */
export type MissedTick = "burst" | "delay" | "skip";

/** A periodic timer: `await it.tick()`, or `for await (const n of it)`. Dispose to stop it. */
export interface Interval extends AsyncIterableIterator<number>, Disposable {
  /** Resolves with the tick's number (0 for the first, which is immediate). Cancel-safe and select-safe. */
  tick(opts?: WaitOptions): Promise<number>;
}

/**
 * A tokio-style interval of `ms` milliseconds. The first tick completes at once. Missed ticks:
 * "burst" (default) fires them back to back until caught up, "delay" restarts the period from the
 * late tick, "skip" jumps to the next multiple of the period. A timer runs only while a `tick()`
 * is pending, so an idle interval never keeps the process alive.
 * @throws RangeError for a non-positive `ms`; TypeError for a bad missedTick or signal.
 */
export function interval(ms: number, opts?: { missedTick?: MissedTick; signal?: AbortSignal }): Interval {
  checkDuration(ms, "ms");
  if (ms <= 0) throw new RangeError(`ms must be > 0, got ${ms}`);
  checkOptions(opts);
  const missed = opts?.missedTick ?? "burst";
  if (missed !== "burst" && missed !== "delay" && missed !== "skip") {
    throw new TypeError(`opts.missedTick must be "burst", "delay" or "skip", got ${String(missed)}`);
  }
  checkSignal(opts?.signal);
  return new IntervalImpl(ms, missed, opts?.signal);
}

const STOPPED = new Error("the interval was stopped");

class IntervalImpl implements Interval {
  private readonly start = performance.now();
  private deadline: number;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly queue: WaitQueue<number>;

  constructor(
    private readonly ms: number,
    private readonly missed: MissedTick,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.deadline = this.start;
    this.queue = new WaitQueue<number>(
      {
        // Node may fire a timer a fraction of a millisecond before performance.now() reaches it.
        ready: () => this.stopped || performance.now() >= this.deadline - 1,
        take: () => {
          if (this.stopped) throw STOPPED;
          return this.advance();
        },
      },
      `interval ${ms} ms`,
    );
    this.queue.onWithdraw = () => {
      if (this.queue.length === 0) this.disarm();
    };
    signal?.addEventListener("abort", () => this[Symbol.dispose](), { once: true });
  }

  tick(opts?: WaitOptions): Promise<number> {
    const p = this.queue.wait(undefined, this.signal !== undefined && opts?.signal === undefined ? { signal: this.signal } : opts);
    this.arm();
    return p;
  }

  async next(): Promise<IteratorResult<number>> {
    if (this.stopped) return { done: true, value: undefined };
    try {
      return { done: false, value: await this.tick() };
    } catch (e) {
      if (this.stopped) return { done: true, value: undefined };
      throw e;
    }
  }

  async return(): Promise<IteratorResult<number>> {
    this[Symbol.dispose]();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.dispose](): void {
    if (this.stopped) return;
    this.stopped = true;
    this.disarm();
    this.queue.pump();
  }

  private advance(): number {
    const n = this.count++;
    const now = performance.now();
    if (this.missed === "burst") this.deadline += this.ms;
    else if (this.missed === "delay") this.deadline = now + this.ms;
    else this.deadline = this.start + (Math.floor((now - this.start) / this.ms) + 1) * this.ms;
    if (n === 0 && this.missed !== "skip") this.deadline = Math.max(this.deadline, this.start + this.ms);
    return n;
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped || this.queue.length === 0) return;
    const wait = Math.max(0, this.deadline - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.queue.pump();
      this.arm();
    }, Math.ceil(wait));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
