/**
 * Where each lock was acquired (`configure({ lockSites: true })`): a DeadlockError and the task
 * dumps name every held lock's acquisition site — the user's `.ts` line, three calls deep — and a
 * contended acquisition (its guard is made while the releasing task runs `release()`) names the
 * acquirer's line, never the releaser's. Off (the default), nothing is recorded.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { configure, DeadlockError, dumpWithAwaitSites, Mutex, type MutexGuard, Runtime, RwLock, sleep, spawn } from "../../src/index.js";
import { formatDump } from "../../src/runtime/format.js";
import { deadlockOf, within } from "./helpers.js";

const THIS_TS = fileURLToPath(import.meta.url)
  .replace(/dist\/test\//, "test/")
  .replace(/\.js$/, ".ts");
const escaped = THIS_TS.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const LINES = readFileSync(THIS_TS, "utf8").split("\n");
/** `file:line:col` of the line of this .ts file that contains `marker`, as a regexp source. */
function siteOf(marker: string): string {
  const line = LINES.findIndex((l) => l.includes(marker)) + 1;
  assert.ok(line > 0, marker);
  return `${escaped}:${line}:\\d+`;
}

async function withLockSites<T>(fn: () => Promise<T>): Promise<T> {
  configure({ lockSites: true });
  try {
    return await fn();
  } finally {
    configure({ lockSites: false });
  }
}

// User code three calls deep, each task its own path: job → transfer → take.
async function takeA(a: Mutex<number>): Promise<MutexGuard<number>> {
  return await a.lock(); // ONE-TAKES-A
}
async function debitA(a: Mutex<number>): Promise<MutexGuard<number>> {
  return await takeA(a);
}
async function jobOne(a: Mutex<number>, b: Mutex<number>): Promise<void> {
  using ga = await debitA(a);
  await sleep(30);
  using gb = await b.lock();
  void ga;
  void gb;
}
async function takeB(b: Mutex<number>): Promise<MutexGuard<number>> {
  return await b.lock(); // TWO-TAKES-B
}
async function creditB(b: Mutex<number>): Promise<MutexGuard<number>> {
  return await takeB(b);
}
async function jobTwo(a: Mutex<number>, b: Mutex<number>): Promise<void> {
  using gb = await creditB(b);
  await sleep(60);
  using ga = await a.lock();
  void ga;
  void gb;
}

test("A→B / B→A: the DeadlockError names where each task acquired the lock it holds (.ts, three calls deep), a contended acquisition by its acquirer's line", async () => {
  await withLockSites(async () => {
    const a = new Mutex(0, { name: "a" });
    const b = new Mutex(0, { name: "b" });
    // `a` is held for a moment by an opener when task one asks for it: one's acquisition of `a`
    // is contended, its guard made inside the opener's release().
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => (opened = r));
    const opener = spawn(
      async () => {
        const g = await a.lock();
        opened();
        await sleep(10);
        g.release(); // OPENER-RELEASES
      },
      { name: "opener" },
    );
    await isOpen;
    const one = spawn(() => jobOne(a, b), { name: "one" });
    const two = spawn(() => jobTwo(a, b), { name: "two" });
    const [e1, e2] = await within(Promise.all([deadlockOf(one), deadlockOf(two)]), 10_000, "the two tasks");
    await opener;
    // Which of the two closes the cycle depends on the timers on a loaded machine: one of them does.
    const e = e1 ?? e2;
    assert.ok(e instanceof DeadlockError, "the wait that closed the cycle rejects");
    assert.ok(e1 === undefined || e2 === undefined, "only one wait rejects");
    const two0 = e.cycle.find((l) => l.task.name === "two");
    const one1 = e.cycle.find((l) => l.task.name === "one");
    assert.equal(e.cycle.length, 2);
    assert.equal(two0!.holds.length, 1);
    assert.equal(two0!.holds[0]!.lock, 'Mutex "b"');
    assert.match(two0!.holds[0]!.acquiredAt ?? "", new RegExp(`^${siteOf("// TWO-TAKES-B")}$`));
    assert.equal(one1!.holds[0]!.lock, 'Mutex "a"');
    assert.match(one1!.holds[0]!.acquiredAt ?? "", new RegExp(`^${siteOf("// ONE-TAKES-A")}$`), "the contended acquisition names the acquirer's line, not the opener's release()");
    assert.doesNotMatch(e.message, new RegExp(siteOf("// OPENER-RELEASES")));
    assert.match(e.message, new RegExp(`'two' .*while holding Mutex "b" \\(acquired at ${siteOf("// TWO-TAKES-B")}\\)`));
    assert.match(e.message, new RegExp(`'one' .*while holding Mutex "a" \\(acquired at ${siteOf("// ONE-TAKES-A")}\\)`));
  });
});

