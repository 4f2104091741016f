import { test } from "node:test";
import assert from "node:assert/strict";
import { WaitQueue } from "../../src/core/waiter.js";
import { isIdleWait } from "../../src/runtime/runtime.js";
import { formatReport } from "../../src/runtime/format.js";
import {
  broadcast,
  CancellationToken,
  CancelledError,
  channel,
  JoinError,
  JoinSet,
  Mutex,
  Notify,
  oneshot,
  Runtime,
  ShutdownError,
  TaskTracker,
  currentRuntime,
  currentTask,
  shield,
  sleep,
  spawn,
  unboundedChannel,
  watch,
  type RuntimeState,
} from "../../src/index.js";

import { deferred, tick } from "../helpers/timing.js";

void test("the announcement cancels nothing but `stopping`: tasks finish their work with every steward wait working, then drop runs", async () => {
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
  const m = new Mutex();
  const [tx, rx] = unboundedChannel<number>();
  for (let i = 0; i < 50; i++) {
    running++;
    rt.spawn(async (ctx) => {
      try {
        assert.equal(ctx.stopping, rt.stopping);
        await ctx.stopping.cancelled();
        // Cleanup after the announcement: sleeps, locks and channels all still work (round 1 threw here).
        await sleep(2 + (i % 10) * 3);
        using _g = await m.lock();
        await tx.send(i);
        events.push(`task ${i} cleaned up in ${rt.state}, token cancelled: ${ctx.token.isCancelled}`);
      } finally {
        running--;
      }
    });
  }
  await sleep(5);
  assert.equal(rt.state, "running");
  const p = rt.shutdown();
  assert.equal(rt.state, "draining", "no pre-stop delay: the drain begins at once");
  assert.equal(rt.stopping.isCancelled, true);
  assert.equal(rt.token.isCancelled, false);
  const report = await p;
  assert.equal(rt.state, "closed");
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.deepEqual(report.lost, []);
  assert.equal(report.tasks.total, 50);
  assert.equal(report.tasks.completed, 50, "every task finished; none was cancelled");
  assert.equal(report.drain.endedBy, "done");
  const firstDispose = events.findIndex((e) => e.startsWith("dispose"));
  assert.equal(firstDispose, 50, "every task cleaned up before the first disposal");
  assert.ok(
    events.slice(0, 50).every((e) => e.endsWith("in draining, token cancelled: false")),
    events[0],
  );
  assert.deepEqual(events.slice(50), ["dispose queue (dropping, 0 running)", "dispose db (dropping, 0 running)"]);
  tx.close();
  assert.equal((await rx.recvMany(100)).length, 50);
});

void test("the state moves through every phase once, in order, and shutdown is idempotent", async () => {
  const rt = new Runtime();
  const seen: RuntimeState[] = [rt.state];
  rt.stopping.onCancel(() => seen.push(rt.state));
  rt.onStop({ name: "p", announce: () => void seen.push(rt.state), stop: () => void seen.push(rt.state) });
  rt.token.onCancel(() => seen.push(rt.state));
  rt.spawn(async () => {
    try {
      await sleep(60_000);
    } finally {
      seen.push(rt.state);
    }
  });
  rt.defer(() => void seen.push(rt.state));
  await sleep(1);
  const a = rt.shutdown({ timeoutMs: 400 });
  const b = rt.shutdown({ timeoutMs: 5 });
  assert.equal(a, b);
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(ra, rb);
  assert.equal(await rt.shutdown(), ra);
  seen.push(rt.state);
  assert.deepEqual(seen, ["running", "stopping", "stopping", "draining", "cancelling", "collecting", "dropping", "closed"]);
  assert.ok(ra.reason instanceof ShutdownError);
  assert.equal(rt.stopping.reason, ra.reason);
});

