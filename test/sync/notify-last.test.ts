// Notify.notifyLast: the most recent waiter, a stored permit when none waits, select losers skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Notify, select } from "../../src/index.js";
import { isPending } from "./util.js";

void test("notifyLast wakes the newest waiter; with none, it stores one permit", async () => {
  const n = new Notify();
  const a = n.notified();
  const b = n.notified();
  const c = n.notified();
  n.notifyLast();
  await c;
  assert.ok(await isPending(a));
  assert.ok(await isPending(b));
  n.notifyLast();
  await b;
  n.notifyOne();
  await a;
  assert.equal(n.waiting, 0);
  n.notifyLast();
  n.notifyLast();
  await n.notified(); // the stored permit
  assert.ok(await isPending(n.notified()), "permits do not add up");
});

void test("notifyLast skips a queued select loser and wakes the waiter before it", async () => {
  const n = new Notify();
  const other = new Notify();
  const early = n.notified();
  const sel = select({ a: (signal) => n.notified({ signal }), b: (signal) => other.notified({ signal }) });
  other.notifyOne(); // branch b wins; branch a's wait on `n` is a loser, still queued until a microtask
  n.notifyLast();
  assert.equal((await sel).key, "b");
  await early;
  assert.equal(n.waiting, 0);
});