test("read then write on one RwLock: the error names where the read was taken", async () => {
  await withLockSites(async () => {
    const rw = new RwLock(0, { name: "rw" });
    const h = spawn(async () => {
      using r = await rw.read(); // READ-TAKEN
      using w = await rw.write();
      void r;
      void w;
    });
    const e = await within(deadlockOf(h), 10_000, "the task");
    assert.ok(e instanceof DeadlockError);
    assert.equal(e.cycle[0]!.holds[0]!.lock, 'read on RwLock "rw"');
    assert.match(e.cycle[0]!.holds[0]!.acquiredAt ?? "", new RegExp(`^${siteOf("// READ-TAKEN")}$`));
  });
});

// The dump's holder: parks on a lock three calls deep, then keeps it while it waits for a gate.
async function lockAccount(m: Mutex<number>): Promise<MutexGuard<number>> {
  return await m.lock(); // HOLDER-ACQUIRES
}
async function openAccount(m: Mutex<number>): Promise<MutexGuard<number>> {
  return await lockAccount(m);
}
async function holdAccount(m: Mutex<number>, gate: Promise<void>): Promise<void> {
  using g = await openAccount(m);
  const part = g.map((v) => ({ v }));
  await gate;
  part.release();
}

test("the dumps show what each holder holds and where it acquired it; a contended acquisition names the acquirer's line, not release()'s", async () => {
  await withLockSites(async () => {
    await using rt = new Runtime({ name: "acquired-at" });
    const m = new Mutex(1, { name: "accounts" });
    const first = await m.lock(); // held outside any task: the task's acquisition is contended
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const holder = rt.spawn(() => holdAccount(m, gate), { name: "holder" });
    await sleep(10);
    first.release(); // DUMP-RELEASES
    await sleep(10);
    const waiter = rt.spawn(async () => (await m.lock()).release(), { name: "waiter" });
    await sleep(10);
    const want = new RegExp(`^${siteOf("// HOLDER-ACQUIRES")}$`);
    const sync = rt.dump().tasks.find((t) => t.id === holder.id)!;
    assert.equal(sync.holds?.length, 1);
    assert.equal(sync.holds[0]!.lock, 'Mutex "accounts"');
    assert.match(sync.holds[0]!.acquiredAt ?? "", want, "runtime.dump(): the acquirer's line (kept through guard.map)");
    const dump = await dumpWithAwaitSites(rt);
    const h = dump.tasks.find((t) => t.id === holder.id)!;
    assert.match(h.holds?.[0]?.acquiredAt ?? "", want, "dumpWithAwaitSites()");
    const text = formatDump(dump, "svc: dump");
    assert.match(text, new RegExp(`task ${holder.id} 'holder' .*holding Mutex "accounts" \\(acquired at ${siteOf("// HOLDER-ACQUIRES")}\\)`));
    assert.match(text, new RegExp(`task ${waiter.id} 'waiter' waiting on lock on Mutex "accounts" at .* held by task ${holder.id} 'holder'`));
    assert.doesNotMatch(text, new RegExp(siteOf("// DUMP-RELEASES")));
    letGo();
    await holder;
    await waiter;
  });
});

