// Ported from tokio/tests/sync_watch.rs. See README.md here for the tests not ported and why.
//
// Mapping: `changed()` resolves true for tokio's `Ok(())` and false for `Err(RecvError)` (the
// sender closed and the latest value was seen); `drop(tx)` / `drop(rx)` is `close()`;
// `tx.is_closed()` (no receiver left) is `tx.receiverCount === 0`.
//
// Where steward differs on purpose:
//  - `hasChanged` is a boolean that never fails: tokio's `has_changed()` returns an error once the
//    channel is closed; steward keeps the two questions apart (`hasChanged`, `isClosed`).
//  - `send()` stores the value even when no receiver is subscribed (tokio's `send` fails and
//    drops it; its `send_replace` stores it), so `borrow()` and later subscribers see it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, spawn, watch, yieldNow } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("sync_watch::single_rx_recv", async () => {
  const [tx, rx] = watch("one");
  {
    // Not initially notified
    const t = spawned((signal) => rx.changed({ signal }));
    await assertPending(t);
    t.drop();
  }
  assert.equal(rx.borrow(), "one");
  {
    const t = spawned((signal) => rx.changed({ signal }));
    await assertPending(t);
    tx.send("two");
    assert.equal(await assertReady(t), true);
  }
  assert.equal(rx.borrow(), "two");
  {
    const t = spawned((signal) => rx.changed({ signal }));
    await assertPending(t);
    tx.close();
    assert.equal(await assertReady(t), false);
  }
  assert.equal(rx.borrow(), "two");
});

void test("sync_watch::rx_version_underflow", () => {
  const [_tx, rx] = watch("one");
  // The version starts at 0: marking it changed twice must not go wrong
  rx.markChanged();
  rx.markChanged();
  assert.ok(rx.hasChanged);
});

void test("sync_watch::rx_mark_changed", async () => {
  const [tx, rx] = watch("one");
  const rx2 = rx.clone();
  const rx3 = rx.clone();
  const rx4 = rx.clone();
  {
    rx.markChanged();
    assert.ok(rx.hasChanged);
    const t = spawned(() => rx.changed());
    assert.equal(await assertReady(t), true);
  }
  {
    assert.ok(!rx2.hasChanged);
    const t = spawned((signal) => rx2.changed({ signal }));
    await assertPending(t);
    t.drop();
  }
  {
    rx3.markChanged();
    assert.equal(rx3.borrow(), "one");
    assert.ok(rx3.hasChanged);
    assert.equal(rx3.borrowAndUpdate(), "one");
    assert.ok(!rx3.hasChanged);
    const t = spawned((signal) => rx3.changed({ signal }));
    await assertPending(t);
    t.drop();
  }
  {
    tx.send("two");
    assert.ok(rx4.hasChanged);
    assert.equal(rx4.borrowAndUpdate(), "two");
    rx4.markChanged();
    assert.ok(rx4.hasChanged);
    assert.equal(rx4.borrowAndUpdate(), "two");
  }
  assert.equal(rx.borrow(), "two");
});

void test("sync_watch::rx_mark_unchanged", async () => {
  const [tx, rx] = watch("one");
  const rx2 = rx.clone();
  {
    assert.ok(!rx.hasChanged);
    rx.markChanged();
    assert.ok(rx.hasChanged);
    rx.markUnchanged();
    assert.ok(!rx.hasChanged);
    const t = spawned((signal) => rx.changed({ signal }));
    await assertPending(t);
    t.drop();
  }
  {
    assert.ok(!rx2.hasChanged);
    tx.send("two");
    assert.ok(rx2.hasChanged);
    rx2.markUnchanged();
    assert.ok(!rx2.hasChanged);
    assert.equal(rx2.borrowAndUpdate(), "two");
  }
  assert.equal(rx.borrow(), "two");
});

