import { CancellationToken } from "../cancel/token.js";
import { currentFrame } from "../core/context.js";
import { CancelledError } from "../errors.js";
import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkOptions, checkSignal, typeName } from "../util/validate.js";
import { WaitQueue, type WaitOptions } from "../core/waiter.js";

/** What an interval does with ticks it missed because nobody called `tick()` in time (tokio's MissedTickBehavior). */
export type MissedTick = "burst" | "delay" | "skip";

/** Options of {@link interval}. */
export interface IntervalOptions {
  /** What to do with missed ticks. Default "burst". */
  missedTick?: MissedTick;
  /** Aborting it stops the interval (as disposing it does). */
  signal?: AbortSignal;
  /**
   * Whether iterating the interval (`for await`, `next()`) ends once the runtime it was created
   * in announces its shutdown (`runtime.stopping`). Default true: a periodic loop holds no
   * accepted work between ticks, so it should not hold the drain until its deadline; the code
   * after the loop runs with every steward wait still working (a last flush, say). `tick()` is
   * never ended by it. Pass false for a loop that must keep ticking through the drain.
   * Created outside any runtime (no task, no `enter()`), an interval has no announcement to follow.
   * @default true
   */
  endOnStop?: boolean;
}

/** A periodic timer: `await it.tick()`, or `for await (const n of it)`. Dispose to stop it. */
export interface Interval extends AsyncIterableIterator<number>, Disposable {
  /** Resolves with the tick's number (0 for the first, which is immediate). Cancel-safe and select-safe. */
  tick(opts?: WaitOptions): Promise<number>;
}

/**
 * A tokio-style interval of `ms` milliseconds (any finite period, past 2^31−1 ms too). The first
 * tick completes at once. Missed ticks: "burst" (default) fires them back to back until caught up,
 * "delay" restarts the period from the late tick, "skip" jumps to the next multiple of the period.
 * A timer runs only while a `tick()` is pending, so an idle interval never keeps the process alive.
 *
 * Created in a runtime's task (or `enter()`), its iteration ends when that runtime announces its
 * shutdown (see {@link IntervalOptions.endOnStop}).
 * @throws RangeError for a non-positive or non-finite `ms`; TypeError for a bad option.
 */
export function interval(ms: number, opts?: IntervalOptions): Interval {
  checkDuration(ms, "ms", { long: true });
  if (ms <= 0) throw new RangeError(`ms must be > 0, got ${ms}`);
  checkOptions(opts);
  const missed = opts?.missedTick ?? "burst";
  if (missed !== "burst" && missed !== "delay" && missed !== "skip") {
    throw new TypeError(`opts.missedTick must be "burst", "delay" or "skip", got ${typeName(missed)}`);
  }
  checkSignal(opts?.signal);
  const endOnStop = opts?.endOnStop ?? true;
  if (typeof endOnStop !== "boolean") throw new TypeError(`opts.endOnStop must be a boolean, got ${typeName(endOnStop)}`);
  return new IntervalImpl(ms, missed, opts?.signal, endOnStop ? runtimeStopping() : undefined);
}

/** The `stopping` token of the runtime code runs under now, if any. */
function runtimeStopping(): CancellationToken | undefined {
  const rt = currentFrame()?.runtimeRef as { stopping?: unknown } | undefined;
  return rt?.stopping instanceof CancellationToken ? rt.stopping : undefined;
}

class IntervalImpl implements Interval {
  private readonly start = now();
  private deadline: number;
  private count = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly queue: WaitQueue<number>;
  /** Removed again on dispose: an interval must not stay reachable from a long-lived signal. */
  private readonly onAbort: (() => void) | undefined;
  /** Withdraws a pending `next()` when the runtime announces its shutdown; made on first use. */
  private iterCtl: AbortController | undefined;
  private readonly endIteration = (reason: unknown): void => this.iterCtl?.abort(reason);

  constructor(
    private readonly ms: number,
    private readonly missed: MissedTick,
    private readonly signal: AbortSignal | undefined,
    private readonly stopping: CancellationToken | undefined,
  ) {
    this.deadline = this.start;
    this.queue = new WaitQueue<number>(
      {
        // Node may fire a timer a fraction of a millisecond before the clock reaches it.
        ready: () => this.stopped || now() >= this.deadline - 1,
        take: () => {
          if (this.stopped) throw new CancelledError(undefined, "the interval was disposed");
          return this.advance();
        },
      },
      `interval ${ms} ms`,
    );
    this.queue.onWithdraw = () => {
      if (this.queue.length === 0) this.disarm();
    };
    if (signal !== undefined) {
      this.onAbort = () => this[Symbol.dispose]();
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  tick(opts?: WaitOptions): Promise<number> {
    const p = this.queue.wait(undefined, this.signal !== undefined && opts?.signal === undefined ? { signal: this.signal } : opts);
    this.arm();
    return p;
  }

  async next(): Promise<IteratorResult<number>> {
    if (this.iterationOver()) return { done: true, value: undefined };
    const stopping = this.stopping;
    // In a runtime, the announcement withdraws the wait. The subscription lives only while a
    // next() waits, so an interval nobody disposes leaves nothing on the runtime's token.
    // (The interval's own signal disposes the interval, which ends the wait too.)
    const sub = stopping?.onCancel(this.endIteration);
    try {
      const opts = stopping === undefined ? undefined : { signal: (this.iterCtl ??= new AbortController()).signal };
      return { done: false, value: await this.tick(opts) };
    } catch (e) {
      if (this.iterationOver()) return { done: true, value: undefined };
      throw e;
    } finally {
      sub?.[Symbol.dispose]();
    }
  }

  /** Disposed, or its runtime announced its shutdown. */
  private iterationOver(): boolean {
    return this.stopped || this.stopping?.isCancelled === true;
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
    if (this.onAbort !== undefined) this.signal!.removeEventListener("abort", this.onAbort);
    this.disarm();
    this.queue.pump();
  }

  private advance(): number {
    const n = this.count++;
    const t = now();
    if (this.missed === "burst") this.deadline += this.ms;
    else if (this.missed === "delay") this.deadline = t + this.ms;
    else this.deadline = this.start + (Math.floor((t - this.start) / this.ms) + 1) * this.ms;
    if (n === 0 && this.missed !== "skip") this.deadline = Math.max(this.deadline, this.start + this.ms);
    return n;
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped || this.queue.length === 0) return;
    const wait = Math.max(0, this.deadline - now());
    this.timer = schedule(() => {
      this.timer = undefined;
      this.queue.pump();
      this.arm();
    }, Math.ceil(wait));
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
