import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, TimeoutError, interval, sleep, spawn, timeout } from "../../src/index.js";

test("sleep waits at least ms; bad durations are errors that name ms", async () => {
  const t0 = performance.now();
  await sleep(20);
  assert.ok(performance.now() - t0 >= 19);
  assert.throws(() => sleep(-1), { name: "RangeError", message: /ms/ });
  assert.throws(() => sleep(Number.NaN), { name: "RangeError", message: /ms/ });
  // sleep(Infinity) waits until withdrawn: test/time/durations.test.ts.
  assert.throws(() => sleep("5" as never), { name: "TypeError", message: /ms/ });
  assert.throws(() => sleep(1, { signal: "no" as never }), { name: "TypeError", message: /opts\.signal/ });
});

test("an aborted sleep rejects with the signal's reason and clears its timer", async () => {
  const c = new AbortController();
  const p = sleep(60_000, { signal: c.signal });
  c.abort("enough");
  await assert.rejects(p, (e) => e === "enough");
  await assert.rejects(sleep(1, { signal: AbortSignal.abort("pre") }), (e) => e === "pre");
  // If the 60 s timer were still armed, node --test would report this file as still running.
});

test("a cancelled task's sleep rejects with CancelledError", async () => {
  const h = spawn(async () => sleep(60_000));
  await sleep(2);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
});

test("timeout: value, fn's own error, TimeoutError with fn's signal aborted", async () => {
  assert.equal(await timeout(1000, async () => 5), 5);
  await assert.rejects(
    timeout(1000, async () => Promise.reject(new Error("own"))),
    /own/,
  );
  let seen: unknown;
  await assert.rejects(
    timeout(
      10,
      (signal) =>
        new Promise((_, rej) =>
          signal.addEventListener("abort", () => {
            seen = signal.reason;
            rej(signal.reason as Error);
          }),
        ),
    ),
    TimeoutError,
  );
  assert.ok(seen instanceof TimeoutError);
  assert.throws(() => timeout(-5, async () => 1), RangeError);
  assert.throws(() => timeout(5, null as never), { name: "TypeError", message: /fn/ });
});

test("interval: first tick at once, then every period; dispose ends iteration", async () => {
  // t0 before the interval starts: a loaded machine may deschedule us between the two lines.
  const t0 = performance.now();
  const it = interval(15);
  // "At once": before a timer of one period, however loaded the machine (not a wall-clock bound).
  assert.equal(await Promise.race([it.tick(), new Promise((r) => setTimeout(() => r("a period passed first"), 15))]), 0);
  assert.equal(await it.tick(), 1);
  assert.equal(await it.tick(), 2);
  assert.ok(performance.now() - t0 >= 28);
  it[Symbol.dispose]();
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.throws(() => interval(0), RangeError);
  assert.throws(() => interval(5, { missedTick: "later" as never }), /missedTick/);
});

test("interval missed ticks: burst catches up, delay and skip do not", async () => {
  // Lower bounds are what a loaded machine cannot break; the one upper bound has a 2x margin.
  const period = 50;
  const burst = interval(period, { missedTick: "burst" });
  const delay = interval(period, { missedTick: "delay" });
  const skip = interval(period, { missedTick: "skip" });
  for (const i of [burst, delay, skip]) await i.tick();
  await sleep(6 * period); // six periods missed
  const timeTicks = async (i: ReturnType<typeof interval>, n: number): Promise<number> => {
    const t0 = performance.now();
    for (let k = 0; k < n; k++) await i.tick();
    return performance.now() - t0;
  };
  const [b, d, s] = await Promise.all([timeTicks(burst, 5), timeTicks(delay, 3), timeTicks(skip, 3)]);
  assert.ok(b < 2 * period, `burst: 5 missed ticks took ${b} ms, should be back to back`);
  assert.ok(d >= 2 * period - 2, `delay: 3 ticks took ${d} ms, should restart the period`);
  assert.ok(s >= period - 5, `skip: 3 ticks took ${s} ms, should skip the missed ones`);
  for (const i of [burst, delay, skip]) i[Symbol.dispose]();
});
