import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, Semaphore, SemaphoreClosedError, spawn } from "../../src/index.js";
import { isPending, reason, settle } from "./util.js";

void test("acquire takes permits, release returns them; using releases at block end", async () => {
  const s = new Semaphore(3);
  const p = await s.acquire();
  assert.equal(p.count, 1);
  assert.equal(s.available, 2);
  {
    using p2 = await s.acquire(2);
    assert.equal(p2.count, 2);
    assert.equal(s.available, 0);
  }
  assert.equal(s.available, 2);
  p.release();
  assert.equal(s.available, 3);
});

void test("release is idempotent; forget drops the permits for good", async () => {
  const s = new Semaphore(2);
  const p = await s.acquire();
  p.release();
  p.release();
  p[Symbol.dispose]();
  assert.equal(s.available, 2);
  const f = await s.acquire(2);
  f.forget();
  f.release();
  assert.equal(s.available, 0);
  s.addPermits(1);
  assert.equal(s.available, 1);
});

void test("FIFO: a large acquire is not starved by later small ones", async () => {
  const s = new Semaphore(4);
  const held = await s.acquire(3);
  const order: string[] = [];
  const big = s.acquire(4).then((p) => (order.push("big"), p));
  const small = s.acquire(1).then((p) => (order.push("small"), p));
  // One permit is free, but the big waiter is first in line: nobody takes it from under it.
  assert.equal(s.tryAcquire(), undefined);
  assert.ok(await isPending(small));
  held.release();
  const bp = await big;
  assert.ok(await isPending(small));
  bp.release();
  (await small).release();
  assert.deepEqual(order, ["big", "small"]);
  assert.equal(s.available, 4);
});

void test("a withdrawn head waiter lets the ones behind it in at once", async () => {
  const s = new Semaphore(3);
  const held = await s.acquire(2);
  const c = new AbortController();
  const why = reason();
  const big = s.acquire(3, { signal: c.signal });
  const small = s.acquire(1);
  assert.ok(await isPending(small));
  c.abort(why);
  await assert.rejects(big, (e) => e === why);
  const sp = await small;
  assert.equal(s.available, 0);
  sp.release();
  held.release();
  assert.equal(s.available, 3);
});

void test("tryAcquire never waits and never jumps the queue", async () => {
  const s = new Semaphore(2);
  const a = s.tryAcquire(2);
  assert.equal(a?.count, 2);
  assert.equal(s.tryAcquire(), undefined);
  a?.release();
  const b = s.tryAcquire();
  assert.ok(b !== undefined);
  const w = s.acquire(2);
  assert.equal(s.tryAcquire(), undefined, "a waiter is queued");
  b.release();
  (await w).release();
  assert.equal(s.available, 2);
});

void test("addPermits wakes waiters in order, including ones that asked for more than it held", async () => {
  const s = new Semaphore(0);
  const first = s.acquire();
  assert.ok(await isPending(first), "a zero-permit semaphore is waited on");
  s.addPermits(0);
  assert.ok(await isPending(first));
  s.addPermits(1);
  (await first).release();
  s.addPermits(1);
  const p1 = await s.acquire(2);
  const w = s.acquire(1);
  assert.ok(await isPending(w));
  s.addPermits(1);
  const p2 = await w;
  assert.equal(s.available, 0);
  p1.release();
  p2.release();
  assert.equal(s.available, 3);
  (await s.acquire(3)).release();
});

void test("close rejects queued and later acquires with SemaphoreClosedError; held permits stay valid", async () => {
  const s = new Semaphore(1);
  const held = await s.acquire();
  const waiting = [s.acquire(), s.acquire()];
  s.close();
  s.close();
  assert.equal(s.isClosed, true);
  for (const p of waiting) await assert.rejects(p, SemaphoreClosedError);
  await assert.rejects(s.acquire(), (e: unknown) => e instanceof SemaphoreClosedError && e.name === "SemaphoreClosedError");
  assert.throws(() => s.tryAcquire(), SemaphoreClosedError);
  held.release();
  assert.equal(s.available, 1);
  await assert.rejects(s.acquire(), SemaphoreClosedError);
});

void test("cancelling a task waiting to acquire withdraws it; no permit leaks", async () => {
  const s = new Semaphore(2);
  const held = await s.acquire(2);
  const h = spawn(async () => (await s.acquire(2)).release());
  await settle();
  assert.equal(s.waiting, 1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  assert.equal(s.waiting, 0);
  held.release();
  assert.equal(s.available, 2);
});

void test("bad input is a RangeError or TypeError naming the argument, never a hang", async () => {
  const s = new Semaphore(3);
  for (const n of [0, -1, 1.5, NaN, Infinity, -Infinity]) {
    assert.throws(() => s.acquire(n), { name: "RangeError", message: /\bn\b/ }, String(n));
    assert.throws(() => s.tryAcquire(n), { name: "RangeError", message: /\bn\b/ }, String(n));
  }
  for (const n of ["2", null, {}, 2n]) {
    assert.throws(() => s.acquire(n as never), { name: "TypeError", message: /\bn\b/ }, String(n));
  }
  // More than it holds is no bad input: acquire waits for addPermits, tryAcquire says "not now".
  assert.equal(s.tryAcquire(4), undefined);
  for (const p of [-1, 0.5, NaN, Infinity]) assert.throws(() => new Semaphore(p), { name: "RangeError", message: /permits/ });
  assert.throws(() => new Semaphore("3" as never), { name: "TypeError", message: /permits/ });
  assert.throws(() => new Semaphore(undefined as never), { name: "TypeError", message: /permits/ });
  assert.throws(() => s.addPermits(-1), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => s.addPermits(Number.MAX_SAFE_INTEGER), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => s.acquire(1, 5 as never), { name: "TypeError", message: /opts/ });
  assert.equal(s.available, 3);
  // undefined means the default of 1
  (await s.acquire(undefined, {})).release();
  assert.equal(s.available, 3);
});
