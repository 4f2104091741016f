/** Fuzz targets: sleep, interval, timeout (src/time). */
import { interval, sleep, timeout } from "../../../src/index.js";
import { isFn, isMs, isMsOrNever, isSignal, oneOfValues, options, param, type Target } from "../harness.js";

export const timeTargets: Target<never>[] = [
  { area: "time", name: "sleep(ms, opts)", params: [param("ms", isMsOrNever(0), () => 1), options("opts", { signal: { accepts: isSignal } })], call: ([ms, o]) => sleep(ms as never, o as never) },
  {
    area: "time",
    name: "interval(ms, opts)",
    params: [param("ms", isMs(Number.MIN_VALUE), () => 10), options("opts", { missedTick: { accepts: oneOfValues("burst", "delay", "skip") }, signal: { accepts: isSignal } })],
    call: ([ms, o]) => interval(ms as never, o as never),
    teardown: (_ctx, iv) => (iv as Disposable | undefined)?.[Symbol.dispose](),
  },
  {
    area: "time",
    name: "interval.tick(opts)",
    params: [options("opts", { signal: { accepts: isSignal } })],
    call: ([o]) => {
      const iv = interval(1000);
      return iv.tick(o as never).finally(() => iv[Symbol.dispose]());
    },
  },
  {
    area: "time",
    name: "disposed interval.tick(opts)",
    params: [options("opts", { signal: { accepts: isSignal } })],
    call: ([o]) => {
      const iv = interval(1000);
      iv[Symbol.dispose]();
      return iv.tick(o as never);
    },
    check: (o) => (o.kind === "pending" ? "a disposed interval's tick waits forever" : undefined),
  },
  { area: "time", name: "timeout(ms, fn)", params: [param("ms", isMsOrNever(0), () => 1000), param("fn", isFn, () => async () => 1)], call: ([ms, fn]) => timeout(ms as never, fn as never) },
];