void test("a worker drains its channel through the shutdown once its producer closes (50 of 50 processed; round 1: 3)", async () => {
  const rt = new Runtime({ name: "pipeline" });
  let processed = 0;
  const done = rt.enter(() => {
    const [tx, rx] = channel<number>(64);
    spawn(
      async () => {
        for await (const _job of rx) {
          await sleep(1); // the job's I/O
          processed++;
        }
      },
      { name: "worker" },
    );
    return spawn(
      async (ctx) => {
        for (let i = 0; i < 50; i++) await tx.send(i);
        await ctx.stopping.cancelled();
        tx.close();
      },
      { name: "main" },
    );
  });
  await sleep(2);
  const report = await rt.shutdown();
  assert.equal(processed, 50);
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.equal(report.tasks.completed, 2);
  assert.equal(report.drain.endedBy, "done");
  assert.equal((await done.result()).ok, true);
});

void test("the drain ends as soon as every task left is parked idle (an open channel's receiver, a cancellation wait); they are cancelled, not lost", async () => {
  const rt = new Runtime({ name: "idle", shutdownTimeoutMs: 30_000 });
  let jobs = 0;
  const [tx, rx] = rt.enter(() => channel<number>(8));
  rt.spawn(
    async () => {
      for await (const _ of rx) {
        await sleep(5);
        jobs++;
      }
    },
    { name: "worker" },
  );
  rt.spawn((ctx) => ctx.token.cancelled(), { name: "old-style main" });
  const watcher = rt.spawn(async () => {
    const [, w] = watch(0);
    await w.changed();
  });
  for (let i = 0; i < 5; i++) await tx.send(i); // tx stays open: the worker never sees the end
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  assert.equal(jobs, 5, "the queued jobs were processed before the worker counted as idle");
  assert.ok(ms < 2000, `the drain waited ${ms} ms for idle tasks`);
  assert.equal(report.drain.endedBy, "idle");
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.deepEqual(report.lost, []);
  assert.equal(report.tasks.cancelled, 2); // the worker and the watcher
  assert.equal(report.tasks.completed, 1); // cancelled() resolves when its own token is cancelled
  assert.ok((await watcher.result()).ok === false);
});

void test("a heartbeat that ignores the announcement holds the drain to its deadline: named in the report, its cut counted as lost", async () => {
  const rt = new Runtime({ name: "beats", shutdownTimeoutMs: 400, collectTimeoutMs: 100 });
  let beats = 0;
  const h = rt.spawn(
    async () => {
      for (;;) {
        await sleep(20);
        beats++;
      }
    },
    { name: "heartbeat" },
  );
  await sleep(30);
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  assert.ok(ms >= 280, `the drain deadline (300 ms) was not waited for: ${ms} ms`);
  assert.ok(beats > 5);
  assert.equal(report.drain.endedBy, "deadline");
  assert.equal(report.drain.heldBy.length, 1);
  assert.equal(report.drain.heldBy[0]!.name, "heartbeat");
  assert.equal(report.drain.heldBy[0]!.waitingOn, "sleep 20 ms");
  assert.equal(report.clean, false);
  assert.equal(report.lost.length, 1);
  assert.equal(report.lost[0]!.kind, "tasks");
  assert.equal(report.lost[0]!.ids![0], h.id);
  assert.match(report.lost[0]!.what, /1 task\(s\) 'heartbeat' cut mid-work while waiting on sleep 20 ms, spawned at .*shutdown\.test\.(ts|js):\d+/);
  const text = formatReport(report, "test");
  assert.match(text, /held the drain to its deadline: task \d+ 'heartbeat' waiting on sleep 20 ms/);
});

void test("cancelOnStop: such a task is cancelled at the announcement, does not hold the drain, and is not lost", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 20_000 });
  const h = rt.spawn(
    async () => {
      for (;;) await sleep(20);
    },
    { name: "heartbeat", cancelOnStop: true },
  );
  await sleep(30);
  const t0 = performance.now();
  const report = await rt.shutdown();
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.equal(report.drain.endedBy, "done");
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled());
  // Spawned after the announcement, it starts cancelled.
  const late = rt.spawn((ctx) => ctx.token.isCancelled, { cancelOnStop: true });
  assert.equal(await late, true);
  assert.throws(() => rt.spawn(() => 1, { cancelOnStop: "yes" as never }), { name: "TypeError", message: /opts\.cancelOnStop must be a boolean/ });
});

