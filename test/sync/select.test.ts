import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, Notify, OnceCell, RwLock, select, Semaphore, sleep } from "../../src/index.js";
import { isPending, settle } from "./util.js";

void test("select over two free locks takes exactly one", async () => {
  for (let i = 0; i < 20; i++) {
    const a = new Mutex("a");
    const b = new Mutex("b");
    const r = await select({ a: (s) => a.lock({ signal: s }), b: (s) => b.lock({ signal: s }) });
    await settle();
    assert.equal(a.isLocked, r.key === "a");
    assert.equal(b.isLocked, r.key === "b");
    assert.equal(r.value.value, r.key);
    r.value.release();
    assert.equal(a.isLocked || b.isLocked, false);
  }
});

void test("select over two held locks released in the same tick takes exactly one", async () => {
  for (let i = 0; i < 20; i++) {
    const a = new Mutex();
    const b = new Mutex();
    const ga = await a.lock();
    const gb = await b.lock();
    const sel = select({ a: (s) => a.lock({ signal: s }), b: (s) => b.lock({ signal: s }) });
    assert.ok(await isPending(sel));
    ga.release();
    gb.release();
    const r = await sel;
    await settle();
    assert.equal([a.isLocked, b.isLocked].filter(Boolean).length, 1, "exactly one lock is held");
    assert.equal(r.key === "a" ? a.isLocked : b.isLocked, true);
    assert.equal(a.waiting + b.waiting, 0);
    r.value.release();
  }
});

void test("select over a semaphore, a write lock and a notification ready in one tick takes one", async () => {
  for (let i = 0; i < 20; i++) {
    const sem = new Semaphore(1);
    const rw = new RwLock();
    const n = new Notify();
    const p = sem.tryAcquire()!;
    const w = rw.tryWrite()!;
    const sel = select({
      sem: (s) => sem.acquire(1, { signal: s }),
      write: (s) => rw.write({ signal: s }),
      notify: (s) => n.notified({ signal: s }),
    });
    assert.ok(await isPending(sel));
    p.release();
    w.release();
    n.notifyOne();
    const r = await sel;
    await settle();
    assert.equal(sem.available, r.key === "sem" ? 0 : 1);
    assert.equal(rw.isWriteLocked, r.key === "write");
    // The notification was consumed only if its branch won; otherwise it is stored.
    const next = n.notified();
    assert.equal(await isPending(next), r.key === "notify");
    if (r.key === "notify") n.notifyOne();
    await next;
  }
});

void test("a select lost to a ready branch leaves a queued lock wait without taking it", async () => {
  const m = new Mutex();
  const g = await m.lock();
  const r = await select({ lock: (s) => m.lock({ signal: s }), nap: (s) => sleep(1, { signal: s }) });
  assert.equal(r.key, "nap");
  await settle();
  assert.equal(m.waiting, 0);
  g.release();
  assert.equal(m.isLocked, false);
});

void test("read and write branches on the same RwLock: only one takes effect", async () => {
  for (let i = 0; i < 20; i++) {
    const rw = new RwLock();
    const w = await rw.write();
    const sel = select({ r: (s) => rw.read({ signal: s }), w: (s) => rw.write({ signal: s }) });
    w.release();
    const r = await sel;
    await settle();
    if (r.key === "r") assert.equal(rw.readers, 1);
    else assert.equal(rw.isWriteLocked, true);
    assert.equal(rw.readers + (rw.isWriteLocked ? 1 : 0), 1);
    r.value.release();
  }
});

void test("getOrInit in a losing select branch runs nothing", async () => {
  const cell = new OnceCell<number>();
  let release!: () => void;
  const first = cell.getOrInit(() => new Promise<number>((r) => (release = () => r(1))));
  let ran = false;
  const r = await select({
    init: (s) => cell.getOrInit(() => ((ran = true), 2), { signal: s }),
    now: async () => "now",
  });
  assert.equal(r.key, "now");
  release();
  assert.equal(await first, 1);
  await settle();
  assert.equal(ran, false);
});
