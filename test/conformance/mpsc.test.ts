// Ported from tokio/tests/sync_mpsc.rs. See README.md here for the tests not ported and why.
//
// Mapping: tokio's `Sender`/`UnboundedSender` are one `Sender` (unbounded: `unboundedChannel`);
// `drop(tx)` / `drop(rx)` is `close()`; `Permit`/`OwnedPermit` are `SendPermit`; `PermitIterator`
// is `SendPermits`; `Option<T>` from recv is `T | undefined`; `recv_many(&mut buf, limit)`
// returns the received array (`recvMany(limit)`). `try_recv()` returns undefined both for
// tokio's `Empty` and `Disconnected`; `rx.isClosed` tells them apart.
//
// Where steward differs on purpose, the comment above the test says so; the short list:
//  - `recvMany(0)` is a RangeError (tokio returns 0 at once): a receive loop with limit 0 would
//    spin without ever receiving.
//  - A batch larger than the channel (`reserveMany(n > maxCapacity)`, also the try form) is a
//    RangeError: it could never be served.
//  - A waiting `reserveMany` holds nothing until it can take its whole batch, so closing the
//    receiver rejects it at once, and a receiver waiting for the last slot to come back is woken
//    as soon as the held permits are gone (tokio's batch semaphore hands a waiter partial permits).
//  - A served `reserve()` has resolved with its permit: there is no "woken but not yet polled"
//    reservation that closing the receiver could still fail, or dropping could give back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, channel, timeout, TimeoutError, spawn, unboundedChannel } from "../../src/index.js";
import { assertPending, assertReady, assertReadyErr, spawned } from "./harness.js";

const isClosedError = (e: unknown): boolean => e instanceof ChannelClosedError;

void test("sync_mpsc::send_recv_with_buffer", async () => {
  const [tx, rx] = channel<number>(16);

  // Using reserve / trySend
  const permit = await tx.reserve();
  permit.send(1);

  // Without reserve
  assert.ok(tx.trySend(2));

  tx.close();

  assert.equal(await rx.recv(), 1);
  assert.equal(await rx.recv(), 2);
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::reserve_disarm", async () => {
  const [tx, rx] = channel<number>(2);
  const tx1 = tx.clone();
  const tx2 = tx.clone();
  const tx3 = tx.clone();
  const tx4 = tx;

  // We should be able to reserve two handles without problem
  const permit1 = await tx1.reserve();
  const permit2 = await tx2.reserve();

  // But a third should not be ready
  const r3 = spawned((signal) => tx3.reserve({ signal }));
  await assertPending(r3);

  const r4 = spawned((signal) => tx4.reserve({ signal }));
  await assertPending(r4);

  // Using one of the reserved slots should allow a new handle to become ready
  permit1.send(1);

  // We also need to receive for the slot to be free
  await assertPending(r3);
  assert.equal(await rx.recv(), 1);
  // Now there's a free slot!
  await assertReady(r3);
  await assertPending(r4);

  // Dropping a permit should also open up a slot
  permit2.release();
  await assertReady(r4);

  const r1 = spawned((signal) => tx1.reserve({ signal }));
  await assertPending(r1);
  r1.drop();
});