void test("at the drain deadline, tasks at work are cut and grouped by spawn site (200 tasks: one item ×200); idle ones and those that finish anyway are not lost", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 1300, collectTimeoutMs: 1000 });
  const [tx, rx] = rt.enter(() => unboundedChannel<number>());
  rt.enter(() => {
    for (let i = 0; i < 200; i++) spawn(() => sleep(60_000), { name: `GET /slow #${i}` });
  });
  rt.spawn(() => rx.recv(), { name: "idle receiver" });
  const release = new AbortController();
  const stubborn = rt.spawn(() => shield(() => sleep(5000, { signal: release.signal })), { name: "stubborn" }); // stuck
  const finisher = rt.spawn(
    async () => {
      try {
        await sleep(60_000);
      } catch {
        await shield(() => sleep(5));
      }
      return "finished anyway";
    },
    { name: "finisher" },
  );
  await sleep(10);
  const report = await rt.shutdown();
  const tasksLost = report.lost.filter((l) => l.kind === "tasks");
  assert.equal(tasksLost.length, 1, JSON.stringify(report.lost, null, 1));
  assert.equal(tasksLost[0]!.count, 200);
  assert.equal(tasksLost[0]!.ids!.length, 10);
  assert.match(tasksLost[0]!.what, /^200 task\(s\) \(e\.g\. 'GET \/slow #\d+'\) cut mid-work while waiting on sleep 60000 ms/);
  assert.equal((await finisher.result()).ok, true, "a task that returns a value after the cancel keeps it, and is not lost");
  assert.deepEqual(
    report.tasks.stuck.map((t) => t.name),
    ["stubborn"],
  );
  assert.equal(
    report.drain.heldBy.reduce((n, g) => n + g.count, 0),
    202,
  );
  const text = formatReport(report, "test");
  assert.match(text, /held the drain to its deadline: ×200 tasks \(e\.g\. \d+ 'GET \/slow #\d+'\) waiting on sleep 60000 ms/);
  assert.equal(text.split("\n").filter((l) => l.includes("GET /slow")).length, 2, "one line held the drain, one line lost");
  assert.match(text, /stuck: task \d+ 'stubborn' waiting on sleep 5000 ms/);
  tx.close();
  release.abort();
  await stubborn.result();
});

void test("messages left in a channel of the runtime when its tasks ended are lost, per channel, with the count and where it was made", async () => {
  const rt = new Runtime({ name: "left", shutdownTimeoutMs: 200, collectTimeoutMs: 50 });
  let chanName = "";
  rt.spawn(
    async () => {
      const [tx, rx] = channel<number>(100);
      chanName = `channel#${(tx as unknown as { c: { id: number } }).c.id}`;
      for (let i = 0; i < 20; i++) await tx.send(i);
      spawn(
        async () => {
          for await (const _ of rx) await sleep(60_000); // stuck on its first job: 19 stay buffered
        },
        { name: "slow worker" },
      );
      await sleep(60_000);
    },
    { name: "main" },
  );
  await sleep(10);
  const report = await rt.shutdown();
  const messages = report.lost.find((l) => l.kind === "messages");
  assert.ok(messages !== undefined, JSON.stringify(report.lost));
  assert.equal(messages.count, 19);
  assert.equal(messages.channel, chanName);
  assert.equal(messages.createdIn, "task 'main'");
  assert.equal(messages.what, `19 message(s) left in ${chanName} (created in task 'main')`);
  assert.equal(
    report.lost.filter((l) => l.kind === "tasks").reduce((n, l) => n + l.count, 0),
    2,
  );
  assert.equal(report.clean, false);
});

