import { now, schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkFunction } from "../util/validate.js";
import { standaloneWaiter } from "../core/waiter.js";
import { TimeoutError } from "../errors.js";
import { checkDeadline, delayUntil, reached } from "./deadline.js";

const NO_TIMER: TimerHandle = { cancel() {} };
/**
 * Runs `fn` with an AbortSignal and a deadline. Resolves with fn's value; rejects with fn's own
 * error as it is; after `ms` it aborts fn's signal with a TimeoutError and rejects with it. Any
 * duration is honoured (past 2^31−1 ms too); `Infinity` never times out. In a task, cancellation
 * aborts fn's signal too and rejects with CancelledError.
 * @throws TypeError/RangeError for a bad `ms` (negative, NaN, not a number) or a non-function `fn`.
 */
export function timeout<T>(ms: number, fn: (signal: AbortSignal) => PromiseLike<T>): Promise<T> {
  checkDuration(ms, "ms", { infinity: true });
  checkFunction(fn, "fn");
  return timed(ms, undefined, fn);
}

/**
 * {@link timeout} with a deadline instead of a duration: runs `fn` with an AbortSignal until
 * steward's clock ({@link now}) reaches `deadline`, never earlier. Resolves with fn's value;
 * rejects with fn's own error as it is; at the deadline aborts fn's signal with a TimeoutError
 * and rejects with it. A deadline already past still gives `fn` its chance: a value `fn` settles
 * with in the same tick wins (tokio's timeout_at polls the future first); `Infinity` never times
 * out. One deadline shared by several steps bounds the whole: `const d = now() + 2000;
 * await timeoutAt(d, a); await timeoutAt(d, b)`. In a task, cancellation aborts fn's signal and
 * rejects with CancelledError. Inside `withTestClock` the deadline is on the virtual clock.
 * @throws TypeError when `deadline` is not a number or `fn` not a function; RangeError for a NaN or -Infinity deadline.
 */
export function timeoutAt<T>(deadline: number, fn: (signal: AbortSignal) => PromiseLike<T>): Promise<T> {
  checkDeadline(deadline, "deadline");
  checkFunction(fn, "fn");
  return timed(deadline === Infinity ? Infinity : Math.max(0, deadline - now()), deadline, fn);
}

/** The body of timeout/timeoutAt: `ms` is what TimeoutError reports; `deadline`, when given, is re-checked when the timer fires. */
function timed<T>(ms: number, deadline: number | undefined, fn: (signal: AbortSignal) => PromiseLike<T>): Promise<T> {
  const w = standaloneWaiter<T>(undefined, ms === Infinity ? "timeout (none)" : `timeout ${ms} ms`);
  if (w instanceof Promise) return w;
  const ctrl = new AbortController();
  // No timer for Infinity: fn's own work is what keeps the process alive.
  let timer = NO_TIMER;
  const fire = (): void => {
    // A real timer can fire a fraction of a millisecond before the clock reaches a deadline.
    if (deadline !== undefined && !reached(deadline)) {
      timer = schedule(fire, delayUntil(deadline));
      return;
    }
    const err = new TimeoutError(ms);
    if (w.fail(err)) ctrl.abort(err);
  };
  if (ms !== Infinity) timer = schedule(fire, deadline === undefined ? ms : delayUntil(deadline));
  w.onWithdraw = () => {
    timer.cancel();
    ctrl.abort(new DOMException("the wait was withdrawn", "AbortError"));
  };
  let p: PromiseLike<T>;
  try {
    p = fn(ctrl.signal);
  } catch (e) {
    timer.cancel();
    w.fail(e);
    return w.promise;
  }
  Promise.resolve(p).then(
    (v) => {
      timer.cancel();
      w.complete(v);
    },
    (e: unknown) => {
      timer.cancel();
      w.fail(e);
    },
  );
  return w.promise;
}
