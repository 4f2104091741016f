// Ported from tokio-util/tests/task_tracker.rs. `drop(token)` is `token.release()`; tokio's
// `is_empty()` is `size === 0`. See README.md here for the tests not ported and why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskTracker } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("task_tracker::open_close", () => {
  const tracker = new TaskTracker();
  assert.ok(!tracker.isClosed);
  assert.equal(tracker.size, 0);

  tracker.close();
  assert.ok(tracker.isClosed);
  assert.equal(tracker.size, 0);

  tracker.reopen();
  assert.ok(!tracker.isClosed);
  tracker.reopen();
  assert.ok(!tracker.isClosed);
  assert.equal(tracker.size, 0);

  tracker.close();
  assert.ok(tracker.isClosed);
  tracker.close();
  assert.ok(tracker.isClosed);
  assert.equal(tracker.size, 0);
});

void test("task_tracker::token_len", () => {
  const tracker = new TaskTracker();
  const tokens = [];
  for (let i = 0; i < 10; i++) {
    assert.equal(tracker.size, i);
    tokens.push(tracker.token());
  }
  assert.equal(tracker.size, 10);
  tokens.forEach((token, i) => {
    token.release();
    assert.equal(tracker.size, 9 - i);
  });
});

void test("task_tracker::notify_immediately", async () => {
  const tracker = new TaskTracker();
  tracker.close();
  const wait = spawned(() => tracker.wait());
  await assertReady(wait);
});

void test("task_tracker::notify_immediately_on_reopen", async () => {
  const tracker = new TaskTracker();
  tracker.close();
  const wait = spawned(() => tracker.wait());
  tracker.reopen();
  await assertReady(wait);
});

void test("task_tracker::notify_on_close", async () => {
  const tracker = new TaskTracker();
  const wait = spawned(() => tracker.wait());
  await assertPending(wait);
  tracker.close();
  await assertReady(wait);
});

void test("task_tracker::notify_on_close_reopen", async () => {
  const tracker = new TaskTracker();
  const wait = spawned(() => tracker.wait());
  await assertPending(wait);
  tracker.close();
  tracker.reopen();
  await assertReady(wait);
});

void test("task_tracker::notify_on_last_task", async () => {
  const tracker = new TaskTracker();
  tracker.close();
  const token = tracker.token();
  const wait = spawned(() => tracker.wait());
  await assertPending(wait);
  token.release();
  await assertReady(wait);
});

void test("task_tracker::notify_on_last_task_respawn", async () => {
  const tracker = new TaskTracker();
  tracker.close();
  const token = tracker.token();
  const wait = spawned(() => tracker.wait());
  await assertPending(wait);
  token.release();
  const token2 = tracker.token();
  await assertReady(wait);
  token2.release();
});

void test("task_tracker::no_notify_on_respawn_if_open", async () => {
  const tracker = new TaskTracker();
  const token = tracker.token();
  const wait = spawned((signal) => tracker.wait({ signal }));
  await assertPending(wait);
  token.release();
  const token2 = tracker.token();
  await assertPending(wait);
  token2.release();
  wait.drop();
});

void test("task_tracker::close_during_exit", async () => {
  const ITERS = 5;
  for (let closeSpot = 0; closeSpot <= ITERS; closeSpot++) {
    const tracker = new TaskTracker();
    const tokens = Array.from({ length: ITERS }, () => tracker.token());
    const wait = spawned(() => tracker.wait());
    for (let i = 0; i < tokens.length; i++) {
      await assertPending(wait);
      if (i === closeSpot) {
        tracker.close();
        await assertPending(wait);
      }
      tokens[i]!.release();
    }
    if (closeSpot === ITERS) {
      await assertPending(wait);
      tracker.close();
    }
    await assertReady(wait);
  }
});

void test("task_tracker::notify_many", async () => {
  const tracker = new TaskTracker();
  const waits = Array.from({ length: 10 }, () => spawned(() => tracker.wait()));
  for (const wait of waits) await assertPending(wait);
  tracker.close();
  for (const wait of waits) await assertReady(wait);
});

// tokio spawns on the current runtime and with spawn_on a given handle; both are spawn() here.
void test("task_tracker::spawn::spawn_then_close", async () => {
  const N = 8;
  const tracker = new TaskTracker();
  for (let i = 0; i < 2 * N; i++) tracker.spawn(() => {});
  tracker.close();
  await tracker.wait();
  assert.equal(tracker.size, 0);
  assert.ok(tracker.isClosed);
});

// tokio's spawn_local: every JavaScript task is local; what this test adds is the order (close
// first, then spawn).
void test("task_tracker::spawn_local::spawn_after_close", async () => {
  const N = 8;
  const tracker = new TaskTracker();
  tracker.close();
  for (let i = 0; i < N; i++) tracker.spawn(() => {});
  await tracker.wait();
  assert.ok(tracker.isClosed);
  assert.equal(tracker.size, 0);
});
