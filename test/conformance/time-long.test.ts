// Ported tokio time tests on durations past 2^31-1 ms. tokio runs these on a paused clock; here
// they check what can be checked on the real clock: nothing fires early.
import { test } from "node:test";
import assert from "node:assert/strict";
import { oneshot, select, sleep, timeout } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("time_sleep::issue_5183", async () => {
  const big = (Number(2n ** 64n - 1n) / 10) * 1000; // u64::MAX / 10 seconds, in ms
  const r = await select(
    {
      big: (signal) => sleep(big, { signal }),
      small: (signal) => sleep(1e-6, { signal }),
    },
    { biased: true },
  );
  assert.equal(r.key, "small");
});

// tokio sleeps 5 years of paused time; here: such a sleep is still pending after 50 ms.
void test("time_sleep::greater_than_max (does not fire early)", async () => {
  const YR_5 = 5 * 365 * 24 * 60 * 60 * 1000;
  const t = spawned((signal) => sleep(YR_5, { signal }));
  await sleep(50);
  await assertPending(t);
  t.drop();
});

// tokio advances the paused clock 10 years under a Duration::MAX timeout; here: a timeout of
// 2^40 ms does not fire in 50 ms, and the future's own completion still wins.
void test("time_timeout::very_large_timeout (does not fire early)", async () => {
  const [tx, rx] = oneshot<null>();
  const fut = spawned(() => timeout(2 ** 40, (signal) => rx.recv({ signal })));
  await assertPending(fut);
  await sleep(50);
  await assertPending(fut);
  assert.ok(tx.send(null));
  assert.equal(await assertReady(fut), null);
});