// tokio's ReceiverStream is the receiver's async iterator here.
void test("sync_mpsc::send_recv_stream_with_buffer", async () => {
  const [tx, rx] = channel<number>(16);
  spawn(async () => {
    await tx.send(1);
    await tx.send(2);
    tx.close();
  });
  const it = rx[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  assert.deepEqual(await it.next(), { done: false, value: 2 });
  assert.equal((await it.next()).done, true);
});

void test("sync_mpsc::async_send_recv_with_buffer", async () => {
  const [tx, rx] = channel<number>(16);
  spawn(async () => {
    await tx.send(1);
    await tx.send(2);
    tx.close();
  });
  assert.equal(await rx.recv(), 1);
  assert.equal(await rx.recv(), 2);
  assert.equal(await rx.recv(), undefined);
});

// Differs on purpose: recvMany(0) is a RangeError (tokio returns 0 at once).
void test("sync_mpsc::async_send_recv_many_with_buffer", async () => {
  const [tx, rx] = channel<number>(2);
  const buffer: number[] = [];

  assert.throws(() => rx.recvMany(0), { name: "RangeError", message: /max/ });

  const handle = spawn(async () => {
    await tx.send(1);
    await tx.send(2);
    await tx.send(7);
    await tx.send(0);
    tx.close();
  });

  const limit = 3;
  while (buffer.length < 4) {
    const got = await rx.recvMany(limit);
    assert.ok(got.length >= 1 && got.length <= limit);
    buffer.push(...got);
  }

  assert.deepEqual(buffer, [1, 2, 7, 0]);
  assert.deepEqual(await rx.recvMany(limit), []);
  await handle;
});

void test("sync_mpsc::start_send_past_cap", async () => {
  const [tx1, rx] = channel<string>(1);
  const tx2 = tx1.clone();

  assert.ok(tx1.trySend("x"));

  const r1 = spawned((signal) => tx1.reserve({ signal }));
  await assertPending(r1);

  {
    const r2 = spawned((signal) => tx2.reserve({ signal }));
    await assertPending(r2);

    r1.drop();

    assert.ok((await rx.recv()) !== undefined);

    const permit = await assertReady(r2);
    assert.equal(r1.state, "rejected");
    permit.release(); // the end of tokio's block drops r2 and its slot
  }

  tx1.close();
  tx2.close();

  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::buffer_gteq_one", () => {
  assert.throws(() => channel<number>(0), { name: "RangeError", message: /capacity/ });
});

void test("sync_mpsc::send_recv_unbounded", async () => {
  const [tx, rx] = unboundedChannel<number>();

  await tx.send(1);
  await tx.send(2);

  assert.equal(await rx.recv(), 1);
  assert.equal(await rx.recv(), 2);

  tx.close();

  assert.equal(await rx.recv(), undefined);
});

// Differs on purpose: recvMany(0) is a RangeError. tokio's Vec-capacity checks have no meaning
// for a returned array.
void test("sync_mpsc::send_recv_many_unbounded", async () => {
  const [tx, rx] = unboundedChannel<number>();
  let buffer: number[] = [];

  assert.throws(() => rx.recvMany(0), RangeError);

  for (const v of [7, 13, 100, 1002]) assert.ok(tx.trySend(v));

  let count = 0;
  while (count < 4) {
    const got = await rx.recvMany(1);
    assert.equal(got.length, 1);
    buffer.push(...got);
    count += got.length;
  }
  assert.equal(count, 4);
  assert.deepEqual(buffer, [7, 13, 100, 1002]);

  buffer = [];
  for (const v of [5, 6, 7, 2]) await tx.send(v);

  buffer = await rx.recvMany(32);
  assert.equal(buffer.length, 4);
  assert.deepEqual(buffer, [5, 6, 7, 2]);

  tx.close();

  // recvMany returns [] at once if the channel is closed and no more messages are waiting
  assert.deepEqual(await rx.recvMany(4), []);
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::send_recv_many_bounded_capacity", async () => {
  const limit = 9;
  const [tx, rx] = channel<string>(100);

  const expected = Array.from({ length: limit }, (_, x) => `${x}`);
  for (const x of expected) await tx.send(x);
  await tx.send("one more");

  // Here recvMany receives all but the last value
  const buffer = await rx.recvMany(limit);
  assert.equal(buffer.length, limit);
  assert.deepEqual(buffer, expected);

  // Receive up more values:
  const more = await rx.recvMany(limit);
  assert.equal(more.length, 1);
  buffer.push(...more);
  expected.push("one more");
  assert.deepEqual(buffer, expected);

  spawn(async () => {
    await tx.send("final");
    tx.close();
  });

  // recvMany does not return [] until the task sent and closed
  const last = await rx.recvMany(limit);
  assert.equal(last.length, 1);
  buffer.push(...last);
  expected.push("final");
  assert.deepEqual(buffer, expected);
  // The channel is now closed and recvMany returns [].
  assert.deepEqual(await rx.recvMany(limit), []);
  assert.deepEqual(buffer, expected);
});

void test("sync_mpsc::send_recv_many_unbounded_capacity", async () => {
  const limit = 9;
  const [tx, rx] = unboundedChannel<string>();

  const expected = Array.from({ length: limit }, (_, x) => `${x}`);
  for (const x of expected) assert.ok(tx.trySend(x));
  assert.ok(tx.trySend("one more"));

  const buffer = await rx.recvMany(limit);
  assert.deepEqual(buffer, expected);

  const more = await rx.recvMany(limit);
  assert.equal(more.length, 1);
  buffer.push(...more);
  expected.push("one more");
  assert.deepEqual(buffer, expected);

  spawn(() => {
    assert.ok(tx.trySend("final"));
    tx.close();
  });

  const last = await rx.recvMany(limit);
  assert.equal(last.length, 1);
  buffer.push(...last);
  expected.push("final");
  assert.deepEqual(buffer, expected);
  assert.deepEqual(await rx.recvMany(limit), []);
});

void test("sync_mpsc::recv_many_with_non_empty_buffer_bounded_rx_closed_and_idle", async () => {
  const [_tx, rx] = channel<number>(1);
  rx.close();
  assert.deepEqual(await rx.recvMany(1), []);
});

void test("sync_mpsc::recv_many_with_non_empty_buffer_unbounded_rx_closed_and_idle", async () => {
  const [_tx, rx] = unboundedChannel<number>();
  rx.close();
  assert.deepEqual(await rx.recvMany(1), []);
});

void test("sync_mpsc::async_send_recv_unbounded", async () => {
  const [tx, rx] = unboundedChannel<number>();
  spawn(() => {
    assert.ok(tx.trySend(1));
    assert.ok(tx.trySend(2));
    tx.close();
  });
  assert.equal(await rx.recv(), 1);
  assert.equal(await rx.recv(), 2);
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::send_recv_stream_unbounded", async () => {
  const [tx, rx] = unboundedChannel<number>();
  spawn(() => {
    tx.trySend(1);
    tx.trySend(2);
    tx.close();
  });
  const got: number[] = [];
  for await (const v of rx) got.push(v);
  assert.deepEqual(got, [1, 2]);
});

void test("sync_mpsc::send_recv_buffer_limited", async () => {
  const [tx, rx] = channel<number>(1);

  // Reserve capacity
  const p1 = await tx.reserve();

  // Send first message
  p1.send(1);

  // Not ready
  const p2 = spawned((signal) => tx.reserve({ signal }));
  await assertPending(p2);

  // Take the value
  assert.ok((await rx.recv()) !== undefined);

  // Notified (served: it holds the freed slot)
  const permit = await assertReady(p2);

  // Trying to send fails
  assert.equal(tx.trySend(1337), false);

  // Send second
  permit.send(2);

  assert.ok((await rx.recv()) !== undefined);
});

void test("sync_mpsc::recv_close_gets_none_idle", async () => {
  const [tx, rx] = channel<number>(10);
  rx.close();
  assert.equal(await rx.recv(), undefined);
  await assert.rejects(tx.send(1), isClosedError);
});

void test("sync_mpsc::recv_close_gets_none_reserved", async () => {
  const [tx1, rx] = channel<number>(1);
  const tx2 = tx1.clone();

  const permit1 = await tx1.reserve();
  const permit2 = spawned((signal) => tx2.reserve({ signal }));
  await assertPending(permit2);

  rx.close();

  await assertReadyErr(permit2);
  assert.ok(isClosedError(permit2.error));

  {
    const recv = spawned((signal) => rx.recv({ signal }));
    await assertPending(recv);

    permit1.send(123);

    assert.equal(await assertReady(recv), 123);
  }

  assert.equal(await rx.recv(), undefined);
});

// Differs on purpose (see the top): the waiting reserveMany held nothing, so closing the receiver
// rejects it at once, and the receiver is woken as soon as the one held permit goes.
void test("sync_mpsc::failed_reserve_many_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(2);

  // Hold one of the two slots so the reservation has to queue for two.
  const permit = tx.tryReserve()!;

  const reserve = spawned((signal) => tx.reserveMany(2, { signal }));
  await assertPending(reserve);

  rx.close();
  assert.ok(isClosedError(await assertReadyErr(reserve)));

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);

  permit.release();
  assert.equal(await assertReady(recv), undefined);
});

