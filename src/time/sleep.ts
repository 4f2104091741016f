import { checkDuration } from "../util/validate.js";
import { schedule, type TimerHandle } from "../core/timer.js";
import { checkDeadline, delayUntil, reached } from "./deadline.js";
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

/**
 * Resolves once steward's clock (`now()`) reaches `deadline` (milliseconds on that clock, so
 * `sleepUntil(now() + 5000)` is `sleep(5000)`), never earlier. A deadline already reached
 * resolves on the next timer turn; `Infinity` waits until the wait is withdrawn. The deadline
 * form keeps a loop's schedule from drifting: `next += period; await sleepUntil(next)`.
 * Cancel-safe and select-safe: a withdrawn sleep cancels its timer. While pending its timer keeps
 * the process alive. Inside `withTestClock` the deadline is on the virtual clock.
 * @throws TypeError when `deadline` is not a number; RangeError when it is NaN or -Infinity.
 */
export function sleepUntil(deadline: number, opts?: WaitOptions): Promise<void> {
  checkDeadline(deadline, "deadline");
  const w = standaloneWaiter<void>(opts, deadline === Infinity ? "sleep forever" : "sleep until a deadline");
  if (w instanceof Promise) return w;
  let t: TimerHandle;
  const fire = (): void => {
    // A real timer can fire a fraction of a millisecond before the clock reaches the deadline.
    if (!reached(deadline)) t = schedule(fire, delayUntil(deadline));
    else w.complete(undefined);
  };
  t = schedule(fire, delayUntil(deadline));
  w.onWithdraw = () => t.cancel();
  return w.promise;
}
