// Property tests over random schedules (fast-check's scheduler) with random aborts and random
// task cancellation, for every primitive. Each run also picks a cooperative budget: 0 (off), 2
// (wake-ups delivered late all the time) or the default 128.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Barrier, configure, Mutex, Notify, RwLock, select, Semaphore, spawn } from "../../src/index.js";
import { settle } from "./util.js";

const RUNS = 100;

type Kind = "plain" | "signal" | "task";

interface Worker {
  kind: Kind;
  abort: boolean;
  hold: number;
}

const worker = fc.record({ kind: fc.constantFrom<Kind>("plain", "signal", "task"), abort: fc.boolean(), hold: fc.nat({ max: 2 }) });
// Budget 0 most often: FIFO order of grants is only observable from outside when no delivery is late.
const budget = fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.constant(2), weight: 1 }, { arbitrary: fc.constant(128), weight: 1 });

/**
 * Starts `body` as the worker asks: plainly, with an AbortSignal, or in a spawned task; and, if
 * it asks, schedules an abort of that signal or task at a random point. Never rejects.
 */
function start(s: fc.Scheduler, w: Worker, body: (signal: AbortSignal | undefined) => Promise<void>): Promise<unknown> {
  if (w.kind === "task") {
    const h = spawn(() => body(undefined));
    if (w.abort) void s.schedule(Promise.resolve(), "cancel task").then(() => h.abort());
    return h.result();
  }
  const c = new AbortController();
  if (w.abort) void s.schedule(Promise.resolve(), "abort").then(() => c.abort(new Error("aborted")));
  return body(w.kind === "signal" ? c.signal : undefined).catch(() => {});
}

async function step(s: fc.Scheduler, n: number, label: string): Promise<void> {
  for (let k = 0; k < n; k++) await s.schedule(Promise.resolve(), label);
}

function increasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

async function withBudget(b: number, fn: () => Promise<void>): Promise<void> {
  configure({ coopBudget: b });
  try {
    await fn();
  } finally {
    configure({ coopBudget: 128 });
  }
}

void test("Mutex: mutual exclusion, FIFO grants, nothing held once everyone is done or withdrawn", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), budget, fc.array(worker, { minLength: 1, maxLength: 8 }), (s, b, workers) =>
      withBudget(b, async () => {
        const m = new Mutex();
        let inside = 0;
        let requested = 0;
        const granted: number[] = [];
        const violations: string[] = [];
        const done = workers.map((w) =>
          start(s, w, async (signal) => {
            await step(s, 1, "arrive");
            const idx = requested++;
            const g = await m.lock(signal === undefined ? undefined : { signal });
            if (inside !== 0) violations.push(`${idx} entered with ${inside} inside`);
            inside++;
            granted.push(idx);
            await step(s, w.hold, "hold");
            inside--;
            g.release();
          }),
        );
        await s.waitFor(Promise.all(done));
        assert.deepEqual(violations, []);
        assert.ok(increasing(granted), `granted in order ${granted.join(",")}`);
        assert.equal(m.isLocked, false);
        assert.equal(m.waiting, 0);
      }),
    ),
    { numRuns: RUNS },
  );
});

