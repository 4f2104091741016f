import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, Notify, spawn } from "../../src/index.js";
import { isPending, reason, settle } from "./util.js";

void test("notifyOne wakes the longest waiter, one per call", async () => {
  const n = new Notify();
  const woke: number[] = [];
  const ps = [0, 1, 2].map((i) => n.notified().then(() => woke.push(i)));
  n.notifyOne();
  await settle();
  assert.deepEqual(woke, [0]);
  n.notifyOne();
  n.notifyOne();
  await Promise.all(ps);
  assert.deepEqual(woke, [0, 1, 2]);
});

void test("notifyOne with no waiter stores one permit (at most one)", async () => {
  const n = new Notify();
  n.notifyOne();
  n.notifyOne();
  await n.notified(); // consumes the stored permit at once
  const p = n.notified();
  assert.ok(await isPending(p), "permits do not add up");
  n.notifyOne();
  await p;
});

void test("notifyWaiters wakes every current waiter and stores nothing", async () => {
  const n = new Notify();
  const ps = [n.notified(), n.notified(), n.notified()];
  n.notifyWaiters();
  await Promise.all(ps);
  n.notifyWaiters(); // nobody waiting: no permit
  const later = n.notified();
  assert.ok(await isPending(later));
  n.notifyOne();
  await later;
});

void test("notifyWaiters leaves a stored permit as it was", async () => {
  const n = new Notify();
  n.notifyOne();
  n.notifyWaiters();
  await n.notified();
});

void test("a withdrawn notified() consumes nothing: the notification goes to the next waiter", async () => {
  const n = new Notify();
  const c = new AbortController();
  const why = reason();
  const first = n.notified({ signal: c.signal });
  const second = n.notified();
  c.abort(why);
  await assert.rejects(first, (e) => e === why);
  n.notifyOne();
  await second;
  assert.equal(n.waiting, 0);
  // and with no one left, the permit is stored, not lost
  const c2 = new AbortController();
  const third = n.notified({ signal: c2.signal });
  c2.abort(why);
  await assert.rejects(third, (e) => e === why);
  n.notifyOne();
  await n.notified();
});

void test("cancelling a task waiting on notified() withdraws it", async () => {
  const n = new Notify();
  const h = spawn(() => n.notified());
  await settle();
  assert.equal(n.waiting, 1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  assert.equal(n.waiting, 0);
  n.notifyOne(); // stored for the next one, not swallowed by the cancelled task
  await n.notified();
});

void test("two tasks ping-ponging notifications cannot starve timers", async () => {
  const ping = new Notify();
  const pong = new Notify();
  let fired = false;
  const timer = setTimeout(() => (fired = true), 0);
  const a = (async () => {
    while (!fired) {
      ping.notifyOne();
      await pong.notified();
    }
    ping.notifyOne();
  })();
  const b = (async () => {
    while (!fired) {
      await ping.notified();
      pong.notifyOne();
    }
    pong.notifyOne();
  })();
  await Promise.all([a, b]);
  clearTimeout(timer);
  assert.equal(fired, true);
});

void test("bad input is a TypeError that names the argument", () => {
  const n = new Notify();
  assert.throws(() => n.notified("x" as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => n.notified({ signal: 1 as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.throws(() => new Notify({ name: [] as never }), { name: "TypeError", message: /opts\.name/ });
});
