import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatReport } from "../../src/runtime/format.js";
import { Runtime, channel, sleep, spawn, yieldNow } from "../../src/index.js";

/** A short pause: a macrotask turn (0) or a timer (ms). */
const pause = (ms: number): Promise<void> => (ms === 0 ? yieldNow() : sleep(ms));

interface Run {
  capacity: number;
  items: number;
  produceMs: number;
  workMs: number;
  stopAfterMs: number;
  /** undefined: no deadline (the drain waits for everything). */
  budgetMs: number | undefined;
}

/**
 * A producer → channel → worker pipeline, shut down at `stopAfterMs`. The producer stops at the
 * announcement and closes its sender; the worker drains with `for await`. Returns what was
 * accepted (sends that resolved), processed, and what the report says was lost.
 */
async function pipeline(r: Run): Promise<{ accepted: number; processed: number; lostInChannel: number; lostInHand: number; clean: boolean; text: string }> {
  const rt = new Runtime({ name: "pipeline", shutdownTimeoutMs: r.budgetMs ?? Infinity, collectTimeoutMs: 200 });
  let accepted = 0;
  let processed = 0;
  rt.enter(() => {
    const [tx, rx] = channel<number>(r.capacity);
    spawn(
      async (ctx) => {
        try {
          for (let i = 0; i < r.items && !ctx.stopping.isCancelled; i++) {
            await tx.send(i);
            accepted++;
            await pause(r.produceMs);
          }
        } finally {
          tx.close();
        }
      },
      { name: "producer" },
    );
    spawn(
      async () => {
        for await (const _job of rx) {
          await pause(r.workMs);
          processed++;
        }
      },
      { name: "worker" },
    );
  });
  await sleep(r.stopAfterMs);
  const report = await rt.shutdown();
  let lostInChannel = 0;
  let lostInHand = 0;
  for (const l of report.lost) {
    if (l.kind === "messages") lostInChannel += l.count;
    // A worker cut while it works on a job holds that one job (it receives one at a time).
    if (l.kind === "tasks" && l.name === "worker") lostInHand += l.count;
  }
  assert.deepEqual(report.tasks.stuck, []);
  return { accepted, processed, lostInChannel, lostInHand, clean: report.clean, text: formatReport(report, "pipeline") };
}

const runs = fc.record({
  capacity: fc.integer({ min: 1, max: 16 }),
  items: fc.integer({ min: 0, max: 60 }),
  produceMs: fc.constantFrom(0, 0, 1),
  workMs: fc.constantFrom(0, 1, 2),
  stopAfterMs: fc.integer({ min: 0, max: 30 }),
});

void test("property: shut down at a random moment, processed + reported lost = accepted, every run", { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(runs, fc.integer({ min: 0, max: 40 }), async (base, budgetMs) => {
      const o = await pipeline({ ...base, budgetMs });
      assert.equal(o.processed + o.lostInChannel + o.lostInHand, o.accepted, `${JSON.stringify(o)}`);
      assert.equal(o.clean, o.lostInChannel + o.lostInHand === 0 && !/lost: .*'producer'/.test(o.text), o.text);
    }),
    { numRuns: 60 },
  );
});

void test("property: with no drain deadline, nothing accepted is ever lost", { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(runs, async (base) => {
      const o = await pipeline({ ...base, budgetMs: undefined });
      assert.equal(o.processed, o.accepted, o.text);
      assert.equal(o.lostInChannel + o.lostInHand, 0, o.text);
      assert.equal(o.clean, true, o.text);
    }),
    { numRuns: 40 },
  );
});
