// Ported from tokio/tests/time_pause.rs, and from time_sleep.rs, time_interval.rs and
// time_timeout.rs the tests that need tokio's deadline forms and handles (`sleep_until`, `timeout_at`, `interval_at`,
// `Sleep::reset`, `Interval::reset*`) and its paused clock. tokio's `time::pause()` /
// `start_paused` is `withTestClock` (auto-advance on, as tokio's paused clock auto-advances when
// the runtime is idle); tests that look at a pending wait between `advance` calls turn the
// auto-advance off, since a pending wait is exactly what it would jump over.
// tokio's `Instant` is a number of milliseconds on steward's clock (`now()`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { interval, now, oneshot, Runtime, select, Sleep, sleep, sleepUntil, timeoutAt, TimeoutError, type Interval } from "../../src/index.js";
import { type TestClock, withTestClock } from "../../src/testing/index.js";
import { assertPending, assertReady, assertReadyErr, never, spawned, within } from "./harness.js";

/** Virtual-time tests must finish in real milliseconds; a hang fails instead of stalling the suite. */
const REAL_LIMIT_MS = 10_000;
const YEAR_MS = 365 * 24 * 3600 * 1000;

function paused(name: string, fn: (clock: TestClock) => Promise<void>, opts?: { autoAdvance?: boolean }): void {
  void test(name, () => within(withTestClock(fn, { start: 0, ...opts }), REAL_LIMIT_MS, name));
}

/** `assert_elapsed!(start, ms)` on the virtual clock: exactly `ms` (deadlines are exact there). */
function assertElapsed(start: number, ms: number): void {
  assert.equal(now() - start, ms);
}

// ---------------------------------------------------------------------------------------------
// time_sleep

// differs on purpose: `isElapsed` reads the clock, so a handle whose deadline is already reached
// is elapsed before anyone awaits it (tokio's reports whether its timer has fired).
paused("time_sleep::immediate_sleep", async () => {
  const start = now();
  const s = Sleep.until(start);
  assert.equal(s.isElapsed, true);
  await s;
  assertElapsed(start, 0);
  assert.equal(s.isElapsed, true);
});

paused("time_sleep::is_elapsed", async () => {
  const s = Sleep.after(10);
  assert.equal(s.isElapsed, false);
  const t = spawned((signal) => s.wait({ signal }));
  await assertPending(t);
  t.drop();
  assert.equal(s.isElapsed, false);
  await s;
  assert.equal(s.isElapsed, true);
});

paused("time_sleep::delayed_sleep_level_0 (sleepUntil)", async () => {
  for (const i of [1, 10, 60]) {
    const start = now();
    await sleepUntil(start + i);
    assertElapsed(start, i);
  }
});

paused("time_sleep::sub_ms_delayed_sleep (sleepUntil)", async () => {
  for (let i = 0; i < 5; i++) {
    const start = now();
    const deadline = start + 1 + 1e-6;
    await sleepUntil(deadline);
    // tokio rounds a deadline up to the next millisecond; so does steward.
    assert.ok(now() >= deadline);
    assertElapsed(start, 2);
  }
});

paused("time_sleep::delayed_sleep_wrapping_level_0 (sleepUntil)", async () => {
  await sleep(5);
  const start = now();
  await sleepUntil(start + 60);
  assertElapsed(start, 60);
});

paused("time_sleep::reset_future_sleep_before_fire", async () => {
  const start = now();
  const s = Sleep.until(start + 100);
  const t = spawned((signal) => s.wait({ signal }));
  await assertPending(t);
  t.drop();
  s.reset(now() + 200);
  await s;
  assertElapsed(start, 200);
});

paused("time_sleep::reset_past_sleep_before_turn", async () => {
  const start = now();
  const s = Sleep.until(start + 100);
  const t = spawned((signal) => s.wait({ signal }));
  await assertPending(t);
  t.drop();
  s.reset(start + 80);
  await s;
  assertElapsed(start, 80);
});

