/**
 * Guards handed over through steward channels, in the user's shape: a task takes a lock, sends
 * the guard to a task that already exists, and locks again while the receiver still holds it.
 * That is no deadlock (the receiver releases), so the detector must never report it.
 */
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { channel, DeadlockError, Mutex, type MutexGuard, oneshot, RwLock, Semaphore, sleep, spawn, unboundedChannel } from "../../src/index.js";
import { within } from "./helpers.js";

test("a MutexGuard sent through an mpsc channel to an existing task: the sender locking again is not reported", async () => {
  const m = new Mutex(0, { name: "db" });
  const [tx, rx] = channel<MutexGuard<number>>(1);
  const released: string[] = [];
  const receiver = spawn(
    async () => {
      const g = await rx.recv();
      assert.ok(g !== undefined);
      g.value += 1;
      await sleep(80); // holds it across several event-loop turns: the detector has time to look
      released.push("receiver");
      g.release();
    },
    { name: "receiver" },
  );
  const sender = spawn(
    async () => {
      const g = await m.lock();
      await tx.send(g);
      using again = await m.lock(); // parks until the receiver releases the guard it was sent
      again.value += 1;
      return again.value;
    },
    { name: "sender" },
  );
  const r = await within(sender.result(), 10_000, "the sender");
  if (!r.ok) assert.fail(`the sender failed: ${String((r.error as { cause?: unknown }).cause ?? r.error)}`);
  assert.equal(r.value, 2);
  assert.deepEqual(released, ["receiver"]);
  await within(receiver, 10_000, "the receiver");
});

test("guards inside a message object, an RwLock write guard and a permit, over an unbounded channel: no report", async () => {
  const l = new RwLock(0, { name: "table" });
  const s = new Semaphore(1);
  const [tx, rx] = unboundedChannel<{ w: { release(): void }; p: { release(): void } }>();
  const receiver = spawn(async () => {
    const msg = await rx.recv();
    await sleep(80);
    msg!.w.release();
    await sleep(20);
    msg!.p.release();
  });
  const sender = spawn(async () => {
    const w = await l.write();
    const p = await s.acquire();
    await tx.send({ w, p });
    (await l.write()).release();
    (await s.acquire()).release();
    return "ok";
  });
  const r = await within(sender.result(), 10_000, "the sender");
  assert.ok(r.ok || !((r.error as { cause?: unknown }).cause instanceof DeadlockError), "no DeadlockError");
  assert.equal(r.ok ? r.value : r.error, "ok");
  await within(receiver, 10_000, "the receiver");
});

test("a guard that was handed over and then used to deadlock for real in the receiver is still no false report for the sender", async () => {
  // The receiver gets the guard and locks the same mutex itself: that one is a real self-deadlock
  // in tokio terms, but the detector no longer knows who holds the handed guard, so it stays silent
  // (missing a report is allowed; a false one is not). A timeout ends it.
  const m = new Mutex(0);
  const [tx, rx] = channel<MutexGuard<number>>(1);
  const receiver = spawn(async () => {
    const g = (await rx.recv())!;
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("timeout")), 60);
    await assert.rejects(m.lock({ signal: ac.signal }), /timeout/);
    g.release();
  });
  const sender = spawn(async () => {
    await tx.send(await m.lock());
    (await m.lock()).release();
    return "ok";
  });
  assert.equal(await within(sender, 10_000, "the sender"), "ok");
  await within(receiver, 10_000, "the receiver");
});

test("a guard sent through a oneshot to an existing task: the sender locking again is not reported", async () => {
  const m = new Mutex(0, { name: "once" });
  const [tx, rx] = oneshot<MutexGuard<number>>();
  const receiver = spawn(async () => {
    const g = await rx.recv();
    await sleep(80);
    g.release();
  });
  const sender = spawn(async () => {
    tx.send(await m.lock());
    (await m.lock()).release();
    return "ok";
  });
  assert.equal(await within(sender, 10_000, "the sender"), "ok");
  await within(receiver, 10_000, "the receiver");
});

/**
 * Random schedules of lock / unlock / hand-over across tasks, against the test's own record of who
 * holds what. Each worker takes random mutexes, sometimes sends the guard it took last to another
 * worker's receiver (a task spawned before any guard is taken, that releases what it gets after a
 * pause), and may then lock the same mutex again. A DeadlockError must always name a real cycle
 * in the record (a handed guard is held by its receiver, which always lets go, so it never is in
 * one), and no run may hang.
 */
