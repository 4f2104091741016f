import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, JoinError, Runtime, currentTask, sleep, spawn } from "../../src/index.js";
import { noEscapes } from "../helpers/escapes.js";

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
  await new Promise((res) => setImmediate(res)); // started: an abort before the start would cancel it unrun
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

test("spawn(fn, { signal }) leaves no listener on the signal once the task ended", async () => {
  const { getEventListeners } = (await import("node:events")).EventEmitter;
  const server = new AbortController();
  for (let i = 0; i < 1000; i++) await spawn(() => i, { signal: server.signal });
  const failing = spawn(
    () => {
      throw new Error("x");
    },
    { signal: server.signal },
  );
  await failing.result();
  const aborted = spawn(() => sleep(10_000), { signal: server.signal });
  aborted.abort();
  await aborted.result();
  assert.equal(getEventListeners(server.signal, "abort").length, 0);
  // The link still works while the task runs.
  const running = spawn(() => sleep(10_000), { signal: server.signal });
  await sleep(1);
  assert.equal(getEventListeners(server.signal, "abort").length, 1);
  server.abort("stop");
  const r = await running.result();
  assert.ok(!r.ok && r.error.isCancelled());
});

test("a task returning a thenable whose then throws panics with that error; later tasks still start", async () => {
  const boom = new Error("then threw");
  const rt = new Runtime({ onTaskPanic: () => {} });
  const bad = rt.spawn(() => ({
    then() {
      throw boom;
    },
  }));
  const after = rt.spawn(() => "started");
  const getterThrows = rt.spawn(() => ({
    get then(): never {
      throw boom;
    },
  }));
  assert.equal(await after, "started");
  const r = await bad.result();
  assert.ok(!r.ok && r.error.isPanic() && r.error.cause === boom);
  const g = await getterThrows.result();
  assert.ok(!g.ok && g.error.isPanic() && g.error.cause === boom);
});

test("a task aborted before it starts never runs and ends cancelled (as tokio never polls it)", async () => {
  let ran = 0;
  const h = spawn(() => void ran++);
  h.abort("early");
  const r = await h.result();
  assert.equal(ran, 0);
  assert.ok(!r.ok && r.error.isCancelled());
  assert.ok(!r.ok && r.error.cause instanceof CancelledError && r.error.cause.reason === "early");
  const pre = spawn(() => void ran++, { signal: AbortSignal.abort("gone") });
  const r2 = await pre.result();
  assert.equal(ran, 0);
  assert.ok(!r2.ok && r2.error.isCancelled());
});

test("a JoinHandle is a real Promise: instanceof, catch, finally, await, Promise.all", async () => {
  const h = spawn(() => 3);
  assert.ok(h instanceof Promise);
  const typed: Promise<number> = h; // a Promise<T> to TypeScript too
  let fin = false;
  assert.equal(await typed.finally(() => (fin = true)), 3);
  assert.equal(fin, true);
  const rt = new Runtime({ onTaskPanic: () => assert.fail("an observed panic was reported") });
  const bad = rt.spawn(() => {
    throw new Error("caught");
  });
  const caught = await bad.catch((e: unknown) => (e instanceof JoinError ? e.cause : e));
  assert.equal((caught as Error).message, "caught");
  assert.deepEqual(await Promise.all([spawn(() => 1), spawn(async () => 2)]), [1, 2]);
  // then() on a handle gives a plain Promise, not another JoinHandle.
  const derived = spawn(() => 1).then((v) => v + 1);
  assert.equal(Object.getPrototypeOf(derived), Promise.prototype);
  assert.equal(await derived, 2);
  await sleep(5);
});

test("an awaited panic is not reported as unobserved; an unobserved one is, once; neither is an unhandledRejection", async () => {
  const reported: string[] = [];
  const escaped = await noEscapes(async () => {
    const rt = new Runtime({ onTaskPanic: (e) => reported.push((e.cause as Error).message) });
    const awaited = rt.spawn(async () => {
      await sleep(1);
      throw new Error("awaited");
    });
    await assert.rejects(async () => {
      await awaited;
    }, JoinError);
    const late = rt.spawn(() => {
      throw new Error("awaited later in the same turn");
    });
    for (let i = 0; i < 10; i++) await Promise.resolve(); // later, but within the same turn of the event loop
    await assert.rejects(async () => {
      await late;
    }, JoinError);
    rt.spawn(() => {
      throw new Error("nobody");
    });
    await sleep(20);
    assert.deepEqual(reported, ["nobody"]);
  });
  assert.deepEqual(escaped, [], "nothing escaped as an unhandledRejection or uncaught exception");
});
