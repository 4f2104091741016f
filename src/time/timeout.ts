import { schedule, type TimerHandle } from "../core/timer.js";
import { checkDuration, checkFunction } from "../util/validate.js";
import { standaloneWaiter } from "../core/waiter.js";
import { TimeoutError } from "../errors.js";

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
  const w = standaloneWaiter<T>(undefined, ms === Infinity ? "timeout (none)" : `timeout ${ms} ms`);
  if (w instanceof Promise) return w;
  const ctrl = new AbortController();
  // No timer for Infinity: fn's own work is what keeps the process alive.
  const timer =
    ms === Infinity
      ? NO_TIMER
      : schedule(() => {
          const err = new TimeoutError(ms);
          if (w.fail(err)) ctrl.abort(err);
        }, ms);
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
