import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, JoinError, select, sleep, spawn, watch } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));
const isClosedError = (e: unknown): boolean => e instanceof ChannelClosedError;

void test("watch: borrow, borrowAndUpdate and hasChanged track the seen version", () => {
  const [tx, rx] = watch({ n: 0 });
  assert.deepEqual(rx.borrow(), { n: 0 });
  assert.equal(rx.hasChanged, false, "the initial value counts as seen");
  tx.send({ n: 1 });
  assert.equal(rx.hasChanged, true);
  assert.deepEqual(rx.borrow(), { n: 1 });
  assert.equal(rx.hasChanged, true, "borrow does not mark seen");
  assert.deepEqual(rx.borrowAndUpdate(), { n: 1 });
  assert.equal(rx.hasChanged, false);
  assert.deepEqual(tx.borrow(), { n: 1 });
});

void test("watch: changed() resolves true on a new version (at once if unseen), false once the sender closed", async () => {
  const [tx, rx] = watch(0);
  const c = rx.changed();
  await turn();
  tx.send(1);
  tx.send(2);
  assert.equal(await c, true);
  // changed() was served by the send of 1, which it marked seen; 2 came after, still unseen.
  assert.equal(rx.hasChanged, true);
  assert.equal(rx.borrowAndUpdate(), 2);
  assert.equal(rx.hasChanged, false);
  tx.send(3);
  assert.equal(await rx.changed(), true, "an unseen value answers at once");
  const waiting = rx.changed();
  await turn();
  tx.close();
  assert.equal(await waiting, false);
  assert.equal(await rx.changed(), false);
  assert.throws(() => tx.send(4), isClosedError);
  assert.equal(rx.isClosed, true);
});

void test("watch: an unseen value sent just before close is still reported as changed", async () => {
  const [tx, rx] = watch("a");
  tx.send("b");
  tx.close();
  assert.equal(await rx.changed(), true);
  assert.equal(rx.borrowAndUpdate(), "b");
  assert.equal(await rx.changed(), false);
});

void test("watch: waitFor checks the current value first, then each new one, and marks it seen", async () => {
  const [tx, rx] = watch(5);
  assert.equal(await rx.waitFor((v) => v > 3), 5);
  const w = rx.waitFor((v) => v % 2 === 0);
  await turn();
  tx.send(7);
  await turn();
  tx.send(8);
  tx.send(9);
  assert.equal(await w, 8);
  assert.equal(rx.hasChanged, true, "9 arrived after the match and is still unseen");
  assert.equal(rx.borrowAndUpdate(), 9);
});

void test("watch: waitFor rejects ChannelClosedError when the sender closes unmatched, and passes pred's throw", async () => {
  const [tx, rx] = watch(1);
  const w = rx.waitFor((v) => v > 10);
  await turn();
  tx.send(2);
  tx.close();
  await assert.rejects(w, isClosedError);
  assert.equal(await rx.waitFor((v) => v === 2), 2, "a matching value is returned even after close");
  const [tx2, rx2] = watch(0);
  const boom = new Error("pred failed");
  const w2 = rx2.waitFor((v) => {
    if (v === 1) throw boom;
    return false;
  });
  tx2.send(1);
  await assert.rejects(w2, (e: unknown) => e === boom);
  assert.throws(() => rx2.waitFor(3 as never), { name: "TypeError", message: /pred/ });
});

void test("watch: a pending waitFor does not hold up changed() on the same receiver", async () => {
  const [tx, rx] = watch(0);
  const w = rx.waitFor((v) => v === 100);
  const c = rx.changed();
  await turn();
  tx.send(1);
  assert.equal(await c, true);
  tx.send(100);
  assert.equal(await w, 100);
});

void test("watch: sendModify changes in place or by return value, and notifies", async () => {
  const [tx, rx] = watch({ count: 0 });
  const c = rx.changed();
  tx.sendModify((v) => {
    v.count++;
  });
  assert.equal(await c, true);
  assert.equal(rx.borrowAndUpdate().count, 1);
  tx.sendModify((v) => ({ count: v.count + 10 }));
  assert.equal(rx.borrowAndUpdate().count, 11);
  assert.throws(
    () =>
      tx.sendModify(() => {
        throw new Error("no");
      }),
    { message: "no" },
  );
  assert.equal(rx.hasChanged, false, "a throwing modify changes nothing");
  assert.throws(() => tx.sendModify(1 as never), { name: "TypeError", message: /fn/ });
});

void test("watch: subscribe, clone and receiverCount; a closed receiver ends its waits", async () => {
  const [tx, rx] = watch("x");
  tx.send("y");
  const sub = tx.subscribe();
  assert.equal(sub.hasChanged, false, "a new subscriber has seen the current value");
  const cl = rx.clone();
  assert.equal(cl.hasChanged, true, "a clone keeps its origin's seen version");
  assert.equal(tx.receiverCount, 3);
  const c = sub.changed();
  const w = sub.waitFor((v) => v === "never");
  await turn();
  {
    using s = sub;
    void s;
  }
  assert.equal(await c, false);
  await assert.rejects(w, isClosedError);
  assert.equal(tx.receiverCount, 2);
  let allGone = false;
  const closed = tx.closed().then(() => (allGone = true));
  rx.close();
  await turn();
  assert.equal(allGone, false);
  cl.close();
  await closed;
  assert.equal(tx.receiverCount, 0);
  tx.send("z"); // still allowed: borrow and later subscribers see it
  assert.equal(tx.subscribe().borrow(), "z");
});

void test("watch: abort and cancellation withdraw changed() without marking anything seen", async () => {
  const [tx, rx] = watch(0);
  const ac = new AbortController();
  const c = rx.changed({ signal: ac.signal });
  await turn();
  ac.abort("gone");
  await assert.rejects(c, (e: unknown) => e === "gone");
  const h = spawn(() => rx.changed());
  await sleep(5);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error instanceof JoinError && r.error.isCancelled());
  tx.send(1);
  assert.equal(rx.hasChanged, true);
  assert.equal(await rx.changed(), true);
  await assert.rejects(
    rx.waitFor(() => true, { signal: AbortSignal.abort("pre") }),
    (e: unknown) => e === "pre",
  );
});

void test("watch: select over two changed() ready in the same tick marks exactly one seen", async () => {
  const [ta, ra] = watch(0);
  const [tb, rb] = watch(0);
  ta.send(1);
  tb.send(1);
  const r = await select({ a: (signal) => ra.changed({ signal }), b: (signal) => rb.changed({ signal }) });
  assert.equal(r.value, true);
  assert.equal(Number(ra.hasChanged) + Number(rb.hasChanged), 1, "the loser's change is still unseen");
});

void test("watch: undefined is a valid value", async () => {
  const [tx, rx] = watch<number | undefined>(undefined);
  tx.send(1);
  tx.send(undefined);
  assert.equal(await rx.changed(), true);
  assert.equal(rx.borrow(), undefined);
});
