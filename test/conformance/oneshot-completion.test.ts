// tokio's oneshot completion tests: the value is received once; a second recv/tryRecv is
// ChannelClosedError (issue 11: "a second OneshotReceiver.recv() returns the value again").
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, oneshot } from "../../src/index.js";

void test("sync_oneshot::try_recv_after_completion", async () => {
  const [tx, rx] = oneshot<number>();
  assert.ok(tx.send(17));
  assert.equal(rx.tryRecv(), 17);
  // tokio: Err(TryRecvError::Closed). The value was taken: nothing more can come.
  assert.throws(() => rx.tryRecv(), ChannelClosedError);
  rx.close();
});

void test("sync_oneshot::try_recv_after_completion_await", async () => {
  const [tx, rx] = oneshot<number>();
  assert.ok(tx.send(17));
  assert.equal(await rx.recv(), 17);
  assert.throws(() => rx.tryRecv(), ChannelClosedError);
  rx.close();
});
