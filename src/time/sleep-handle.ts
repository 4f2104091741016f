import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkOptions, checkSignal } from "../util/validate.js";
import { WaitQueue, type WaitOptions } from "../core/waiter.js";
import { checkDeadline, delayUntil, reached } from "./deadline.js";

const KEY = Symbol("Sleep");

/** Options of {@link Sleep.after} and {@link Sleep.until}. */
export interface SleepOptions {
  /** Withdraws every wait on the handle that was not given a signal of its own (as `await sleep` is not). */
  signal?: AbortSignal;
}

/**
 * A sleep that can be moved: tokio's `Sleep`. Made with {@link Sleep.after} or
 * {@link Sleep.until}; awaiting it (it is PromiseLike) or calling {@link Sleep.wait} resolves
 * once steward's clock reaches {@link Sleep.deadline}, never earlier. {@link Sleep.reset} moves
 * the deadline, also while somebody waits and after it has elapsed (awaiting it then waits
 * again) — a session timeout that every request pushes back, for example.
 *
 * Every `await` is a wait of its own, cancel-safe and select-safe (pass `s.wait({ signal })` to a
 * `select` branch): a withdrawn wait takes nothing and leaves the handle as it was. A timer runs
 * only while somebody waits, so an idle handle never keeps the process alive and needs no
 * disposal. Inside `withTestClock` the deadline is on the virtual clock.
 */
export class Sleep implements PromiseLike<void> {
  #deadline: number;
  #timer: TimerHandle | undefined = undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #queue: WaitQueue<void>;

  private constructor(key: symbol, deadline: number, signal: AbortSignal | undefined) {
    // For JavaScript callers, whom `private` does not stop: the factories validate, `new` would not.
    if (key !== KEY) throw new TypeError("new Sleep() is not supported: use Sleep.after(ms) or Sleep.until(deadline)");
    this.#deadline = deadline;
    this.#signal = signal;
    this.#queue = new WaitQueue<void>({ ready: () => reached(this.#deadline), take: () => undefined }, "sleep (handle)");
    this.#queue.onWithdraw = () => {
      if (this.#queue.length === 0) this.#disarm();
    };
  }

  /**
   * A handle due `ms` milliseconds from now (any duration, past 2^31−1 ms too; `Infinity` is never).
   * @throws TypeError when `ms` is not a number or an option is bad; RangeError when `ms` is negative or NaN.
   */
  static after(ms: number, opts?: SleepOptions): Sleep {
    checkDuration(ms, "ms", { infinity: true });
    checkOptions(opts);
    checkSignal(opts?.signal);
    return new Sleep(KEY, now() + ms, opts?.signal);
  }

  /**
   * A handle due at `deadline`, milliseconds on steward's clock (`now()`); a deadline already
   * reached is elapsed at once; `Infinity` is never.
   * @throws TypeError when `deadline` is not a number or an option is bad; RangeError when it is NaN or -Infinity.
   */
  static until(deadline: number, opts?: SleepOptions): Sleep {
    checkDeadline(deadline, "deadline");
    checkOptions(opts);
    checkSignal(opts?.signal);
    return new Sleep(KEY, deadline, opts?.signal);
  }

  /** When it is due, in milliseconds on steward's clock (`now()`). */
  get deadline(): number {
    return this.#deadline;
  }

  /**
   * Whether steward's clock has reached the deadline. It reads the clock: a handle made for a
   * deadline already past is elapsed before anyone awaits it (tokio's reports the timer's state).
   */
  get isElapsed(): boolean {
    return reached(this.#deadline);
  }

  /**
   * Moves the deadline (milliseconds on steward's clock) — earlier, later, or into the past, also
   * after the handle elapsed. Pending waits then resolve at the new deadline (at once if it is
   * already reached).
   * @throws TypeError when `deadline` is not a number; RangeError when it is NaN or -Infinity.
   */
  reset(deadline: number): void {
    checkDeadline(deadline, "deadline");
    this.#deadline = deadline;
    this.#disarm();
    this.#queue.pump();
    this.#arm();
  }

  /**
   * Waits until the deadline (as the deadline stands when it is reached: {@link Sleep.reset}
   * moves it). Cancel-safe and select-safe. Rejects with `opts.signal.reason` (or the handle's
   * signal's) when it aborts, and with CancelledError when the calling task is cancelled.
   * @throws TypeError for a bad `opts`.
   */
  wait(opts?: WaitOptions): Promise<void> {
    const p = this.#queue.wait(undefined, this.#signal !== undefined && opts?.signal === undefined ? { signal: this.#signal } : opts);
    this.#arm();
    return p;
  }

  /** Makes the handle awaitable: each `await` is one {@link Sleep.wait}. */
  then<R1 = void, R2 = never>(onfulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.wait().then(onfulfilled, onrejected);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    this.#timer = schedule(() => {
      this.#timer = undefined;
      // A real timer can fire a fraction of a millisecond early: pump serves nobody then, and
      // arm() schedules the remainder.
      this.#queue.pump();
      this.#arm();
    }, delayUntil(this.#deadline));
  }

  #disarm(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