void test("Semaphore: never over-committed, permits conserved (no leak from aborted waiters), FIFO grants", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      budget,
      fc.integer({ min: 1, max: 4 }),
      fc.array(fc.record({ w: worker, n: fc.integer({ min: 1, max: 4 }), forget: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      (s, b, cap, workers) =>
        withBudget(b, async () => {
          const sem = new Semaphore(cap);
          let held = 0;
          let requested = 0;
          const granted: number[] = [];
          const violations: string[] = [];
          const done = workers.map(({ w, n: want, forget }) =>
            start(s, w, async (signal) => {
              await step(s, 1, "arrive");
              const n = Math.min(want, cap);
              const idx = requested++;
              const p = await sem.acquire(n, signal === undefined ? undefined : { signal });
              held += n;
              if (held > cap) violations.push(`${held} held of ${cap}`);
              if (sem.available + held > cap) violations.push(`available ${sem.available} + held ${held} > ${cap}`);
              granted.push(idx);
              await step(s, w.hold, "hold");
              held -= n;
              if (forget) {
                p.forget();
                sem.addPermits(n); // keeps the total; forget alone would shrink it
              } else {
                p.release();
              }
              p.release(); // idempotent, also after forget
            }),
          );
          await s.waitFor(Promise.all(done));
          assert.deepEqual(violations, []);
          assert.equal(sem.available, cap, "every permit came back");
          assert.equal(sem.waiting, 0);
          // With the budget on, a waiter served late can be observed after a later fast-path one;
          // the order in which permits were taken is exactly FIFO either way.
          if (b === 0) assert.ok(increasing(granted), `granted in order ${granted.join(",")}`);
        }),
    ),
    { numRuns: RUNS },
  );
});

void test("RwLock: a writer is never inside together with anyone; FIFO grants; nothing held at the end", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), budget, fc.array(fc.record({ w: worker, write: fc.boolean() }), { minLength: 1, maxLength: 8 }), (s, b, workers) =>
      withBudget(b, async () => {
        const l = new RwLock();
        let readers = 0;
        let writers = 0;
        let requested = 0;
        const granted: number[] = [];
        const violations: string[] = [];
        const done = workers.map(({ w, write }) =>
          start(s, w, async (signal) => {
            await step(s, 1, "arrive");
            const idx = requested++;
            const opts = signal === undefined ? undefined : { signal };
            const g = write ? await l.write(opts) : await l.read(opts);
            if (writers > 0 || (write && readers > 0)) violations.push(`${write ? "writer" : "reader"} ${idx} met ${writers}w/${readers}r`);
            if (write) writers++;
            else readers++;
            granted.push(idx);
            await step(s, w.hold, "hold");
            if (write) writers--;
            else readers--;
            g.release();
          }),
        );
        await s.waitFor(Promise.all(done));
        assert.deepEqual(violations, []);
        if (b === 0) assert.ok(increasing(granted), `granted in order ${granted.join(",")}`);
        assert.equal(l.readers, 0);
        assert.equal(l.isWriteLocked, false);
        assert.equal(l.waiting, 0);
      }),
    ),
    { numRuns: RUNS },
  );
});

type Res = "mutex" | "sem" | "write" | "notify" | "barrier";

