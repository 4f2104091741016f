// Ported from tokio/tests/task_abort.rs. A Rust task's destructors (Drop) are the task's
// `finally` / `using` blocks here: they run when the cancelled task's steward wait rejects.
// See README.md here for the tests not ported and why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JoinError, Notify, sleep, spawn, yieldNow } from "../../src/index.js";
import { noEscapes } from "../helpers/escapes.js";

const pending = (): Promise<void> => new Notify().notified();

// A suspended task can be aborted without panicking (tokio issue 3157).
void test("task_abort::test_abort_without_panic_3157", async () => {
  const handle = spawn(() => sleep(100_000));
  // wait for task to sleep.
  await sleep(10);
  handle.abort();
  const r = await handle.result();
  assert.ok(!r.ok && r.error.isCancelled());
});

// A suspended task can be aborted; its destructors run (tokio issue 3662).
void test("task_abort::test_abort_without_panic_3662", async () => {
  let dropFlag = false;
  const j = spawn(async () => {
    try {
      await pending();
    } finally {
      dropFlag = true;
    }
  });
  await yieldNow();
  assert.ok(!dropFlag);
  j.abort();
  const result = await j.result();
  assert.ok(dropFlag);
  assert.ok(!result.ok && result.error.isCancelled());

  const i = spawn(() => yieldNow());
  await i;
});

// A suspended task can be aborted even if its JoinHandle is dropped at once (tokio issue 3964).
void test("task_abort::test_abort_wakes_task_3964", async () => {
  let dropped = false;
  let handle: ReturnType<typeof spawn> | undefined = spawn(async () => {
    try {
      await sleep(100_000);
    } finally {
      dropped = true;
    }
  });
  // wait for task to sleep.
  await sleep(10);
  handle.abort();
  handle = undefined;
  // wait for task to abort.
  await sleep(10);
  assert.ok(dropped);
});

// A task whose cleanup throws after it was aborted does not let the error escape it.
void test("task_abort::test_abort_task_that_panics_on_drop_contained", async () => {
  const escaped = await noEscapes(async () => {
    const handle = spawn(async () => {
      try {
        await sleep(100_000);
      } finally {
        throw new Error("Well what did you expect would happen...");
      }
    });
    await sleep(10);
    handle.abort();
    await sleep(10);
  });
  assert.deepEqual(escaped, []);
});

// Differs on purpose: tokio reports a task whose destructor panics after abort() as a panic;
// steward reports a task that throws anything after its token was cancelled as cancelled
// (API.md §1), with what it threw as the cause.
void test("task_abort::test_abort_task_that_panics_on_drop_returned", async () => {
  const boom = new Error("Well what did you expect would happen...");
  const handle = spawn(async () => {
    try {
      await sleep(100_000);
    } finally {
      throw boom;
    }
  });
  await sleep(10);
  handle.abort();
  const r = await handle.result();
  assert.ok(!r.ok);
  assert.ok(r.error.isCancelled());
  assert.equal(r.error.cause, boom);
});

// steward's JoinError message names the task and what it threw: "task N panicked: Error: msg"
// (tokio: `task N panicked with message "msg"`).
void test("task_abort::test_join_error_display", async () => {
  const value = 1234;
  const err1 = await spawn(() => {
    throw new Error(`Format-args payload: ${value}`);
  }).result();
  assert.ok(!err1.ok && err1.error instanceof JoinError);
  assert.match(err1.error.message, /^task \d+ panicked: Error: Format-args payload: 1234$/);

  const err2 = await spawn(() => {
    throw new Error("Const payload");
  }).result();
  assert.ok(!err2.ok);
  assert.match(err2.error.message, /^task \d+ panicked: Error: Const payload$/);

  // Non-Error payload
  const err3 = await spawn(() => {
    throw 1234 as unknown as Error;
  }).result();
  assert.ok(!err3.ok);
  assert.match(err3.error.message, /^task \d+ panicked: 1234$/);
  assert.equal(err3.error.cause, 1234);
});
