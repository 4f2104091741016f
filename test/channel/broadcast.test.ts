import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { ChannelClosedError, JoinError, LaggedError, broadcast, select, sleep, spawn } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));

void test("broadcast: bad capacity is a RangeError/TypeError naming `capacity`", () => {
  for (const bad of [0, -3, 2.5, Infinity, NaN]) assert.throws(() => broadcast(bad), { name: "RangeError", message: /capacity/ });
  assert.throws(() => broadcast("4" as never), { name: "TypeError", message: /capacity/ });
  // A huge capacity is a bound, not an allocation.
  const [tx, rx] = broadcast<number>(2 ** 40);
  for (let i = 0; i < 100; i++) tx.send(i);
  assert.equal(rx.length, 100);
  assert.equal(rx.tryRecv(), 0);
});

void test("broadcast: every receiver gets every value; send returns the number of receivers", async () => {
  const [tx, rx1] = broadcast<number>(8);
  const rx2 = tx.subscribe();
  assert.equal(tx.receiverCount, 2);
  assert.equal(tx.send(1), 2);
  assert.equal(tx.send(2), 2);
  assert.deepEqual([await rx1.recv(), await rx1.recv()], [1, 2]);
  assert.deepEqual([await rx2.recv(), await rx2.recv()], [1, 2]);
  assert.equal(rx1.length, 0);
});

void test("broadcast: a waiting recv is woken by send", async () => {
  const [tx, rx] = broadcast<string>(2);
  const r = rx.recv();
  await turn();
  tx.send("hi");
  assert.equal(await r, "hi");
});

void test("broadcast: a new subscriber sees only values sent after it subscribed; no receiver means 0 and not kept", async () => {
  const [tx, rx] = broadcast<number>(4);
  tx.send(1);
  const late = tx.subscribe();
  tx.send(2);
  assert.equal(await late.recv(), 2);
  assert.equal(await rx.recv(), 1);
  rx.close();
  late.close();
  assert.equal(tx.receiverCount, 0);
  assert.equal(tx.send(3), 0);
  const again = tx.subscribe();
  assert.equal(again.tryRecv(), undefined);
  assert.equal(again.length, 0);
});

void test("broadcast: when full the oldest is overwritten; a lagging receiver gets LaggedError once, then the oldest kept", async () => {
  const [tx, rx] = broadcast<number>(3);
  const fast = tx.subscribe();
  for (let i = 1; i <= 5; i++) {
    tx.send(i);
    assert.equal(await fast.recv(), i);
  }
  assert.equal(rx.length, 3);
  await assert.rejects(rx.recv(), (e: unknown) => e instanceof LaggedError && e.name === "LaggedError" && e.skipped === 2);
  assert.deepEqual([await rx.recv(), await rx.recv(), await rx.recv()], [3, 4, 5]);
  assert.equal(rx.tryRecv(), undefined);
  // tryRecv reports the lag too.
  for (let i = 6; i <= 10; i++) tx.send(i);
  assert.throws(
    () => rx.tryRecv(),
    (e: unknown) => e instanceof LaggedError && e.skipped === 2,
  );
  assert.equal(rx.tryRecv(), 8);
});

void test("broadcast: recv returns undefined once every sender closed and the receiver drained", async () => {
  const [tx, rx] = broadcast<number>(4);
  const tx2 = tx.clone();
  tx.send(1);
  tx.close();
  assert.throws(
    () => tx.send(2),
    (e: unknown) => e instanceof ChannelClosedError,
  );
  assert.throws(
    () => tx.clone(),
    (e: unknown) => e instanceof ChannelClosedError,
  );
  assert.equal(rx.isClosed, false);
  tx2.send(2);
  const waiting = tx.subscribe();
  const w = waiting.recv();
  tx2[Symbol.dispose]();
  assert.equal(rx.isClosed, true);
  assert.deepEqual([await rx.recv(), await rx.recv(), await rx.recv()], [1, 2, undefined]);
  assert.equal(await w, undefined);
});

void test("broadcast: send(undefined) is a TypeError", () => {
  const [tx] = broadcast<number | undefined>(1);
  assert.throws(() => tx.send(undefined), { name: "TypeError" });
});