// Differs on purpose, as failed_reserve_many_wakes_closed_receiver: dropping the reservation is
// a no-op here, since closing the receiver already rejected it.
void test("sync_mpsc::cancelled_reserve_many_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(2);
  const permit = tx.tryReserve()!;

  const reserve = spawned((signal) => tx.reserveMany(2, { signal }));
  await assertPending(reserve);

  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);

  reserve.drop();
  await assertPending(recv);
  permit.release();
  assert.equal(await assertReady(recv), undefined);
  assert.ok(isClosedError(reserve.error));
});

// Differs on purpose: returning the slot serves the queued reservation at once (it resolves with
// a permit), so closing the receiver afterwards does not fail it; the receiver is woken when that
// permit is released.
void test("sync_mpsc::failed_reserve_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(1);

  // Hold the only slot so the reservation below has to queue.
  const permit = tx.tryReserve()!;

  const reserve = spawned((signal) => tx.reserve({ signal }));
  await assertPending(reserve);

  permit.release();
  const got = await assertReady(reserve);

  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);

  got.release();
  assert.equal(await assertReady(recv), undefined);
});

// As failed_reserve_wakes_closed_receiver: the served reservation's permit is what gives the slot
// back (dropping the settled wait does nothing).
void test("sync_mpsc::cancelled_reserve_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(1);
  const permit = tx.tryReserve()!;

  const reserve = spawned((signal) => tx.reserve({ signal }));
  await assertPending(reserve);

  permit.release();
  const got = await assertReady(reserve);

  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);

  reserve.drop();
  await assertPending(recv);
  got[Symbol.dispose]();
  assert.equal(await assertReady(recv), undefined);
});