paused("time_sleep::reset_past_sleep_before_fire", async () => {
  const start = now();
  const s = Sleep.until(start + 100);
  const t = spawned((signal) => s.wait({ signal }));
  await assertPending(t);
  t.drop();
  await sleep(10);
  s.reset(start + 80);
  await s;
  assertElapsed(start, 80);
});

paused("time_sleep::reset_future_sleep_after_fire", async () => {
  const start = now();
  const s = Sleep.until(start + 100);
  await s;
  assertElapsed(start, 100);
  s.reset(start + 110);
  await s;
  assertElapsed(start, 110);
});

paused("time_sleep::reset_sleep_to_past", async () => {
  const start = now();
  const s = Sleep.until(start + 100);
  // Here the wait stays pending across the reset (tokio polls the same future again).
  const t = spawned((signal) => s.wait({ signal }));
  await assertPending(t);
  await sleep(50);
  assert.equal(t.state, "pending");
  s.reset(start + 40);
  await assertReady(t);
  assertElapsed(start, 50);
});

paused("time_sleep::greater_than_max (virtual clock)", async () => {
  const YR_5 = 5 * YEAR_MS;
  const deadline = now() + YR_5;
  await sleepUntil(deadline);
  assert.equal(now(), deadline);
});

paused("time_sleep::multi_long_sleeps", async () => {
  for (let i = 0; i < 5; i++) await sleep(YEAR_MS);
  const deadline = now() + 10 * YEAR_MS;
  await sleepUntil(deadline);
  assert.ok(now() >= deadline);
  assert.equal(now(), 15 * YEAR_MS);
});

paused("time_sleep::long_sleeps", async () => {
  const deadline = now() + 10 * YEAR_MS;
  await sleepUntil(deadline);
  assert.ok(now() >= deadline);
  assert.ok(now() <= deadline + 1);
});

// tokio runs this one on the real clock; so does the port.
void test("time_sleep::reset_after_firing", async () => {
  const timer = Sleep.after(1);
  const deadline = timer.deadline;
  await timer;
  // Awaiting an elapsed handle again is ready at once.
  await assertReady(spawned((signal) => timer.wait({ signal })));
  timer.reset(now() + 600_000);
  assert.notEqual(deadline, timer.deadline);
  const a = spawned((signal) => timer.wait({ signal }));
  const b = spawned((signal) => timer.wait({ signal }));
  await assertPending(a);
  await assertPending(b);
  a.drop();
  b.drop();
  await assert.rejects(a.promise);
  await assert.rejects(b.promise);
});

// Duration::MAX sleeps forever: the auto-advance has no timer to jump to, so the port races it
// against a short sleep (tokio's version relies on the runtime's shutdown ending the test).
paused("time_sleep::exactly_max", async () => {
  const r = await select({ max: (signal) => sleep(Infinity, { signal }), short: (signal) => sleep(1, { signal }) }, { biased: true });
  assert.equal(r.key, "short");
  assert.equal(now(), 1);
});

paused("time_sleep::issue_5183 (virtual clock)", async () => {
  const big = Number.MAX_SAFE_INTEGER / 10;
  const r = await select({ big: (signal) => sleep(big, { signal }), small: (signal) => sleep(1e-6, { signal }) }, { biased: true });
  assert.equal(r.key, "small");
});

paused("time_sleep::no_out_of_bounds_close_to_max", async () => {
  // Duration::MAX − 1 ms: the longest finite sleep steward takes is Number.MAX_VALUE ms; it
  // must neither fire early nor overflow the clock. The auto-advance jumps straight to it.
  const start = now();
  await sleep(Number.MAX_SAFE_INTEGER - 1);
  assertElapsed(start, Number.MAX_SAFE_INTEGER - 1);
});

paused("time_sleep::drop_after_reschedule_at_new_scheduled_time", async () => {
  const start = now();
  const a = Sleep.after(5);
  const b = Sleep.after(5);
  const c = Sleep.after(10);
  const ta = spawned((signal) => a.wait({ signal }));
  const tb = spawned((signal) => b.wait({ signal }));
  const tc = spawned((signal) => c.wait({ signal }));
  b.reset(start + 10);
  await ta.promise;
  assertElapsed(start, 5);
  tb.drop(); // drop(b): its wait is withdrawn and its timer cancelled
  tc.drop();
  await assert.rejects(tb.promise);
  await assert.rejects(tc.promise);
});

