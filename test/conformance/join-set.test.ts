// Ported from tokio/tests/task_join_set.rs. tokio's paused clock is replaced by short real
// sleeps (milliseconds where tokio sleeps seconds of virtual time): these tests check outcomes
// and order, not durations. See README.md here for the tests not ported and why.
//
// `futures::future::pending()` inside a task is `pending()` here: a steward wait that never
// completes. A task is cancelled at its steward waits; a plain never-settling promise would never
// see the abort (that is JavaScript: nothing can stop a promise from outside).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChannelClosedError, JoinSet, Notify, oneshot, Runtime, Semaphore, sleep, spawn, watch, yieldNow } from "../../src/index.js";

const pending = (): Promise<void> => new Notify().notified();

void test("task_join_set::test_with_sleep", async () => {
  const set = new JoinSet<number>();

  for (let i = 0; i < 10; i++) {
    set.spawn(() => i);
    assert.equal(set.size, 1 + i);
  }
  set.detachAll();
  assert.equal(set.size, 0);

  assert.equal(await set.joinNext(), undefined);

  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10; i++) {
      set.spawn(async () => {
        await sleep(i);
        return i;
      });
      if (round === 0) assert.equal(set.size, 1 + i);
    }

    const seen = new Array<boolean>(10).fill(false);
    for (;;) {
      const res = await set.joinNext();
      if (res === undefined) break;
      assert.ok(res.ok);
      seen[res.value] = true;
    }
    assert.ok(seen.every(Boolean));
    assert.equal(await set.joinNext(), undefined);
  }
});

// tokio's drop(set) aborts every task without waiting: abortAll() (shutdown() also waits).
void test("task_join_set::test_abort_on_drop", async () => {
  const set = new JoinSet<void>();
  const recvs = [];
  for (let i = 0; i < 16; i++) {
    const [send, recv] = oneshot<null>();
    recvs.push(recv);
    set.spawn(async () => {
      using _send = send; // closed when the task ends, however it ends
      // This task will never complete on its own.
      await pending();
    });
  }
  // tokio drops an aborted task's future, and the sender it owns with it, even if it never ran.
  // steward never runs a task aborted before it starts (as tokio never polls one), and a closure
  // cannot be dropped: what a task would close in its body is only closed if it started. So the
  // tasks start first here (join-set-abort-before-start.test.ts covers the never-started case).
  await yieldNow();
  set.abortAll();
  for (const recv of recvs) {
    // The task is aborted soon and we will receive an error.
    await assert.rejects(recv.recv(), ChannelClosedError);
  }
});

void test("task_join_set::alternating", async () => {
  const set = new JoinSet<void>();
  assert.equal(set.size, 0);
  set.spawn(() => {});
  assert.equal(set.size, 1);
  set.spawn(() => {});
  assert.equal(set.size, 2);
  for (let i = 0; i < 16; i++) {
    const r = await set.joinNext();
    assert.ok(r !== undefined && r.ok);
    assert.equal(set.size, 1);
    set.spawn(() => {});
    assert.equal(set.size, 2);
  }
  await set.shutdown();
});

void test("task_join_set::abort_tasks", async () => {
  const set = new JoinSet<number>();
  let numCanceled = 0;
  let numCompleted = 0;
  for (let i = 0; i < 16; i++) {
    const abort = set.spawn(async () => {
      await sleep(i);
      return i;
    });
    // abort odd-numbered tasks.
    if (i % 2 !== 0) abort.abort();
  }
  for (;;) {
    const r = await set.joinNext();
    if (r === undefined) break;
    if (r.ok) {
      numCompleted++;
      assert.equal(r.value % 2, 0);
    } else {
      assert.ok(r.error.isCancelled());
      numCanceled++;
    }
  }
  assert.equal(numCanceled, 8);
  assert.equal(numCompleted, 8);
});

// tokio drops the runtime before the task is ever polled, so the join reports it cancelled. A
// steward task starts on the next microtask and a runtime's shutdown is asynchronous (it drains
// accepted work first, API.md §7), so the task has already finished when the runtime is gone:
// the set still hands over its outcome.
void test("task_join_set::runtime_gone", async () => {
  const set = new JoinSet<number>();
  {
    const rt = new Runtime({ name: "join-set-runtime-gone" });
    rt.enter(() => set.spawn(() => 1));
    await rt.shutdown();
  }
  const r = await set.joinNext();
  assert.ok(r !== undefined && r.ok && r.value === 1);
});

void test("task_join_set::join_all", async () => {
  const set = new JoinSet<number>();
  for (let i = 0; i < 5; i++) set.spawn(() => 1);
  const res = await set.joinAll();
  assert.equal(res.length, 5);
  for (const itm of res) assert.equal(itm, 1);
});

