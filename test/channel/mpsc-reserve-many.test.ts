// mpsc batch reservations (reserveMany / tryReserveMany / SendPermits), tryReserve and the
// receiver's capacity: FIFO with sends, all-or-nothing under cancellation and select, typed errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChannelClosedError, channel, select, type SendPermits, spawn, unboundedChannel } from "../../src/index.js";

const turn = (): Promise<void> => new Promise((res) => setImmediate(res));

async function isPending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await turn();
  await turn();
  return !done;
}

void test("a waiting reserveMany holds the head of the line: later sends do not take its room", async () => {
  const [tx, rx] = channel<number>(3);
  for (const v of [1, 2, 3]) await tx.send(v);
  const batch = tx.reserveMany(2);
  const later = tx.send(4);
  assert.ok(await isPending(batch));
  assert.ok(await isPending(later));
  assert.equal(await rx.recv(), 1); // one slot free: not enough for the batch, and `later` waits behind it
  assert.ok(await isPending(batch));
  assert.ok(await isPending(later));
  assert.equal(tx.trySend(9), false, "a try-send never passes a waiting batch");
  assert.equal(await rx.recv(), 2);
  const permits = await batch;
  assert.equal(permits.length, 2);
  assert.ok(await isPending(later));
  permits.release();
  await later;
  assert.deepEqual(await rx.recvMany(5), [3, 4]);
});

void test("a withdrawn reserveMany holds no slot, and the sends behind it go at once", async () => {
  const [tx, rx] = channel<number>(2);
  await tx.send(1);
  const c = new AbortController();
  const batch = tx.reserveMany(2, { signal: c.signal });
  const later = tx.send(2);
  assert.ok(await isPending(later));
  c.abort(new Error("stop"));
  await assert.rejects(batch, /stop/);
  await later;
  assert.equal(tx.capacity, 0);
  assert.deepEqual(await rx.recvMany(5), [1, 2]);
  assert.equal(tx.capacity, 2);
});

void test("reserveMany takes part in select's claim: a losing branch holds no slot", async () => {
  for (let i = 0; i < 50; i++) {
    const [tx, rx] = channel<number>(4);
    const [otx, orx] = channel<number>(1);
    otx.trySend(7);
    const r = await select({
      batch: (signal) => tx.reserveMany(4, { signal }),
      recv: (signal) => orx.recv({ signal }),
    });
    if (r.key === "batch") {
      assert.equal(orx.length, 1, "the losing recv took nothing");
      (r.value as SendPermits<number>).release();
    } else {
      assert.equal(r.value, 7);
    }
    await turn();
    assert.equal(tx.capacity, 4, "no slot is held by a loser");
    rx.close();
  }
});

void test("SendPermits: iterate to send, release gives back the rest, dispose too", async () => {
  const [tx, rx] = channel<string>(5);
  {
    using permits = await tx.reserveMany(3);
    assert.equal(tx.capacity, 2);
    const first = permits.next();
    assert.ok(!first.done);
    first.value.send("a");
    assert.equal(permits.length, 2);
  }
  assert.equal(tx.capacity, 4, "one slot holds 'a', the two unused came back");
  const permits = tx.tryReserveMany(4)!;
  const held = [...permits];
  assert.equal(held.length, 4);
  assert.equal(permits.length, 0);
  permits.release(); // nothing left in the batch: the handed-out permits are theirs
  assert.equal(tx.capacity, 0);
  held[0]!.send("b");
  for (const p of held.slice(1)) p.release();
  assert.deepEqual(await rx.recvMany(10), ["a", "b"]);
  assert.equal(tx.capacity, 5);
});

void test("tryReserve: a slot now or undefined; never passes a waiting send; closed throws", async () => {
  const [tx, rx] = channel<number>(1);
  const p = tx.tryReserve()!;
  assert.equal(tx.tryReserve(), undefined);
  const waiting = tx.send(1);
  p.release(); // the freed slot goes to the waiting send, not to a later tryReserve
  assert.equal(tx.tryReserve(), undefined);
  await waiting;
  assert.equal(await rx.recv(), 1);
  assert.ok(tx.tryReserve() !== undefined);
  rx.close();
  assert.throws(() => tx.tryReserve(), ChannelClosedError);
  const [tx2] = channel<number>(1);
  tx2.close();
  assert.throws(() => tx2.tryReserve(), ChannelClosedError);
  assert.throws(() => tx2.tryReserveMany(0), ChannelClosedError);
  await assert.rejects(tx2.reserveMany(1), ChannelClosedError);
});