// ---------------------------------------------------------------------------------------------
// time_interval: check_interval_poll!(i, start, deltas...) — each delta is the deadline of a
// tick that is ready now (tokio's poll_tick returns the tick's Instant; steward's tick() returns
// its number, and `deadline` is the next tick's Instant), then a tick is pending.

async function checkIntervalPoll(i: Interval, start: number, ...deltas: number[]): Promise<void> {
  for (const d of deltas) {
    assert.equal(i.deadline, start + d, `the next tick is due at start + ${d}`);
    await assertReady(
      spawned((signal) => i.tick({ signal })),
      `the tick due at start + ${d} is ready`,
    );
  }
  const t = spawned((signal) => i.tick({ signal }));
  await assertPending(t, "then a tick is pending");
  t.drop();
  await assert.rejects(t.promise);
}

const manual = { autoAdvance: false };

function intervalTest(name: string, fn: (advance: (ms: number) => Promise<void>) => Promise<void>): void {
  void test(name, () =>
    within(
      withTestClock((clock) => fn((ms) => clock.advance(ms)), { start: 0, autoAdvance: false }),
      REAL_LIMIT_MS,
      name,
    ),
  );
}

intervalTest("time_interval::burst", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(650);
  await checkIntervalPoll(i, start, 600, 900);
  await advance(200);
  await checkIntervalPoll(i, start);
  await advance(100);
  await checkIntervalPoll(i, start, 1200);
  await advance(250);
  await checkIntervalPoll(i, start, 1500);
  await advance(300);
  await checkIntervalPoll(i, start, 1800);
});

intervalTest("time_interval::delay", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  i.missedTick = "delay";
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(650);
  await checkIntervalPoll(i, start, 600);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(201);
  await checkIntervalPoll(i, start, 1251);
  await advance(300);
  await checkIntervalPoll(i, start, 1551);
  await advance(300);
  await checkIntervalPoll(i, start, 1851);
});

intervalTest("time_interval::skip", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  i.missedTick = "skip";
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(650);
  await checkIntervalPoll(i, start, 600);
  await advance(250);
  await checkIntervalPoll(i, start, 1200);
  await advance(300);
  await checkIntervalPoll(i, start, 1500);
  await advance(300);
  await checkIntervalPoll(i, start, 1800);
});

intervalTest("time_interval::reset", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(100);
  await checkIntervalPoll(i, start);
  i.reset();
  await advance(250);
  await checkIntervalPoll(i, start);
  await advance(50);
  await checkIntervalPoll(i, start, 701);
  await advance(300);
  await checkIntervalPoll(i, start, 1001);
});

intervalTest("time_interval::reset_immediately", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(100);
  await checkIntervalPoll(i, start);
  i.resetImmediately();
  await checkIntervalPoll(i, start, 401);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 701);
});

intervalTest("time_interval::reset_after", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(100);
  await checkIntervalPoll(i, start);
  i.resetAfter(20);
  await advance(20);
  await checkIntervalPoll(i, start, 421);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 721);
});

intervalTest("time_interval::reset_at", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(100);
  await checkIntervalPoll(i, start);
  i.resetAt(now() + 40);
  await advance(40);
  await checkIntervalPoll(i, start, 441);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 741);
});

intervalTest("time_interval::reset_at_bigger_than_interval", async (advance) => {
  const start = now();
  await advance(1);
  using i = interval(300, { start });
  await checkIntervalPoll(i, start, 0);
  await advance(100);
  await checkIntervalPoll(i, start);
  await advance(200);
  await checkIntervalPoll(i, start, 300);
  await advance(100);
  await checkIntervalPoll(i, start);
  i.resetAt(now() + 1000);
  await advance(300);
  await checkIntervalPoll(i, start);
  await advance(300);
  await checkIntervalPoll(i, start);
  await advance(300);
  await checkIntervalPoll(i, start);
  await advance(100);
  await checkIntervalPoll(i, start, 1401);
  await advance(300);
  await checkIntervalPoll(i, start, 1701);
});

