import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { checkDuration } from "../../src/util/validate.js";
import { Runtime, interval, select, sleep, spawn, timeout, TimeoutError } from "../../src/index.js";

/** Collects process warnings while `fn` runs (a clamped timer emits a TimeoutOverflowWarning). */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error): void => void seen.push(w.name);
  process.on("warning", onWarning);
  try {
    await fn();
    await sleep(5); // warnings are emitted on a later tick
  } finally {
    process.removeListener("warning", onWarning);
  }
  return seen;
}

void test("sleep past 2^31-1 ms does not fire early (Node alone would fire it after 1 ms)", async () => {
  const warnings = await warningsDuring(async () => {
    const r = await select({ long: (signal) => sleep(2 ** 31, { signal }), short: (signal) => sleep(40, { signal }) });
    assert.equal(r.key, "short");
    const r2 = await select({ long: (signal) => sleep(Number.MAX_SAFE_INTEGER, { signal }), short: (signal) => sleep(20, { signal }) });
    assert.equal(r2.key, "short");
  });
  assert.deepEqual(
    warnings.filter((w) => w === "TimeoutOverflowWarning"),
    [],
  );
});

void test("sleep(Infinity) waits until it is withdrawn, and says so in dumps", async () => {
  const rt = new Runtime();
  const h = rt.spawn(() => sleep(Infinity), { name: "forever" });
  await sleep(20);
  assert.equal(h.isFinished(), false);
  assert.equal(rt.dump().tasks.find((t) => t.id === h.id)?.waitingOn, "sleep forever");
  const c = new AbortController();
  const p = sleep(Infinity, { signal: c.signal });
  c.abort("enough");
  await assert.rejects(p, (e) => e === "enough");
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  await rt.shutdown();
});

void test("durations are checked: negative and NaN are RangeErrors, non-numbers TypeErrors, naming the argument", () => {
  assert.throws(() => sleep(-1), { name: "RangeError", message: /^ms must be/ });
  assert.throws(() => sleep(Number.NaN), { name: "RangeError", message: /^ms/ });
  assert.throws(() => timeout(-5, async () => 1), { name: "RangeError", message: /^ms/ });
  assert.throws(() => timeout(Number.NaN, async () => 1), { name: "RangeError", message: /^ms/ });
  assert.throws(() => interval(Infinity), { name: "RangeError", message: /^ms must be a finite/ });
  assert.throws(() => interval(-3), { name: "RangeError" });
  assert.throws(() => interval(5, { endOnStop: "yes" as never }), { name: "TypeError", message: /opts\.endOnStop/ });
  // Without a range that says the caller chains its timers, a duration a Node timer cannot hold is refused.
  assert.throws(() => checkDuration(2 ** 31, "opts.x"), { name: "RangeError", message: /opts\.x must be at most 2147483647 ms/ });
  assert.throws(() => checkDuration(Infinity, "opts.x", { long: true }), { name: "RangeError", message: /opts\.x must be a finite/ });
  assert.doesNotThrow(() => checkDuration(2 ** 31, "opts.x", { long: true }));
  assert.doesNotThrow(() => checkDuration(Infinity, "opts.x", { infinity: true }));
  assert.doesNotThrow(() => checkDuration(2 ** 31 - 1, "opts.x"));
});

void test("timeout(Infinity) never times out; a timeout past 2^31-1 ms does not fire early", async () => {
  const warnings = await warningsDuring(async () => {
    assert.equal(await timeout(Infinity, () => sleep(30).then(() => "done")), "done");
    assert.equal(await timeout(2 ** 31 + 10, () => sleep(30).then(() => "late but fine")), "late but fine");
  });
  assert.ok(!warnings.includes("TimeoutOverflowWarning"));
  await assert.rejects(
    timeout(10, () => sleep(1000)),
    TimeoutError,
  );
});

void test("an interval past 2^31-1 ms: first tick at once, the second not early", async () => {
  const it = interval(2 ** 31);
  assert.equal(await it.tick(), 0);
  const r = await select({ tick: (signal) => it.tick({ signal }), short: (signal) => sleep(40, { signal }) });
  assert.equal(r.key, "short");
  it[Symbol.dispose]();
});

void test("disposed intervals leave no listener on a long-lived signal", async () => {
  const life = new AbortController();
  for (let i = 0; i < 200; i++) {
    const it = interval(1000, { signal: life.signal });
    await it.tick();
    it[Symbol.dispose]();
  }
  assert.equal(getEventListeners(life.signal, "abort").length, 0);
  // The signal still stops a live interval.
  const live = interval(1000, { signal: life.signal });
  await live.tick();
  const pending = live.next();
  life.abort();
  assert.deepEqual(await pending, { done: true, value: undefined });
});

void test("in a runtime, iterating an interval ends at the announcement; the code after the loop still waits normally", async () => {
  const rt = new Runtime({ name: "ticks" });
  const log: string[] = [];
  const loop = rt.spawn(
    async () => {
      let n = 0;
      for await (const _ of interval(10)) n++;
      log.push(`loop ended after ${n > 0 ? "some" : "no"} ticks in ${rt.state}`);
      await sleep(5); // the last flush: steward waits still work during the drain
      log.push("flushed");
    },
    { name: "ticker" },
  );
  const keeps = rt.spawn(
    async (ctx) => {
      let after = 0;
      for await (const _ of interval(5, { endOnStop: false })) if (ctx.stopping.isCancelled && ++after === 3) break;
      log.push("endOnStop false kept ticking");
    },
    { name: "keeps" },
  );
  // Outside any runtime, there is no announcement to follow.
  const outside = interval(5);
  await sleep(40);
  const t0 = performance.now();
  const report = await rt.shutdown({ timeoutMs: 10_000 });
  assert.ok(performance.now() - t0 < 2000, "the interval did not hold the drain");
  assert.deepEqual(log.sort(), ["endOnStop false kept ticking", "flushed", "loop ended after some ticks in draining"]);
  assert.equal((await loop.result()).ok, true);
  assert.equal((await keeps.result()).ok, true);
  assert.equal(report.clean, true);
  assert.equal(report.tasks.cancelled, 0);
  assert.equal(await outside.tick(), 0);
  assert.equal(await outside.tick(), 1);
  outside[Symbol.dispose]();
});

void test("tick() is not ended by the announcement: it is the loop's own decision", async () => {
  const rt = new Runtime();
  const h = rt.spawn(async (ctx) => {
    const it = interval(5);
    let n = 0;
    while (!ctx.stopping.isCancelled || n < 3) {
      await it.tick();
      n++;
    }
    it[Symbol.dispose]();
    return n;
  });
  await sleep(10);
  await rt.shutdown();
  const r = await h.result();
  assert.ok(r.ok && r.value >= 3);
});

void test("spawn outside any runtime still sleeps and times out on the same timers", async () => {
  const h = spawn(async () => {
    await sleep(5);
    return timeout(50, async () => "ok");
  });
  assert.equal(await h, "ok");
});
