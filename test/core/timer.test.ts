import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { installClock, MAX_TIMER_MS, now, realClock, schedule, type Clock } from "../../src/core/timer.js";

/**
 * Node's timers under node:test's mock (which clamps delays past 2^31−1 ms to 1 ms exactly as Node
 * does, so an unchained long timer would fire at the first tick), with performance.now() moved in
 * step, so core/timer.ts's re-arming reads the mocked time.
 */
function mockedTime(): { advance(ms: number): void; armed: number[]; [Symbol.dispose](): void } {
  const realNow = performance.now;
  const base = realNow.call(performance);
  let elapsed = 0;
  mock.timers.enable({ apis: ["setTimeout"] });
  const mocked = globalThis.setTimeout;
  const armed: number[] = [];
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    armed.push(ms ?? 0);
    return mocked(fn, ms, ...args);
  }) as typeof setTimeout;
  performance.now = () => base + elapsed;
  return {
    armed,
    advance(ms) {
      // In steps no larger than a Node timer, as the real clock would pass.
      while (ms > 0) {
        const step = Math.min(ms, MAX_TIMER_MS);
        elapsed += step;
        mock.timers.tick(step);
        ms -= step;
      }
    },
    [Symbol.dispose]() {
      globalThis.setTimeout = mocked;
      mock.timers.reset();
      performance.now = realNow;
    },
  };
}

void test("a delay past 2^31-1 ms is chained: it fires at its time, never early, and no Node timer gets more than 2^31-1", () => {
  using time = mockedTime();
  const fired: number[] = [];
  const start = now();
  schedule(() => fired.push(now() - start), 2 ** 31 + 1000);
  time.advance(10);
  assert.deepEqual(fired, [], "fired early (Node would have clamped it to 1 ms)");
  time.advance(MAX_TIMER_MS - 10);
  assert.deepEqual(fired, [], "fired after one segment");
  time.advance(1000); // 2^31 + 999 ms in all
  assert.deepEqual(fired, [], "fired a millisecond early");
  time.advance(1);
  assert.deepEqual(fired, [2 ** 31 + 1000]);
  assert.ok(
    time.armed.every((ms) => ms <= MAX_TIMER_MS),
    `armed ${time.armed.join(", ")}`,
  );
});

void test("a very long delay (three segments and more) fires once, at its time", () => {
  using time = mockedTime();
  let fired = 0;
  const ms = 3 * MAX_TIMER_MS + 7;
  schedule(() => fired++, ms);
  time.advance(ms - 1);
  assert.equal(fired, 0);
  time.advance(1);
  assert.equal(fired, 1);
  time.advance(5 * MAX_TIMER_MS);
  assert.equal(fired, 1);
});

void test("Infinity never fires; ref'd it still holds a timer (cancel releases it), unref'd it holds none", () => {
  using time = mockedTime();
  let fired = 0;
  const held = schedule(() => fired++, Infinity);
  time.advance(10 * MAX_TIMER_MS);
  assert.equal(fired, 0);
  assert.ok(time.armed.length >= 10, "re-armed in segments while ref'd");
  held.cancel();
  const before = time.armed.length;
  schedule(() => fired++, Infinity, { ref: false });
  assert.equal(time.armed.length, before, "an unref'd Infinity arms nothing");
  time.advance(3 * MAX_TIMER_MS);
  assert.equal(fired, 0);
});

void test("cancel withdraws the callback, before or between segments; it is idempotent", () => {
  using time = mockedTime();
  let fired = 0;
  const a = schedule(() => fired++, 100);
  a.cancel();
  a.cancel();
  const b = schedule(() => fired++, 2 ** 32);
  time.advance(MAX_TIMER_MS + 5);
  b.cancel();
  time.advance(2 ** 33);
  assert.equal(fired, 0);
});

void test("short delays behave as setTimeout does, in order; unref'd timers do not hold the process", async () => {
  const order: string[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    schedule(() => order.push("b"), 20);
    schedule(() => order.push("a"), 5);
    schedule(() => {
      order.push("c");
      resolve();
    }, 30);
  });
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.ok(performance.now() - t0 >= 29);
  const h = schedule(() => {}, 60_000, { ref: false });
  // If it were ref'd, node --test would report this file as still running.
  h.cancel();
});

void test("installClock swaps the clock every steward timer runs on, and gives the previous one back", () => {
  const scheduled: number[] = [];
  const fake: Clock = {
    now: () => 42,
    schedule: (_cb, ms) => {
      scheduled.push(ms);
      return { cancel() {} };
    },
  };
  const prev = installClock(fake);
  try {
    assert.equal(now(), 42);
    schedule(() => {}, 7);
    assert.deepEqual(scheduled, [7]);
  } finally {
    assert.equal(installClock(prev), fake);
  }
  assert.equal(prev, realClock);
  assert.notEqual(now(), 42);
});