// ---------------------------------------------------------------------------------------------
// time_timeout

void test("time_timeout::simultaneous_deadline_future_completion (timeoutAt)", async () => {
  const t = spawned(() => timeoutAt(now(), async () => {}));
  await assertReady(t);
});

void test("time_timeout::completed_future_past_deadline", async () => {
  const t = spawned(() => timeoutAt(now() - 1000, async () => 7));
  assert.equal(await assertReady(t), 7);
});

paused(
  "time_timeout::future_and_deadline_in_future",
  async (clock) => {
    const [tx, rx] = oneshot<number>();
    const t = spawned(() => timeoutAt(now() + 100, (signal) => rx.recv({ signal })));
    await assertPending(t);
    await clock.advance(90);
    await assertPending(t);
    tx.send(1);
    await assertReady(t);
  },
  manual,
);

paused(
  "time_timeout::very_large_timeout (virtual clock)",
  async (clock) => {
    const [tx, rx] = oneshot<number>();
    const t = spawned(() => timeoutAt(now() + Number.MAX_VALUE, (signal) => rx.recv({ signal })));
    await assertPending(t);
    await clock.advance(86_400_000 * 365 * 10);
    await assertPending(t);
    tx.send(1);
    await assertReady(t);
  },
  manual,
);

paused(
  "time_timeout::deadline_now_elapses (timeoutAt)",
  async (clock) => {
    const t = spawned(() => timeoutAt(now(), () => never()));
    await clock.advance(1);
    assert.ok((await assertReadyErr(t)) instanceof TimeoutError);
  },
  manual,
);

paused(
  "time_timeout::deadline_future_elapses (timeoutAt)",
  async (clock) => {
    const t = spawned(() => timeoutAt(now() + 300, () => never()));
    await assertPending(t);
    await clock.advance(299);
    await assertPending(t);
    await clock.advance(2);
    assert.ok((await assertReadyErr(t)) instanceof TimeoutError);
  },
  manual,
);

// ---------------------------------------------------------------------------------------------
// time_pause: tokio's `time::pause()` is `withTestClock`

paused("time_pause::pause_time_in_main", async () => {});

void test("time_pause::pause_time_in_task", async () => {
  const rt = new Runtime();
  const h = rt.spawn(() => withTestClock(async () => now(), { start: 42 }));
  assert.equal(await h, 42);
  await rt.shutdown();
});