const LOCKS = 3;
type Op = { kind: "lock"; lock: number; pauseMs: number } | { kind: "send"; to: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("lock" as const), lock: fc.integer({ min: 0, max: LOCKS - 1 }), pauseMs: fc.integer({ min: 0, max: 8 }) }),
  fc.record({ kind: fc.constant("send" as const), to: fc.integer({ min: 0, max: 3 }) }),
);
const workerArb = fc.record({ startMs: fc.integer({ min: 0, max: 6 }), holdMs: fc.integer({ min: 0, max: 25 }), ops: fc.array(opArb, { minLength: 1, maxLength: 5 }) });

async function runHandOver(workers: { startMs: number; holdMs: number; ops: Op[] }[]): Promise<number> {
  const locks = Array.from({ length: LOCKS }, (_, i) => new Mutex(0, { name: `L${i}` }));
  const holder = new Map<number, string>();
  const waiting = new Map<string, { lock: number; seq: number }>();
  let seq = 0;
  const blocks = (me: string, next: string): boolean => {
    const w = waiting.get(me);
    if (w === undefined) return false;
    if (holder.get(w.lock) === next) return true;
    const n = waiting.get(next);
    return n !== undefined && n.lock === w.lock && n.seq < w.seq;
  };
  const names = new Map<number, string>();
  const problems: string[] = [];
  let reports = 0;
  const check = (e: DeadlockError): void => {
    reports++;
    const c = e.cycle;
    for (let i = 0; i < c.length; i++) {
      const me = names.get(c[i]!.task.id);
      const next = names.get(c[(i + 1) % c.length]!.task.id);
      if (me === undefined || next === undefined || !blocks(me, next)) problems.push(`${me} is not held up by ${next}: ${e.message}`);
    }
  };
  const inboxes = workers.map(() => channel<{ lock: number; guard: MutexGuard<number> }>(8));
  const receivers = workers.map((w, i) => {
    const name = `r${i}`;
    const rx = inboxes[i]![1];
    const h = spawn(
      async () => {
        for await (const m of rx) {
          await sleep(w.holdMs);
          holder.delete(m.lock);
          m.guard.release();
        }
      },
      { name },
    );
    names.set(h.id, name);
    return h;
  });
  const handles = workers.map((w, i) => {
    const name = `t${i}`;
    const h = spawn(
      async () => {
        const held: { lock: number; guard: MutexGuard<number> }[] = [];
        try {
          await sleep(w.startMs);
          for (const op of w.ops) {
            if (op.kind === "send") {
              const x = held.pop();
              if (x === undefined) continue;
              const to = op.to % workers.length;
              holder.set(x.lock, `r${to}`);
              await inboxes[to]![0].send(x);
              continue;
            }
            waiting.set(name, { lock: op.lock, seq: seq++ });
            let g: MutexGuard<number>;
            try {
              g = await locks[op.lock]!.lock();
            } catch (e) {
              if (e instanceof DeadlockError) check(e);
              throw e;
            }
            waiting.delete(name);
            holder.set(op.lock, name);
            held.push({ lock: op.lock, guard: g });
            await sleep(op.pauseMs);
          }
          return "done";
        } finally {
          waiting.delete(name);
          for (const x of held.reverse()) {
            holder.delete(x.lock);
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
  for (const [tx] of inboxes) tx.close();
  if (results === "hang") {
    for (const h of [...handles, ...receivers]) h.abort();
    await Promise.all([...handles, ...receivers].map((h) => h.result()));
    assert.fail(`a run hung (${JSON.stringify(workers)})`);
  }
  await Promise.all(receivers.map((h) => h.result()));
  assert.deepEqual(problems, [], JSON.stringify(workers));
  let failed = 0;
  for (const r of results) {
    if (r.ok) continue;
    failed++;
    assert.ok(r.error.cause instanceof DeadlockError, `only deadlocks fail a task: ${String(r.error)} (${JSON.stringify(workers)})`);
  }
  assert.equal(failed, reports, "each report ended exactly its task");
  for (const m of locks) assert.equal(m.isLocked, false, "nothing is left held");
  return reports;
}

test("random lock / unlock / hand-over schedules: a DeadlockError only ever names a real cycle, and no run hangs", async () => {
  let handedThenRelocked = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(workerArb, { minLength: 1, maxLength: 4 }), async (workers) => {
      for (const w of workers) {
        const sent = new Set<number>();
        let last: number | undefined;
        for (const op of w.ops) {
          if (op.kind === "send" && last !== undefined) sent.add(last);
          if (op.kind === "lock") {
            if (sent.has(op.lock)) handedThenRelocked++;
            last = op.lock;
          }
        }
      }
      await runHandOver(workers);
    }),
    { numRuns: 50 },
  );
  assert.ok(handedThenRelocked > 0, "some schedules relocked a lock whose guard had been handed over");
});
