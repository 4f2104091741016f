/**
 * A snapshot build writes each task's JSON as it builds it (model/snapshot.ts snapshotSteps):
 * the text must stay `JSON.stringify` of the snapshot for every kind of task and after every
 * change to it (a resume, a wake, a lock handed over, its end), never the text of an earlier build.
 * (It guarded a per-task JSON cache that was measured, did not pay, and was reverted; any later
 * cache must pass it.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { consoleOf } from "../../src/console/index.js";
import { snapshotSteps } from "../../src/console/model/snapshot.js";
import type { ConsoleSnapshot } from "../../src/console/index.js";
import { Mutex, Runtime, sleep } from "../../src/index.js";
import { spin, tick } from "./helpers.js";

function build(rt: Runtime): { snap: ConsoleSnapshot; json: string } {
  const c = consoleOf(rt)!;
  const steps = snapshotSteps([c], c.collector, Infinity, true);
  let r = steps.next();
  while (r.done !== true) r = steps.next();
  return { snap: r.value.snap, json: r.value.json! };
}

void test("each task's JSON is JSON.stringify of its record, build after build, as the tasks change", async () => {
  const rt = new Runtime({ name: "json", console: { server: false, metrics: false, retainMs: 60_000, lints: { slowResumeMs: 1, idleOnNothingMs: 1 } } });
  const lock = new Mutex();
  let wake: (() => void) | undefined;
  let stop = false;
  const guard = await lock.lock();
  const waiter = rt.spawn(async () => (await lock.lock()).release(), { name: 'quote "and" \\ back\nslash' });
  const stepper = rt.spawn(async () => {
    for (let i = 0; i < 20 && !stop; i++) {
      await new Promise<void>((r) => (wake = r));
      spin(2); // a slow resume: a lint on the task
    }
  });
  let child: ReturnType<typeof rt.spawn> | undefined;
  const parent = rt.spawn(async () => {
    child = rt.spawn(() => sleep(60_000), { name: "child" });
    await child;
  });
  const ended = rt.spawn(() => 1, { name: "ended" });
  const failed = rt.spawn(() => {
    throw new Error("boom");
  });
  failed.catch(() => undefined);
  await tick(20);
  try {
    const texts = new Map<number, string>();
    const seen = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const { snap, json } = build(rt);
      assert.equal(json, JSON.stringify(snap), `round ${round}`);
      const tasks = (JSON.parse(json) as ConsoleSnapshot).tasks;
      for (const t of tasks) {
        const text = JSON.stringify(t);
        seen.add(`${t.state}|${t.outcome ?? ""}|${t.lints?.join(",") ?? ""}|${t.waitingOn === undefined ? "" : "waits"}|${t.parent === undefined ? "" : "child"}`);
        if (t.id === stepper.id && round > 0) assert.notEqual(text, texts.get(t.id), "the stepper resumed: its record moved");
        texts.set(t.id, text);
      }
      // Change things between builds: the stepper resumes, the waiter gets the lock, ...
      wake?.();
      if (round === 3) {
        // Woken by the release, not yet resumed: a new state with the same counts.
        guard.release();
        const woken = build(rt);
        assert.equal(woken.snap.tasks.find((t) => t.id === waiter.id)!.state, "scheduled");
        assert.equal(woken.json, JSON.stringify(woken.snap));
      }
      await tick(5);
    }
    assert.ok(seen.size >= 5, [...seen].join("; "));
    const last = build(rt);
    const w = last.snap.tasks.find((t) => t.id === waiter.id)!;
    assert.equal(w.state, "done");
    assert.equal(w.outcome, "ok");
    const s = last.snap.tasks.find((t) => t.id === stepper.id)!;
    assert.ok(s.resumes >= 8, `${s.resumes} resumes`);
    assert.equal(
      s.resumeHistogram.reduce((a, b) => a + b, 0),
      s.resumes - (s.state === "running" ? 1 : 0),
    );
    assert.ok(last.snap.tasks.some((t) => t.id === ended.id && t.state === "done"));
    assert.ok(last.snap.tasks.some((t) => t.id === failed.id && t.outcome === "panic"));
    // runtime.dump()'s records are the caller's: changing one does not change the next snapshot.
    s.resumeHistogram.fill(99);
    const again = build(rt);
    assert.ok(!again.snap.tasks.find((t) => t.id === stepper.id)!.resumeHistogram.includes(99));
    assert.equal(again.json, JSON.stringify(again.snap));
  } finally {
    stop = true;
    wake?.();
    parent.abort();
    child?.abort();
    await rt.shutdown();
  }
});