test("lockSites off (the default): holds carry no acquisition site", async () => {
  await using rt = new Runtime({ name: "no-sites" });
  const m = new Mutex(0, { name: "m" });
  let letGo!: () => void;
  const gate = new Promise<void>((r) => (letGo = r));
  const t = rt.spawn(async () => {
    using g = await m.lock();
    await gate;
    void g;
  });
  await sleep(10);
  assert.deepEqual(rt.dump().tasks.find((x) => x.id === t.id)!.holds, [{ lock: 'Mutex "m"' }]);
  letGo();
  await t;
});

test("configure({ lockSites }) rejects a non-boolean", () => {
  assert.throws(() => configure({ lockSites: "yes" as unknown as boolean }), { name: "TypeError", message: /opts\.lockSites must be a boolean/ });
});

// A batch that takes one lock per account, uncontended, and keeps them all: once the cooperative
// budget of the turn is spent, the next `lock()` is parked until the event loop turns and its
// guard is made then, from the budget's refill, with no user frame on the stack.
async function lockBatch(locks: Mutex<number>[], gate: Promise<void>): Promise<void> {
  const held: MutexGuard<number>[] = [];
  for (const m of locks) held.push(await m.lock()); // BATCH-LOCKS
  await gate;
  for (const g of held) g.release();
}

test("an acquisition served after the cooperative budget parked it names the acquirer's line too", async () => {
  await withLockSites(async () => {
    // A budget of 2 ready completions per turn makes every third uncontended lock() park (with the
    // default of 128 a batch reaches it at its 129th lock in one turn).
    configure({ coopBudget: 2 });
    try {
      await using rt = new Runtime({ name: "budget-parked" });
      const locks = Array.from({ length: 6 }, (_, i) => new Mutex(i, { name: `account ${i}` }));
      let letGo!: () => void;
      const gate = new Promise<void>((r) => (letGo = r));
      const batch = rt.spawn(() => lockBatch(locks, gate), { name: "batch" });
      await sleep(20);
      const holds = rt.dump().tasks.find((t) => t.id === batch.id)!.holds ?? [];
      assert.equal(holds.length, 6);
      const want = new RegExp(`^${siteOf("// BATCH-LOCKS")}$`);
      for (const h of holds) assert.match(h.acquiredAt ?? "(none)", want, `${h.lock}: every acquisition names the batch's line`);
      letGo();
      await batch;
    } finally {
      configure({ coopBudget: 128 });
    }
  });
});

test("a budget-parked lock() that finds the lock taken at the refill queues, and is still named by the acquirer's line when served", async () => {
  await withLockSites(async () => {
    configure({ coopBudget: 1 });
    try {
      await using rt = new Runtime({ name: "parked-then-queued" });
      const ledger = new Mutex(0, { name: "ledger" });
      const audit = new Mutex(0, { name: "audit" });
      let letGo!: () => void;
      const gate = new Promise<void>((r) => (letGo = r));
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      // Started in one microtask run: `first` spends the turn's one unit on `audit`; `second`'s
      // ledger.lock() is then parked, and `first`'s parks behind it. At the refill `second` takes
      // the ledger, and `first`'s wait queues (from the refill, no user frame on the stack).
      const first = rt.spawn(
        async () => {
          using a = await audit.lock();
          using l = await ledger.lock(); // FIRST-LOCKS-LEDGER
          void a;
          void l;
          await finished;
        },
        { name: "first" },
      );
      const second = rt.spawn(
        async () => {
          using l = await ledger.lock();
          void l;
          await gate;
        },
        { name: "second" },
      );
      await sleep(20);
      assert.equal(rt.dump().tasks.find((t) => t.id === first.id)!.waitingOn, 'lock on Mutex "ledger"', "first queued behind second");
      letGo();
      await second;
      await sleep(10);
      const holds = rt.dump().tasks.find((t) => t.id === first.id)!.holds ?? [];
      const l = holds.find((h) => h.lock === 'Mutex "ledger"');
      assert.match(l?.acquiredAt ?? "(none)", new RegExp(`^${siteOf("// FIRST-LOCKS-LEDGER")}$`));
      done();
      await first;
    } finally {
      configure({ coopBudget: 128 });
    }
  });
});
