import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, JoinError, oneshot, select, sleep, spawn } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));
const isClosedError = (e: unknown): boolean => e instanceof ChannelClosedError;

void test("oneshot: await rx resolves with the value sent; the receiver is PromiseLike", async () => {
  const [tx, rx] = oneshot<number>();
  setTimeout(() => assert.equal(tx.send(5), true), 1);
  assert.equal(await rx, 5);
  assert.equal(tx.isClosed, true, "a sender that sent cannot send again");
  assert.equal(tx.send(6), false);
  const [tx2, rx2] = oneshot<number>();
  tx2.send(5);
  const chained = await rx2.then((v) => v * 2);
  assert.equal(chained, 10);
});

void test("oneshot: the value is received once; a second recv, await or tryRecv is ChannelClosedError (as tokio)", async () => {
  const [tx, rx] = oneshot<number>();
  tx.send(1);
  assert.equal(await rx.recv(), 1);
  await assert.rejects(rx.recv(), (e: unknown) => isClosedError(e) && /already received/.test((e as Error).message));
  await assert.rejects(Promise.resolve(rx), isClosedError);
  assert.throws(() => rx.tryRecv(), isClosedError);
  const [tx2, rx2] = oneshot<number>();
  tx2.send(2);
  assert.equal(rx2.tryRecv(), 2);
  await assert.rejects(rx2.recv(), isClosedError);
});

void test("oneshot: rejects ChannelClosedError when the sender closes unsent", async () => {
  const [tx, rx] = oneshot<string>();
  const waiting = rx.recv();
  await turn();
  tx.close();
  tx.close(); // idempotent
  await assert.rejects(waiting, isClosedError);
  await assert.rejects(Promise.resolve(rx), isClosedError);
  assert.throws(() => rx.tryRecv(), isClosedError);
  assert.equal(tx.send("late"), false);
  const [tx2, rx2] = oneshot<string>();
  {
    using t = tx2;
    void t;
  }
  await assert.rejects(rx2.recv(), isClosedError);
});

void test("oneshot: send returns false once the receiver closed; closed() resolves", async () => {
  const [tx, rx] = oneshot<number>();
  let closed = false;
  const c = tx.closed().then(() => (closed = true));
  await turn();
  assert.equal(closed, false);
  assert.equal(tx.isClosed, false);
  rx.close();
  await c;
  assert.equal(tx.isClosed, true);
  assert.equal(tx.send(1), false);
  await assert.rejects(rx.recv(), isClosedError);
  const [tx2, rx2] = oneshot<number>();
  {
    using r = rx2;
    void r;
  }
  assert.equal(tx2.send(1), false);
});

void test("oneshot: a value sent before the receiver closed can still be received", async () => {
  const [tx, rx] = oneshot<number>();
  assert.equal(tx.send(3), true);
  rx.close();
  assert.equal(await rx, 3);
});

void test("oneshot: tryRecv is undefined until sent, then the value", () => {
  const [tx, rx] = oneshot<number>();
  assert.equal(rx.tryRecv(), undefined);
  tx.send(0);
  assert.equal(rx.tryRecv(), 0);
  assert.throws(() => rx.tryRecv(), isClosedError);
});

void test("oneshot: send(undefined) throws TypeError and does not consume the sender", async () => {
  const [tx, rx] = oneshot<number | undefined>();
  assert.throws(() => tx.send(undefined), { name: "TypeError" });
  assert.equal(tx.isClosed, false);
  tx.send(1);
  assert.equal(await rx, 1);
});

void test("oneshot: an aborted recv takes nothing, a later recv gets the value", async () => {
  const [tx, rx] = oneshot<number>();
  const ac = new AbortController();
  const r = rx.recv({ signal: ac.signal });
  await turn();
  ac.abort("stop");
  await assert.rejects(r, (e: unknown) => e === "stop");
  tx.send(9);
  assert.equal(await rx.recv(), 9);
  await assert.rejects(rx.recv({ signal: AbortSignal.abort("pre") }), (e: unknown) => e === "pre");
});

void test("oneshot: a task awaiting the receiver is withdrawn on cancellation", async () => {
  const [tx, rx] = oneshot<number>();
  const h = spawn(async () => await rx);
  await sleep(5);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error instanceof JoinError && r.error.isCancelled());
  assert.equal(tx.send(1), true);
  assert.equal(rx.tryRecv(), 1);
});

void test("oneshot: select over two receivers ready in the same tick takes exactly one", async () => {
  const [ta, ra] = oneshot<string>();
  const [tb, rb] = oneshot<string>();
  const sel = select({ a: (signal) => ra.recv({ signal }), b: (signal) => rb.recv({ signal }) });
  await turn();
  ta.send("a");
  tb.send("b");
  const r = await sel;
  assert.equal(r.value, r.key);
  // The loser's value is still there for the next receive.
  const loser = r.key === "a" ? rb : ra;
  assert.equal(loser.tryRecv(), r.key === "a" ? "b" : "a");
});
