// watch: cloned senders, sendReplace, sendIfModified, markChanged / markUnchanged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, watch } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function isPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  return !done;
}

void test("sendIfModified notifies only when fn says it modified the value", async () => {
  const [tx, rx] = watch({ n: 0 });
  const waiting = rx.changed();
  assert.equal(
    tx.sendIfModified(() => false),
    false,
  );
  assert.ok(await isPending(waiting));
  assert.equal(
    tx.sendIfModified((v) => {
      v.n = 1;
      return true;
    }),
    true,
  );
  assert.equal(await waiting, true);
  assert.equal(rx.borrowAndUpdate().n, 1);
});

void test("sendIfModified: a non-boolean result is a TypeError and notifies nobody; fn must be a function", async () => {
  const [tx, rx] = watch(1);
  const waiting = rx.changed();
  assert.throws(() => tx.sendIfModified((() => 1) as never), { name: "TypeError", message: /fn must return a boolean/ });
  assert.throws(() => tx.sendIfModified(undefined as never), { name: "TypeError", message: /fn/ });
  assert.throws(
    () =>
      tx.sendIfModified(() => {
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.ok(await isPending(waiting));
  assert.ok(!rx.hasChanged);
  tx.close();
  assert.throws(() => tx.sendIfModified(() => true), ChannelClosedError);
  assert.equal(await waiting, false);
});

void test("sendReplace returns the old value and notifies", async () => {
  const [tx, rx] = watch("a");
  assert.equal(tx.sendReplace("b"), "a");
  assert.ok(rx.hasChanged);
  assert.equal(await rx.changed(), true);
  assert.equal(rx.borrow(), "b");
  rx.close();
  assert.equal(tx.sendReplace("c"), "b", "stored with no receiver, as tokio's send_replace");
  assert.equal(tx.borrow(), "c");
  tx.close();
  assert.throws(() => tx.sendReplace("d"), ChannelClosedError);
});

void test("cloned senders: the channel closes when the last one closes; a closed sender cannot clone", async () => {
  const [tx1, rx] = watch(0);
  const tx2 = tx1.clone();
  const tx3 = tx2.clone();
  tx1.close();
  tx1.close();
  assert.throws(() => tx1.clone(), ChannelClosedError);
  assert.throws(() => tx1.send(1), ChannelClosedError);
  tx2.send(2);
  assert.equal(await rx.changed(), true);
  assert.ok(!rx.isClosed);
  tx2.close();
  const waiting = rx.changed();
  assert.ok(await isPending(waiting));
  tx3.close();
  assert.equal(await waiting, false);
  assert.ok(rx.isClosed);
});

void test("markChanged wakes a waiting changed() of the same receiver; markUnchanged marks seen", async () => {
  const [tx, rx] = watch(0);
  const waiting = rx.changed();
  assert.ok(await isPending(waiting));
  rx.markChanged();
  assert.equal(await waiting, true);
  assert.ok(!rx.hasChanged);
  tx.send(1);
  rx.markUnchanged();
  assert.ok(await isPending(rx.changed()));
  assert.equal(rx.borrow(), 1);
});