void test("the shutdown budget holds past 2^31-1 ms: nothing ends early (round 1: collect ended at once and the drop ran under a live task)", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 2 ** 31 });
  let taskEnded = false;
  let droppedWhileRunning: boolean | undefined;
  rt.defer(() => void (droppedWhileRunning = !taskEnded), "db");
  rt.spawn(async (ctx) => {
    await ctx.stopping.cancelled();
    await sleep(80);
    taskEnded = true;
  });
  const report = await rt.shutdown();
  assert.equal(droppedWhileRunning, false);
  assert.equal(report.clean, true, formatReport(report, "test"));
  assert.deepEqual(report.tasks.stuck, []);
  const inf = new Runtime({ shutdownTimeoutMs: Infinity });
  inf.spawn(async (ctx) => {
    await ctx.stopping.cancelled();
    await sleep(30);
  });
  assert.equal((await inf.shutdown()).clean, true);
  assert.equal((await new Runtime().shutdown({ timeoutMs: 2 ** 40 })).clean, true);
});

void test("a short budget: the drain and collect deadlines fit in it, a stuck task is named with its spawn site and what it waits on", async () => {
  const rt = new Runtime({ name: "deadline", shutdownTimeoutMs: 60_000 });
  const release = new AbortController();
  const stuck = rt.spawn(() => shield(() => sleep(5000, { signal: release.signal })), { name: "stubborn" });
  rt.spawn(() => sleep(60_000), { name: "polite" });
  let disposedAt = 0;
  rt.defer(() => void (disposedAt = performance.now()), "late");
  await sleep(10);
  const t0 = performance.now();
  const report = await rt.shutdown({ timeoutMs: 200 });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 190, `returned after ${elapsed} ms, before the deadline`);
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  assert.ok(disposedAt - t0 >= 190, "drop ran only after the deadline");
  assert.ok(report.phases.drainMs >= 140, `drain ${report.phases.drainMs} ms: 3/4 of the budget`);
  assert.ok(report.phases.collectMs < report.phases.drainMs, "collect gets the last quarter");
  assert.equal(report.clean, false);
  assert.equal(report.tasks.stuck.length, 1);
  const s = report.tasks.stuck[0]!;
  assert.equal(s.id, stuck.id);
  assert.equal(s.name, "stubborn");
  assert.equal(s.waitingOn, "sleep 5000 ms");
  assert.equal(s.state, "waiting");
  assert.match(s.spawnedAt, /shutdown\.test\.(ts|js):\d+:\d+/);
  assert.ok(s.ageMs >= 190 && s.ageMs < 10_000, `ageMs ${s.ageMs}`);
  assert.equal(report.tasks.cancelled, 1);
  assert.ok(report.durationMs >= 190);
  release.abort();
  await stuck.result();
});

