/**
 * The shared snapshot (server/snapshot-cache.ts, model/snapshot.ts snapshotSteps): built in
 * slices that give the loop back, its JSON is exactly the snapshot's, one build serves every
 * reader that asks while it runs, and it is reused until the model's version moves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { consoleOf } from "../../src/console/index.js";
import { snapshotSteps } from "../../src/console/model/snapshot.js";
import { SnapshotCache, type SharedSnapshot } from "../../src/console/server/snapshot-cache.js";
import { Runtime, sleep } from "../../src/index.js";
import { tick } from "./helpers.js";

void test("a sliced build yields between chunks of tasks and its JSON is JSON.stringify of the snapshot", async () => {
  const rt = new Runtime({ name: "sliced", console: { server: false, metrics: false, maxTasks: 5000 } });
  const c = consoleOf(rt)!;
  const hs = Array.from({ length: 300 }, (_, i) => rt.spawn(() => sleep(60_000), { name: `t${i}` }));
  await tick(10);
  try {
    // sliceMs 0: every chunk is a step of its own.
    const steps = snapshotSteps([c], c.collector, 0, true);
    let yields = 0;
    let r = steps.next();
    while (r.done !== true) {
      yields++;
      // Between steps the app runs: a task ends, and the snapshot still holds together.
      if (yields === 2) hs[299]!.abort();
      await new Promise((resolve) => setImmediate(resolve));
      r = steps.next();
    }
    assert.ok(yields >= 300 / 32, `${yields} steps for 300 tasks`);
    const { snap, json } = r.value;
    assert.equal(json, JSON.stringify(snap));
    assert.equal(snap.tasks.length, 300);
    assert.deepEqual(
      snap.tasks.map((t) => t.id),
      hs.map((h) => h.id),
      "tasks in id order",
    );
    assert.ok(snap.tasks.every((t) => t.totalMs >= 0 && t.stateMs >= 0));
    const one = JSON.parse(json!) as typeof snap;
    assert.equal(one.tasks[5]!.name, "t5");
  } finally {
    for (const h of hs) h.abort();
    await rt.shutdown();
  }
});

void test("one build serves every reader asking while it runs; reused until the model changes", async () => {
  const rt = new Runtime({ name: "shared", console: { server: false, metrics: false } });
  const c = consoleOf(rt)!;
  const hs = Array.from({ length: 50 }, () => rt.spawn(() => sleep(60_000)));
  await tick(10);
  const cache = new SnapshotCache(() => [c], c.collector);
  try {
    const a = cache.get();
    const b = cache.get();
    const [ea, eb] = await Promise.all([a, b]);
    assert.equal(ea, eb, "the same build");
    // One build, and one more once the await sites of the sleeps it queued were probed.
    assert.ok(cache.builds <= 2, `${cache.builds} builds`);
    assert.equal(ea.body.toString(), JSON.stringify(ea.snap));
    // Nothing happened to the tasks: the same snapshot, even after the short reuse window.
    await tick(60);
    const v = c.collector.version;
    const again = await cache.get();
    if (c.collector.version === v) assert.equal(again, ea);
    // A new task moves the version: once the reuse window passed, a new build shows it.
    const late = rt.spawn(() => sleep(60_000), { name: "late" });
    await tick(ea.reuseMs + 5);
    const fresh: SharedSnapshot = await cache.get();
    assert.notEqual(fresh, ea);
    assert.ok(fresh.snap.tasks.some((t) => t.id === late.id));
    // Invalidated: the next reader builds.
    cache.invalidate();
    assert.equal(cache.peek(), undefined);
    assert.notEqual(await cache.get(), fresh);
    late.abort();
  } finally {
    for (const h of hs) h.abort();
    await rt.shutdown();
  }
});