void test("sync_mpsc::tx_close_gets_none", async () => {
  const [tx, rx] = channel<number>(10);
  tx.close();
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::try_send_fail", async () => {
  const [tx, rx] = channel<string>(1);

  assert.ok(tx.trySend("hello"));

  // This should fail (Full)
  assert.equal(tx.trySend("fail"), false);

  assert.equal(await rx.recv(), "hello");

  assert.ok(tx.trySend("goodbye"));
  tx.close();

  assert.equal(await rx.recv(), "goodbye");
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::try_send_fail_with_try_recv", () => {
  const [tx, rx] = channel<string>(1);

  assert.ok(tx.trySend("hello"));

  // This should fail (Full)
  assert.equal(tx.trySend("fail"), false);

  assert.equal(rx.tryRecv(), "hello");

  assert.ok(tx.trySend("goodbye"));
  tx.close();

  assert.equal(rx.tryRecv(), "goodbye");
  // Disconnected: nothing buffered and closed
  assert.equal(rx.tryRecv(), undefined);
  assert.ok(rx.isClosed);
});

// Differs on purpose: a batch larger than the channel is a RangeError, thrown at once.
void test("sync_mpsc::reserve_many_above_cap", () => {
  const [tx, _rx] = channel<null>(1);
  assert.throws(() => tx.reserveMany(2), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => tx.reserveMany(Number.MAX_SAFE_INTEGER + 1), RangeError);
  assert.throws(() => tx.reserveMany(Infinity), RangeError);
});

void test("sync_mpsc::try_reserve_many_zero", () => {
  const [tx, rx] = channel<null>(1);

  // Succeeds when not closed.
  assert.equal(tx.tryReserveMany(0)!.next().done, true);

  // Even when channel is full.
  assert.ok(tx.trySend(null));
  assert.equal(tx.tryReserveMany(0)!.next().done, true);

  rx.close();

  // Closed error when closed.
  assert.throws(() => tx.tryReserveMany(0), isClosedError);
});

void test("sync_mpsc::reserve_many_zero", async () => {
  const [tx, rx] = channel<null>(1);

  // Succeeds when not closed.
  assert.equal((await tx.reserveMany(0)).next().done, true);

  // Even when channel is full.
  await tx.send(null);
  assert.equal((await tx.reserveMany(0)).next().done, true);

  rx.close();

  // Closed error when closed.
  await assert.rejects(tx.reserveMany(0), isClosedError);
});

// Differs on purpose: tokio answers Full for a batch above the bound; steward throws RangeError.
void test("sync_mpsc::try_reserve_many_edge_cases", async () => {
  const [tx, rx] = channel<null>(1);

  const permit = tx.tryReserveMany(0)!;
  assert.equal(permit.next().done, true);

  assert.throws(() => tx.tryReserveMany(Number.MAX_SAFE_INTEGER + 1), RangeError);
  assert.throws(() => tx.tryReserveMany(2), RangeError);

  // Closing the receiver should close the channel
  rx.close();
  await assert.rejects(tx.reserveMany(0), isClosedError);
});

void test("sync_mpsc::try_reserve_fails", async () => {
  const [tx, rx] = channel<string>(1);

  const permit = tx.tryReserve()!;

  // This should fail (Full)
  assert.equal(tx.tryReserve(), undefined);

  permit.send("foo");

  assert.equal(await rx.recv(), "foo");

  // Dropping permit releases the slot.
  const permit2 = tx.tryReserve()!;
  permit2.release();

  const _permit = tx.tryReserve();
  assert.ok(_permit !== undefined);
});

void test("sync_mpsc::reserve_many_and_send", async () => {
  const [tx, rx] = channel<string>(100);
  for (let i = 0; i < 100; i++) {
    for (const permit of await tx.reserveMany(i)) {
      permit.send("foo");
      assert.equal(await rx.recv(), "foo");
    }
    assert.equal(rx.tryRecv(), undefined);
    assert.ok(!rx.isClosed);
  }
});