void test("a disposer that never settles is recorded after its own deadline and the ones deferred before it still run; a throwing one too", async () => {
  const rt = new Runtime({ disposeTimeoutMs: 100 });
  const ran: string[] = [];
  rt.defer(() => void ran.push("first"), "first");
  rt.defer(() => {
    throw new Error("close failed");
  }, "broken");
  rt.defer(() => new Promise(() => {}), "hangs");
  rt.defer({
    async [Symbol.asyncDispose]() {
      ran.push("async");
      throw new TypeError("async close failed");
    },
  });
  rt.defer(async () => {
    await sleep(1);
    ran.push("last");
  });
  const t0 = performance.now();
  const report = await rt.shutdown();
  const ms = performance.now() - t0;
  assert.ok(ms >= 95 && ms < 3000, `took ${ms} ms`);
  assert.deepEqual(ran, ["last", "async", "first"]);
  assert.equal(report.clean, false);
  assert.deepEqual(
    report.disposeErrors.map((e) => [e.name, (e.error as Error).name, (e.error as Error).message]),
    [
      ["resource#4", "TypeError", "async close failed"],
      ["hangs", "ShutdownError", "disposer 'hangs' did not settle within 100 ms"],
      ["broken", "Error", "close failed"],
    ],
  );
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

void test("throwing onCancel callbacks and onTaskPanic never crash the process: each is recorded in the report, the others still run", async () => {
  const errors: unknown[] = [];
  const onUncaught = (e: unknown): void => void errors.push(e);
  process.on("uncaughtException", onUncaught);
  try {
    const rt = new Runtime({
      onTaskPanic: () => {
        throw new Error("the panic hook itself failed");
      },
    });
    let otherRan = false;
    rt.stopping.onCancel(() => {
      throw new Error("announce listener failed");
    });
    rt.stopping.onCancel(() => void (otherRan = true));
    rt.spawn(() => {
      throw new Error("panic");
    });
    rt.spawn(async (ctx) => {
      ctx.token.onCancel(() => {
        throw new Error("task cancel listener failed");
      });
      await ctx.token.cancelled();
    });
    await sleep(10);
    const report = await rt.shutdown();
    await sleep(10);
    assert.equal(otherRan, true);
    assert.deepEqual(report.disposeErrors.map((e) => [e.name, (e.error as Error).message]).sort(), [
      ["onCancel", "announce listener failed"],
      ["onCancel", "task cancel listener failed"],
      ["onTaskPanic", "the panic hook itself failed"],
    ]);
    assert.equal(report.clean, false);
    // Outside any shutdown: one line on stderr, the next listener still runs.
    const token = new CancellationToken();
    let next = false;
    token.onCancel(() => {
      throw new Error("standalone");
    });
    token.onCancel(() => void (next = true));
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as typeof process.stderr.write;
    try {
      token.cancel();
    } finally {
      process.stderr.write = orig;
    }
    await sleep(5);
    assert.equal(next, true);
    assert.match(writes.join(""), /^steward: an onCancel callback threw: Error: standalone\n$/);
    assert.deepEqual(errors, [], "nothing reached uncaughtException");
  } finally {
    process.removeListener("uncaughtException", onUncaught);
  }
});

void test("stop participants: announced at the announcement, stopped after the pre-stop delay, waited for by the drain, forced at the collect deadline", async () => {
  const rt = new Runtime({ preStopDelayMs: 50 });
  const log: string[] = [];
  const t0 = performance.now();
  rt.defer(() => void log.push(`drop (${rt.state})`));
  let drainEnd: AbortSignal | undefined;
  rt.onStop({
    name: "drainer",
    preStopDelayMs: 120, // the longest pre-stop delay wins
    announce(info) {
      log.push(`announce (${rt.state}) task=${currentTask() === undefined ? "none" : "some"}`);
      drainEnd = info.drainEnd;
      assert.ok(info.reason instanceof ShutdownError);
    },
    async stop(force, info) {
      const at = performance.now() - t0;
      log.push(`stop (${rt.state}) after the pre-stop delay: ${at >= 110}; root cancelled=${rt.token.isCancelled}`);
      assert.equal(info.drainEnd.aborted, false);
      await sleep(20, { signal: force });
      log.push(`drained (${rt.state})`);
      return { lost: [{ kind: "jobs", count: 2, what: "2 job(s) nacked" }] };
    },
  });
  const removed = rt.onStop({ name: "removed", stop: () => void log.push("never") });
  removed[Symbol.dispose]();
  const report = await rt.shutdown();
  assert.deepEqual(log, ["announce (stopping) task=none", "stop (draining) after the pre-stop delay: true; root cancelled=false", "drained (draining)", "drop (dropping)"]);
  assert.equal(drainEnd?.aborted, true);
  assert.ok(report.phases.announceMs >= 110, `announce ${report.phases.announceMs} ms`);
  assert.deepEqual(report.lost, [{ kind: "jobs", count: 2, what: "2 job(s) nacked", participant: "drainer" }]);
  assert.equal(report.clean, false);

  const rt2 = new Runtime({ shutdownTimeoutMs: 200, collectTimeoutMs: 50 });
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
  rt2.onStop({ name: "failing", stop: () => Promise.reject(new Error("drain failed")) });
  rt2.onStop({
    name: "throws",
    announce() {
      throw new Error("announce failed");
    },
    stop() {
      throw new Error("stop failed");
    },
  });
  const t1 = performance.now();
  const r2 = await rt2.shutdown();
  const elapsed = performance.now() - t1;
  assert.ok(forcedAt - t1 >= 190, `forced at the collect deadline, not before (${forcedAt - t1} ms)`);
  assert.ok(elapsed < 200 + 100 + 1000, `took ${elapsed} ms`);
  assert.equal(r2.clean, false);
  assert.deepEqual(r2.disposeErrors.map((e) => e.name).sort(), ["stop: deaf", "stop: failing", "stop: throws", "stop: throws"]);
  assert.throws(() => rt2.onStop({ name: "late", stop: () => {} }), ShutdownError);
});

void test("cancelling `stopping` by hand starts the shutdown; shutdown from inside a task does not wait for that task", async () => {
  const rt = new Runtime();
  let disposed = false;
  rt.defer(() => void (disposed = true));
  rt.stopping.cancel("by hand");
  assert.equal(rt.state, "draining");
  const report = await rt.shutdown();
  assert.equal(report.reason, "by hand");
  assert.equal(disposed, true);

  const rt2 = new Runtime();
  let disposed2 = false;
  rt2.defer(() => void (disposed2 = true));
  rt2.spawn(() => sleep(60_000), { cancelOnStop: true });
  const main = rt2.spawn(async () => {
    await sleep(1);
    const r = await rt2.shutdown({ timeoutMs: 5000 });
    return { r, disposed: disposed2 };
  });
  const t0 = performance.now();
  const { r, disposed: seen } = await main;
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(r.clean, true);
  assert.equal(seen, true);
});

void test("a task that cancels `stopping` by hand is drained like any other: nothing is dropped under it", async () => {
  const rt = new Runtime();
  let ended = false;
  let droppedBeforeItEnded: boolean | undefined;
  rt.defer(() => void (droppedBeforeItEnded = !ended));
  rt.spawn(async (ctx) => {
    ctx.stopping.cancel("from a task");
    await sleep(50);
    ended = true;
  });
  await sleep(5);
  const report = await rt.shutdown();
  assert.equal(report.reason, "from a task");
  assert.equal(droppedBeforeItEnded, false);
  assert.equal(report.tasks.completed, 1);
});

void test("tasks spawned after the cancel start cancelled, and collect waits for them too", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 300 });
  let lateCancelled: boolean | undefined;
  let lateError: unknown;
  let lateEnded = false;
  let disposedAfterLate: boolean | undefined;
  rt.defer(() => void (disposedAfterLate = lateEnded));
  rt.spawn(async () => {
    try {
      await sleep(60_000);
    } catch {
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
  const after = rt.spawn((ctx) => ctx.token.isCancelled);
  assert.equal(await after, true);
});

void test("waits in tasks cut by the cancel reject with CancelledError whose reason is the shutdown's", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 100 });
  const why = new Error("deploy");
  const h = rt.spawn(() => sleep(60_000));
  await sleep(1);
  const report = await rt.shutdown({ reason: why });
  assert.equal(report.reason, why);
  assert.equal(rt.stopping.reason, why);
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
  const rt = new Runtime({ shutdownTimeoutMs: 400 });
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
    await shield(() => gate.promise);
    try {
      await q.wait(undefined);
    } catch (e) {
      errors.push(e);
    }
  });
  await sleep(1);
  assert.equal(rt.dump().tasks[0]!.waitingOn, "recv on test-resource");
  const shutdown = rt.shutdown();
  while (rt.state !== "collecting") await sleep(5);
  closed = true;
  gate.resolve();
  await h.result();
  await shutdown;
  assert.equal(errors.length, 2);
  assert.ok(errors[0] instanceof CancelledError, `first wait: ${String(errors[0])}`);
  assert.ok(errors[1] instanceof CancelledError, `wait on the closed resource: ${String(errors[1])}`);
});

