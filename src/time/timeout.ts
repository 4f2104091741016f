import { checkDuration, checkFunction } from "../core/validate.js";
import { standaloneWaiter } from "../core/waiter.js";
import { TimeoutError } from "../errors.js";

/**
 * Runs `fn` with an AbortSignal and a deadline. Resolves with fn's value; rejects with fn's own
 * error as it is; after `ms` it aborts fn's signal with a TimeoutError and rejects with it. In a
 * task, cancellation aborts fn's signal too and rejects with CancelledError.
 * @throws TypeError/RangeError for a bad `ms` or a non-function `fn`.
 */
export function timeout<T>(ms: number, fn: (signal: AbortSignal) => PromiseLike<T>): Promise<T> {
  checkDuration(ms, "ms");
  checkFunction(fn, "fn");
  const w = standaloneWaiter<T>(undefined, `timeout ${ms} ms`);
  if (w instanceof Promise) return w;
  const ctrl = new AbortController();
  const timer = setTimeout(() => {
    const err = new TimeoutError(ms);
    if (w.fail(err)) ctrl.abort(err);
  }, ms);
  w.onWithdraw = () => {
    clearTimeout(timer);
    ctrl.abort(new DOMException("the wait was withdrawn", "AbortError"));
  };
  let p: PromiseLike<T>;
  try {
    p = fn(ctrl.signal);
  } catch (e) {
    clearTimeout(timer);
    w.fail(e);
    return w.promise;
  }
  Promise.resolve(p).then(
    (v) => {
      clearTimeout(timer);
      w.complete(v);
    },
    (e: unknown) => {
      clearTimeout(timer);
      w.fail(e);
    },
  );
  return w.promise;
}
