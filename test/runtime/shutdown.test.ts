import { test } from "node:test";
import assert from "node:assert/strict";
import { WaitQueue } from "../../src/core/waiter.js";
import {
  CancelledError,
  JoinError,
  Runtime,
  ShutdownError,
  currentRuntime,
  currentTask,
  shield,
  sleep,
  spawn,
  unboundedChannel,
  type RuntimeState,
} from "../../src/index.js";

/** A promise and its resolver. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test("phases never overlap: no deferred resource is disposed while a task still runs", async () => {
  const rt = new Runtime({ name: "phases" });
  const events: string[] = [];
  let running = 0;
  const resource = (name: string): AsyncDisposable => ({
    async [Symbol.asyncDispose]() {
      events.push(`dispose ${name} (${rt.state}, ${running} running)`);
      assert.equal(running, 0, `${name} disposed while ${running} task(s) still ran`);
      await tick(2);
    },
  });
  rt.defer(resource("db"), "db");
  rt.defer(resource("queue"), "queue");
  for (let i = 0; i < 50; i++) {
    running++;
    rt.spawn(async () => {
      try {
        await sleep(60_000);
      } catch (e) {
        assert.ok(e instanceof CancelledError);
        // Cleanup that takes a while and uses the resources: they must still be there.
        await shield(() => sleep(5 + (i % 10) * 3));
        events.push(`task ${i} cleaned up in ${rt.state}`);
      } finally {
        running--;
      }
    });
  }
  await sleep(5);
  assert.equal(rt.state, "running");
  const p = rt.shutdown();
  assert.equal(rt.state, "collecting"); // stop ran synchronously
  const report = await p;
  assert.equal(rt.state, "closed");
  assert.equal(report.clean, true);
  assert.equal(report.tasks.total, 50);
  assert.equal(report.tasks.cancelled + report.tasks.completed, 50);
  const firstDispose = events.findIndex((e) => e.startsWith("dispose"));
  assert.equal(firstDispose, 50, "every task cleaned up before the first disposal");
  assert.ok(events.slice(0, 50).every((e) => e.endsWith("in collecting")));
  assert.deepEqual(events.slice(50), ["dispose queue (dropping, 0 running)", "dispose db (dropping, 0 running)"]);
});

void test("drop disposes in reverse order, one at a time, for every kind of resource", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  let active = 0;
  const slow = (name: string): AsyncDisposable => ({
    async [Symbol.asyncDispose]() {
      active++;
      assert.equal(active, 1, "disposers overlapped");
      log.push(`start ${name}`);
      await tick(5);
      log.push(`end ${name}`);
      active--;
    },
  });
  rt.defer(slow("a"), "a");
  rt.defer({ [Symbol.dispose]: () => void log.push("sync b") }, "b");
  rt.defer(async () => {
    await tick(3);
    log.push("fn c");
  }, "c");
  rt.defer(slow("d"), "d");
  assert.deepEqual(
    rt.dump().resources.map((r) => [r.name, r.kind]),
    [
      ["a", "asyncDisposable"],
      ["b", "disposable"],
      ["c", "function"],
      ["d", "asyncDisposable"],
    ],
  );
  const report = await rt.shutdown();
  assert.deepEqual(log, ["start d", "end d", "fn c", "sync b", "start a", "end a"]);
  assert.equal(report.clean, true);
  assert.deepEqual(rt.dump().resources, []);
});

void test("a failing disposer is recorded with its name and the rest still run", async () => {
  const rt = new Runtime();
  const ran: string[] = [];
  const boom = new Error("close failed");
  rt.defer(() => void ran.push("first"), "first");
  rt.defer(() => {
    throw boom;
  }, "broken");
  rt.defer({
    async [Symbol.asyncDispose]() {
      ran.push("async");
      throw new TypeError("async close failed");
    },
  });
  rt.defer(function namedCloser() {
    ran.push("last");
  });
  const report = await rt.shutdown();
  assert.deepEqual(ran, ["last", "async", "first"]);
  assert.equal(report.clean, false);
  assert.equal(report.disposeErrors.length, 2);
  assert.equal(report.disposeErrors[0]!.name, "resource#3");
  assert.ok(report.disposeErrors[0]!.error instanceof TypeError);
  assert.deepEqual(report.disposeErrors[1], { name: "broken", error: boom });
});

void test("the deadline is honoured; a stuck task is named with its spawn site and what it waits on", async () => {
  const rt = new Runtime({ name: "deadline", shutdownTimeoutMs: 60_000 });
  const release = new AbortController();
  const stuck = rt.spawn(() => shield(() => sleep(5000, { signal: release.signal })), { name: "stubborn" });
  rt.spawn(() => sleep(60_000), { name: "polite" });
  let disposedAt = 0;
  rt.defer(() => void (disposedAt = performance.now()), "late");
  await sleep(10);
  const t0 = performance.now();
  const report = await rt.shutdown({ timeoutMs: 150 });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 140, `returned after ${elapsed} ms, before the deadline`);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  assert.ok(disposedAt - t0 >= 140, "drop ran only after the deadline");
  assert.equal(report.clean, false);
  assert.equal(report.tasks.stuck.length, 1);
  const s = report.tasks.stuck[0]!;
  assert.equal(s.id, stuck.id);
  assert.equal(s.name, "stubborn");
  assert.equal(s.waitingOn, "sleep 5000 ms");
  assert.equal(s.state, "waiting");
  assert.match(s.spawnedAt, /shutdown\.test\.(ts|js):\d+:\d+/);
  assert.ok(s.ageMs >= 140 && s.ageMs < 10_000, `ageMs ${s.ageMs}`);
  assert.equal(report.tasks.cancelled, 1);
  assert.ok(report.durationMs >= 140);
  release.abort();
  await stuck.result();
});

void test("shutdown is idempotent and moves through every state once", async () => {
  const rt = new Runtime();
  const seen: RuntimeState[] = [rt.state];
  rt.spawn(async () => {
    try {
      await sleep(60_000);
    } finally {
      seen.push(rt.state);
    }
  });
  rt.defer(() => void seen.push(rt.state));
  await sleep(1);
  const a = rt.shutdown({ timeoutMs: 1000 });
  const b = rt.shutdown({ timeoutMs: 5 });
  assert.equal(a, b);
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra, rb);
  assert.equal(await rt.shutdown(), ra);
  seen.push(rt.state);
  assert.deepEqual(seen, ["running", "collecting", "dropping", "closed"]);
  assert.ok(ra.reason instanceof ShutdownError);
});

void test("[Symbol.asyncDispose] shuts down (await using)", async () => {
  let disposed = false;
  let task;
  {
    await using rt = new Runtime();
    rt.defer(() => void (disposed = true));
    task = rt.spawn(() => sleep(60_000));
    await sleep(1);
  }
  assert.equal(disposed, true);
  assert.equal(task.isFinished(), true);
});

void test("tasks spawned during stop start cancelled, and collect waits for them too", async () => {
  const rt = new Runtime();
  let lateCancelled: boolean | undefined;
  let lateError: unknown;
  let lateEnded = false;
  let disposedAfterLate: boolean | undefined;
  rt.defer(() => void (disposedAfterLate = lateEnded));
  rt.spawn(async () => {
    try {
      await sleep(60_000);
    } catch {
      // A cleanup task spawned while stopping: it starts cancelled.
      rt.spawn(async (ctx) => {
        lateCancelled = ctx.token.isCancelled;
        try {
          await sleep(1);
        } catch (e) {
          lateError = e;
        }
        await shield(() => sleep(20));
        lateEnded = true;
      });
    }
  });
  await sleep(1);
  const report = await rt.shutdown();
  assert.equal(lateCancelled, true);
  assert.ok(lateError instanceof CancelledError);
  assert.equal(lateEnded, true);
  assert.equal(disposedAfterLate, true);
  assert.equal(report.tasks.total, 2);
  // After close, spawn still works and the task starts cancelled.
  const after = rt.spawn((ctx) => ctx.token.isCancelled);
  assert.equal(await after, true);
});

void test("waits in tasks reject with CancelledError whose reason is the shutdown's", async () => {
  const rt = new Runtime();
  const why = new Error("deploy");
  const h = rt.spawn(() => sleep(60_000));
  await sleep(1);
  const report = await rt.shutdown({ reason: why });
  assert.equal(report.reason, why);
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  assert.ok(!r.ok && r.error.cause instanceof CancelledError && r.error.cause.reason === why);
  assert.ok(rt.token.isCancelled);
});

void test("in a cancelled task a wait rejects with CancelledError even if its resource was closed meanwhile", async () => {
  class Closed extends Error {}
  let closed = false;
  const q = new WaitQueue<number>(
    {
      ready: () => closed,
      take: () => {
        throw new Closed("resource closed");
      },
    },
    "recv on test-resource",
  );
  const rt = new Runtime();
  rt.defer(() => {
    closed = true;
    q.failAll(new Closed("resource closed"));
  }, "test-resource");
  const errors: unknown[] = [];
  const gate = deferred();
  const h = rt.spawn(async () => {
    try {
      await q.wait(undefined);
    } catch (e) {
      errors.push(e);
    }
    // Still running (shielded) while the runtime would like to close things...
    await shield(() => gate.promise);
    // ...and once the resource is closed too, a wait in this cancelled task is cancelled first.
    try {
      await q.wait(undefined);
    } catch (e) {
      errors.push(e);
    }
  });
  await sleep(1);
  assert.equal(rt.dump().tasks[0]!.waitingOn, "recv on test-resource");
  const shutdown = rt.shutdown();
  await sleep(5);
  // Simulate a resource closed by someone else while the task is still cancelled and running.
  closed = true;
  gate.resolve();
  await h.result();
  await shutdown;
  assert.equal(errors.length, 2);
  assert.ok(errors[0] instanceof CancelledError, `first wait: ${String(errors[0])}`);
  assert.ok(errors[1] instanceof CancelledError, `wait on the closed resource: ${String(errors[1])}`);
});

void test("the same holds for a channel: a cancelled task's recv on a closed channel is CancelledError, not undefined", async () => {
  const rt = new Runtime();
  const [tx, rx] = unboundedChannel<number>();
  rt.defer(rx, "rx");
  const seen: unknown[] = [];
  const gate = deferred();
  const h = rt.spawn(async () => {
    try {
      await rx.recv();
    } catch (e) {
      seen.push(e);
    }
    await shield(() => gate.promise);
    try {
      seen.push(await rx.recv()); // every sender is closed now: outside a task this is undefined
    } catch (e) {
      seen.push(e);
    }
  });
  await sleep(1);
  const shutdown = rt.shutdown();
  tx.close();
  assert.equal(await rx.recv(), undefined, "outside the task, the closed channel says undefined");
  gate.resolve();
  await h.result();
  await shutdown;
  assert.equal(seen.length, 2);
  assert.ok(seen.every((e) => e instanceof CancelledError));
});

void test("task outcomes are counted over the runtime's life", async () => {
  const rt = new Runtime({ onTaskPanic: () => {} });
  await rt.spawn(() => 1);
  await rt.spawn(async () => 2);
  await rt.spawn(() => {
    throw new Error("boom");
  }).result();
  rt.spawn(() => sleep(60_000));
  rt.spawn(async () => {
    await sleep(60_000);
  });
  await sleep(1);
  const report = await rt.shutdown();
  assert.deepEqual({ ...report.tasks, stuck: report.tasks.stuck.length }, { total: 5, completed: 2, cancelled: 2, panicked: 1, stuck: 0 });
});

void test('unhandledPanic: "shutdown" turns an unobserved panic into a shutdown', async () => {
  const panics: JoinError[] = [];
  let disposed = false;
  const rt = new Runtime({ unhandledPanic: "shutdown", onTaskPanic: (e) => panics.push(e) });
  rt.defer(() => void (disposed = true));
  const other = rt.spawn(() => sleep(60_000), { name: "other" });
  rt.spawn(
    async () => {
      await sleep(1);
      throw new Error("unobserved");
    },
    { name: "crasher" },
  );
  const r = await other.result();
  assert.ok(!r.ok && r.error.isCancelled());
  const report = await rt.shutdown();
  assert.equal(panics.length, 1);
  assert.ok(report.reason instanceof JoinError && report.reason.isPanic());
  assert.equal(report.reason, panics[0]);
  assert.equal(disposed, true);
  assert.equal(rt.state, "closed");
});

void test('unhandledPanic "log" (default) and observed panics do not shut down', async () => {
  const rt = new Runtime({ unhandledPanic: "shutdown", onTaskPanic: () => {} });
  const observed = rt.spawn(() => {
    throw new Error("seen");
  });
  await observed.result();
  await tick(5);
  assert.equal(rt.state, "running");
  const logOnly = new Runtime({ onTaskPanic: () => {} });
  logOnly.spawn(() => {
    throw new Error("unseen");
  });
  await tick(5);
  assert.equal(logOnly.state, "running");
  await rt.shutdown();
  await logOnly.shutdown();
});

void test("dump() lists every live task and deferred resource", async () => {
  const rt = new Runtime({ name: "dumped" });
  rt.defer(() => {}, "cache");
  rt.defer({ async [Symbol.asyncDispose]() {} }, "db");
  const a = rt.spawn(() => sleep(60_000), { name: "sleeper" });
  const b = rt.spawn(async () => {
    for (;;) await sleep(10);
  });
  await sleep(1);
  const d = rt.dump();
  assert.deepEqual(
    d.tasks.map((t) => [t.id, t.name, t.state, t.waitingOn]),
    [
      [a.id, "sleeper", "waiting", "sleep 60000 ms"],
      [b.id, undefined, "waiting", "sleep 10 ms"],
    ],
  );
  assert.match(d.tasks[0]!.spawnedAt, /shutdown\.test/);
  assert.equal(d.tasks[1]!.spawnedAt, "unknown"); // unnamed tasks do not capture their site by default
  assert.deepEqual(d.resources, [
    { name: "cache", kind: "function" },
    { name: "db", kind: "asyncDisposable" },
  ]);
  assert.doesNotThrow(() => JSON.stringify(d));
  await rt.shutdown();
});

void test("shutdown from inside one of the runtime's own tasks does not wait for that task", async () => {
  const rt = new Runtime();
  let disposed = false;
  rt.defer(() => void (disposed = true));
  rt.spawn(() => sleep(60_000));
  const main = rt.spawn(async () => {
    await sleep(1);
    const report = await rt.shutdown({ timeoutMs: 5000 });
    return { report, disposed };
  });
  const t0 = performance.now();
  const { report, disposed: seen } = await main;
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(report.clean, true);
  assert.equal(seen, true);
});

void test("stop participants run in the stop phase, collect waits for them, the deadline forces them", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  rt.defer(() => void log.push(`drop (${rt.state})`));
  rt.onStop({
    name: "drainer",
    async stop(force) {
      log.push(`stop: root cancelled=${rt.token.isCancelled}, task=${currentTask() === undefined ? "none" : "some"}`);
      await sleep(20, { signal: force });
      log.push(`drained (${rt.state})`);
    },
  });
  const removed = rt.onStop({ name: "removed", stop: () => void log.push("never") });
  removed[Symbol.dispose]();
  const report = await rt.shutdown();
  assert.deepEqual(log, ["stop: root cancelled=true, task=none", "drained (collecting)", "drop (dropping)"]);
  assert.equal(report.clean, true);

  const rt2 = new Runtime();
  let forcedAt = 0;
  rt2.onStop({
    name: "slow",
    stop: (force) =>
      new Promise<void>((resolve) =>
        force.addEventListener("abort", () => {
          forcedAt = performance.now();
          resolve();
        }),
      ),
  });
  rt2.onStop({ name: "deaf", stop: () => new Promise(() => {}) });
  rt2.onStop({
    name: "failing",
    stop: () => Promise.reject(new Error("drain failed")),
  });
  const t0 = performance.now();
  const r2 = await rt2.shutdown({ timeoutMs: 50 });
  const elapsed = performance.now() - t0;
  assert.ok(forcedAt - t0 >= 45, "forced at the deadline");
  assert.ok(elapsed < 50 + 100 + 1000, `took ${elapsed} ms`);
  assert.equal(r2.clean, false);
  assert.deepEqual(r2.disposeErrors.map((e) => e.name).sort(), ["stop: deaf", "stop: failing"]);
  assert.ok(r2.disposeErrors.every((e) => e.error instanceof Error));
  assert.throws(() => rt2.onStop({ name: "late", stop: () => {} }), ShutdownError);
});

void test("collect wakes as soon as the last task ends, without waiting for the deadline", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 30_000 });
  for (let i = 0; i < 1000; i++) rt.spawn(() => sleep(60_000));
  rt.spawn(async () => {
    try {
      await sleep(60_000);
    } catch {
      await shield(() => sleep(30));
    }
  });
  await sleep(2);
  const t0 = performance.now();
  const report = await rt.shutdown();
  const elapsed = performance.now() - t0;
  assert.equal(report.tasks.cancelled, 1000);
  assert.equal(report.tasks.completed, 1);
  assert.ok(elapsed >= 25 && elapsed < 5000, `took ${elapsed} ms`);
});

void test("enter() makes spawn() and currentRuntime() use the runtime", async () => {
  const rt = new Runtime({ name: "entered" });
  const h = rt.enter(() => spawn(() => currentRuntime()));
  assert.equal(await h, rt);
  assert.equal(rt.enter(() => currentRuntime()), rt);
  await rt.shutdown();
});

void test("options are validated and stored", () => {
  assert.throws(() => new Runtime({ shutdownTimeoutMs: -1 }), { name: "RangeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ shutdownTimeoutMs: Infinity }), { name: "RangeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ shutdownTimeoutMs: "5" as never }), { name: "TypeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ unhandledPanic: "crash" as never }), { name: "TypeError", message: /opts\.unhandledPanic/ });
  assert.throws(() => new Runtime({ onTaskPanic: 1 as never }), { name: "TypeError", message: /opts\.onTaskPanic/ });
  assert.throws(() => new Runtime({ supervisor: "yes" as never }), { name: "TypeError", message: /opts\.supervisor/ });
  assert.throws(() => new Runtime({ console: 3 as never }), { name: "TypeError", message: /opts\.console/ });
  assert.throws(() => new Runtime(null as never), { name: "TypeError", message: /opts/ });
  const rt = new Runtime({ supervisor: { thresholdMs: 50 }, console: true, unhandledPanic: "log" });
  assert.deepEqual(rt.options.supervisor, { thresholdMs: 50 });
  assert.equal(rt.options.console, true);
});

void test("bad input to defer and shutdown names the argument", async () => {
  const rt = new Runtime();
  assert.throws(() => rt.defer(42 as never), { name: "TypeError", message: /resource must be an AsyncDisposable, a Disposable or a function, got number 42/ });
  assert.throws(() => rt.defer({} as never), { name: "TypeError", message: /resource/ });
  assert.throws(() => rt.defer(null as never), { name: "TypeError", message: /resource/ });
  assert.throws(() => rt.defer(() => {}, 5 as never), { name: "TypeError", message: /name must be a string/ });
  assert.throws(() => rt.shutdown({ timeoutMs: -5 }), { name: "RangeError", message: /opts\.timeoutMs/ });
  assert.throws(() => rt.shutdown({ timeoutMs: NaN }), { name: "RangeError", message: /opts\.timeoutMs/ });
  assert.throws(() => rt.shutdown(7 as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => rt.onStop({ name: "x" } as never), { name: "TypeError", message: /participant\.stop/ });
  assert.equal(rt.state, "running");
  await rt.shutdown();
  assert.throws(() => rt.defer(() => {}), ShutdownError);
});
