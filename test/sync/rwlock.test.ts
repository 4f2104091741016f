import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, RwLock, spawn } from "../../src/index.js";
import { isPending, reason, settle } from "./util.js";

void test("many readers at once, or one writer alone", async () => {
  const l = new RwLock({ v: 1 });
  const r1 = await l.read();
  const r2 = await l.read();
  assert.equal(l.readers, 2);
  assert.equal(r1.value.v, 1);
  assert.equal(l.tryWrite(), undefined);
  const w = l.write();
  assert.ok(await isPending(w));
  r1.release();
  assert.ok(await isPending(w));
  r2.release();
  const wg = await w;
  assert.equal(l.isWriteLocked, true);
  assert.equal(l.tryRead(), undefined);
  wg.value = { v: 2 };
  wg.release();
  assert.equal(l.isWriteLocked, false);
  using r3 = await l.read();
  assert.equal(r3.value.v, 2);
});

void test("write-preferring and fair: a waiting writer goes before later readers", async () => {
  const l = new RwLock<string[]>([]);
  const r1 = await l.read();
  const order: string[] = [];
  const w = l.write().then((g) => {
    order.push("w");
    g.release();
  });
  // A reader arriving after the writer does not join the active reader.
  const r2 = l.read().then((g) => {
    order.push("r2");
    g.release();
  });
  assert.equal(l.tryRead(), undefined);
  assert.ok(await isPending(r2));
  r1.release();
  await Promise.all([w, r2]);
  assert.deepEqual(order, ["w", "r2"]);
});

void test("readers queued behind a writer go in together when it releases", async () => {
  const l = new RwLock();
  const w1 = await l.write();
  const readers = [l.read(), l.read(), l.read()];
  const w2 = l.write();
  const late = l.read();
  w1.release();
  const gs = await Promise.all(readers);
  assert.equal(l.readers, 3);
  assert.ok(await isPending(w2));
  assert.ok(await isPending(late));
  for (const g of gs) g.release();
  const w2g = await w2;
  assert.ok(await isPending(late));
  w2g.release();
  (await late).release();
  assert.equal(l.readers, 0);
});

void test("release is idempotent for both guards", async () => {
  const l = new RwLock();
  const r = await l.read();
  const r2 = await l.read();
  r.release();
  r.release();
  r[Symbol.dispose]();
  assert.equal(l.readers, 1);
  r2.release();
  const w = await l.write();
  const next = l.write();
  w.release();
  const w2 = await next;
  w.release();
  assert.equal(l.isWriteLocked, true);
  w2.release();
  assert.equal(l.isWriteLocked, false);
  assert.throws(() => w2.value, /already released/);
  assert.throws(() => r.value, /already released/);
});

void test("a withdrawn waiting writer lets the readers it held back in at once", async () => {
  const l = new RwLock();
  const r1 = await l.read();
  const c = new AbortController();
  const why = reason();
  const w = l.write({ signal: c.signal });
  const r2 = l.read();
  assert.ok(await isPending(r2));
  c.abort(why);
  await assert.rejects(w, (e) => e === why);
  const g2 = await r2;
  assert.equal(l.readers, 2);
  r1.release();
  g2.release();
  const wg = l.tryWrite();
  assert.ok(wg !== undefined);
  wg.release();
});

void test("cancelling a task waiting to read or write withdraws it and leaks nothing", async () => {
  const l = new RwLock();
  const w = await l.write();
  const hr = spawn(async () => (await l.read()).release());
  const hw = spawn(async () => (await l.write()).release());
  await settle();
  assert.equal(l.waiting, 2);
  hr.abort();
  hw.abort();
  for (const h of [hr, hw]) {
    const r = await h.result();
    assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  }
  assert.equal(l.waiting, 0);
  w.release();
  assert.equal(l.readers, 0);
  assert.equal(l.isWriteLocked, false);
});

void test("bad input is a TypeError that names the argument", () => {
  const l = new RwLock();
  assert.throws(() => l.read(3 as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => l.write({ signal: "x" as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.throws(() => new RwLock(0, null as never), { name: "TypeError", message: /opts/ });
});
