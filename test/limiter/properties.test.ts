// Property tests of the Limiter over random schedules (fast-check's scheduler) with random
// aborts, random task cancellation, random keys, queue bounds and budgets.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { configure, Limiter, OverloadedError, spawn } from "../../src/index.js";

const RUNS = 100;

type Kind = "plain" | "signal" | "task";

interface Job {
  key: string;
  kind: Kind;
  abort: boolean;
  hold: number;
}

const job = fc.record({
  key: fc.constantFrom("a", "b", "c"),
  kind: fc.constantFrom<Kind>("plain", "signal", "task"),
  abort: fc.boolean(),
  hold: fc.nat({ max: 2 }),
});
const budget = fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.constant(2), weight: 1 }, { arbitrary: fc.constant(128), weight: 1 });

async function step(s: fc.Scheduler, n: number, label: string): Promise<void> {
  for (let k = 0; k < n; k++) await s.schedule(Promise.resolve(), label);
}

async function withBudget(b: number, fn: () => Promise<void>): Promise<void> {
  configure({ coopBudget: b });
  try {
    await fn();
  } finally {
    configure({ coopBudget: 128 });
  }
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Runs `body` plainly, with a signal, or in a task, aborting it at a random point if asked. Never rejects. */
function start(s: fc.Scheduler, j: Job, body: (signal: AbortSignal | undefined) => Promise<void>): Promise<Outcome> {
  if (j.kind === "task") {
    const h = spawn(() => body(undefined));
    if (j.abort) void s.schedule(Promise.resolve(), "cancel task").then(() => h.abort());
    return h.result().then((r) => (r.ok ? { ok: true } : { ok: false, error: r.error.cause }));
  }
  const c = new AbortController();
  if (j.abort) void s.schedule(Promise.resolve(), "abort").then(() => c.abort(new Error("aborted")));
  return body(j.kind === "signal" ? c.signal : undefined).then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error }),
  );
}

void test("Limiter: no loss, no duplicate, concurrency and queue bound never exceeded, FIFO per key, aborts hold nothing", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      budget,
      fc.integer({ min: 1, max: 3 }),
      fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 4 })),
      fc.array(job, { minLength: 1, maxLength: 10 }),
      (s, b, concurrency, queue, jobs) =>
        withBudget(b, async () => {
          const lim = new Limiter({ concurrency, queue });
          let inside = 0;
          const ran = new Map<number, number>(); // job index -> times run
          const requested: Record<string, number[]> = { a: [], b: [], c: [] };
          const startedPerKey: Record<string, number[]> = { a: [], b: [], c: [] };
          const violations: string[] = [];
          const outcomes = jobs.map((j, idx) =>
            start(s, j, async (signal) => {
              await step(s, 1, "arrive");
              requested[j.key]!.push(idx);
              const p = lim.run(
                async () => {
                  ran.set(idx, (ran.get(idx) ?? 0) + 1);
                  startedPerKey[j.key]!.push(idx);
                  inside++;
                  if (inside > concurrency) violations.push(`${inside} running, limit ${concurrency}`);
                  await step(s, j.hold, "hold");
                  inside--;
                },
                { key: j.key, signal },
              );
              const st = lim.stats;
              if (st.queued > queue) violations.push(`${st.queued} queued, limit ${queue}`);
              if (st.running > concurrency) violations.push(`stats.running ${st.running} > ${concurrency}`);
              await p;
            }),
          );
          const results = await s.waitFor(Promise.all(outcomes));
          assert.deepEqual(violations, []);
          results.forEach((r, idx) => {
            const times = ran.get(idx) ?? 0;
            assert.ok(times <= 1, `job ${idx} ran ${times} times`);
            // A job that resolved ran; one that was shed never ran. (One withdrawn from the queue
            // never ran either; a task cancelled while its job ran ends cancelled after running.)
            if (r.ok) assert.equal(times, 1, `job ${idx} resolved without running`);
            if (!r.ok && r.error instanceof OverloadedError) assert.equal(times, 0, `shed job ${idx} ran`);
            if (!r.ok && jobs[idx]!.kind !== "task") assert.equal(times, 0, `job ${idx} rejected after running`);
          });
          // FIFO within a key: jobs of one key start in the order they asked (budget off: no late delivery).
          if (b === 0) {
            for (const k of ["a", "b", "c"]) {
              const order = requested[k]!.filter((i) => ran.has(i));
              assert.deepEqual(startedPerKey[k], order, `key ${k}`);
            }
          }
          const st = lim.stats;
          assert.deepEqual({ running: st.running, queued: st.queued, keys: st.keys }, { running: 0, queued: 0, keys: 0 }, "nothing held at the end");
          assert.equal(st.admitted, ran.size);
        }),
    ),
    { numRuns: RUNS },
  );
});

void test("Limiter: keys are served round-robin in the order they started waiting, FIFO within each", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), fc.array(fc.constantFrom("a", "b", "c", "d"), { minLength: 1, maxLength: 14 }), (s, concurrency, keys) =>
      withBudget(0, async () => {
        const lim = new Limiter({ concurrency });
        // Fill every slot with a blocker so all the jobs below queue, in a random arrival order.
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        const blockers = Array.from({ length: concurrency }, () => lim.run(() => gate, { key: "blocker" }));
        const served: number[] = [];
        const arrived: number[] = [];
        const done = keys.map((k, idx) =>
          s.schedule(Promise.resolve(), `arrive ${idx}`).then(() => {
            arrived.push(idx);
            return lim.run(() => void served.push(idx), { key: k });
          }),
        );
        while (arrived.length < keys.length) await s.waitOne();
        open();
        await s.waitFor(Promise.all([...blockers, ...done]));
        // The model: keys in order of their first arrival; each round serves one job per key.
        const queues = new Map<string, number[]>();
        for (const idx of arrived) {
          const k = keys[idx]!;
          if (!queues.has(k)) queues.set(k, []);
          queues.get(k)!.push(idx);
        }
        const expected: number[] = [];
        while ([...queues.values()].some((q) => q.length > 0)) {
          for (const q of queues.values()) if (q.length > 0) expected.push(q.shift()!);
        }
        assert.deepEqual(served, expected);
      }),
    ),
    { numRuns: RUNS },
  );
});
