import { CancellationToken } from "../cancel/token.js";
import { currentFrame } from "../core/context.js";
import { CancelledError } from "../errors.js";
import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkOptions, checkSignal, typeName } from "../util/validate.js";
import { WaitQueue, type WaitOptions } from "../core/waiter.js";
import { checkDeadline, delayUntil, reached } from "./deadline.js";

/** What an interval does with ticks it missed because nobody called `tick()` in time (tokio's MissedTickBehavior). */
export type MissedTick = "burst" | "delay" | "skip";

/** Options of {@link interval}. */
export interface IntervalOptions {
  /** What to do with missed ticks (changeable later through {@link Interval.missedTick}). @default "burst" */
  missedTick?: MissedTick;
  /**
   * When the first tick is due, in milliseconds on steward's clock (`now()`): tokio's
   * `interval_at`. Later ticks follow every `ms` from it. A start in the past ticks at once, and
   * the ticks missed since count as missed ticks. @default now()
   */
  start?: number;
  /** Aborting it stops the interval (as disposing it does). */
  signal?: AbortSignal;
  /**
   * Whether iterating the interval (`for await`, `next()`) ends once the runtime it was created
   * in announces its shutdown (`runtime.stopping`): a periodic loop holds no
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
  /**
   * Resolves with the tick's number (0 for the first, which is immediate unless `opts.start` is
   * later) once steward's clock reaches the tick's deadline, never earlier. Cancel-safe and
   * select-safe: a withdrawn tick consumes no tick. Rejects with CancelledError once the
   * interval is disposed, with the signal's reason when it aborts.
   */
  tick(opts?: WaitOptions): Promise<number>;
  /** The period in milliseconds. */
  readonly period: number;
  /** When the next tick is due, in milliseconds on steward's clock (`now()`). */
  readonly deadline: number;
  /**
   * What the interval does with missed ticks from now on; settable at any time (tokio's
   * `set_missed_tick_behavior`). Setting anything else throws a TypeError.
   */
  missedTick: MissedTick;
  /** Makes the next tick due one period from now (tokio's `reset`). */
  reset(): void;
  /** Makes the next tick due at once (tokio's `reset_immediately`); later ones follow a period apart. */
  resetImmediately(): void;
  /**
   * Makes the next tick due `ms` milliseconds from now (any duration; `Infinity` is never).
   * @throws TypeError/RangeError for a bad `ms`.
   */
  resetAfter(ms: number): void;
  /**
   * Makes the next tick due at `deadline`, milliseconds on steward's clock.
   * @throws TypeError for a non-number, RangeError for NaN or -Infinity.
   */
  resetAt(deadline: number): void;
}

/**
 * A tokio-style interval of `ms` milliseconds (any finite period, past 2^31−1 ms too). The first
 * tick completes at once, or at `opts.start` (tokio's `interval_at`). Missed ticks (a tick taken
 * more than 5 ms late): "burst" (default) fires them back to back until caught up, "delay"
 * restarts the period from the late tick, "skip" jumps to the next multiple of the period.
 * The handle moves its schedule (`reset`, `resetAfter`, `resetAt`) and reports it (`deadline`,
 * `period`). No tick completes before steward's clock reaches its deadline.
 * A timer runs only while a `tick()` is pending, so an idle interval never keeps the process alive.
 *
 * Created in a runtime's task (or `enter()`), its iteration ends when that runtime announces its
 * shutdown (see {@link IntervalOptions.endOnStop}).
 * @throws RangeError for a non-positive or non-finite `ms` or a non-finite `opts.start`; TypeError for a bad option.
 */
export function interval(ms: number, opts?: IntervalOptions): Interval {
  checkDuration(ms, "ms", { long: true });
  if (ms <= 0) throw new RangeError(`ms must be > 0, got ${ms}`);
  checkOptions(opts);
  const missed = opts?.missedTick ?? "burst";
  checkMissedTick(missed, "opts.missedTick");
  checkSignal(opts?.signal);
  const start = opts?.start ?? now();
  checkDeadline(start, "opts.start");
  if (start === Infinity) throw new RangeError("opts.start must be a finite number of milliseconds on steward's clock (now()), got Infinity");
  const endOnStop = opts?.endOnStop ?? true;
  if (typeof endOnStop !== "boolean") throw new TypeError(`opts.endOnStop must be a boolean, got ${typeName(endOnStop)}`);
  return new IntervalImpl(ms, start, missed, opts?.signal, endOnStop ? runtimeStopping() : undefined);
}

/** The `stopping` token of the runtime code runs under now, if any. */
function runtimeStopping(): CancellationToken | undefined {
  const rt = currentFrame()?.runtimeRef as { stopping?: unknown } | undefined;
  return rt?.stopping instanceof CancellationToken ? rt.stopping : undefined;
}

/** How late a tick may come and still count as on time (tokio's interval allows the same 5 ms). */
const ON_TIME_MS = 5;

function checkMissedTick(missed: unknown, name: string): asserts missed is MissedTick {
  if (missed !== "burst" && missed !== "delay" && missed !== "skip") {
    throw new TypeError(`${name} must be "burst", "delay" or "skip", got ${typeName(missed)}`);
  }
}

class IntervalImpl implements Interval {
  #deadline: number;
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
    start: number,
    private missed: MissedTick,
    private readonly signal: AbortSignal | undefined,
    private readonly stopping: CancellationToken | undefined,
  ) {
    this.#deadline = start;
    this.queue = new WaitQueue<number>(
      {
        ready: () => this.stopped || reached(this.#deadline),
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

  get period(): number {
    return this.ms;
  }

  get deadline(): number {
    return this.#deadline;
  }

  get missedTick(): MissedTick {
    return this.missed;
  }

  set missedTick(value: MissedTick) {
    checkMissedTick(value, "missedTick");
    this.missed = value;
  }

  reset(): void {
    this.resetAt(now() + this.ms);
  }

  resetImmediately(): void {
    this.resetAt(now());
  }

  resetAfter(ms: number): void {
    checkDuration(ms, "ms", { infinity: true });
    this.resetAt(now() + ms);
  }

  resetAt(deadline: number): void {
    checkDeadline(deadline, "deadline");
    this.#deadline = deadline;
    this.disarm();
    this.queue.pump();
    this.arm();
  }

  /** Takes the due tick and schedules the next one as tokio's poll_tick does. */
  private advance(): number {
    const n = this.count++;
    const due = this.#deadline;
    const t = now();
    // Late by more than a timer's jitter: the missed-tick behaviour decides; else keep the schedule.
    if (t <= due + ON_TIME_MS || this.missed === "burst") this.#deadline = due + this.ms;
    else if (this.missed === "delay") this.#deadline = t + this.ms;
    else this.#deadline = t + this.ms - ((t - due) % this.ms);
    return n;
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped || this.queue.length === 0) return;
    this.timer = schedule(() => {
      this.timer = undefined;
      // A real timer can fire a fraction of a millisecond before the clock reaches the deadline:
      // pump serves nobody then, and arm() schedules the remainder.
      this.queue.pump();
      this.arm();
    }, delayUntil(this.#deadline));
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