void test("task outcomes are counted over the runtime's life", async () => {
  const rt = new Runtime({ onTaskPanic: () => {}, shutdownTimeoutMs: 100 });
  await rt.spawn(() => 1);
  await rt.spawn(async () => 2);
  await rt
    .spawn(() => {
      throw new Error("boom");
    })
    .result();
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
  const other = rt.spawn((ctx) => ctx.stopping.cancelled(), { name: "other" });
  rt.spawn(
    async () => {
      await sleep(1);
      throw new Error("unobserved");
    },
    { name: "crasher" },
  );
  const r = await other.result();
  assert.ok(r.ok);
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

void test("[Symbol.asyncDispose] shuts down (await using)", async () => {
  let disposed = false;
  let task;
  {
    await using rt = new Runtime();
    rt.defer(() => void (disposed = true));
    const [, rx] = rt.enter(() => channel<number>(1));
    task = rt.spawn(() => rx.recv());
    await sleep(1);
  }
  assert.equal(disposed, true);
  assert.equal(task.isFinished(), true);
});

void test("dump() lists every live task and deferred resource", async () => {
  const rt = new Runtime({ name: "dumped" });
  rt.defer(() => {}, "cache");
  rt.defer({ async [Symbol.asyncDispose]() {} }, "db");
  const a = rt.spawn(() => sleep(60_000), { name: "sleeper", cancelOnStop: true });
  const b = rt.spawn(
    async () => {
      for (;;) await sleep(10);
    },
    { cancelOnStop: true },
  );
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
  assert.equal(d.tasks[1]!.spawnedAt, "unknown");
  assert.deepEqual(d.resources, [
    { name: "cache", kind: "function" },
    { name: "db", kind: "asyncDisposable" },
  ]);
  assert.doesNotThrow(() => JSON.stringify(d));
  await rt.shutdown();
});

void test("collect wakes as soon as the last task ends, without waiting for a deadline", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 30_000 });
  const [, rx] = rt.enter(() => broadcast<number>(4));
  for (let i = 0; i < 1000; i++) rt.spawn(() => rx.recv());
  rt.spawn(async (ctx) => {
    await ctx.token.cancelled();
    await shield(() => sleep(30));
  });
  await sleep(2);
  const t0 = performance.now();
  const report = await rt.shutdown();
  const elapsed = performance.now() - t0;
  assert.equal(report.drain.endedBy, "idle");
  assert.equal(report.tasks.cancelled, 1000);
  assert.equal(report.tasks.completed, 1);
  assert.ok(elapsed >= 25 && elapsed < 5000, `took ${elapsed} ms`);
  assert.equal(report.clean, true);
});

