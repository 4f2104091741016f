// The deadline forms and handles on the real clock: never early, select-safe, cancel-safe,
// typed errors naming the argument. (Virtual-time behaviour: test/testing, test/conformance/time-clock.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { interval, now, Runtime, select, Sleep, sleepUntil, timeoutAt, TimeoutError } from "../../src/index.js";

void test("now() is steward's monotonic clock: performance.now() outside a test clock", () => {
  const a = performance.now();
  const n = now();
  const b = performance.now();
  assert.ok(a <= n && n <= b);
});

void test("sleepUntil and timeoutAt never complete before now() reaches the deadline (fractional deadlines too)", async () => {
  for (const d of [0.3, 1.5, 7.25, 20]) {
    const deadline = now() + d;
    await sleepUntil(deadline);
    assert.ok(now() >= deadline, `sleepUntil(${d} ms ahead) resolved ${(deadline - now()).toFixed(3)} ms early`);
    const deadline2 = now() + d;
    await assert.rejects(
      timeoutAt(deadline2, () => new Promise(() => {})),
      TimeoutError,
    );
    assert.ok(now() >= deadline2, "timeoutAt fired early");
  }
  await sleepUntil(now() - 1000); // a past deadline is due at once
});

void test("a Sleep handle: awaitable, moved by reset while waited on, elapsed by the clock", async () => {
  const s = Sleep.after(10_000);
  assert.equal(s.isElapsed, false);
  const waited = s.wait();
  s.reset(now() + 15);
  const t0 = now();
  await waited;
  assert.ok(now() >= s.deadline && now() - t0 < 5_000);
  assert.equal(s.isElapsed, true);
  await s; // elapsed: ready at once
  s.reset(now() + 10);
  assert.equal(s.isElapsed, false);
  await s;
  assert.ok(now() >= s.deadline);
  // Sleep.until(Infinity) never elapses.
  assert.equal(Sleep.until(Infinity).isElapsed, false);
});

void test("a Sleep handle in select: a losing wait leaves the handle as it was; its signal withdraws every await", async () => {
  const s = Sleep.after(5);
  const r = await select({ never: (signal) => Sleep.until(Infinity).wait({ signal }), due: (signal) => s.wait({ signal }) });
  assert.equal(r.key, "due");
  const long = Sleep.after(60_000);
  const r2 = await select({ long: (signal) => long.wait({ signal }), short: (signal) => sleepUntil(now() + 5, { signal }) });
  assert.equal(r2.key, "short");
  long.reset(now()); // the loser left nothing: the handle serves the next await
  await long;
  const ctrl = new AbortController();
  const h = Sleep.after(60_000, { signal: ctrl.signal });
  const p = (async () => await h)();
  ctrl.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
  // If a 60 s timer were still armed, node --test would report this file as still running.
});

void test("a Sleep wait in a cancelled task rejects with CancelledError", async () => {
  const rt = new Runtime();
  const s = Sleep.after(60_000);
  const h = rt.spawn(() => s.wait());
  await new Promise((r) => setImmediate(r));
  h.abort();
  const res = await h.result();
  assert.equal(res.ok, false);
  await rt.shutdown();
});

void test("interval handle: start, period, deadline, settable missedTick, reset* on the real clock", async () => {
  const start = now() + 20;
  using it = interval(10, { start });
  assert.equal(it.period, 10);
  assert.equal(it.deadline, start);
  assert.equal(await it.tick(), 0);
  assert.ok(now() >= start, "the first tick waits for opts.start");
  assert.equal(it.deadline, start + 10);
  it.missedTick = "delay";
  assert.equal(it.missedTick, "delay");
  it.resetAfter(30);
  const t0 = now();
  await it.tick();
  assert.ok(now() - t0 >= 29);
  it.resetImmediately();
  const t1 = now();
  await it.tick();
  assert.ok(now() - t1 < 1000, "resetImmediately makes the next tick due at once");
  it.resetAt(Infinity);
  assert.equal(it.deadline, Infinity);
  const r = await select({ tick: (signal) => it.tick({ signal }), other: (signal) => sleepUntil(now() + 20, { signal }) });
  assert.equal(r.key, "other");
  it.reset();
  assert.ok(Math.abs(it.deadline - (now() + 10)) < 5);
});

void test("bad arguments: typed errors naming the argument", () => {
  assert.throws(() => sleepUntil("1" as never), { name: "TypeError", message: /^deadline/ });
  assert.throws(() => sleepUntil(NaN), { name: "RangeError", message: /^deadline/ });
  assert.throws(() => sleepUntil(-Infinity), { name: "RangeError", message: /^deadline/ });
  assert.throws(() => sleepUntil(now(), 5 as never), { name: "TypeError", message: /^opts/ });
  assert.throws(() => timeoutAt(NaN, async () => 1), { name: "RangeError", message: /^deadline/ });
  assert.throws(() => timeoutAt(now(), null as never), { name: "TypeError", message: /^fn/ });
  assert.throws(() => Sleep.after(-1), { name: "RangeError", message: /^ms/ });
  assert.throws(() => Sleep.until(undefined as never), { name: "TypeError", message: /^deadline/ });
  assert.throws(() => Sleep.after(1, { signal: 1 as never }), { name: "TypeError", message: /^opts\.signal/ });
  assert.throws(() => Sleep.after(1).reset(NaN), { name: "RangeError", message: /^deadline/ });
  assert.throws(() => new (Sleep as unknown as new (d: number) => Sleep)(5), { name: "TypeError", message: /Sleep\.after/ });
  assert.throws(() => interval(10, { start: NaN }), { name: "RangeError", message: /^opts\.start/ });
  assert.throws(() => interval(10, { start: -Infinity }), { name: "RangeError", message: /^opts\.start/ });
  assert.throws(() => interval(10, { start: Infinity }), { name: "RangeError", message: /^opts\.start/ });
  assert.throws(() => interval(10, { start: "now" as never }), { name: "TypeError", message: /^opts\.start/ });
  using it = interval(10);
  assert.throws(() => (it.missedTick = "later" as never), { name: "TypeError", message: /^missedTick/ });
  assert.throws(() => it.resetAfter(-1), { name: "RangeError", message: /^ms/ });
  assert.throws(() => it.resetAt(-Infinity), { name: "RangeError", message: /^deadline/ });
  assert.equal(it.missedTick, "burst", "a refused value changes nothing");
});

void test("the package root does not load steward/testing", () => {
  const seen = new Set<string>();
  const here = dirname(fileURLToPath(import.meta.url));
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, "utf8");
    // Static imports and re-exports, and dynamic import() calls (a doc comment's `import("./x")` type does not count: no such file).
    for (const m of src.matchAll(/(?:^(?:import|export)[^;]*?from\s*|\bimport\(\s*)"(\.{1,2}\/[^"]+)"/gm)) {
      const target = resolve(dirname(file), m[1]!);
      if (existsSync(target)) visit(target);
    }
  };
  const root = join(here, "../../src/index.js");
  visit(root);
  assert.ok(seen.size > 20, `walked ${seen.size} modules`);
  assert.deepEqual(
    [...seen].filter((f) => f.includes("/testing/")),
    [],
  );
});
