// tokio never polls a task aborted before its first poll (issue 11: "tasks aborted before they
// start still run"); these ports check that, beyond the counts the original tests assert.
import { test } from "node:test";
import assert from "node:assert/strict";
import { JoinSet, sleep } from "../../src/index.js";

void test("task_join_set::abort_tasks (an aborted task never starts)", async () => {
  const set = new JoinSet<number>();
  const started = new Set<number>();
  for (let i = 0; i < 16; i++) {
    const abort = set.spawn(async () => {
      started.add(i);
      await sleep(i);
      return i;
    });
    // abort odd-numbered tasks.
    if (i % 2 !== 0) abort.abort();
  }
  let numCanceled = 0;
  let numCompleted = 0;
  for (;;) {
    const r = await set.joinNext();
    if (r === undefined) break;
    if (r.ok) numCompleted++;
    else {
      assert.ok(r.error.isCancelled());
      numCanceled++;
    }
  }
  assert.equal(numCanceled, 8);
  assert.equal(numCompleted, 8);
  assert.deepEqual(
    [...started].sort((a, b) => a - b),
    [0, 2, 4, 6, 8, 10, 12, 14],
    "aborted tasks never ran",
  );
});
