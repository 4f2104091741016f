import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, select, sleep, spawn } from "../../src/index.js";

test("resolves with the winning key and value; losers' signals are aborted", async () => {
  let loserAborted = false;
  const r = await select({
    fast: async () => "f",
    slow: (signal) =>
      new Promise((res) => {
        signal.addEventListener("abort", () => {
          loserAborted = true;
          res("s");
        });
      }),
  });
  assert.deepEqual(r, { key: "fast", value: "f" });
  await sleep(0);
  assert.equal(loserAborted, true);
});

test("a winning branch's rejection is select's rejection", async () => {
  await assert.rejects(select({ bad: async () => Promise.reject(new Error("bad")), never: () => new Promise(() => {}) }), /bad/);
  await assert.rejects(
    select({
      sync: () => {
        throw new TypeError("sync");
      },
    }),
    TypeError,
  );
});

test("picks fairly among ready branches unless biased", async () => {
  const wins = { a: 0, b: 0 };
  for (let i = 0; i < 200; i++) {
    const r = await select({ a: (s) => sleep(0, { signal: s }).then(() => 1), b: async () => 2 });
    void r;
    const q = await select({ a: async () => 1, b: async () => 2 });
    wins[q.key]++;
  }
  assert.ok(wins.a > 40 && wins.b > 40, `a won ${wins.a}, b won ${wins.b}`);
  for (let i = 0; i < 20; i++) {
    const q = await select({ a: async () => 1, b: async () => 2 }, { biased: true });
    assert.equal(q.key, "a");
  }
});

test("opts.signal and task cancellation withdraw every branch", async () => {
  const c = new AbortController();
  const seen: unknown[] = [];
  const p = select({ x: (s) => sleep(10_000, { signal: s }), y: (s) => new Promise((_, rej) => s.addEventListener("abort", () => rej(s.reason))) }, { signal: c.signal });
  c.abort("stop");
  await assert.rejects(p, (e) => e === "stop");
  const h = spawn(() => select({ x: (s) => sleep(10_000, { signal: s }).then(() => seen.push("x")) }));
  await sleep(1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  assert.deepEqual(seen, []);
});

test("bad input: empty, non-object, non-function branches", () => {
  assert.throws(() => select({}), { name: "TypeError", message: /at least one/ });
  assert.throws(() => select(null as never), TypeError);
  assert.throws(() => select({ a: 1 as never }), { name: "TypeError", message: /branches\.a/ });
  assert.throws(() => select({ a: async () => 1 }, { signal: 1 as never }), /opts\.signal/);
});
