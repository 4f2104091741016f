/** A worker thread that calls Supervisor.watchThisThread() is watched by the main thread's watchdog. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { blocksBetween, runFixture, show, sourceLine, withStack } from "./helpers.js";

test("a blocked worker thread is reported with its own stack, and its listeners get the events", async () => {
  const run = await runFixture("worker");
  assert.equal(run.code, 0, show(run));
  const threadId = run.markData<number>("worker-thread");
  assert.equal(typeof threadId, "number");
  const blocked = blocksBetween(run, "worker-block-start", "worker-block-end").filter((r) => r.thread === threadId);
  assert.equal(blocked.length, 1, show(run));
  // The worker's own block, not the first report: a loaded machine can stall the worker's start-up
  // too (an episode before worker-block-start, with no stack). A stack still pending follows.
  const b = withStack(run, blocked[0]!)!;
  assert.ok(b.stackCapture === "live" || b.stackCapture === "late", show(run));
  assert.ok(b.index < run.markIndex("worker-block-end"), show(run));
  assert.equal(b.stack![0]!.functionName, "workerBusy");
  assert.ok(b.stack![0]!.file.endsWith("/test/supervisor/fixtures/worker.ts"));
  assert.equal(b.stack![0]!.line, sourceLine("worker", "// @worker-line"));
  assert.ok(
    run.reports().some((r) => r.event === "unblocked" && r.thread === threadId),
    show(run),
  );

  const lb = run.markData<{ thread: number; stack: { functionName: string }[] }>("worker-listener-blocked");
  assert.ok(lb !== undefined, show(run));
  assert.equal(lb.thread, threadId);
  assert.equal(lb.stack[0]!.functionName, "workerBusy");
  assert.ok(run.markData("worker-listener-unblocked") !== undefined, show(run));
});
