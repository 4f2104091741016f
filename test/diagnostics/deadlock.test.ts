/**
 * Deadlock detection in the shapes users write: every shape the issue lists rejects the wait
 * that closes the cycle with DeadlockError naming every task and lock of it, the other tasks go
 * on once the rejected one unwinds; and the traps (code outside tasks, guards handed to spawned
 * tasks, a lock requested then released before awaiting, races, signals) are never reported.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { DeadlockError, JoinError, type JoinHandle, Mutex, OnceCell, RwLock, Semaphore, sleep, spawn } from "../../src/index.js";
import { deadlockOf, within } from "./helpers.js";

const THIS_TS = fileURLToPath(import.meta.url)
  .replace(/dist\/test\//, "test/")
  .replace(/\.js$/, ".ts");

test("two tasks taking two mutexes in opposite orders: the wait that closes the cycle rejects, naming both sides; the other proceeds", async () => {
  const a = new Mutex(0, { name: "a" });
  const b = new Mutex(0, { name: "b" });
  const order: string[] = [];
  const one = spawn(
    async () => {
      using ga = await a.lock();
      await sleep(5);
      using gb = await b.lock(); // parks first: closes nothing yet
      order.push("one got both");
      void ga;
      void gb;
    },
    { name: "one" },
  );
  const two = spawn(
    async () => {
      using gb = await b.lock();
      await sleep(20);
      using ga = await a.lock(); // parks second: closes the cycle
      void ga;
      void gb;
    },
    { name: "two" },
  );
  const [e1, e2] = await within(Promise.all([deadlockOf(one), deadlockOf(two)]), 10_000, "the two tasks");
  assert.equal(e1, undefined, "the task that parked first keeps waiting and then proceeds");
  assert.ok(e2 instanceof DeadlockError, "the wait that closed the cycle rejects with DeadlockError");
  assert.deepEqual(order, ["one got both"]);
  const cycle = e2.cycle;
  assert.deepEqual(
    cycle.map((l) => l.task.name),
    ["two", "one"],
  );
  assert.equal(cycle[0]!.waitsFor, 'lock on Mutex "a"');
  assert.equal(cycle[1]!.waitsFor, 'lock on Mutex "b"');
  assert.deepEqual(cycle[0]!.holds, [{ lock: 'Mutex "b"' }]);
  assert.deepEqual(cycle[1]!.holds, [{ lock: 'Mutex "a"' }]);
  assert.deepEqual(cycle[0]!.waitsOn, [one.id]);
  assert.deepEqual(cycle[1]!.waitsOn, [two.id]);
  for (const l of cycle) assert.match(l.awaitSite ?? "", new RegExp(`${THIS_TS.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+$`), "await sites are in this .ts file");
  assert.match(e2.message, /task \d+ 'two' .*waits for lock on Mutex "a" at .*deadlock\.test\.ts:\d+:\d+ while holding Mutex "b"/);
  assert.match(e2.message, /task \d+ 'one' .*waits for lock on Mutex "b" at .*deadlock\.test\.ts:\d+:\d+ while holding Mutex "a"/);
  assert.ok(!a.isLocked && !b.isLocked, "everything was released");
});

test("runExclusive calling lock on the same Mutex rejects the inner lock with DeadlockError", async () => {
  const m = new Mutex(0, { name: "m" });
  const h = spawn(() => m.runExclusive(async () => (await m.lock()).release()));
  const e = await within(deadlockOf(h), 10_000, "the task");
  assert.ok(e instanceof DeadlockError);
  assert.equal(e.cycle.length, 1);
  assert.equal(e.cycle[0]!.task.id, h.id);
  assert.deepEqual(e.cycle[0]!.waitsOn, [h.id]);
  assert.deepEqual(e.cycle[0]!.holds, [{ lock: 'Mutex "m"' }]);
  assert.equal(m.isLocked, false, "runExclusive released the lock as the error unwound it");
});

test("read then write on one RwLock in one task rejects the write", async () => {
  const rw = new RwLock(0, { name: "rw" });
  const h = spawn(async () => {
    using r = await rw.read();
    using w = await rw.write();
    void r;
    void w;
  });
  const e = await within(deadlockOf(h), 10_000, "the task");
  assert.ok(e instanceof DeadlockError);
  assert.equal(e.cycle[0]!.waitsFor, 'write on RwLock "rw"');
  assert.deepEqual(e.cycle[0]!.holds, [{ lock: 'read on RwLock "rw"' }]);
  assert.equal(rw.readers, 0);
});

test("a second read queued behind a writer that waits for this task's first read is a cycle through the queue", async () => {
  const rw = new RwLock(0, { name: "rw" });
  let readerHolds!: () => void;
  const held = new Promise<void>((r) => (readerHolds = r));
  const reader = spawn(
    async () => {
      using r1 = await rw.read();
      readerHolds();
      await sleep(20); // the writer queues meanwhile
      using r2 = await rw.read(); // queued behind the writer: waits for it, and it waits for r1
      void r1;
      void r2;
    },
    { name: "reader" },
  );
  await held;
  const writer = spawn(async () => (await rw.write()).release(), { name: "writer" });
  const [er, ew] = await within(Promise.all([deadlockOf(reader), deadlockOf(writer)]), 10_000, "the tasks");
  assert.equal(ew, undefined, "the writer gets in once the reader unwound");
  assert.ok(er instanceof DeadlockError);
  assert.deepEqual(
    er.cycle.map((l) => l.task.name),
    ["reader", "writer"],
  );
  assert.deepEqual(er.cycle[0]!.holds, [{ lock: 'read on RwLock "rw"' }], "the reader holds the read the writer waits for");
  assert.match(er.cycle[1]!.holds[0]?.lock ?? "", /its place ahead in line for write on RwLock "rw"/, "the writer is ahead of the second read");
});

test("an OnceCell initialiser awaiting its own cell rejects that inner getOrInit", async () => {
  const cell = new OnceCell<number>({ name: "config" });
  const h = spawn(() => cell.getOrInit(async () => (await cell.getOrInit(() => 1)) + 1));
  const e = await within(deadlockOf(h), 10_000, "the task");
  assert.ok(e instanceof DeadlockError);
  assert.equal(e.cycle[0]!.waitsFor, 'getOrInit on OnceCell "config"');
  assert.deepEqual(e.cycle[0]!.holds, [{ lock: 'the initialiser of OnceCell "config"' }]);
  assert.equal(cell.state, "empty", "the failed initialiser left the cell empty");
  assert.equal(await cell.getOrInit(() => 7), 7, "the cell still works");
});

test("a task joining itself rejects the join", async () => {
  const h: JoinHandle<void> = spawn(async () => {
    await h;
  });
  const e = await within(deadlockOf(h), 10_000, "the task");
  assert.ok(e instanceof DeadlockError);
  assert.equal(e.cycle[0]!.waitsFor, `join task ${h.id}`);
  assert.deepEqual(e.cycle[0]!.waitsOn, [h.id]);
});

test("a child joining the parent that joins it: the later join rejects and both end", async () => {
  let child!: JoinHandle<void>;
  const parent: JoinHandle<void> = spawn(
    async () => {
      child = spawn(
        async () => {
          await sleep(10);
          await parent; // closes the cycle
        },
        { name: "child" },
      );
      await child;
    },
    { name: "parent" },
  );
  const ep = await within(deadlockOf(parent), 10_000, "the parent");
  // The child's join rejected; the parent's join then saw the child's panic, a JoinError (not a deadlock).
  assert.equal(ep, undefined);
  const ec = await deadlockOf(child);
  assert.ok(ec instanceof DeadlockError);
  assert.deepEqual(
    ec.cycle.map((l) => l.task.name),
    ["child", "parent"],
  );
});

test("a parent holding a lock and joining a child that waits for it is a cycle through the spawned task", async () => {
  const m = new Mutex(0, { name: "m" });
  let child!: JoinHandle<void>;
  const parent = spawn(
    async () => {
      await m.runExclusive(async () => {
        child = spawn(async () => (await m.lock()).release(), { name: "child" });
        // The child starts (and queues on m) before this join is made: the join closes the cycle.
        await child;
      });
    },
    { name: "parent" },
  );
  const e = await within(deadlockOf(parent), 10_000, "the parent");
  assert.ok(e instanceof DeadlockError);
  assert.deepEqual(
    e.cycle.map((l) => l.task.name),
    ["parent", "child"],
  );
  assert.deepEqual(e.cycle[1]!.holds, [], "the child holds nothing");
  assert.deepEqual(e.cycle[0]!.holds, [{ lock: 'Mutex "m"' }]);
  assert.equal((await child.result()).ok, true, "the child got the lock once the parent unwound");
  assert.equal(m.isLocked, false);
});

test("two tasks each holding a permit of a Semaphore(2) and each wanting one more: reported", async () => {
  const sem = new Semaphore(2, { name: "pool" });
  const mk = (name: string, delay: number): JoinHandle<void> =>
    spawn(
      async () => {
        using p = await sem.acquire();
        await sleep(delay);
        using q = await sem.acquire();
        void p;
        void q;
      },
      { name },
    );
  const x = mk("x", 5);
  const y = mk("y", 20);
  const [ex, ey] = await within(Promise.all([deadlockOf(x), deadlockOf(y)]), 10_000, "the tasks");
  assert.equal(ex, undefined);
  assert.ok(ey instanceof DeadlockError);
  assert.equal(ey.cycle[0]!.waitsFor, 'acquire 1 on Semaphore "pool"');
  assert.equal(sem.available, 2);
});

test("a counting semaphore (given permits with addPermits) is never reported: any code may add more", async () => {
  const sem = new Semaphore(1);
  sem.addPermits(1);
  let reported = false;
  const mk = (): JoinHandle<void> =>
    spawn(async () => {
      using p = await sem.acquire();
      await sleep(5);
      try {
        using q = await sem.acquire();
        void q;
      } catch (e) {
        reported = e instanceof DeadlockError;
        throw e;
      }
      void p;
    });
  const x = mk();
  const y = mk();
  await sleep(100);
  assert.equal(reported, false);
  sem.addPermits(2);
  await within(Promise.all([x, y]), 10_000, "the tasks");
});

// ---------------------------------------------------------------------------------------------
// The traps: none of these is a deadlock.

test("code outside any task holding the lock is not a task of any cycle", async () => {
  const m = new Mutex();
  const n = new Mutex();
  const g = await m.lock(); // outside any task
  const t = spawn(async () => {
    using gn = await n.lock();
    using gm = await m.lock();
    void gn;
    void gm;
  });
  setTimeout(() => g.release(), 60);
  await within(t, 10_000, "the task");
});

test("a guard handed to a task spawned while holding it: the spawner waiting on the same lock is not reported", async () => {
  const m = new Mutex(0, { name: "m" });
  const h = spawn(async () => {
    const g = await m.lock();
    spawn(async () => {
      await sleep(60);
      g.release();
    });
    (await m.lock()).release();
    return "ok";
  });
  assert.equal(await within(h, 10_000, "the task"), "ok");
});

test("a lock requested and then released by its holder before it awaits is not a deadlock", async () => {
  const m = new Mutex();
  const h = spawn(async () => {
    const g = await m.lock();
    const again = m.lock(); // queued behind its own hold
    g.release(); // ...released before awaiting
    (await again).release();
    // The same with a non-steward wait in between: the task is parked on the timer, not on the lock.
    const g2 = await m.lock();
    const again2 = m.lock();
    await new Promise((r) => setTimeout(r, 60));
    g2.release();
    (await again2).release();
    // And with a steward wait in between (two pending steward waits: parked on neither).
    const g3 = await m.lock();
    const again3 = m.lock();
    await sleep(60);
    g3.release();
    (await again3).release();
    return "ok";
  });
  assert.equal(await within(h, 10_000, "the task"), "ok");
});

test("a wait raced against a sleep, or given an AbortSignal, is not reported", async () => {
  const m = new Mutex();
  const h = spawn(async () => {
    const g = await m.lock();
    const second = m.lock();
    const won = await Promise.race([second.then(() => "lock"), sleep(60).then(() => "sleep")]);
    g.release();
    (await second).release();
    const g2 = await m.lock();
    await assert.rejects(m.lock({ signal: AbortSignal.timeout(60) }), { name: "TimeoutError" });
    g2.release();
    return won;
  });
  assert.equal(await within(h, 10_000, "the task"), "sleep");
});

test('configure({ deadlocks: "off" }): the same self-deadlock just waits (until the task is aborted)', async () => {
  const { configure } = await import("../../src/index.js");
  configure({ deadlocks: "off" });
  try {
    const m = new Mutex();
    const h = spawn(() => m.runExclusive(async () => (await m.lock()).release()));
    await sleep(150);
    assert.equal(h.isFinished(), false, "not rejected: detection is off");
    h.abort();
    const r = await h.result();
    assert.equal(r.ok, false);
    assert.equal((r as { error: JoinError }).error.kind, "cancelled");
  } finally {
    configure({ deadlocks: "reject" });
  }
});

// ---------------------------------------------------------------------------------------------
// More of the shapes, in two tasks.

test("two OnceCells whose initialisers (in two tasks) each wait for the other cell: the later wait rejects naming both tasks and cells", async () => {
  const x = new OnceCell<number>({ name: "x" });
  const y = new OnceCell<number>({ name: "y" });
  const tx = spawn(
    () =>
      x.getOrInit(async () => {
        await sleep(5);
        return (await y.getOrInit(() => 1)) + 1; // parks first on y's initialiser
      }),
    { name: "tx" },
  );
  const ty = spawn(
    () =>
      y.getOrInit(async () => {
        await sleep(25);
        return (await x.getOrInit(() => 2)) + 1; // closes the cycle
      }),
    { name: "ty" },
  );
  const [ex, ey] = await within(Promise.all([deadlockOf(tx), deadlockOf(ty)]), 10_000, "the tasks");
  assert.ok(ey instanceof DeadlockError, "the initialiser that parked last is rejected");
  assert.ok(ex === undefined || ex instanceof DeadlockError);
  assert.deepEqual(
    ey.cycle.map((l) => l.task.name),
    ["ty", "tx"],
  );
  assert.equal(ey.cycle[0]!.waitsFor, 'getOrInit on OnceCell "x"');
  assert.equal(ey.cycle[1]!.waitsFor, 'getOrInit on OnceCell "y"');
  assert.deepEqual(ey.cycle[0]!.holds, [{ lock: 'the initialiser of OnceCell "y"' }]);
  assert.deepEqual(ey.cycle[1]!.holds, [{ lock: 'the initialiser of OnceCell "x"' }]);
  assert.match(ey.message, /'ty'.*'tx'/s);
});

test("two tasks writing two RwLocks in opposite orders: the later write rejects, naming both tasks and locks", async () => {
  const p = new RwLock(0, { name: "p" });
  const q = new RwLock(0, { name: "q" });
  const mk = (name: string, first: RwLock<number>, second: RwLock<number>, delay: number): JoinHandle<void> =>
    spawn(
      async () => {
        using g1 = await first.write();
        await sleep(delay);
        using g2 = await second.write();
        void g1;
        void g2;
      },
      { name },
    );
  const one = mk("one", p, q, 5);
  const two = mk("two", q, p, 25);
  const [e1, e2] = await within(Promise.all([deadlockOf(one), deadlockOf(two)]), 10_000, "the tasks");
  assert.equal(e1, undefined);
  assert.ok(e2 instanceof DeadlockError);
  assert.deepEqual(
    e2.cycle.map((l) => [l.task.name, l.waitsFor, l.holds.map((h) => h.lock)]),
    [
      ["two", 'write on RwLock "p"', ['write on RwLock "q"']],
      ["one", 'write on RwLock "q"', ['write on RwLock "p"']],
    ],
  );
});

test("three tasks in a ring A→B→C→A: one rejection naming all three; the others finish", async () => {
  const locks = [new Mutex(0, { name: "r0" }), new Mutex(0, { name: "r1" }), new Mutex(0, { name: "r2" })];
  const hs = [0, 1, 2].map((i) =>
    spawn(
      async () => {
        using g1 = await locks[i]!.lock();
        await sleep(5 + 15 * i);
        using g2 = await locks[(i + 1) % 3]!.lock();
        void g1;
        void g2;
      },
      { name: `t${i}` },
    ),
  );
  const es = await within(Promise.all(hs.map(deadlockOf)), 10_000, "the ring");
  const rejected = es.filter((e) => e !== undefined);
  assert.equal(rejected.length, 1, "one wait of the ring is rejected, the others proceed");
  assert.ok(es[2] instanceof DeadlockError, "the last to park (t2) closed the ring");
  assert.deepEqual(
    es[2].cycle.map((l) => l.task.name),
    ["t2", "t0", "t1"],
  );
});

test("the hold bookkeeping adds no method to a permit or a read guard (calling one crashed: fuzz)", async () => {
  const sem = new Semaphore(1);
  const p = await sem.acquire();
  const rw = new RwLock(0);
  const r = await rw.read();
  assert.equal("detach" in p, false);
  assert.equal("detach" in r, false);
  p.release();
  r.release();
  assert.equal(sem.available, 1);
  assert.equal(rw.readers, 0);
});
