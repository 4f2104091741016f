// JoinSet.detachAll and TaskTracker.token: what tokio's tests do not cover.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type JoinError, JoinSet, Runtime, sleep, TaskTracker } from "../../src/index.js";

void test("detachAll: a waiting joinNext resolves undefined; detached tasks run on to completion", async () => {
  const set = new JoinSet<number>();
  let finished = 0;
  for (let i = 0; i < 3; i++) {
    set.spawn(async () => {
      await sleep(5);
      finished++;
      return i;
    });
  }
  await sleep(0);
  const waiting = set.joinNext();
  set.detachAll();
  assert.equal(await waiting, undefined);
  assert.equal(set.size, 0);
  await sleep(20);
  assert.equal(finished, 3);
  assert.equal(await set.joinNext(), undefined, "outcomes of detached tasks are not collected");
  // A task that finished but was not joined is dropped from the set too.
  set.spawn(() => 99);
  await sleep(0);
  assert.equal(set.size, 1);
  set.detachAll();
  assert.equal(set.tryJoinNext(), undefined);
  // The set stays usable.
  set.spawn(() => 7);
  const r = await set.joinNext();
  assert.ok(r !== undefined && r.ok && r.value === 7);
});

void test("detachAll: a detached task that panics is reported as unobserved", async () => {
  const panics: JoinError[] = [];
  const rt = new Runtime({ name: "detach", onTaskPanic: (e) => panics.push(e) });
  const set = new JoinSet<void>();
  rt.enter(() =>
    set.spawn(async () => {
      await sleep(5);
      throw new Error("boom");
    }),
  );
  set.detachAll();
  // Reported on the turn after the task fails (as Node reports unhandled rejections).
  for (let i = 0; i < 200 && panics.length === 0; i++) await sleep(5);
  assert.equal(panics.length, 1);
  assert.match(String((panics[0]!.cause as Error).message), /boom/);
  await rt.shutdown();
});

void test("TaskTracker.token(): counts until released; release is idempotent; using releases it", async () => {
  const tracker = new TaskTracker();
  tracker.close();
  const t1 = tracker.token();
  {
    using _t2 = tracker.token();
    assert.equal(tracker.size, 2);
  }
  assert.equal(tracker.size, 1);
  assert.equal(t1.tracker, tracker);
  t1.release();
  t1.release();
  assert.equal(t1.tracker, undefined);
  assert.equal(tracker.size, 0);
  await tracker.wait();
});
