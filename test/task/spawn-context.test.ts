// Each task starts in its own spawner's async context, even when several are spawned in one
// synchronous run from different AsyncLocalStorage contexts (the start queue once drained them
// all inside the first spawner's context).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { currentTask, type JoinHandle, spawn } from "../../src/index.js";

void test("tasks spawned back to back from different ALS contexts each start in their spawner's context", async () => {
  const user = new AsyncLocalStorage<string>();
  const seen: { store: string | undefined; task: number | undefined }[] = [];
  const probe = (): { store: string | undefined; task: number | undefined } => {
    const s = { store: user.getStore(), task: currentTask()?.id };
    seen.push(s);
    return s;
  };
  const handles: JoinHandle<{ store: string | undefined; task: number | undefined }>[] = [];
  // Same synchronous run, three different contexts (run and enterWith-free frames).
  handles.push(user.run("request-a", () => spawn(probe)));
  handles.push(user.run("request-b", () => spawn(probe)));
  handles.push(spawn(probe)); // outside any user store
  handles.push(user.run("request-c", () => spawn(async () => probe())));
  const out = await Promise.all(handles);
  assert.deepEqual(
    out.map((s) => s.store),
    ["request-a", "request-b", undefined, "request-c"],
  );
  assert.deepEqual(
    out.map((s) => s.task),
    handles.map((h) => h.id),
    "currentTask() in each task is that task",
  );
  // Start order is still spawn order.
  assert.deepEqual(
    seen.map((s) => s.task),
    handles.map((h) => h.id),
  );
});

void test("a task spawned inside another task's synchronous run sees its own spawner's store", async () => {
  const user = new AsyncLocalStorage<number>();
  const stores = await Promise.all(Array.from({ length: 50 }, (_, i) => user.run(i, () => spawn(() => user.getStore()))));
  assert.deepEqual(
    stores,
    Array.from({ length: 50 }, (_, i) => i),
  );
});

void test("a task's start does not leak its context into the spawner's later microtasks or turns", async () => {
  const user = new AsyncLocalStorage<string>();
  await user.run("outer", async () => {
    const h = spawn(async () => {
      await Promise.resolve();
      return currentTask()?.id;
    });
    let inMicrotask: unknown = "unset";
    void Promise.resolve().then(() => {
      inMicrotask = currentTask();
    });
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(currentTask(), undefined, "the spawner's continuation runs outside the task");
    assert.equal(inMicrotask, undefined);
    assert.equal(user.getStore(), "outer");
    await new Promise((r) => setImmediate(r));
    assert.equal(currentTask(), undefined);
    assert.equal(await h, h.id);
  });
  assert.equal(currentTask(), undefined);
});
