// The waiter core on its own, through a tiny counting resource: a pool of `units` that a waiter
// takes one of. What a withdrawn waiter must never do is hold a unit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pool } from "../helpers/pool.js";
import { configure, select, shield, sleep, spawn, CancelledError } from "../../src/index.js";

test("waiters are served first-in, first-out", async () => {
  const p = new Pool();
  const order: number[] = [];
  const all = [0, 1, 2, 3, 4].map((i) => p.take().then(() => order.push(i)));
  assert.equal(p.q.length, 5);
  p.put(5);
  await Promise.all(all);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
});

test("an aborted waiter is unlinked at once, holds nothing, rejects with the reason", async () => {
  const p = new Pool();
  const c = new AbortController();
  const a = p.take({ signal: c.signal });
  const b = p.take();
  c.abort("gone");
  assert.equal(p.q.length, 1);
  await assert.rejects(a, (e) => e === "gone");
  p.put(1);
  assert.equal(await b, 1);
  assert.equal(p.units, 0);
  await assert.rejects(p.take({ signal: AbortSignal.abort("pre") }), (e) => e === "pre");
  assert.equal(p.q.length, 0);
});

test("a waiting task that is aborted withdraws with CancelledError; shield ignores cancellation", async () => {
  const p = new Pool();
  const h = spawn(() => p.take());
  await sleep(1);
  assert.equal(p.q.length, 1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  assert.equal(p.q.length, 0);
  const s = spawn(() => shield(() => p.take()));
  await sleep(1);
  s.abort();
  p.put(1);
  assert.equal(await s, 1, "a shielded wait completes although its task was cancelled");
});

test("a wait in an already cancelled task rejects even when the resource is ready", async () => {
  const p = new Pool();
  p.put(1);
  const h = spawn(async (ctx) => {
    ctx.token.cancel();
    return p.take();
  });
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  assert.equal(p.units, 1, "nothing was taken");
});

test("ready waits cannot starve timers: the budget yields to the event loop", async () => {
  const p = new Pool();
  p.put(1e9);
  let fired = false;
  setTimeout(() => (fired = true), 0);
  let n = 0;
  while (!fired && n < 1e6) {
    await p.take();
    n++;
  }
  assert.equal(fired, true);
  assert.ok(n < 5000, `the timer waited for ${n} ready waits`);
});

test("a budget of 0 turns the cooperative budget off", async () => {
  configure({ coopBudget: 0 });
  try {
    const p = new Pool();
    p.put(1e9);
    let fired = false;
    const t = setTimeout(() => (fired = true), 0);
    for (let i = 0; i < 20_000; i++) await p.take();
    assert.equal(fired, false, "with no budget, microtasks run to completion first");
    clearTimeout(t);
  } finally {
    configure({ coopBudget: 128 });
  }
  assert.throws(() => configure({ coopBudget: -1 }), { name: "RangeError", message: /coopBudget/ });
});

test("a parked wait (budget spent) can still be withdrawn and then takes nothing", async () => {
  configure({ coopBudget: 1 });
  try {
    const p = new Pool();
    p.put(3);
    await p.take(); // spends the budget
    const c = new AbortController();
    const parked = p.take({ signal: c.signal });
    c.abort("no");
    await assert.rejects(parked, (e) => e === "no");
    assert.equal(p.units, 2);
  } finally {
    configure({ coopBudget: 128 });
  }
});

test("select: two waits ready in the same tick — exactly one takes", async () => {
  const a = new Pool();
  const b = new Pool();
  a.put(1);
  b.put(1);
  const r = await select({ a: (s) => a.take({ signal: s }), b: (s) => b.take({ signal: s }) });
  assert.equal(a.units + b.units, 1, `won ${r.key}; the loser kept its unit`);
  // Waiters queued in both, served in the same tick:
  const c = new Pool();
  const d = new Pool();
  const sel = select({ c: (s) => c.take({ signal: s }), d: (s) => d.take({ signal: s }) });
  c.put(1);
  d.put(1);
  await sel;
  await sleep(1);
  assert.equal(c.units + d.units, 1);
  assert.equal(c.q.length + d.q.length, 0, "the loser's waiter is gone");
});