void test("idle waits are told apart from work by what each wait says it waits on", async () => {
  const rt = new Runtime({ shutdownTimeoutMs: 300 });
  const kinds = new Map<string, string>();
  const full = rt.enter(() => channel<number>(1));
  full[0].trySend(1);
  const [, otherRx] = rt.enter(() => unboundedChannel<number>());
  const [, b] = broadcast<number>(2);
  const [, w] = watch(0);
  const n = new Notify();
  const m = new Mutex();
  const guard = m.tryLock()!;
  const [, one] = oneshot<number>();
  const set = new JoinSet<void>();
  const tracker = new TaskTracker();
  const token = new CancellationToken();
  const spawnKind = (kind: string, fn: () => Promise<unknown>): void => void rt.spawn(fn, { name: kind });
  rt.enter(() => {
    spawnKind("recv", () => otherRx.recv());
    spawnKind("broadcast", () => b.recv());
    spawnKind("watch", () => w.changed());
    spawnKind("notify", () => n.notified());
    spawnKind("cancelled", () => token.cancelled());
    spawnKind("joinNext", async () => {
      set.spawn(() => otherRx.recv().then(() => {}));
      await set.joinNext();
    });
    spawnKind("tracker", async () => {
      tracker.spawn(() => sleep(60_000));
      tracker.close();
      await tracker.wait();
    });
    spawnKind("sleep", () => sleep(60_000));
    spawnKind("lock", () => m.lock());
    spawnKind("send", () => full[0].send(2));
    spawnKind("oneshot", () => one.recv());
  });
  await sleep(5);
  for (const t of rt.tasks()) if (t.name !== undefined) kinds.set(t.name, `${t.waitingOn}: ${isIdleWait(t.waitingOn) ? "idle" : "work"}`);
  const idle = [...kinds]
    .filter(([, v]) => v.endsWith(": idle"))
    .map(([k]) => k)
    .sort();
  assert.deepEqual(idle, ["broadcast", "cancelled", "joinNext", "notify", "recv", "tracker", "watch"], JSON.stringify(Object.fromEntries(kinds), null, 1));
  assert.equal(isIdleWait(undefined), false);
  guard.release();
  await rt.shutdown();
});