void test("task_join_set::task_panics", async () => {
  const set = new JoinSet<void>();
  const [tx, rx] = oneshot<null>();
  assert.equal(set.size, 0);

  set.spawn(async () => {
    using t = tx;
    await sleep(40);
    t.send(null);
  });
  assert.equal(set.size, 1);

  set.spawn(async () => {
    await sleep(10);
    throw new Error("panic");
  });
  assert.equal(set.size, 2);

  const panic = await spawn(() => set.joinAll()).result();
  assert.throws(() => rx.tryRecv(), ChannelClosedError);
  assert.ok(!panic.ok && panic.error.isPanic());
});

void test("task_join_set::abort_all", async () => {
  const set = new JoinSet<void>();
  for (let i = 0; i < 5; i++) set.spawn(() => pending());
  for (let i = 0; i < 5; i++) set.spawn(() => sleep(5));

  // The join set will now have 5 pending tasks and 5 ready tasks.
  await sleep(30);

  set.abortAll();
  assert.equal(set.size, 10);

  let count = 0;
  for (;;) {
    const r = await set.joinNext();
    if (r === undefined) break;
    if (!r.ok) assert.ok(r.error.isCancelled());
    count++;
  }
  assert.equal(count, 10);
  assert.equal(set.size, 0);
});

// This ensures that `joinNext` works correctly when the coop budget is exhausted. tokio's
// `now_or_never()` is a race against a few microtask hops; a join that lost the race is
// withdrawn through its signal (joinNext is cancel-safe, so it takes nothing).
void test("task_join_set::join_set_coop", async () => {
  // Large enough to trigger coop.
  const TASK_NUM = 1000;
  const SEM = new Semaphore(0);
  const set = new JoinSet<void>();

  for (let i = 0; i < TASK_NUM; i++) set.spawn(() => SEM.addPermits(1));

  // Wait for all tasks to complete: a zero-permit semaphore counts them (issue 11).
  (await SEM.acquire(TASK_NUM)).release();

  const NOT_READY = Symbol("not ready");
  const microtasks = async (): Promise<typeof NOT_READY> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return NOT_READY;
  };
  let count = 0;
  let coopCount = 0;
  for (;;) {
    const c = new AbortController();
    const r = await Promise.race([set.joinNext({ signal: c.signal }), microtasks()]);
    if (r === NOT_READY) {
      c.abort(new Error("now_or_never gave up"));
      coopCount++;
      await yieldNow();
      continue;
    }
    if (r === undefined) break;
    assert.ok(r.ok, "failed");
    count++;
  }
  assert.ok(coopCount >= 1);
  assert.equal(count, TASK_NUM);
});

// A task's end reaches its JoinSet one microtask after its last statement (the `using` below
// closes the receiver in that statement, which is what wakes `closed()`): hence the yieldNow().
void test("task_join_set::try_join_next", async () => {
  const TASK_NUM = 1000;
  const [send, recv] = watch(null);
  const set = new JoinSet<void>();

  for (let i = 0; i < TASK_NUM; i++) {
    const r = recv.clone();
    set.spawn(async () => {
      using rr = r;
      assert.equal(await rr.changed(), true);
    });
  }
  recv.close();

  assert.equal(set.tryJoinNext(), undefined);

  send.sendReplace(null);
  await send.closed();
  await yieldNow();

  let count = 0;
  for (;;) {
    const r = set.tryJoinNext();
    if (r === undefined) break;
    assert.ok(r.ok, "failed");
    count++;
  }
  assert.equal(count, TASK_NUM);
});

// tokio_unstable's try_join_next_with_id: steward's JoinResult always carries the task id.
void test("task_join_set::try_join_next_with_id", async () => {
  const TASK_NUM = 1000;
  const [send, recv] = watch(null);
  const set = new JoinSet<void>();
  const spawned = new Set<number>();

  for (let i = 0; i < TASK_NUM; i++) {
    const r = recv.clone();
    const handle = set.spawn(async () => {
      using rr = r;
      assert.equal(await rr.changed(), true);
    });
    spawned.add(handle.id);
  }
  recv.close();

  assert.equal(set.tryJoinNext(), undefined);

  send.sendReplace(null);
  await send.closed();
  await yieldNow();

  let count = 0;
  const joined = new Set<number>();
  for (;;) {
    const r = set.tryJoinNext();
    if (r === undefined) break;
    assert.ok(r.ok, "failed");
    count++;
    joined.add(r.id);
  }
  assert.equal(count, TASK_NUM);
  assert.deepEqual(joined, spawned);
});