void test("sync_mpsc::try_reserve_many_and_send", async () => {
  const [tx, rx] = channel<string>(100);
  for (let i = 0; i < 100; i++) {
    for (const permit of tx.tryReserveMany(i)!) {
      permit.send("foo");
      assert.equal(await rx.recv(), "foo");
    }
    assert.equal(rx.tryRecv(), undefined);
  }
});

void test("sync_mpsc::reserve_many_on_closed_channel", async () => {
  const [tx, rx] = channel<null>(100);
  rx.close();
  await assert.rejects(tx.reserveMany(10), isClosedError);
});

void test("sync_mpsc::try_reserve_many_on_closed_channel", () => {
  const [tx, rx] = channel<number>(100);
  rx.close();
  assert.throws(() => tx.tryReserveMany(10), isClosedError);
});

void test("sync_mpsc::try_reserve_many_full", async () => {
  // Reserve n capacity and send k messages
  for (let n = 1; n < 100; n++) {
    for (let k = 0; k < n; k++) {
      const [tx, rx] = channel<number>(n);
      const permits = tx.tryReserveMany(n)!;

      assert.equal(permits.length, n);
      assert.equal(tx.capacity, 0);

      assert.equal(tx.tryReserveMany(1), undefined); // Full

      for (let i = 0; i < k; i++) permits.next().value!.send(0);
      // We only used k permits on the n reserved
      permits.release();
      assert.equal(tx.capacity, n - k);

      // We can reserve more permits
      const one = tx.tryReserveMany(1);
      assert.ok(one !== undefined);
      one.release();

      // But not more than the current capacity (Full), and never more than the bound, which
      // steward answers with a RangeError (see try_reserve_many_edge_cases)
      if (n - k + 1 <= n) assert.equal(tx.tryReserveMany(n - k + 1), undefined);
      else assert.throws(() => tx.tryReserveMany(n - k + 1), RangeError);

      for (let i = 0; i < k; i++) assert.equal(rx.tryRecv(), 0);

      // Now that we've received everything, capacity should be back to n
      assert.equal(tx.capacity, n);
    }
  }
});

void test("sync_mpsc::drop_permit_releases_permit", async () => {
  // reserve holds a slot; ensure that the slot is released if the permit is dropped unused.
  const [tx1, _rx] = channel<number>(1);
  const tx2 = tx1.clone();

  const permit = await tx1.reserve();

  const reserve2 = spawned((signal) => tx2.reserve({ signal }));
  await assertPending(reserve2);

  permit.release();

  await assertReady(reserve2);
});

void test("sync_mpsc::drop_permit_iterator_releases_permits", async () => {
  for (let n = 1; n < 100; n++) {
    const [tx1, _rx] = channel<number>(n);
    const tx2 = tx1.clone();

    const permits = await tx1.reserveMany(n);

    const reserve2 = spawned((signal) => tx2.reserveMany(n, { signal }));
    await assertPending(reserve2);

    permits[Symbol.dispose]();

    const permits2 = await assertReady(reserve2);
    permits2.release();

    assert.equal(tx1.capacity, n);
  }
});

void test("sync_mpsc::dropping_last_permit_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(100);

  const permit = tx.tryReserve()!;
  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);
  permit.release();
  assert.equal(await assertReady(recv), undefined);
});

void test("sync_mpsc::dropping_last_permit_iterator_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<null>(100);

  const permits = tx.tryReserveMany(1)!;
  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);
  permits.release();
  assert.equal(await assertReady(recv), undefined);
});

void test("sync_mpsc::sending_last_permit_wakes_closed_receiver", async () => {
  const [tx, rx] = channel<string>(100);

  const permit = tx.tryReserve()!;
  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);
  permit.send("x");
  assert.equal(await assertReady(recv), "x");
});

// tokio also checks that the message is dropped (Arc count); a closed steward receiver keeps
// buffered messages readable, by design (API.md: "buffered items stay readable").
void test("sync_mpsc::dropping_rx_closes_channel", async () => {
  const [tx, rx] = channel<object>(100);

  const msg = {};
  assert.ok(tx.trySend(msg));

  rx.close();
  await assert.rejects(tx.reserve(), isClosedError);
  await assert.rejects(tx.reserveMany(10), isClosedError);
  assert.equal(rx.tryRecv(), msg);
});

