import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, configure, JoinError, Mutex, Runtime, RwLock, Semaphore, shield, sleep, spawn } from "../../src/index.js";
import { reason, settle } from "./util.js";

void test("lock gives exclusive access to the value; release unlocks; using releases at block end", async () => {
  const m = new Mutex({ n: 0 });
  assert.equal(m.isLocked, false);
  const g = await m.lock();
  assert.equal(m.isLocked, true);
  g.value.n++;
  g.value = { n: g.value.n + 1 };
  g.release();
  assert.equal(m.isLocked, false);
  {
    using g2 = await m.lock();
    assert.equal(g2.value.n, 2);
    assert.equal(m.isLocked, true);
  }
  assert.equal(m.isLocked, false);
  const plain = new Mutex();
  const pg = await plain.lock();
  assert.equal(pg.value, undefined);
  pg[Symbol.dispose]();
  assert.equal(plain.isLocked, false);
});

void test("release is idempotent: a second release does not unlock the next holder", async () => {
  const m = new Mutex(0);
  const g1 = await m.lock();
  const p2 = m.lock();
  g1.release();
  const g2 = await p2;
  g1.release();
  g1[Symbol.dispose]();
  assert.equal(m.isLocked, true);
  assert.equal(m.tryLock(), undefined);
  g2.release();
  assert.equal(m.isLocked, false);
});

void test("a released guard's value can no longer be read or written", async () => {
  const m = new Mutex(1);
  const g = await m.lock();
  g.release();
  assert.throws(() => g.value, /already released/);
  assert.throws(() => {
    g.value = 2;
  }, /already released/);
});

void test("waiters are served first-in, first-out, each handed the lock directly", async () => {
  const m = new Mutex<number[]>([]);
  const g = await m.lock();
  const done = [0, 1, 2, 3, 4].map((i) =>
    m.lock().then((g2) => {
      g2.value.push(i);
      g2.release();
    }),
  );
  assert.equal(m.waiting, 5);
  g.release();
  // Handed over, not merely unlocked: a newcomer cannot barge in between.
  assert.equal(m.isLocked, true);
  assert.equal(m.tryLock(), undefined);
  await Promise.all(done);
  const last = await m.lock();
  assert.deepEqual(last.value, [0, 1, 2, 3, 4]);
  last.release();
});

void test("tryLock takes a free mutex and refuses a held one", () => {
  const m = new Mutex("v");
  const g = m.tryLock();
  assert.ok(g !== undefined);
  assert.equal(g.value, "v");
  assert.equal(m.tryLock(), undefined);
  g.release();
  const again = m.tryLock();
  assert.ok(again !== undefined);
  again.release();
});

void test("aborting a waiting lock withdraws it: rejects with the reason, holds nothing", async () => {
  const m = new Mutex();
  const g = await m.lock();
  const c = new AbortController();
  const why = reason();
  const p = m.lock({ signal: c.signal });
  const behind = m.lock();
  assert.equal(m.waiting, 2);
  c.abort(why);
  await assert.rejects(p, (e) => e === why);
  assert.equal(m.waiting, 1);
  g.release();
  const gb = await behind;
  gb.release();
  assert.equal(m.isLocked, false);
  assert.equal(m.waiting, 0);
});

void test("an already aborted signal rejects at once, even when the mutex is free", async () => {
  const m = new Mutex();
  const why = reason();
  await assert.rejects(m.lock({ signal: AbortSignal.abort(why) }), (e) => e === why);
  assert.equal(m.isLocked, false);
});

void test("cancelling a task waiting for the lock withdraws its wait; the lock is not leaked", async () => {
  const m = new Mutex();
  const g = await m.lock();
  let got = false;
  const h = spawn(async () => {
    const g2 = await m.lock();
    got = true;
    g2.release();
  });
  await settle();
  assert.equal(m.waiting, 1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error instanceof JoinError && r.error.isCancelled());
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  assert.equal(m.waiting, 0);
  g.release();
  assert.equal(m.isLocked, false);
  assert.equal(got, false);
});

void test("inside shield() a cancelled task still gets the lock", async () => {
  const m = new Mutex(0);
  const g = await m.lock();
  const h = spawn(() =>
    shield(async () => {
      const g2 = await m.lock();
      g2.value = 42;
      g2.release();
      return "locked";
    }),
  );
  await settle();
  h.abort();
  await sleep(5);
  g.release();
  assert.equal(await h, "locked");
  assert.equal(m.tryLock()?.value, 42);
});