void test("sync_watch::multi_rx", async () => {
  const [tx, rx1] = watch("one");
  const rx2 = rx1.clone();
  {
    const t1 = spawned((signal) => rx1.changed({ signal }));
    const t2 = spawned((signal) => rx2.changed({ signal }));
    await assertPending(t1);
    await assertPending(t2);
    t1.drop();
    t2.drop();
  }
  assert.equal(rx1.borrow(), "one");
  assert.equal(rx2.borrow(), "one");

  const t2 = spawned((signal) => rx2.changed({ signal }));
  {
    const t1 = spawned((signal) => rx1.changed({ signal }));
    await assertPending(t1);
    await assertPending(t2);
    tx.send("two");
    assert.equal(await assertReady(t1), true);
  }
  assert.equal(rx1.borrow(), "two");
  {
    const t1 = spawned((signal) => rx1.changed({ signal }));
    await assertPending(t1);
    tx.send("three");
    assert.equal(await assertReady(t1), true);
    assert.equal(await assertReady(t2), true);
  }
  assert.equal(rx1.borrow(), "three");
  assert.equal(rx2.borrow(), "three");
  {
    const t1 = spawned((signal) => rx1.changed({ signal }));
    const t2b = spawned((signal) => rx2.changed({ signal }));
    // rx2's earlier changed() was woken by "two" and marked it seen; "three" is still unseen
    assert.equal(await assertReady(t2b), true);
    await assertPending(t1);
    tx.send("four");
    assert.equal(await assertReady(t1), true);
  }
  assert.equal(rx1.borrow(), "four");
  assert.equal(rx2.borrow(), "four");
});

void test("sync_watch::rx_observes_final_value", async () => {
  // Initial value
  {
    const [tx, rx] = watch("one");
    tx.close();
    assert.equal(await assertReady(spawned(() => rx.changed())), false);
    assert.equal(rx.borrow(), "one");
  }
  // Sending a value
  const [tx, rx] = watch("one");
  tx.send("two");
  assert.equal(await assertReady(spawned(() => rx.changed())), true);
  assert.equal(rx.borrow(), "two");
  {
    const t1 = spawned((signal) => rx.changed({ signal }));
    await assertPending(t1);
    tx.send("three");
    tx.close();
    assert.equal(await assertReady(t1), true);
  }
  assert.equal(rx.borrow(), "three");
  assert.equal(await assertReady(spawned(() => rx.changed())), false);
  assert.equal(rx.borrow(), "three");
});

// Differs on purpose: sending with no receiver stores the value instead of failing.
void test("sync_watch::poll_close", async () => {
  const [tx, rx] = watch("one");
  {
    const t = spawned((signal) => tx.closed({ signal }));
    await assertPending(t);
    rx.close();
    await assertReady(t);
  }
  assert.equal(tx.receiverCount, 0);
  tx.send("two");
  assert.equal(tx.borrow(), "two");
});

// Differs on purpose at the end: once closed, hasChanged is false (the latest value was seen) and
// isClosed is true, where tokio's has_changed() fails.
void test("sync_watch::borrow_and_update", async () => {
  const [tx, rx] = watch("one");
  assert.ok(!rx.hasChanged);

  tx.send("two");
  assert.ok(rx.hasChanged);
  assert.equal(await assertReady(spawned(() => rx.changed())), true);
  const p1 = spawned((signal) => rx.changed({ signal }));
  await assertPending(p1);
  p1.drop();
  assert.ok(!rx.hasChanged);

  tx.send("three");
  assert.ok(rx.hasChanged);
  assert.equal(rx.borrowAndUpdate(), "three");
  const p2 = spawned((signal) => rx.changed({ signal }));
  await assertPending(p2);
  p2.drop();
  assert.ok(!rx.hasChanged);

  tx.close();
  assert.equal(rx.borrowAndUpdate(), "three");
  assert.equal(await assertReady(spawned(() => rx.changed())), false);
  assert.ok(!rx.hasChanged);
  assert.ok(rx.isClosed);
});

void test("sync_watch::reopened_after_subscribe", () => {
  const [tx, rx] = watch("one");
  assert.notEqual(tx.receiverCount, 0);
  rx.close();
  assert.equal(tx.receiverCount, 0);
  const rx2 = tx.subscribe();
  assert.notEqual(tx.receiverCount, 0);
  rx2.close();
  assert.equal(tx.receiverCount, 0);
});

// A modification that fails part-way: what it changed in place stays, nobody is notified.
void test("sync_watch::send_modify_panic", async () => {
  const [tx, rx] = watch({ v: "one" });

  tx.sendModify((old) => {
    old.v = "two";
  });
  assert.equal(rx.borrowAndUpdate().v, "two");

  const rx2 = rx.clone();
  assert.equal(rx2.borrowAndUpdate().v, "two");

  const task = spawned((signal) => rx2.changed({ signal }));

  assert.throws(
    () =>
      tx.sendModify((old) => {
        old.v = "panicked";
        throw new Error("panic");
      }),
    /panic/,
  );

  await assertPending(task);
  assert.equal(rx.borrow().v, "panicked");

  tx.sendModify((old) => {
    old.v = "three";
  });
  assert.equal(await assertReady(task), true);
  assert.equal(rx.borrowAndUpdate().v, "three");
});

