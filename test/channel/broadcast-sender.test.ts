// BroadcastSender made before any receiver, its length and closed().
import { test } from "node:test";
import assert from "node:assert/strict";
import { BroadcastSender, CancelledError, spawn } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

void test("new BroadcastSender(capacity): nothing kept until a receiver subscribes", async () => {
  const tx = new BroadcastSender<number>(2);
  assert.equal(tx.receiverCount, 0);
  assert.equal(tx.send(1), 0);
  assert.equal(tx.length, 0);
  await tx.closed();
  const rx = tx.subscribe();
  assert.equal(tx.send(2), 1);
  assert.equal(tx.length, 1);
  assert.equal(await rx.recv(), 2);
  assert.equal(tx.length, 0);
  tx.close();
  assert.equal(await rx.recv(), undefined);
});

void test("bad capacity is a TypeError/RangeError naming capacity", () => {
  for (const c of [0, -1, 1.5, NaN, Infinity]) assert.throws(() => new BroadcastSender(c), { name: "RangeError", message: /capacity/ });
  for (const c of ["2", undefined, null, {}]) assert.throws(() => new BroadcastSender(c as never), { name: "TypeError", message: /capacity/ });
});

void test("closed() is withdrawn by its signal or its task's cancellation; bad opts throw", async () => {
  const tx = new BroadcastSender<number>(1);
  const rx = tx.subscribe();
  const c = new AbortController();
  const w = tx.closed({ signal: c.signal });
  c.abort(new Error("stop"));
  await assert.rejects(w, /stop/);
  const h = spawn(() => tx.closed());
  await turn();
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  assert.throws(() => tx.closed(5 as never), { name: "TypeError", message: /opts/ });
  const last = tx.closed();
  rx.close();
  await last;
});