/** A seeded generator (tokio uses StdRng::seed_from_u64(1)): the same sleeps every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

void test("time_pause::paused_time_is_deterministic", async () => {
  // tokio runs 10 000 sleeps; 2 000 keep the suite's time modest and still interleave thousands of timers.
  const run = (): Promise<number[]> =>
    withTestClock(
      async () => {
        const rnd = lcg(1);
        const start = now();
        const times: number[] = [];
        for (let i = 0; i < 2000; i++) {
          await sleep(Math.floor(rnd() * 1000));
          times.push(now() - start);
        }
        return times;
      },
      { start: 0 },
    );
  const a = await within(run(), REAL_LIMIT_MS * 3, "first run");
  const b = await within(run(), REAL_LIMIT_MS * 3, "second run");
  assert.deepEqual(a, b);
  assert.ok(a[a.length - 1]! > 100_000, "hundreds of virtual seconds");
});

paused(
  "time_pause::advance_after_poll",
  async (clock) => {
    await clock.advance(1);
    const start = now();
    const s = spawned((signal) => sleepUntil(start + 300, { signal }));
    await assertPending(s);
    const before = now();
    await clock.advance(100);
    assertElapsed(before, 100);
    await assertPending(s);
    s.drop();
  },
  manual,
);

paused(
  "time_pause::sleep_no_poll",
  async (clock) => {
    const start = now();
    await clock.advance(1);
    // A JavaScript wait starts when called, so "not polled yet" is a handle nobody awaits yet.
    const s = Sleep.until(start + 300);
    const before = now();
    await clock.advance(100);
    assertElapsed(before, 100);
    const t = spawned((signal) => s.wait({ signal }));
    await assertPending(t);
    t.drop();
  },
  manual,
);

// tokio's Tester future polls the sleep and awaits advance() inside one task: here one async
// function does both, with (sleep_same_task) and without (…_no_poll) a wait started first.
for (const poll of [true, false]) {
  paused(
    `time_pause::sleep_same_task${poll ? "" : "_no_poll"}`,
    async (clock) => {
      const start = now();
      await clock.advance(1);
      const s = Sleep.until(start + 300);
      const ctrl = new AbortController();
      let settled = false;
      if (poll)
        void s.wait({ signal: ctrl.signal }).then(
          () => (settled = true),
          () => {},
        );
      const before = now();
      await clock.advance(100);
      assertElapsed(before, 100);
      const t = spawned((signal) => s.wait({ signal }));
      await assertPending(t);
      assert.equal(settled, false);
      t.drop();
      ctrl.abort();
    },
    manual,
  );
}

paused(
  "time_pause::interval",
  async (clock) => {
    const start = now();
    await clock.advance(1);
    using i = interval(300, { start });
    await checkIntervalPoll(i, start, 0);
    let before = now();
    await clock.advance(100);
    assertElapsed(before, 100);
    await checkIntervalPoll(i, start);
    before = now();
    await clock.advance(200);
    assertElapsed(before, 200);
    await checkIntervalPoll(i, start, 300);
    before = now();
    await clock.advance(400);
    assertElapsed(before, 400);
    await checkIntervalPoll(i, start, 600);
    before = now();
    await clock.advance(500);
    assertElapsed(before, 500);
    await checkIntervalPoll(i, start, 900, 1200);
  },
  manual,
);

/** Sub-millisecond arithmetic on the virtual clock is floating point: equal up to rounding. */
function assertElapsedExactly(before: number, ms: number): void {
  assert.ok(Math.abs(now() - before - ms) < 1e-9, `elapsed ${now() - before}, expected ${ms}`);
}

paused("time_pause::test_time_advance_sub_ms", async (clock) => {
  let before = now();
  await clock.advance(51.592);
  assertElapsedExactly(before, 51.592);
  before = now();
  await clock.advance(0.001);
  assertElapsedExactly(before, 0.001);
});

paused("time_pause::test_time_advance_3ms_and_change", async (clock) => {
  let before = now();
  await clock.advance(3141.592);
  assertElapsedExactly(before, 3141.592);
  before = now();
  await clock.advance(3123.456);
  assertElapsedExactly(before, 3123.456);
});

paused(
  "time_pause::regression_3710_with_submillis_advance",
  async (clock) => {
    const start = now();
    await clock.advance(1);
    const s = spawned((signal) => sleepUntil(start + 60_000, { signal }));
    await assertPending(s);
    const before = now();
    await clock.advance(51.592);
    assertElapsedExactly(before, 51.592);
    await assertPending(s);
    s.drop();
  },
  manual,
);

paused("time_pause::exact_1ms_advance", async (clock) => {
  let before = now();
  await clock.advance(1);
  assertElapsedExactly(before, 1);
  before = now();
  await clock.advance(1);
  assertElapsedExactly(before, 1);
});

paused(
  "time_pause::advance_once_with_timer",
  async (clock) => {
    const s = spawned((signal) => sleep(1, { signal }));
    await assertPending(s);
    await clock.advance(0.25);
    await assertPending(s);
    await clock.advance(1.5);
    await assertReady(s);
  },
  manual,
);

paused(
  "time_pause::advance_multi_with_timer",
  async (clock) => {
    const s = spawned((signal) => sleep(1, { signal }));
    for (let k = 0; k < 3; k++) {
      await clock.advance(0.25);
      await assertPending(s);
    }
    await clock.advance(0.25);
    await assertReady(s);
  },
  manual,
);