void test("sync_mpsc::dropping_rx_closes_channel_for_try", () => {
  const [tx, rx] = channel<object>(100);

  const msg = {};
  assert.ok(tx.trySend(msg));

  rx.close();

  assert.throws(() => tx.trySend(msg), isClosedError);
  assert.throws(() => tx.tryReserve(), isClosedError);
  assert.throws(() => tx.tryReserveMany(1), isClosedError);
});

void test("sync_mpsc::ready_close_cancel_bounded", async () => {
  const [tx, rx] = channel<null>(100);
  const _tx2 = tx.clone();

  const permit = await tx.reserve();

  rx.close();

  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv);

  permit.release();

  assert.equal(await assertReady(recv), undefined);
});

// Differs on purpose: closing the receiver rejects the queued reservation at once (it held
// nothing), instead of waking it with a slot it can no longer use.
void test("sync_mpsc::permit_available_not_acquired_close", async () => {
  const [tx1, rx] = channel<null>(1);
  const tx2 = tx1.clone();

  const permit1 = await tx1.reserve();

  const permit2 = spawned((signal) => tx2.reserve({ signal }));
  await assertPending(permit2);

  rx.close();
  assert.ok(isClosedError(await assertReadyErr(permit2)));

  permit1.release();
  permit2.drop();
  assert.equal(await rx.recv(), undefined);
});

void test("sync_mpsc::try_recv_bounded", () => {
  const [tx, rx] = channel<string>(5);

  for (let i = 0; i < 5; i++) assert.ok(tx.trySend("hello"));
  assert.equal(tx.trySend("hello"), false);

  for (let i = 0; i < 5; i++) assert.equal(rx.tryRecv(), "hello");
  assert.equal(rx.tryRecv(), undefined); // Empty
  assert.ok(!rx.isClosed);

  for (let i = 0; i < 4; i++) assert.ok(tx.trySend("hello"));
  assert.equal(rx.tryRecv(), "hello");
  assert.ok(tx.trySend("hello"));
  assert.ok(tx.trySend("hello"));
  assert.equal(tx.trySend("hello"), false);
  for (let i = 0; i < 5; i++) assert.equal(rx.tryRecv(), "hello");
  assert.equal(rx.tryRecv(), undefined); // Empty
  assert.ok(!rx.isClosed);

  for (let i = 0; i < 3; i++) assert.ok(tx.trySend("hello"));
  tx.close();
  for (let i = 0; i < 3; i++) assert.equal(rx.tryRecv(), "hello");
  assert.equal(rx.tryRecv(), undefined); // Disconnected
  assert.ok(rx.isClosed);
});

void test("sync_mpsc::try_recv_unbounded", () => {
  for (let num = 0; num < 100; num++) {
    const [tx, rx] = unboundedChannel<number>();

    for (let i = 0; i < num; i++) assert.ok(tx.trySend(i));
    for (let i = 0; i < num; i++) assert.equal(rx.tryRecv(), i);

    assert.equal(rx.tryRecv(), undefined); // Empty
    assert.ok(!rx.isClosed);
    tx.close();
    assert.equal(rx.tryRecv(), undefined); // Disconnected
    assert.ok(rx.isClosed);
  }
});

void test("sync_mpsc::try_recv_after_receiver_close", () => {
  const [_tx, rx] = channel<null>(5);

  assert.equal(rx.tryRecv(), undefined);
  assert.ok(!rx.isClosed);
  rx.close();
  assert.equal(rx.tryRecv(), undefined);
  assert.ok(rx.isClosed);
});

// tokio's try_recv says Empty while a permit can still send, Disconnected once it is gone. The
// same distinction in steward: a recv() waits while the permit is held and gets undefined after.
void test("sync_mpsc::try_recv_after_receiver_close_with_permit", async () => {
  const [tx, rx] = channel<null>(5);

  const permit = tx.tryReserve()!;

  assert.equal(rx.tryRecv(), undefined);
  rx.close();
  assert.equal(rx.tryRecv(), undefined);
  const recv = spawned((signal) => rx.recv({ signal }));
  await assertPending(recv); // Empty: the permit may still send
  permit.release();
  assert.equal(rx.tryRecv(), undefined);
  assert.equal(await assertReady(recv), undefined); // Disconnected
});

void test("sync_mpsc::try_recv_close_while_empty_bounded", () => {
  const [tx, rx] = channel<null>(5);

  assert.equal(rx.tryRecv(), undefined);
  assert.ok(!rx.isClosed);
  tx.close();
  assert.equal(rx.tryRecv(), undefined);
  assert.ok(rx.isClosed);
});

