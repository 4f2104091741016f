import { checkDuration } from "../util/validate.js";
import { schedule } from "../core/timer.js";
import { standaloneWaiter, type WaitOptions } from "../core/waiter.js";

/**
 * Resolves after `ms` milliseconds. Any duration is honoured (past 2^31−1 ms too: never early);
 * `Infinity` waits until the wait is withdrawn. Cancel-safe and select-safe: a withdrawn sleep
 * cancels its timer. While pending its timer keeps the process alive (somebody is waiting on it).
 * @throws TypeError when `ms` is not a number; RangeError when it is negative or NaN.
 */
export function sleep(ms: number, opts?: WaitOptions): Promise<void> {
  checkDuration(ms, "ms", { infinity: true });
  const w = standaloneWaiter<void>(opts, ms === Infinity ? "sleep forever" : `sleep ${ms} ms`);
  if (w instanceof Promise) return w;
  const t = schedule(() => w.complete(undefined), ms);
  w.onWithdraw = () => t.cancel();
  return w.promise;
}