void test("runExclusive returns fn's value and unlocks, also when fn throws", async () => {
  const m = new Mutex(10);
  assert.equal(
    await m.runExclusive((g) => {
      assert.equal(m.isLocked, true);
      return g.value * 2;
    }),
    20,
  );
  assert.equal(m.isLocked, false);
  await assert.rejects(
    m.runExclusive(async () => {
      await sleep(1);
      throw new Error("inside");
    }),
    /inside/,
  );
  assert.equal(m.isLocked, false);
  // serialises overlapping callers
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 5 }, () =>
      m.runExclusive(async () => {
        maxInside = Math.max(maxInside, ++inside);
        await sleep(1);
        inside--;
      }),
    ),
  );
  assert.equal(maxInside, 1);
});

void test("bad input is a TypeError that names the argument", () => {
  const m = new Mutex();
  assert.throws(() => m.lock(null as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => m.lock({ signal: {} as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.throws(() => m.runExclusive(42 as never), { name: "TypeError", message: /fn must be a function/ });
  assert.throws(() => new Mutex(0, { name: 5 as never }), { name: "TypeError", message: /opts\.name/ });
  assert.equal(m.isLocked, false);
});

void test("a task waiting for the lock shows it in dumps", async () => {
  const rt = new Runtime();
  const m = new Mutex(undefined, { name: "db" });
  const g = await m.lock();
  const h = rt.spawn(async () => (await m.lock()).release(), { name: "waiter" });
  await settle();
  const info = rt.dump().tasks.find((t) => t.id === h.id);
  assert.equal(info?.waitingOn, 'lock on Mutex "db"');
  g.release();
  await h;
  await rt.shutdown();
});

void test("two tasks handing a contended lock back and forth cannot starve timers", async () => {
  const m = new Mutex();
  let fired = false;
  const timer = setTimeout(() => (fired = true), 0);
  let rounds = 0;
  const worker = async (): Promise<void> => {
    while (!fired) {
      const g = await m.lock();
      rounds++;
      g.release();
    }
  };
  await Promise.all([worker(), worker()]);
  clearTimeout(timer);
  assert.equal(fired, true);
  assert.ok(rounds > 0);
  assert.equal(m.isLocked, false);
});

void test("a lock handed over while the budget is spent is still exclusive and FIFO", async () => {
  configure({ coopBudget: 1 });
  try {
    const m = new Mutex<number[]>([]);
    const g = await m.lock();
    const order: string[] = [];
    const ps = [0, 1, 2].map((i) =>
      m.lock().then((g2) => {
        order.push(`in ${i}`);
        g2.value.push(i);
        g2.release();
      }),
    );
    g.release();
    // The hand-over happened now (the lock is taken for waiter 0); only its delivery waits.
    assert.equal(m.isLocked, true);
    assert.equal(m.tryLock(), undefined);
    await Promise.all(ps);
    const last = m.tryLock();
    assert.deepEqual(last?.value, [0, 1, 2]);
    assert.deepEqual(order, ["in 0", "in 1", "in 2"]);
    last?.release();
  } finally {
    configure({ coopBudget: 128 });
  }
});

void test("an uncontended lock creates no waiter; a contended one does", async () => {
  // Inside a task every Waiter registers with the task's token: count those registrations.
  configure({ coopBudget: 0 }); // no parking on a spent budget, which would (rightly) make one
  try {
    const m = new Mutex();
    const rw = new RwLock();
    const sem = new Semaphore(2);
    const counts = await spawn(async (ctx) => {
      let waiters = 0;
      const token = ctx.token as unknown as { addListener(l: unknown): void };
      const original = token.addListener.bind(token);
      token.addListener = (l) => {
        waiters++;
        original(l);
      };
      for (let i = 0; i < 50; i++) {
        (await m.lock()).release();
        (await rw.read()).release();
        (await rw.write()).release();
        (await sem.acquire(2)).release();
      }
      const uncontended = waiters;
      const g = await m.lock();
      const p = m.lock();
      g.release();
      (await p).release();
      return { uncontended, contended: waiters - uncontended };
    });
    assert.deepEqual(counts, { uncontended: 0, contended: 1 });
  } finally {
    configure({ coopBudget: 128 });
  }
});

void test("in a task already cancelled, lock rejects with CancelledError even when the mutex is free", async () => {
  const m = new Mutex();
  const h = spawn(async (ctx) => {
    ctx.token.cancel();
    return m.lock();
  });
  const r = await h.result();
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  assert.equal(m.isLocked, false);
  // shield() lets cleanup lock anyway
  const h2 = spawn(async (ctx) => {
    ctx.token.cancel();
    return shield(() => m.runExclusive(() => "cleaned up"));
  });
  assert.equal(await h2, "cleaned up");
  assert.equal(m.isLocked, false);
});
