// Ported from tokio/tests/sync_oneshot.rs. See README.md here for the tests not ported and why,
// and oneshot.pending.ts for the ones waiting on a fix in src/channel/oneshot.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, oneshot, spawn } from "../../src/index.js";
import { assertPending, assertReady, assertReadyErr, spawned } from "./harness.js";

void test("sync_oneshot::send_recv", async () => {
  const [tx, rx] = oneshot<number>();
  const t = spawned((signal) => rx.recv({ signal }));
  await assertPending(t);
  assert.ok(tx.send(1));
  assert.equal(await assertReady(t), 1);
});

void test("sync_oneshot::async_send_recv", async () => {
  const [tx, rx] = oneshot<number>();
  assert.ok(tx.send(1));
  assert.equal(await rx, 1);
});

void test("sync_oneshot::close_tx", async () => {
  const [tx, rx] = oneshot<number>();
  const t = spawned((signal) => rx.recv({ signal }));
  await assertPending(t);
  tx.close();
  assert.ok((await assertReadyErr(t)) instanceof ChannelClosedError);
});

void test("sync_oneshot::close_rx", async () => {
  // First, without waiting on closed()
  {
    const [tx, rx] = oneshot<number>();
    rx.close();
    assert.equal(tx.send(1), false);
  }
  // Second, via closed()
  const [tx, rx] = oneshot<number>();
  const closed = spawned((signal) => tx.closed({ signal }));
  await assertPending(closed);
  rx.close();
  assert.ok(tx.isClosed);
  await assertReady(closed);
  assert.equal(tx.send(1), false);
});

void test("sync_oneshot::async_rx_closed", async () => {
  const [tx, rx] = oneshot<null>();
  spawn(() => rx.close());
  await tx.closed();
});

void test("sync_oneshot::explicit_close_poll", async () => {
  // First, with message sent
  {
    const [tx, rx] = oneshot<number>();
    assert.ok(tx.send(1));
    rx.close();
    assert.equal(await rx.recv(), 1);
  }
  // Second, without the message sent
  {
    const [tx, rx] = oneshot<number>();
    const closed = spawned((signal) => tx.closed({ signal }));
    await assertPending(closed);
    rx.close();
    assert.ok(tx.isClosed);
    await assertReady(closed);
    assert.equal(tx.send(1), false);
    await assert.rejects(rx.recv(), ChannelClosedError);
  }
  // Again, but without sending the value this time
  {
    const [tx, rx] = oneshot<number>();
    const closed = spawned((signal) => tx.closed({ signal }));
    await assertPending(closed);
    rx.close();
    assert.ok(tx.isClosed);
    await assertReady(closed);
    await assert.rejects(rx.recv(), ChannelClosedError);
  }
});

void test("sync_oneshot::explicit_close_try_recv", async () => {
  // First, with message sent
  {
    const [tx, rx] = oneshot<number>();
    assert.ok(tx.send(1));
    rx.close();
    assert.equal(rx.tryRecv(), 1);
  }
  // Second, without the message sent
  const [tx, rx] = oneshot<number>();
  const closed = spawned((signal) => tx.closed({ signal }));
  await assertPending(closed);
  rx.close();
  assert.ok(tx.isClosed);
  await assertReady(closed);
  assert.throws(() => rx.tryRecv(), ChannelClosedError);
});

// tokio panics when the receiver is polled after close + a failed try_recv; steward answers with
// a ChannelClosedError rejection (no panic in a library is the point of typed errors).
void test("sync_oneshot::close_try_recv_poll", async () => {
  const [_tx, rx] = oneshot<number>();
  rx.close();
  assert.throws(() => rx.tryRecv(), ChannelClosedError);
  await assert.rejects(rx.recv(), ChannelClosedError);
});

void test("sync_oneshot::close_after_recv", () => {
  const [tx, rx] = oneshot<number>();
  assert.ok(tx.send(17));
  assert.equal(rx.tryRecv(), 17);
  rx.close();
});