void test("select over mixed primitives never takes two, even when several become ready in one tick", async () => {
  const resources: Res[] = ["mutex", "sem", "write", "notify", "barrier"];
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      budget,
      fc.array(fc.record({ on: fc.uniqueArray(fc.constantFrom(...resources), { minLength: 1, maxLength: 5 }), abort: fc.boolean() }), { minLength: 1, maxLength: 5 }),
      // Each batch makes several resources available in one synchronous step.
      fc.array(fc.uniqueArray(fc.constantFrom(...resources), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
      (s, b, selects, batches) =>
        withBudget(b, async () => {
          const m = new Mutex();
          const sem = new Semaphore(1);
          const rw = new RwLock();
          const n = new Notify();
          const bar = new Barrier(2);
          let barrierReleased = 0; // arrivals released: the test's own and select winners
          let leaders = 0;
          const onBarrier = (r: { isLeader: boolean }): void => {
            barrierReleased++;
            if (r.isLeader) leaders++;
          };
          const heldM = m.tryLock()!;
          const heldS = sem.tryAcquire()!;
          const heldW = rw.tryWrite()!;
          let semReleased = 0;
          let notifies = 0;
          let releasedM = false;
          let releasedW = false;
          const wins: Record<Res, number> = { mutex: 0, sem: 0, write: 0, notify: 0, barrier: 0 };
          const outcomes: Promise<unknown>[] = [];
          for (const sel of selects) {
            const c = new AbortController();
            const branches: Partial<Record<Res, (signal: AbortSignal) => Promise<unknown>>> = {};
            for (const r of sel.on) {
              if (r === "mutex") branches.mutex = (signal) => m.lock({ signal });
              if (r === "sem") branches.sem = (signal) => sem.acquire(1, { signal });
              if (r === "write") branches.write = (signal) => rw.write({ signal });
              if (r === "notify") branches.notify = (signal) => n.notified({ signal });
              if (r === "barrier") branches.barrier = (signal) => bar.wait({ signal });
            }
            outcomes.push(
              select(branches as Record<Res, (signal: AbortSignal) => Promise<unknown>>, { signal: c.signal }).then(
                (r) => {
                  wins[r.key]++;
                  if (r.key === "barrier") onBarrier(r.value as { isLeader: boolean });
                },
                () => {},
              ),
            );
            if (sel.abort) void s.schedule(Promise.resolve(), "abort select").then(() => c.abort(new Error("aborted")));
          }
          for (const batch of batches) {
            void s.schedule(Promise.resolve(), `ready ${batch.join(",")}`).then(() => {
              for (const r of batch) {
                if (r === "mutex") {
                  heldM.release(); // idempotent: only the first batch with it frees it
                  releasedM = true;
                }
                if (r === "sem" && semReleased === 0) {
                  heldS.release();
                  semReleased = 1;
                }
                if (r === "write") {
                  heldW.release();
                  releasedW = true;
                }
                if (r === "notify") {
                  n.notifyOne();
                  notifies++;
                }
                if (r === "barrier") void bar.wait().then(onBarrier); // the test arrives too
              }
            });
          }
          await s.waitIdle();
          await settle(); // selects whose branch was claimed finish; the rest stay pending
          assert.ok(wins.mutex <= 1 && wins.sem <= 1 && wins.write <= 1, JSON.stringify(wins));
          assert.equal(m.isLocked, !releasedM || wins.mutex === 1, "the mutex is held by the test or by its one winner");
          assert.equal(sem.available + wins.sem, semReleased, "permits conserved");
          assert.equal(rw.isWriteLocked, !releasedW || wins.write === 1, "the write lock is held by the test or by its one winner");
          assert.ok(wins.notify <= notifies, "a notification wakes at most one select");
          assert.equal(barrierReleased % 2, 0, "barrier generations are whole: no lost branch was counted");
          assert.equal(leaders, barrierReleased / 2);
          const total = wins.mutex + wins.sem + wins.write + wins.notify + wins.barrier;
          assert.ok(total <= selects.length);
          void outcomes;
        }),
    ),
    { numRuns: RUNS },
  );
});

void test("Barrier: releases go in whole generations with one leader each; withdrawn arrivals never count", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), budget, fc.integer({ min: 1, max: 4 }), fc.array(worker, { minLength: 1, maxLength: 10 }), (s, b, size, workers) =>
      withBudget(b, async () => {
        const bar = new Barrier(size);
        let released = 0;
        let leaders = 0;
        let withdrawn = 0;
        const done = workers.map((w) =>
          start(s, w, async (signal) => {
            await step(s, 1, "arrive");
            let r;
            try {
              r = await bar.wait(signal === undefined ? undefined : { signal });
            } catch {
              withdrawn++;
              return;
            }
            released++;
            if (r.isLeader) leaders++;
          }),
        );
        await s.waitIdle();
        await settle();
        assert.equal(released % size, 0, `${released} released by a barrier of ${size}`);
        assert.equal(leaders, released / size);
        assert.ok(bar.waiting < size, `${bar.waiting} left waiting`);
        // Whoever is still waiting is a whole, unfinished generation: fill it and they all go.
        const left = bar.waiting;
        const fillers = await Promise.all(Array.from({ length: size - left }, () => bar.wait()));
        await s.waitFor(Promise.all(done));
        assert.equal(released + withdrawn, workers.length, "every arrival was released or withdrawn");
        assert.equal(leaders + fillers.filter((f) => f.isLeader).length, (released + fillers.length) / size);
        assert.equal(bar.waiting, 0);
      }),
    ),
    { numRuns: RUNS },
  );
});
