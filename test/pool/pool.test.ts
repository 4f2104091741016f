/** blockingPool: blocking work off the event loop, cancellable, with a bounded queue, owned by a runtime. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlockingPool, CancelledError, JoinError, PoolFullError, Runtime, ShutdownError, blockingPool, shield, sleep, spawn } from "../../src/index.js";

const WORKER = new URL("./fixtures/work.js", import.meta.url);

test("runs work off the event loop, on a pool thread, and returns its value", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 2 });
  try {
    assert.ok(pool instanceof BlockingPool);
    const where = await pool.run<{ isMainThread: boolean; threadId: number }>(undefined, { name: "where" });
    assert.equal(where.isMainThread, false);
    let ticks = 0;
    const iv = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    const v = await pool.run<number>(400, { name: "sleepSync" });
    clearInterval(iv);
    assert.equal(v, 400);
    assert.ok(performance.now() - t0 >= 390);
    assert.ok(ticks >= 10, `the loop kept turning while the work blocked its thread (ticks: ${ticks})`);
    assert.equal(await pool.run({ a: 2, b: 3 }, { name: "add" }), 5);
    assert.equal(await pool.run(5), 5, "the default export by default");
  } finally {
    await pool.close();
  }
});

test("a throw in the worker rejects the run with that error; the pool goes on", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1 });
  try {
    await assert.rejects(pool.run("bad input", { name: "fail" }), (e: unknown) => e instanceof Error && e.message === "bad input");
    assert.equal(await pool.run({ a: 1, b: 1 }, { name: "add" }), 2);
  } finally {
    await pool.close();
  }
});

test("aborting the signal of a running run stops it (its thread is terminated) and rejects with signal.reason", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1 });
  try {
    const ac = new AbortController();
    const reason = new Error("changed my mind");
    const t0 = performance.now();
    const p = pool.run(10_000, { signal: ac.signal }); // a 10 s busy loop
    setTimeout(() => ac.abort(reason), 200);
    await assert.rejects(p, (e: unknown) => e === reason);
    assert.ok(performance.now() - t0 < 5000, "did not wait for the loop to finish");
    assert.equal(await pool.run({ a: 1, b: 2 }, { name: "add" }), 3, "the pool replaces the thread");
  } finally {
    await pool.close();
  }
});

test("aborting a queued run withdraws it; an already aborted signal rejects at once", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1 });
  try {
    const first = pool.run(300);
    const ac = new AbortController();
    const queued = pool.run(5000, { signal: ac.signal });
    await sleep(50);
    assert.equal(pool.queueSize, 1);
    ac.abort("later");
    await assert.rejects(queued, (e: unknown) => e === "later");
    assert.equal(pool.queueSize, 0);
    assert.equal(await first, 300);
    const gone = AbortSignal.abort("already");
    await assert.rejects(pool.run(1, { signal: gone }), (e: unknown) => e === "already");
  } finally {
    await pool.close();
  }
});

test("cancelling the task a run was started in cancels the run with a CancelledError", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1 });
  try {
    const h = spawn(() => pool.run(10_000), { name: "hasher" });
    await sleep(200);
    const t0 = performance.now();
    h.abort("shutting down");
    const r = await h.result();
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof JoinError && r.error.isCancelled());
    assert.ok(!r.ok && r.error.cause instanceof CancelledError);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(await pool.run({ a: 4, b: 4 }, { name: "add" }), 8);
  } finally {
    await pool.close();
  }
});

test("the queue is bounded: one run more than maxQueue waiting rejects with PoolFullError", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1, maxQueue: 2, name: "hashing" });
  try {
    assert.equal(pool.maxQueue, 2);
    const running = pool.run(300);
    const q1 = pool.run(10);
    const q2 = pool.run(10);
    await assert.rejects(pool.run(10), (e: unknown) => e instanceof PoolFullError && e.name === "PoolFullError" && e.pool === "hashing" && e.maxQueue === 2 && /hashing/.test(e.message));
    assert.deepEqual(await Promise.all([running, q1, q2]), [300, 10, 10]);
    assert.equal(await pool.run(1), 1, "room again once the queue drained");
  } finally {
    await pool.close();
  }
  assert.equal(blockingPool(WORKER).maxQueue, 256, "default bound");
});

test("maxQueue 0: no waiting at all, a run is taken only when a thread is free", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1, maxQueue: 0 });
  try {
    const running = pool.run(200);
    await assert.rejects(pool.run(1), PoolFullError);
    assert.equal(await running, 200);
    assert.equal(await pool.run(1), 1);
  } finally {
    await pool.close();
  }
});

test("close (= asyncDispose) stops waiting and running runs with ShutdownError and refuses new ones", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1 });
  const running = assert.rejects(pool.run(10_000), ShutdownError);
  const queued = assert.rejects(pool.run(1), ShutdownError);
  await sleep(100);
  await pool[Symbol.asyncDispose]();
  assert.equal(pool.isClosed, true);
  await running;
  await queued;
  await assert.rejects(pool.run(1), (e: unknown) => e instanceof ShutdownError && /closed/.test(e.message));
  await pool.close(); // idempotent
});

test("options and arguments are checked", () => {
  assert.throws(() => blockingPool(new URL("./fixtures/nope.js", import.meta.url)), { name: "TypeError", message: /worker must name a module file: there is none at .*nope\.js/ });
  assert.throws(() => blockingPool(new URL("./fixtures/", import.meta.url)), { name: "TypeError", message: /worker must name a module file/ });
  assert.throws(() => blockingPool(new URL("https://example.com/w.js")), { name: "TypeError", message: /worker must be a path or a file URL/ });
  assert.throws(() => blockingPool(""), { name: "TypeError", message: /worker must be a path or a file URL/ });
  assert.throws(() => blockingPool(WORKER, { idleTimeoutMs: Infinity }), { name: "RangeError", message: /opts\.idleTimeoutMs/ });
  assert.throws(() => blockingPool(WORKER, { idleTimeoutMs: 2 ** 31 }), { name: "RangeError", message: /opts\.idleTimeoutMs must be at most/ });
  assert.throws(() => blockingPool(42 as unknown as string), TypeError);
  assert.throws(() => blockingPool(WORKER, { maxThreads: 0 }), RangeError);
  assert.throws(() => blockingPool(WORKER, { maxQueue: -1 }), RangeError);
  assert.throws(() => blockingPool(WORKER, { name: 3 as unknown as string }), TypeError);
});

test("the pool belongs to the runtime it was created in and is closed in the drop phase, after the tasks", async (t) => {
  const rt = new Runtime({ name: "pool-test" }) as Runtime & { defer?: unknown; shutdown?: () => Promise<unknown> };
  if (typeof rt.defer !== "function" || typeof rt.shutdown !== "function") {
    t.skip("Runtime.defer/shutdown are not there yet");
    return;
  }
  const pool = rt.enter(() => blockingPool(WORKER, { maxThreads: 1 }));
  let closedWhileTaskRan: boolean | undefined;
  const h = rt.spawn(async () => {
    // Shielded: the task finishes its run although shutdown cancelled it; collect waits for it.
    const v = await shield(() => pool.run<number>(300, { name: "sleepSync" }));
    closedWhileTaskRan = pool.isClosed;
    return v;
  });
  await sleep(50);
  await rt.shutdown();
  assert.equal(closedWhileTaskRan, false, "not closed while a task still ran");
  assert.equal(pool.isClosed, true, "closed in the drop phase");
  const r = await h.result();
  assert.ok(r.ok && r.value === 300, "the shielded run completed");
});

test("a result or input that cannot be structured-cloned rejects with a TypeError naming the problem", async () => {
  const pool = blockingPool(WORKER, { maxThreads: 1, name: "clone" });
  try {
    await assert.rejects(pool.run(undefined, { name: "unclonable" }), (e: unknown) => {
      assert.ok(e instanceof TypeError, `got ${String(e)} (${typeof e})`);
      assert.match(e.message, /blockingPool 'clone'.*result of 'unclonable'.*could not be cloned/);
      return true;
    });
    await assert.rejects(
      pool.run(() => 1),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, `got ${String(e)}`);
        assert.match(e.message, /input.*could not be cloned/);
        return true;
      },
    );
    assert.equal(await pool.run({ a: 1, b: 2 }, { name: "add" }), 3, "the pool goes on");
  } finally {
    await pool.close();
  }
});

test("a pool typed with its worker module types run() from the module's exports", async () => {
  const pool = blockingPool<typeof import("./fixtures/work.js")>(WORKER, { maxThreads: 1 });
  try {
    const spun: Promise<number> = pool.run(1);
    const sum: Promise<number> = pool.run({ a: 1, b: 2 }, { name: "add" });
    const where: Promise<{ threadId: number; isMainThread: boolean }> = pool.run(undefined, { name: "where" });
    // Checked by the compiler only (never called): wrong inputs and names do not type-check.
    const typeErrors = (): unknown[] => [
      // @ts-expect-error add takes { a, b }
      pool.run("x", { name: "add" }),
      // @ts-expect-error no such export
      pool.run(1, { name: "nope" }),
      // @ts-expect-error the default export takes a number
      pool.run("x"),
    ];
    void typeErrors;
    // At run time, a name the module does not export is a TypeError naming it.
    await assert.rejects(pool.run(1, { name: "nope" as never }), { name: "TypeError", message: /opts\.name 'nope' names no function the worker module exports/ });
    assert.equal(await spun, 1);
    assert.equal(await sum, 3);
    assert.equal((await where).isMainThread, false);
    // An untyped pool keeps run<R>() as API.md has it.
    const untyped = blockingPool(WORKER, { maxThreads: 1 });
    const r: Promise<string> = untyped.run<string>(undefined, { name: "where" });
    void r.catch(() => {});
    await untyped.close();
  } finally {
    await pool.close();
  }
});
