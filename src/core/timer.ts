/**
 * The one place steward schedules its own timers: sleep, timeout, interval, the runtime's phase
 * deadlines and pre-stop delay, runMain's hold on the process, the HTTP drain's sweeps. No other
 * steward module calls setTimeout/clearTimeout or reads performance.now() for a deadline.
 *
 * Two reasons for a single module:
 *  - Node's setTimeout clamps any delay past 2^31−1 ms to 1 ms (with a TimeoutOverflowWarning):
 *    a 25-day sleep would fire at once. Here a long delay is chained in 2^31−1 ms segments, so
 *    every duration fires at its time, never early; `Infinity` never fires at all.
 *  - A virtual test clock (API.md §12, `withTestClock`) replaces the implementation behind this
 *    small interface ({@link Clock}: `schedule` and `now`), and with it every steward deadline.
 */

/** Node's largest timer delay (2^31−1 ms, about 24.8 days); longer delays are chained here. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A scheduled callback. */
export interface TimerHandle {
  /** Withdraws the callback if it has not run yet. Idempotent. */
  cancel(): void;
}

/** Options of {@link schedule}. */
export interface ScheduleOptions {
  /**
   * Whether the pending timer keeps the process alive (a Node ref'd timer): a deadline somebody
   * waits on must hold the process open; housekeeping timers pass false.
   * @default true
   */
  ref?: boolean;
}

/** What steward's time runs on. The default is the real clock; a test clock implements the same. */
export interface Clock {
  /** Monotonic milliseconds (any origin). */
  now(): number;
  /**
   * Runs `cb` once, `ms` milliseconds from now (`ms` is >= 0; `Infinity` means never). Must never
   * run it early, and never synchronously inside `schedule`.
   */
  schedule(cb: () => void, ms: number, ref: boolean): TimerHandle;
}

const NEVER: TimerHandle = { cancel() {} };

/** A real timer: one Node timer, or segments re-armed while more than MAX_TIMER_MS remain. */
class RealTimer implements TimerHandle {
  handle: NodeJS.Timeout | undefined = undefined;
  /** The current segment is the last one: when it fires, the callback runs. */
  last = true;
  /** When the callback is due (performance.now()); only read for chained delays. */
  due = 0;
  constructor(
    public cb: (() => void) | undefined,
    readonly ref: boolean,
  ) {}

  cancel(): void {
    this.cb = undefined;
    if (this.handle !== undefined) {
      clearTimeout(this.handle);
      this.handle = undefined;
    }
  }
}

/**
 * Arms one segment. The delay is passed on as given (not recomputed from the clock): Node keeps
 * one timer list per distinct delay, and thousands of sleeps of one duration must share one.
 */
function arm(t: RealTimer, ms: number): void {
  t.last = ms <= MAX_TIMER_MS;
  // setTimeout's extra argument instead of a closure: no allocation per segment.
  t.handle = setTimeout(fire, t.last ? ms : MAX_TIMER_MS, t);
  if (!t.ref) t.handle.unref();
}

function fire(t: RealTimer): void {
  t.handle = undefined;
  if (!t.last) {
    arm(t, Math.max(0, t.due - performance.now()));
    return;
  }
  const cb = t.cb;
  t.cb = undefined;
  cb?.();
}

/** The real clock: Node timers and performance.now(). */
export const realClock: Clock = {
  now: () => performance.now(),
  schedule(cb, ms, ref) {
    // A timer that never fires and holds nothing needs no timer at all.
    if (ms === Infinity && !ref) return NEVER;
    const t = new RealTimer(cb, ref);
    if (ms > MAX_TIMER_MS) t.due = performance.now() + ms;
    arm(t, ms);
    return t;
  },
};

let clock: Clock = realClock;

/**
 * Runs `cb` once after `ms` milliseconds; `Infinity` means never (a ref'd one still holds the
 * process open until cancelled). Durations past 2^31−1 ms are honoured, never clamped.
 * Callers validate `ms` (see `checkDuration`); here it must be a number >= 0 or Infinity.
 */
export function schedule(cb: () => void, ms: number, opts?: ScheduleOptions): TimerHandle {
  return clock.schedule(cb, ms, opts?.ref !== false);
}

/**
 * Monotonic milliseconds on steward's clock: the time base of every deadline steward takes
 * (`sleepUntil`, `timeoutAt`, `Sleep.reset`, `interval`'s `start`, `Interval.resetAt`). It is
 * `performance.now()` (milliseconds since the process started, with fractions; not wall time, so
 * it never jumps with the system clock), or the virtual clock's time inside `withTestClock`
 * (`steward/testing`). A deadline is `now() + ms`.
 */
export function now(): number {
  return clock.now();
}

/**
 * @internal Replaces the clock every steward timer runs on (for the virtual test clock) and
 * returns the previous one. Timers already scheduled stay on the clock they were scheduled on.
 */
export function installClock(c: Clock): Clock {
  const prev = clock;
  clock = c;
  return prev;
}
