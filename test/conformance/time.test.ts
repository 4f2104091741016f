// Ported from tokio/tests/time_sleep.rs, time_interval.rs and time_timeout.rs: the tests that run
// on the real clock with steward's `sleep(ms)`, `interval(ms)` and `timeout(ms, fn)`. The ones
// that need tokio's deadline forms and handles (`sleep_until`, `timeout_at`, `interval_at`,
// `Sleep::reset`, `Interval::reset*`) or its paused clock are in time-clock.test.ts (on
// `withTestClock`); time-long.test.ts holds the ones on durations past 2^31-1 ms. README.md here
// lists every test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { interval, Mutex, oneshot, select, sleep, timeout, TimeoutError } from "../../src/index.js";
import { assertElapsed, assertPending, assertReady, assertReadyErr, spawned } from "./harness.js";

// tokio's sleep_until(now + dur) under a paused clock; here sleep(dur) on the real clock.
void test("time_sleep::delayed_sleep_level_0", async () => {
  for (const i of [1, 10, 60]) {
    const now = performance.now();
    await sleep(i);
    assertElapsed(now, i);
  }
});

void test("time_sleep::sub_ms_delayed_sleep", async () => {
  for (let i = 0; i < 5; i++) {
    const now = performance.now();
    await sleep(1 + 1e-6);
    assertElapsed(now, 1);
  }
});

void test("time_sleep::delayed_sleep_wrapping_level_0", async () => {
  await sleep(5);
  const now = performance.now();
  await sleep(60);
  assertElapsed(now, 60);
});

void test("time_sleep::short_sleeps", async () => {
  for (let i = 0; i < 1000; i++) await sleep(0);
});

// tokio panics for a zero period; steward throws a RangeError naming the argument.
void test("time_interval::interval_zero_duration", () => {
  assert.throws(() => interval(0), { name: "RangeError", message: /\bms\b/ });
});

void test("time_interval::interval_doesnt_panic_max_duration_when_polling", async () => {
  using timer = interval(Number.MAX_SAFE_INTEGER);
  const t = spawned(() => timer.tick());
  assert.equal(await assertReady(t), 0);
});

// tokio's timeout_at(Instant::now(), ready): the deadline is now, the future is ready: Ok.
void test("time_timeout::simultaneous_deadline_future_completion", async () => {
  const fut = spawned(() => timeout(0, async () => {}));
  await assertReady(fut);
});

void test("time_timeout::future_and_timeout_in_future", async () => {
  const [tx, rx] = oneshot<null>();
  const fut = spawned(() => timeout(2000, (signal) => rx.recv({ signal })));
  await assertPending(fut);
  await sleep(20);
  await assertPending(fut);
  assert.ok(tx.send(null));
  assert.equal(await assertReady(fut), null);
});

// tokio's timeout_at(Instant::now(), pending): the deadline is now, the future never completes.
void test("time_timeout::deadline_now_elapses", async () => {
  const fut = spawned(() => timeout(0, () => new Promise<never>(() => {})));
  await sleep(1);
  assert.ok((await assertReadyErr(fut)) instanceof TimeoutError);
});

// tokio's timeout_at(now + 300 ms) with the clock advanced 301 ms; here timeout(300) on the real
// clock: pending at first, then rejected with TimeoutError no earlier than 300 ms.
void test("time_timeout::deadline_future_elapses", async () => {
  let aborted: unknown;
  const start = performance.now();
  const fut = spawned(() =>
    timeout(300, (signal) => {
      signal.addEventListener("abort", () => (aborted = signal.reason));
      return new Promise<never>(() => {});
    }),
  );
  await assertPending(fut);
  await assert.rejects(fut.promise, TimeoutError);
  assertElapsed(start, 300);
  assert.ok(fut.error instanceof TimeoutError);
  assert.equal(aborted, fut.error, "the function's signal is aborted with the TimeoutError");
});

// tokio loops on an always-ready read; here on an always-ready steward wait (an uncontended
// lock). The cooperative budget lets the timer fire, and the loop's next wait then rejects.
void test("time_timeout::timeout_is_not_exhausted_by_future", async () => {
  const m = new Mutex();
  await assert.rejects(
    timeout(1, async (signal) => {
      for (;;) (await m.lock({ signal })).release();
    }),
    TimeoutError,
  );
});

// The select below is in time_sleep::issue_5183 (time-long.test.ts); this one checks today's API
// with durations below 2^31 ms: a far sleep never wins against a near one.
void test("time_sleep::issue_5183 (durations below 2^31 ms)", async () => {
  const r = await select(
    {
      big: (signal) => sleep(2 ** 31 - 1, { signal }),
      small: (signal) => sleep(0, { signal }),
    },
    { biased: true },
  );
  assert.equal(r.key, "small");
});