void test("sync_mpsc::try_recv_close_while_empty_unbounded", () => {
  const [tx, rx] = unboundedChannel<null>();

  assert.equal(rx.tryRecv(), undefined);
  assert.ok(!rx.isClosed);
  tx.close();
  assert.equal(rx.tryRecv(), undefined);
  assert.ok(rx.isClosed);
});

// tokio's `send_timeout(v, d)` is `timeout(d, (signal) => tx.send(v, { signal }))` in steward:
// the send is withdrawn when the time is up, and the value is not sent. Real time, short.
void test("sync_mpsc::recv_timeout", async () => {
  const [tx, rx] = channel<number>(5);
  const sendTimeout = (v: number, ms: number): Promise<void> => timeout(ms, (signal) => tx.send(v, { signal }));

  for (const v of [10, 20, 30, 40, 50]) await sendTimeout(v, 1000);
  await assert.rejects(sendTimeout(60, 20), TimeoutError);

  rx.close();
  await assert.rejects(sendTimeout(70, 1000), isClosedError);
  assert.deepEqual(await rx.recvMany(10), [10, 20, 30, 40, 50], "the timed-out value was not sent");
});

// Tests that channel `capacity` changes and `maxCapacity` stays the same
void test("sync_mpsc::test_tx_capacity", async () => {
  const [tx, rx] = channel<null>(10);
  // both capacities are same before
  assert.equal(tx.capacity, 10);
  assert.equal(tx.maxCapacity, 10);
  assert.equal(rx.capacity, 10);
  assert.equal(rx.maxCapacity, 10);

  const _permit = await tx.reserve();
  // after reserve, only capacity should drop by one
  assert.equal(tx.capacity, 9);
  assert.equal(tx.maxCapacity, 10);
  assert.equal(rx.capacity, 9);

  await tx.send(null);
  // after send, capacity should drop by one again
  assert.equal(tx.capacity, 8);
  assert.equal(tx.maxCapacity, 10);
  assert.equal(rx.capacity, 8);
  assert.equal(rx.maxCapacity, 10);
});

