// Ported from tokio/tests/sync_notify.rs (sync_notify_owned.rs repeats them for `notified_owned`,
// which JavaScript does not need). See README.md here for the tests not ported and why.
//
// Two differences of JavaScript run through these ports:
//  - `notified()` registers as a waiter when it is called (tokio's `enable()` at once), not when
//    first polled; so the `spawn(async { notify.notified().await })` futures of tokio's tests
//    queue in the order they are created here.
//  - A notification is handed over when `notifyOne`/`notifyLast` runs: the chosen wait resolves
//    then. tokio's "woken but not yet polled" state, where dropping the future passes the
//    notification on to the next waiter, does not exist for a promise; dropping (aborting) a wait
//    that was already served does nothing.
import { test } from "node:test";
import { Notify } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("sync_notify::notify_notified_one", async () => {
  const notify = new Notify();
  const notified = spawned(() => notify.notified());
  notify.notifyOne();
  await assertReady(notified);
});

void test("sync_notify::notify_multi_notified_one", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));

  // add two waiters into the queue
  await assertPending(notified1);
  await assertPending(notified2);

  // should wakeup the first one
  notify.notifyOne();
  await assertReady(notified1);
  await assertPending(notified2);
  notified2.drop();
});

void test("sync_notify::notify_multi_notified_last", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));

  // add two waiters into the queue
  await assertPending(notified1);
  await assertPending(notified2);

  // should wakeup the last one
  notify.notifyLast();
  await assertPending(notified1);
  await assertReady(notified2);
  notified1.drop();
});

void test("sync_notify::notified_one_notify", async () => {
  const notify = new Notify();
  const notified = spawned(() => notify.notified());
  await assertPending(notified);
  notify.notifyOne();
  await assertReady(notified);
});

void test("sync_notify::notified_multi_notify", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));

  await assertPending(notified1);
  await assertPending(notified2);

  notify.notifyOne();
  await assertReady(notified1);
  await assertPending(notified2);
  notified2.drop();
});

void test("sync_notify::notify_notified_multi", async () => {
  const notify = new Notify();
  notify.notifyOne();

  const notified1 = spawned(() => notify.notified());
  const notified2 = spawned(() => notify.notified());

  await assertReady(notified1);
  await assertPending(notified2);

  notify.notifyOne();
  await assertReady(notified2);
});

void test("sync_notify::notified_drop_notified_notify", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));

  await assertPending(notified1);
  notified1.drop();
  await assertPending(notified2);

  notify.notifyOne();
  await assertReady(notified2);
});

// tokio: dropping notified1 after notify_one woke it passes the notification on to notified2.
// steward: notifyOne resolved notified1 at once; aborting it afterwards changes nothing, and
// notified2 waits for a notification of its own (see the note at the top).
void test("sync_notify::notified_multi_notify_drop_one", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));

  await assertPending(notified1);
  await assertPending(notified2);

  notify.notifyOne();
  notified1.drop();

  await assertReady(notified1);
  await assertPending(notified2);
  notify.notifyOne();
  await assertReady(notified2);
});

// tokio: dropping the woken notified1 makes notified2 the one woken. steward: notified1 was
// served by notifyOne and keeps its notification; notified2 and notified3 wait on, in order.
void test("sync_notify::notified_multi_notify_one_drop", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));
  const notified3 = spawned((signal) => notify.notified({ signal }));

  // add waiters by order of poll execution
  await assertPending(notified1);
  await assertPending(notified2);
  await assertPending(notified3);

  // by default fifo
  notify.notifyOne();
  notified1.drop();

  await assertReady(notified1);
  await assertPending(notified2);
  notify.notifyOne();
  await assertReady(notified2);
  await assertPending(notified3);
  notified3.drop();
});

// As notified_multi_notify_one_drop, for notifyLast: the last waiter was served and keeps it.
void test("sync_notify::notified_multi_notify_last_drop", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));
  const notified2 = spawned((signal) => notify.notified({ signal }));
  const notified3 = spawned((signal) => notify.notified({ signal }));

  await assertPending(notified1);
  await assertPending(notified2);
  await assertPending(notified3);

  notify.notifyLast();
  notified3.drop();

  await assertReady(notified3);
  await assertPending(notified2);
  // latest waiter still waiting is the one woken next
  notify.notifyLast();
  await assertReady(notified2);
  await assertPending(notified1);
  notified1.drop();
});

void test("sync_notify::notify_one_after_dropped_all", async () => {
  const notify = new Notify();
  const notified1 = spawned((signal) => notify.notified({ signal }));

  await assertPending(notified1);

  notify.notifyWaiters();
  notify.notifyOne();

  notified1.drop();

  const notified2 = spawned(() => notify.notified());
  await assertReady(notified2);
});

void test("sync_notify::test_notify_one_not_enabled", async () => {
  const notify = new Notify();
  const future = spawned(() => notify.notified());
  notify.notifyOne();
  await assertReady(future);
});

// steward's notified() is enabled when called: "enable" then notify_one makes it ready.
void test("sync_notify::test_notify_one_after_enable", async () => {
  const notify = new Notify();
  const future = spawned(() => notify.notified());
  notify.notifyOne();
  await assertReady(future);
  // The notification was consumed by `future`: no permit is left for the next call.
  const next = spawned((signal) => notify.notified({ signal }));
  await assertPending(next);
  next.drop();
});

void test("sync_notify::test_poll_after_enable", async () => {
  const notify = new Notify();
  const future = spawned((signal) => notify.notified({ signal }));
  await assertPending(future);
  future.drop();
});

void test("sync_notify::test_enable_after_poll", async () => {
  const notify = new Notify();
  const future = spawned((signal) => notify.notified({ signal }));
  await assertPending(future);
  await assertPending(future);
  future.drop();
});

// Enabling consumes a stored permit: the first notified() takes it at once, the second waits.
void test("sync_notify::test_enable_consumes_permit", async () => {
  const notify = new Notify();
  // Add a permit.
  notify.notifyOne();
  const future1 = spawned(() => notify.notified());
  const future2 = spawned((signal) => notify.notified({ signal }));
  await assertReady(future1);
  await assertPending(future2);
  future2.drop();
});

void test("sync_notify::unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit", async () => {
  const notify = new Notify();
  const notified1 = spawned(() => notify.notified());
  notify.notifyWaiters();
  notify.notifyOne();
  await assertReady(notified1);
  const notified2 = spawned(() => notify.notified());
  await assertReady(notified2);
});
