import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, JoinError, Runtime, currentTask, sleep, spawn } from "../../src/index.js";

test("spawn starts fn on a later microtask, never inside spawn", async () => {
  let started = false;
  const h = spawn(() => {
    started = true;
    return 7;
  });
  assert.equal(started, false);
  assert.equal(await h, 7);
  assert.equal(started, true);
  assert.equal(h.isFinished(), true);
});

test("task ids are unique and increasing; ctx carries id, name, token and signal", async () => {
  const a = spawn((ctx) => ctx, { name: "a" });
  const b = spawn((ctx) => ctx);
  const [ca, cb] = [await a, await b];
  assert.ok(cb.id > ca.id);
  assert.equal(ca.id, a.id);
  assert.equal(ca.name, "a");
  assert.equal(cb.name, undefined);
  assert.equal(ca.signal, ca.token.signal);
});

test("abort takes effect at the next steward wait and the join says cancelled", async () => {
  const h = spawn(async () => {
    await sleep(10_000);
    return "never";
  });
  await sleep(5);
  h.abort("stop");
  const r = await h.result();
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error instanceof JoinError && r.error.isCancelled());
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  await assert.rejects(Promise.resolve(h), (e: unknown) => e instanceof JoinError && e.kind === "cancelled");
});

test("a throw is a panic carrying the error; a task that returns after abort keeps its value", async () => {
  const boom = new Error("boom");
  const rt = new Runtime({ onTaskPanic: () => {} });
  const p = rt.spawn(() => {
    throw boom;
  });
  const r = await p.result();
  assert.ok(!r.ok && r.error.isPanic() && r.error.cause === boom);
  const q = rt.spawn(async (ctx) => {
    await new Promise((res) => setTimeout(res, 5)); // not a steward wait
    return ctx.token.isCancelled ? "kept" : "unexpected";
  });
  q.abort();
  assert.equal(await q, "kept");
});

test("currentTask() names the running task, and is undefined outside", async () => {
  assert.equal(currentTask(), undefined);
  const h = spawn(async () => {
    await sleep(1);
    return currentTask()?.id;
  });
  assert.equal(await h, h.id);
});

test("bad input is a TypeError that names the argument", () => {
  assert.throws(() => spawn(42 as never), { name: "TypeError", message: /fn must be a function/ });
  assert.throws(() => spawn(() => 1, { signal: {} as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.throws(() => spawn(() => 1, { name: 3 as never }), { name: "TypeError", message: /opts\.name/ });
});