void test("bad batch sizes are TypeError/RangeError naming n, thrown before any wait", async () => {
  const [tx] = channel<number>(3);
  for (const n of [-1, 1.5, NaN, Infinity, 4, 2 ** 53]) {
    assert.throws(() => tx.reserveMany(n), { name: "RangeError", message: /\bn\b/ }, String(n));
    assert.throws(() => tx.tryReserveMany(n), { name: "RangeError", message: /\bn\b/ }, String(n));
  }
  for (const n of ["2", null, undefined, {}]) {
    assert.throws(() => tx.reserveMany(n as never), { name: "TypeError", message: /\bn\b/ });
    assert.throws(() => tx.tryReserveMany(n as never), { name: "TypeError", message: /\bn\b/ });
  }
  assert.throws(() => tx.reserveMany(1, 5 as never), { name: "TypeError", message: /opts/ });
  assert.equal(tx.capacity, 3);
  // An unbounded channel has no batch limit.
  const [utx, urx] = unboundedChannel<number>();
  const big = await utx.reserveMany(10_000);
  assert.equal(big.length, 10_000);
  assert.equal(urx.capacity, Infinity);
  assert.equal(urx.maxCapacity, Infinity);
  big.release();
});

void test("a task cancelled while waiting in reserveMany holds nothing", async () => {
  const [tx, rx] = channel<number>(2);
  await tx.send(0);
  const h = spawn(() => tx.reserveMany(2));
  await turn();
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  assert.equal(await rx.recv(), 0);
  assert.equal(tx.capacity, 2);
});

// Random interleavings of batch reservations, sends, receives and aborts: the slot accounting is
// exact at every step (capacity = bound - buffered - held), nothing sent is lost or duplicated,
// and aborted batches hold nothing.
void test("property: batch reservations conserve slots and messages under random aborts", async () => {
  const opArb = fc.oneof(
    fc.record({ t: fc.constant("reserveMany" as const), n: fc.integer({ min: 0, max: 4 }), abort: fc.boolean() }),
    fc.record({ t: fc.constant("tryReserveMany" as const), n: fc.integer({ min: 0, max: 4 }) }),
    fc.record({ t: fc.constant("send" as const), abort: fc.boolean() }),
    fc.record({ t: fc.constant("recv" as const) }),
    fc.record({ t: fc.constant("use" as const), k: fc.nat(7), send: fc.nat(3) }),
    fc.record({ t: fc.constant("abort" as const), k: fc.nat(7) }),
    fc.record({ t: fc.constant("tick" as const) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 4, max: 6 }), fc.array(opArb, { maxLength: 40 }), async (cap, ops) => {
      const [tx, rx] = channel<number>(cap);
      let next = 0;
      const sent = new Set<number>();
      const received: number[] = [];
      const batches: SendPermits<number>[] = [];
      const controllers: AbortController[] = [];
      const everyone: AbortController[] = [];
      const pending: Promise<unknown>[] = [];
      const held = (): number => batches.reduce((a, b) => a + b.length, 0);
      for (const op of ops) {
        if (op.t === "reserveMany") {
          const c = new AbortController();
          everyone.push(c);
          if (op.abort) controllers.push(c);
          pending.push(
            tx.reserveMany(op.n, { signal: c.signal }).then(
              (b) => void batches.push(b),
              () => {},
            ),
          );
        } else if (op.t === "tryReserveMany") {
          const b = tx.tryReserveMany(op.n);
          if (b !== undefined) batches.push(b);
        } else if (op.t === "send") {
          const v = next++;
          const c = new AbortController();
          everyone.push(c);
          if (op.abort) controllers.push(c);
          pending.push(
            tx.send(v, { signal: c.signal }).then(
              () => void sent.add(v),
              () => {},
            ),
          );
        } else if (op.t === "recv") {
          const v = rx.tryRecv();
          if (v !== undefined) received.push(v);
        } else if (op.t === "use") {
          const b = batches[op.k % Math.max(1, batches.length)];
          if (b !== undefined) {
            for (let i = 0; i < op.send && b.length > 0; i++) {
              const v = next++;
              b.next().value!.send(v);
              sent.add(v);
            }
            b.release();
          }
        } else if (op.t === "abort") {
          controllers[op.k % Math.max(1, controllers.length)]?.abort(new Error("abort"));
        } else {
          // After a turn every served reservation has reached its `.then`: the accounting is exact.
          await turn();
          assert.equal(tx.capacity, cap - rx.length - held());
        }
      }
      for (const c of everyone) c.abort(new Error("end"));
      await Promise.all(pending);
      for (const b of batches) b.release();
      tx.close();
      for (;;) {
        const v = await rx.recv();
        if (v === undefined) break;
        received.push(v);
      }
      assert.deepEqual(
        [...received].sort((a, b) => a - b),
        [...sent].sort((a, b) => a - b),
      );
      assert.equal(new Set(received).size, received.length, "no duplicate");
      assert.equal(rx.capacity, cap);
    }),
    { numRuns: 150 },
  );
});
