/**
 * The deadlock detector against a model, over random lock graphs and random schedules: tasks
 * take random sequences of mutexes (nested, the same one twice at times) with random pauses.
 * The test keeps its own record of who holds each lock and who waits for it, in what order.
 *  - Every DeadlockError names a real cycle: checked against the record when it arrives, each
 *    task of the cycle waits for a lock that the next task holds, or is queued ahead for.
 *  - Every real cycle is reported: no run ever hangs (a deadlock nobody reports would), and the
 *    only tasks that fail are ones that got a DeadlockError.
 */
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { DeadlockError, type JoinHandle, Mutex, type MutexGuard, sleep, spawn } from "../../src/index.js";

interface Step {
  lock: number;
  pauseMs: number;
}

/** The test's own record of the locks. */
class Model {
  /** lock -> the task holding it. */
  readonly holder = new Map<number, string>();
  /** task -> the lock it waits for, and its place in line (a global sequence). */
  readonly waiting = new Map<string, { lock: number; seq: number }>();
  private seq = 0;
  request(task: string, lock: number): void {
    this.waiting.set(task, { lock, seq: this.seq++ });
  }
  granted(task: string, lock: number): void {
    this.waiting.delete(task);
    this.holder.set(lock, task);
  }
  released(lock: number): void {
    this.holder.delete(lock);
  }
  /** Whether `next` stands in the way of `task`'s wait: it holds the lock, or waits for it from earlier in line. */
  blocks(task: string, next: string): boolean {
    const w = this.waiting.get(task);
    if (w === undefined) return false;
    if (this.holder.get(w.lock) === next) return true;
    const n = this.waiting.get(next);
    return n !== undefined && n.lock === w.lock && n.seq < w.seq;
  }
}

const LOCKS = 4;
const scriptArb = fc.array(fc.record({ lock: fc.integer({ min: 0, max: LOCKS - 1 }), pauseMs: fc.integer({ min: 0, max: 12 }) }), {
  minLength: 1,
  maxLength: 3,
});
const scenarioArb = fc.array(fc.record({ startMs: fc.integer({ min: 0, max: 10 }), steps: scriptArb }), { minLength: 1, maxLength: 4 });

/** Runs one scenario; returns how many DeadlockErrors it saw. */
async function run(scenario: { startMs: number; steps: Step[] }[]): Promise<number> {
  const locks = Array.from({ length: LOCKS }, (_, i) => new Mutex(0, { name: `L${i}` }));
  const model = new Model();
  const problems: string[] = [];
  let reports = 0;
  const names = new Map<number, string>();

  const check = (e: DeadlockError): void => {
    reports++;
    const cycle = e.cycle;
    for (let i = 0; i < cycle.length; i++) {
      const me = names.get(cycle[i]!.task.id);
      const next = names.get(cycle[(i + 1) % cycle.length]!.task.id);
      if (me === undefined || next === undefined) problems.push(`unknown task in ${e.message}`);
      else if (!model.blocks(me, next)) problems.push(`${me} is not held up by ${next} in the model: ${e.message}`);
    }
  };

  const handles: JoinHandle<string>[] = scenario.map((s, i) => {
    const name = `t${i}`;
    const h = spawn(
      async () => {
        const held: { lock: number; guard: MutexGuard<number> }[] = [];
        try {
          await sleep(s.startMs);
          for (const step of s.steps) {
            model.request(name, step.lock);
            let g: MutexGuard<number>;
            try {
              g = await locks[step.lock]!.lock();
            } catch (e) {
              if (e instanceof DeadlockError) check(e);
              throw e;
            }
            model.granted(name, step.lock);
            held.push({ lock: step.lock, guard: g });
            await sleep(step.pauseMs);
          }
          return "done";
        } finally {
          model.waiting.delete(name);
          for (const x of held.reverse()) {
            model.released(x.lock);
            x.guard.release();
          }
        }
      },
      { name },
    );
    names.set(h.id, name);
    return h;
  });

  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((r) => (timer = setTimeout(() => r("hang"), 3_000)));
  const results = await Promise.race([Promise.all(handles.map((h) => h.result())), hang]);
  clearTimeout(timer);
  if (results === "hang") {
    for (const h of handles) h.abort();
    await Promise.all(handles.map((h) => h.result()));
    assert.fail(`a run hung: an unreported deadlock (${JSON.stringify(scenario)})`);
  }
  assert.deepEqual(problems, [], JSON.stringify(scenario));
  let failed = 0;
  for (const r of results) {
    if (r.ok) continue;
    failed++;
    assert.ok(r.error.cause instanceof DeadlockError, `only deadlocks fail a task: ${String(r.error)} (${JSON.stringify(scenario)})`);
  }
  assert.equal(failed, reports, "each report ended exactly its task");
  for (const m of locks) assert.equal(m.isLocked, false, "nothing is left held");
  return reports;
}

test("random lock graphs over random schedules: every reported cycle is real and every real cycle is reported", async () => {
  let reports = 0;
  await fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      reports += await run(scenario);
    }),
    { numRuns: 60 },
  );
  assert.ok(reports > 0, "some runs deadlocked (else the property says nothing about detection)");
});

test("two tasks crossing two locks, over random pauses: always exactly one report", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }), async (a, b) => {
      const scenario = [
        {
          startMs: 0,
          steps: [
            { lock: 0, pauseMs: 15 + a },
            { lock: 1, pauseMs: 0 },
          ],
        },
        {
          startMs: 0,
          steps: [
            { lock: 1, pauseMs: 15 + b },
            { lock: 0, pauseMs: 0 },
          ],
        },
      ];
      assert.equal(await run(scenario), 1);
    }),
    { numRuns: 8 },
  );
});