void test("enter() makes spawn() and currentRuntime() use the runtime", async () => {
  const rt = new Runtime({ name: "entered" });
  const h = rt.enter(() => spawn(() => currentRuntime()));
  assert.equal(await h, rt);
  assert.equal(
    rt.enter(() => currentRuntime()),
    rt,
  );
  await rt.shutdown();
});

void test("options are validated and stored", () => {
  assert.throws(() => new Runtime({ shutdownTimeoutMs: -1 }), { name: "RangeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ shutdownTimeoutMs: Number.NaN }), { name: "RangeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ shutdownTimeoutMs: "5" as never }), { name: "TypeError", message: /opts\.shutdownTimeoutMs/ });
  assert.throws(() => new Runtime({ preStopDelayMs: Infinity }), { name: "RangeError", message: /opts\.preStopDelayMs must be a finite/ });
  assert.throws(() => new Runtime({ drainTimeoutMs: -2 }), { name: "RangeError", message: /opts\.drainTimeoutMs/ });
  assert.throws(() => new Runtime({ collectTimeoutMs: Number.NaN }), { name: "RangeError", message: /opts\.collectTimeoutMs/ });
  assert.throws(() => new Runtime({ disposeTimeoutMs: "1" as never }), { name: "TypeError", message: /opts\.disposeTimeoutMs/ });
  assert.throws(() => new Runtime({ unhandledPanic: "crash" as never }), { name: "TypeError", message: /opts\.unhandledPanic/ });
  assert.throws(() => new Runtime({ onTaskPanic: 1 as never }), { name: "TypeError", message: /opts\.onTaskPanic/ });
  assert.throws(() => new Runtime({ supervisor: "yes" as never }), { name: "TypeError", message: /opts\.supervisor/ });
  assert.throws(() => new Runtime({ console: 3 as never }), { name: "TypeError", message: /opts\.console/ });
  assert.throws(() => new Runtime(null as never), { name: "TypeError", message: /opts/ });
  assert.doesNotThrow(() => new Runtime({ shutdownTimeoutMs: Infinity, drainTimeoutMs: Infinity, collectTimeoutMs: 2 ** 40, disposeTimeoutMs: Infinity, preStopDelayMs: 2 ** 31 }));
  const rt = new Runtime({ supervisor: { thresholdMs: 50 }, console: true, unhandledPanic: "log" });
  assert.deepEqual(rt.options.supervisor, { thresholdMs: 50 });
  assert.equal(rt.options.console, true);
});

void test("bad input to defer, onStop and shutdown names the argument", async () => {
  const rt = new Runtime();
  assert.throws(() => rt.defer(42 as never), { name: "TypeError", message: /resource must be an AsyncDisposable, a Disposable or a function, got number 42/ });
  assert.throws(() => rt.defer({} as never), { name: "TypeError", message: /resource/ });
  assert.throws(() => rt.defer(null as never), { name: "TypeError", message: /resource/ });
  assert.throws(() => rt.defer(() => {}, 5 as never), { name: "TypeError", message: /name must be a string/ });
  assert.throws(() => rt.shutdown({ timeoutMs: -5 }), { name: "RangeError", message: /opts\.timeoutMs/ });
  assert.throws(() => rt.shutdown({ timeoutMs: Number.NaN }), { name: "RangeError", message: /opts\.timeoutMs/ });
  assert.throws(() => rt.shutdown(7 as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => rt.onStop({ name: "x" } as never), { name: "TypeError", message: /participant\.stop/ });
  assert.throws(() => rt.onStop({ name: "x", stop() {}, announce: 3 } as never), { name: "TypeError", message: /participant\.announce/ });
  assert.throws(() => rt.onStop({ name: "x", stop() {}, preStopDelayMs: -1 }), { name: "RangeError", message: /participant\.preStopDelayMs/ });
  assert.equal(rt.state, "running");
  await rt.shutdown();
  assert.throws(() => rt.defer(() => {}), ShutdownError);
});
