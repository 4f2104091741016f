import { checkDuration } from "../core/validate.js";
import { standaloneWaiter, type WaitOptions } from "../core/waiter.js";

/**
 * Resolves after `ms` milliseconds. Cancel-safe and select-safe: a withdrawn sleep clears its
 * timer. While pending its timer keeps the process alive (somebody is waiting on it).
 * @throws TypeError/RangeError when `ms` is not a finite number >= 0.
 */
export function sleep(ms: number, opts?: WaitOptions): Promise<void> {
  checkDuration(ms, "ms");
  const w = standaloneWaiter<void>(opts, `sleep ${ms} ms`);
  if (w instanceof Promise) return w;
  const t = setTimeout(() => w.complete(undefined), ms);
  w.onWithdraw = () => clearTimeout(t);
  return w.promise;
}