void test("sync_watch::multiple_sender", async () => {
  const [tx1, rx] = watch(0);
  const tx2 = tx1.clone();

  const t = spawned(async () => {
    assert.equal(await rx.changed(), true);
    const v1 = rx.borrowAndUpdate();
    assert.equal(await rx.changed(), true);
    const v2 = rx.borrowAndUpdate();
    return [v1, v2];
  });

  tx1.send(1);
  await assertPending(t);
  tx2.send(2);
  assert.deepEqual(await assertReady(t), [1, 2]);
});

void test("sync_watch::receiver_is_notified_when_last_sender_is_dropped", async () => {
  const [tx1, rx] = watch(0);
  const tx2 = tx1.clone();

  const t = spawned((signal) => rx.changed({ signal }));
  await assertPending(t);

  tx1.close();
  await assertPending(t);
  tx2.close();

  assert.equal(await assertReady(t), false);
});

// tokio runs each loop in a biased select! against yield_now: a wait that is always ready must
// still let yield_now run. Here the loop is a task and the main flow waits in yieldNow(), which
// needs the event loop to turn (a loop started synchronously inside a select branch would claim
// the select).
async function cooperative(step: () => Promise<unknown>): Promise<void> {
  let stop = false;
  let rounds = 0;
  const loop = spawn(async () => {
    while (!stop) {
      await step();
      rounds++;
    }
  });
  await yieldNow();
  stop = true;
  await loop;
  assert.ok(rounds > 0);
}

void test("sync_watch::receiver_changed_is_cooperative", async () => {
  const [tx, rx] = watch(null);
  tx.close();
  await cooperative(async () => assert.equal(await rx.changed(), false));
});

void test("sync_watch::receiver_changed_is_cooperative_ok", async () => {
  const [tx, rx] = watch(null);
  await cooperative(async () => {
    tx.send(null);
    assert.equal(await rx.changed(), true);
  });
});

void test("sync_watch::receiver_wait_for_is_cooperative", async () => {
  const [tx, rx] = watch(0);
  tx.close();
  await cooperative(() =>
    assert.rejects(
      rx.waitFor((v) => v === 1),
      ChannelClosedError,
    ),
  );
});

void test("sync_watch::receiver_wait_for_is_cooperative_ok", async () => {
  const [tx, rx] = watch(0);
  await cooperative(async () => {
    tx.send(1);
    assert.equal(await rx.waitFor((v) => v === 1), 1);
  });
});

void test("sync_watch::sender_closed_is_cooperative", async () => {
  const [tx, rx] = watch(null);
  rx.close();
  await cooperative(() => tx.closed());
});

void test("sync_watch::changed_succeeds_on_closed_channel_with_unseen_value", async () => {
  const [tx, rx] = watch("A");
  tx.send("B");
  tx.close();
  assert.equal(await rx.changed(), true, "no error as long as the current value is not seen");
});

void test("sync_watch::changed_errors_on_closed_channel_with_seen_value", async () => {
  const [tx, rx] = watch("A");
  tx.close();
  assert.equal(await rx.changed(), false, "false if the sender is closed and the current value is seen");
});

// Differs on purpose: hasChanged tells about the unseen value, isClosed about the sender.
void test("sync_watch::has_changed_errors_on_closed_channel_with_unseen_value", () => {
  const [tx, rx] = watch("A");
  tx.send("B");
  tx.close();
  assert.ok(rx.isClosed);
  assert.ok(rx.hasChanged);
});

void test("sync_watch::has_changed_errors_on_closed_channel_with_seen_value", () => {
  const [tx, rx] = watch("A");
  tx.close();
  assert.ok(rx.isClosed);
  assert.ok(!rx.hasChanged);
});

void test("sync_watch::wait_for_errors_on_closed_channel_true_predicate", async () => {
  const [tx, rx] = watch("A");
  tx.send("B");
  tx.close();
  assert.equal(await rx.waitFor(() => true), "B", "no error when the predicate holds for the last value");
});