void test("broadcast: closing a receiver unsubscribes it, ends its waits, and releases what it had not read", async () => {
  const [tx, rx] = broadcast<number>(2);
  const other = tx.subscribe();
  tx.send(1);
  tx.send(2);
  const waiting = tx.subscribe();
  const w = waiting.recv();
  {
    using r = waiting;
    void r;
  }
  assert.equal(await w, undefined);
  assert.deepEqual([await other.recv(), await other.recv()], [1, 2]);
  assert.equal(rx.length, 2);
  rx.close(); // rx never read 1 and 2: closing releases them
  rx.close();
  assert.equal(rx.length, 0);
  assert.equal(tx.receiverCount, 1);
  assert.equal(await rx.recv(), undefined);
  tx.send(3);
  tx.send(4);
  assert.deepEqual([await other.recv(), await other.recv()], [3, 4]);
});

void test("broadcast: values everyone read are released (no lag when receivers keep up)", async () => {
  const [tx, rx] = broadcast<number>(2);
  for (let i = 0; i < 100; i++) {
    tx.send(i);
    assert.equal(await rx.recv(), i);
  }
  assert.equal(rx.length, 0);
});

void test("broadcast: abort and task cancellation withdraw a waiting recv without taking anything", async () => {
  const [tx, rx] = broadcast<number>(2);
  const ac = new AbortController();
  const r = rx.recv({ signal: ac.signal });
  await turn();
  ac.abort("x");
  await assert.rejects(r, (e: unknown) => e === "x");
  const h = spawn(() => rx.recv());
  await sleep(5);
  h.abort();
  const res = await h.result();
  assert.ok(!res.ok && res.error instanceof JoinError && res.error.isCancelled());
  tx.send(1);
  assert.equal(await rx.recv(), 1);
});

void test("broadcast: select over two receivers ready in the same tick takes exactly one", async () => {
  const [ta, ra] = broadcast<string>(2);
  const [tb, rb] = broadcast<string>(2);
  ta.send("a");
  tb.send("b");
  const r = await select({ a: (signal) => ra.recv({ signal }), b: (signal) => rb.recv({ signal }) });
  assert.equal(r.value, r.key);
  assert.equal(ra.length + rb.length, 1);
});

void test("broadcast: for await and Readable.from; breaking out closes the receiver; a lag ends the loop by throwing", async () => {
  const [tx, rx] = broadcast<number>(8);
  const rx2 = tx.subscribe();
  for (let i = 0; i < 5; i++) tx.send(i);
  tx.close();
  const got: number[] = [];
  for await (const v of rx) got.push(v);
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  const streamed: unknown[] = [];
  for await (const v of Readable.from(rx2)) streamed.push(v);
  assert.deepEqual(streamed, [0, 1, 2, 3, 4]);

  const [tx3, rx3] = broadcast<number>(2);
  tx3.send(1);
  for await (const v of rx3) {
    assert.equal(v, 1);
    break;
  }
  assert.equal(tx3.receiverCount, 0);

  const [tx4, rx4] = broadcast<number>(2);
  for (let i = 0; i < 4; i++) tx4.send(i);
  await assert.rejects(
    (async () => {
      for await (const _ of rx4) void _;
    })(),
    (e: unknown) => e instanceof LaggedError && e.skipped === 2,
  );
  assert.equal(tx4.receiverCount, 1, "a lag does not close the receiver");
  assert.equal(await rx4.recv(), 2);
});

void test("broadcast: the ring grows up to capacity and keeps order across its growth", async () => {
  const [tx, rx] = broadcast<number>(100);
  const fast = tx.subscribe();
  for (let i = 0; i < 80; i++) {
    tx.send(i);
    if (i % 3 === 0) assert.equal(fast.tryRecv(), i / 3); // a reader part-way, so the ring wraps while growing
  }
  assert.equal(rx.length, 80);
  for (let i = 0; i < 10; i++) assert.equal(await rx.recv(), i);
  for (let i = 80; i < 150; i++) tx.send(i);
  assert.throws(
    () => rx.tryRecv(),
    (e: unknown) => e instanceof LaggedError && e.skipped === 40,
  );
  for (let i = 50; i < 150; i++) assert.equal(rx.tryRecv(), i);
  assert.equal(rx.tryRecv(), undefined);
});

void test("broadcast: resubscribe starts at the newest point", async () => {
  const [tx, rx] = broadcast<number>(4);
  tx.send(1);
  const r2 = rx.resubscribe();
  tx.send(2);
  assert.equal(await r2.recv(), 2);
  assert.equal(await rx.recv(), 1);
});
