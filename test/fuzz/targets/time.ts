/** Fuzz targets: sleep, sleepUntil, Sleep, interval, timeout, timeoutAt (src/time) and withTestClock (src/testing). */
import { interval, now, Sleep, sleep, sleepUntil, timeout, timeoutAt } from "../../../src/index.js";
import { type TestClock, withTestClock } from "../../../src/testing/index.js";
import { isBool, isFn, isMs, isMsOrNever, isSignal, oneOfValues, options, param, type Target } from "../harness.js";

/** A deadline on steward's clock: a finite number, or Infinity for never. */
const isDeadline = (v: unknown): boolean => typeof v === "number" && !Number.isNaN(v) && v !== -Infinity;
const isFiniteNumber = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);

export const timeTargets: Target<never>[] = [
  { area: "time", name: "sleep(ms, opts)", params: [param("ms", isMsOrNever(0), () => 1), options("opts", { signal: { accepts: isSignal } })], call: ([ms, o]) => sleep(ms as never, o as never) },
  {
    area: "time",
    name: "interval(ms, opts)",
    params: [
      param("ms", isMs(Number.MIN_VALUE), () => 10),
      options("opts", { missedTick: { accepts: oneOfValues("burst", "delay", "skip") }, signal: { accepts: isSignal }, start: { accepts: isFiniteNumber } }),
    ],
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
  {
    area: "time",
    name: "sleepUntil(deadline, opts)",
    params: [param("deadline", isDeadline, () => now() + 1), options("opts", { signal: { accepts: isSignal } })],
    call: ([d, o]) => sleepUntil(d as never, o as never),
  },
  {
    area: "time",
    name: "timeoutAt(deadline, fn)",
    params: [param("deadline", isDeadline, () => now() + 1000), param("fn", isFn, () => async () => 1)],
    call: ([d, fn]) => timeoutAt(d as never, fn as never),
  },
  {
    area: "time",
    name: "Sleep.after(ms, opts)",
    params: [param("ms", isMsOrNever(0), () => 1), options("opts", { signal: { accepts: isSignal } })],
    call: ([ms, o]) => Sleep.after(ms as never, o as never),
  },
  {
    area: "time",
    name: "Sleep.until(deadline, opts)",
    params: [param("deadline", isDeadline, () => now() + 1), options("opts", { signal: { accepts: isSignal } })],
    call: ([d, o]) => Sleep.until(d as never, o as never),
  },
  { area: "time", name: "sleep handle.reset(deadline)", params: [param("deadline", isDeadline, () => now() + 1)], call: ([d]) => Sleep.after(1000).reset(d as never) },
  { area: "time", name: "sleep handle.wait(opts)", params: [options("opts", { signal: { accepts: isSignal } })], call: ([o]) => Sleep.after(1).wait(o as never) },
  {
    area: "time",
    name: "interval.resetAfter(ms)",
    params: [param("ms", isMsOrNever(0), () => 10)],
    call: ([ms]) => {
      using iv = interval(1000);
      iv.resetAfter(ms as never);
    },
  },
  {
    area: "time",
    name: "interval.resetAt(deadline)",
    params: [param("deadline", isDeadline, () => now() + 10)],
    call: ([d]) => {
      using iv = interval(1000);
      iv.resetAt(d as never);
    },
  },
  {
    area: "time",
    name: "interval.missedTick = value",
    params: [param("missedTick", oneOfValues("burst", "delay", "skip"), () => "skip")],
    call: ([v]) => {
      using iv = interval(1000);
      iv.missedTick = v as never;
    },
  },
  {
    area: "time",
    name: "withTestClock(fn, opts)",
    direct: true,
    params: [param("fn", isFn, () => async () => 1), options("opts", { autoAdvance: { accepts: isBool }, start: { accepts: isFiniteNumber } })],
    call: ([fn, o]) => withTestClock(fn as never, o as never),
  },
  {
    area: "time",
    name: "testClock.advance(ms)",
    direct: true,
    params: [param("ms", isMs(0), () => 10)],
    // One test clock for all the calls (a second one while it runs would be refused).
    before: () => {
      testClockRun = withTestClock((clock) => new Promise<void>((end) => (testClock = { clock, end })), { autoAdvance: false });
    },
    call: ([ms]) => testClock!.clock.advance(ms as never),
    finish: async () => {
      testClock!.end();
      await testClockRun;
    },
  },
];

let testClock: { clock: TestClock; end: () => void } | undefined;
let testClockRun: Promise<void> | undefined;
