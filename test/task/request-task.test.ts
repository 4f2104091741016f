// Record-only tasks (src/task/request-task.ts): the request tasks of the HTTP adapters. They skip
// the spawn machinery, so these pin that they are still tasks of their runtime in every way a
// user or an operator sees one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, JoinError, Runtime, sleep } from "../../src/index.js";
import { startRequestTask } from "../../src/task/request-task.js";
import type { TaskOwner } from "../../src/task/join-handle.js";

const SITE = { stack: "Request\n    at GET /users/:id (steward/test)" };

function owner(): TaskOwner & { done: number } {
  return {
    done: 0,
    onTaskDone() {
      this.done++;
    },
  };
}

test("a record-only task is running and listed, by name and site, as soon as it is started; complete() ends it as completed", async () => {
  const rt = new Runtime();
  const o = owner();
  const h = startRequestTask(rt, "GET /users/:id", o, SITE);
  assert.equal(h.isFinished(), false);
  assert.equal(rt.taskCount, 1, "linked synchronously, with no start microtask");
  const [info] = rt.tasks();
  assert.deepEqual({ id: info!.id, name: info!.name, spawnedAt: info!.spawnedAt }, { id: h.id, name: "GET /users/:id", spawnedAt: "GET /users/:id (steward/test)" });
  assert.match(
    rt
      .dump()
      .tasks.map((t) => t.name)
      .join(),
    /GET \/users\/:id/,
  );
  await sleep(5);
  assert.equal(h.isFinished(), false, "nothing ends it but its owner");
  h.complete();
  h.complete();
  h.end(new Error("too late"));
  assert.equal(h.isFinished(), true);
  assert.equal(o.done, 1, "the owner hears its end once");
  assert.equal(rt.taskCount, 0);
  assert.equal(await h, undefined, "a join after the end resolves");
  const report = await rt.shutdown({ timeoutMs: 1000 });
  assert.deepEqual([report.tasks.total, report.tasks.completed, report.tasks.cancelled, report.tasks.panicked], [1, 1, 0, 0]);
});

test("the runtime's cancellation aborts its signal; end() with the reason ends it cancelled, and a join made before rejects with that JoinError", async () => {
  const rt = new Runtime();
  const h = startRequestTask(rt, "POST /upload", owner(), SITE);
  const joined = h.result();
  const reasons: unknown[] = [];
  h.ctx.signal.addEventListener("abort", () => reasons.push(h.ctx.signal.reason));
  const cancel = new CancelledError(undefined, "drain deadline");
  rt.token.cancel(cancel);
  assert.deepEqual(reasons, [cancel], "the drain deadline's cancellation reaches the request's signal");
  assert.equal(h.isFinished(), false, "cancelled, it still runs until its owner ends it (the response closes)");
  h.end(h.token.reason);
  const r = await joined;
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error instanceof JoinError && r.error.kind === "cancelled" && r.error.name === "JoinError" && r.error.cause === cancel);
});

test("started on a runtime past its cancel phase it starts cancelled; drain waits for a live one until its owner ends it", async () => {
  const rt = new Runtime();
  const h = startRequestTask(rt, "GET /slow", owner(), SITE);
  setTimeout(() => h.complete(), 150);
  const t0 = performance.now();
  const report = await rt.shutdown({ timeoutMs: 5000 });
  assert.ok(performance.now() - t0 >= 140, "shutdown waited for the request to end");
  assert.equal(report.tasks.completed, 1);
  assert.equal(report.clean, true);
  const late = startRequestTask(rt, "GET /late", owner(), SITE);
  assert.equal(late.token.isCancelled, true);
  late.end(late.token.reason);
});

test("end() with an error while not cancelled is a panic the runtime reports (unless joined)", async () => {
  const reported: JoinError[] = [];
  const rt = new Runtime({ onTaskPanic: (e) => reported.push(e) });
  const h = startRequestTask(rt, "GET /boom", owner(), SITE);
  const boom = new Error("boom");
  h.end(boom);
  await sleep(20);
  assert.equal(reported.length, 1);
  assert.equal(reported[0]!.cause, boom);
  assert.equal(reported[0]!.taskName, "GET /boom");
});