for (const [kind, make] of [
  ["", <T>() => channel<T>(10)],
  ["unbounded_", <T>() => unboundedChannel<T>()],
] as const) {
  void test(`sync_mpsc::test_rx_${kind}is_closed_when_calling_close_with_sender`, () => {
    const [_tx, rx] = make<null>();
    rx.close();
    assert.ok(rx.isClosed);
  });

  void test(`sync_mpsc::test_rx_${kind}is_closed_when_dropping_all_senders`, async () => {
    const [tx, rx] = make<null>();
    const anotherTx = tx.clone();
    const task = spawn(() => anotherTx.close());
    tx.close();
    await task;
    assert.ok(rx.isClosed);
  });

  void test(`sync_mpsc::test_rx_${kind}is_not_closed_when_there_are_senders`, () => {
    const [_tx, rx] = make<null>();
    assert.ok(!rx.isClosed);
  });

  void test(`sync_mpsc::test_rx_${kind}is_closed_when_there_are_no_senders_and_there_are_messages`, async () => {
    const [tx, rx] = make<number>();
    for (let i = 0; i < 10; i++) await tx.send(i);
    tx.close();
    assert.ok(rx.isClosed);
  });

  void test(`sync_mpsc::test_rx_${kind}is_closed_when_there_are_messages_and_close_is_called`, async () => {
    const [tx, rx] = make<number>();
    for (let i = 0; i < 10; i++) await tx.send(i);
    rx.close();
    assert.ok(rx.isClosed);
  });

  void test(`sync_mpsc::test_rx_${kind}is_empty_when_no_messages_were_sent`, () => {
    const [_tx, rx] = make<null>();
    assert.equal(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}is_not_empty_when_there_are_messages_in_the_buffer`, async () => {
    const [tx, rx] = make<null>();
    await tx.send(null);
    assert.notEqual(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}is_not_empty_when_all_but_one_messages_are_consumed`, async () => {
    const [tx, rx] = make<number>();
    for (let i = 0; i < 10; i++) await tx.send(i);
    for (let i = 0; i < 9; i++) assert.ok((await rx.recv()) !== undefined);
    assert.notEqual(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}is_empty_when_all_messages_are_consumed`, async () => {
    const [tx, rx] = make<number>();
    for (let i = 0; i < 10; i++) await tx.send(i);
    while (rx.tryRecv() !== undefined);
    assert.equal(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}is_empty_all_senders_are_dropped_and_messages_consumed`, async () => {
    const [tx, rx] = make<number>();
    for (let i = 0; i < 10; i++) await tx.send(i);
    tx.close();
    for (let i = 0; i < 10; i++) assert.ok((await rx.recv()) !== undefined);
    assert.equal(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}len_on_empty_channel`, () => {
    const [_tx, rx] = make<null>();
    assert.equal(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}len_on_empty_channel_without_senders`, () => {
    const [tx, rx] = make<null>();
    tx.close();
    assert.equal(rx.length, 0);
  });

  void test(`sync_mpsc::test_rx_${kind}len_when_close_is_called`, async () => {
    const [tx, rx] = make<null>();
    await tx.send(null);
    rx.close();
    assert.equal(rx.length, 1);
  });

  void test(`sync_mpsc::test_rx_${kind}len_when_close_is_called_before_dropping_sender`, async () => {
    const [tx, rx] = make<null>();
    await tx.send(null);
    rx.close();
    tx.close();
    assert.equal(rx.length, 1);
  });

  void test(`sync_mpsc::test_rx_${kind}len_when_close_is_called_after_dropping_sender`, async () => {
    const [tx, rx] = make<null>();
    await tx.send(null);
    tx.close();
    rx.close();
    assert.equal(rx.length, 1);
  });
}

void test("sync_mpsc::test_rx_is_not_closed_when_there_are_senders_and_buffer_filled", async () => {
  const [tx, rx] = channel<number>(10);
  for (let i = 0; i < 10; i++) await tx.send(i);
  assert.ok(!rx.isClosed);
});

// tokio's reserve_owned consumes the sender; here the sender is closed after reserving. The
// permit can still send, so the channel is not closed for the receiver.
void test("sync_mpsc::test_rx_is_not_closed_when_there_are_permits_but_not_senders", async () => {
  const [tx, rx] = channel<null>(10);
  const permit = await tx.reserve();
  tx.close();
  assert.ok(!rx.isClosed);
  permit.release();
  assert.ok(rx.isClosed);
});

void test("sync_mpsc::test_rx_is_not_empty_when_the_buffer_is_full", async () => {
  const [tx, rx] = channel<number>(10);
  for (let i = 0; i < 10; i++) await tx.send(i);
  assert.notEqual(rx.length, 0);
});

void test("sync_mpsc::test_rx_len_on_filled_channel", async () => {
  const [tx, rx] = channel<number>(100);
  for (let i = 0; i < 100; i++) await tx.send(i);
  assert.equal(rx.length, 100);
});

void test("sync_mpsc::test_rx_len_on_filled_channel_without_senders", async () => {
  const [tx, rx] = channel<number>(100);
  for (let i = 0; i < 100; i++) await tx.send(i);
  tx.close();
  assert.equal(rx.length, 100);
});

void test("sync_mpsc::test_rx_len_when_consuming_all_messages", async () => {
  const [tx, rx] = channel<number>(100);
  for (let i = 0; i < 100; i++) {
    await tx.send(i);
    assert.equal(rx.length, i + 1);
  }
  tx.close();
  for (let i = 99; i >= 0; i--) {
    assert.ok((await rx.recv()) !== undefined);
    assert.equal(rx.length, i);
  }
});

void test("sync_mpsc::test_rx_unbounded_len_with_multiple_messages", async () => {
  const [tx, rx] = unboundedChannel<number>();
  for (let i = 0; i < 100; i++) await tx.send(i);
  assert.equal(rx.length, 100);
});

void test("sync_mpsc::test_rx_unbounded_len_with_multiple_messages_and_dropped_senders", async () => {
  const [tx, rx] = unboundedChannel<number>();
  for (let i = 0; i < 100; i++) await tx.send(i);
  tx.close();
  assert.equal(rx.length, 100);
});

void test("sync_mpsc::test_rx_unbounded_len_when_consuming_all_messages", async () => {
  const [tx, rx] = unboundedChannel<number>();
  for (let i = 0; i < 100; i++) {
    await tx.send(i);
    assert.equal(rx.length, i + 1);
  }
  tx.close();
  for (let i = 99; i >= 0; i--) {
    assert.ok((await rx.recv()) !== undefined);
    assert.equal(rx.length, i);
  }
});

// Regression test for https://github.com/tokio-rs/tokio/issues/6602
void test("sync_mpsc::test_is_empty_32_msgs", async () => {
  const [sender, receiver] = channel<number>(33);
  for (let value = 1; value < 257; value++) {
    await sender.send(value);
    assert.ok((await receiver.recv()) !== undefined);
    assert.equal(receiver.length, 0, `${value}. len: ${receiver.length}`);
  }
});
