// Guard `map` (Mutex, RwLock) and RwLock `downgrade`: the hold moves, never doubles or leaks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex, RwLock } from "../../src/index.js";
import { isPending } from "./util.js";

void test("MutexGuard.map moves the lock to a guard of the part; releasing it unlocks", async () => {
  const m = new Mutex({ config: { retries: 1 }, hits: 0 });
  const g = await m.lock();
  const part = g.map((v) => v.config);
  assert.throws(() => g.value, /already released/, "the original guard gave its hold away");
  g.release(); // a no-op: it holds nothing now
  assert.ok(m.isLocked);
  part.value.retries = 3; // an object part is changed in place
  const deeper = part.map((c) => c.retries);
  assert.equal(deeper.value, 3);
  assert.throws(() => part.value, /already released/);
  const waiter = m.lock();
  assert.ok(await isPending(waiter));
  deeper.release();
  deeper.release();
  using g2 = await waiter;
  assert.equal(g2.value.config.retries, 3);
});

void test("a map whose function throws changes nothing; bad input is a TypeError naming fn", async () => {
  const m = new Mutex({ a: 1 });
  using g = await m.lock();
  assert.throws(
    () =>
      g.map(() => {
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.equal(g.value.a, 1, "the guard still holds the lock");
  assert.throws(() => g.map(5 as never), { name: "TypeError", message: /fn/ });
  assert.throws(() => g.map(undefined as never), { name: "TypeError", message: /fn/ });
  assert.ok(m.isLocked);
  const released = await new Mutex(1).lock();
  released.release();
  assert.throws(() => released.map((v) => v), /already released/);
});

void test("a map function that releases its own guard gets an error, not a guard of an unlocked mutex", async () => {
  const m = new Mutex(1);
  const g = await m.lock();
  assert.throws(() => g.map((v) => (g.release(), v)), /already released/);
  assert.ok(!m.isLocked);
  const r = new RwLock(1);
  const w = await r.write();
  assert.throws(() => w.map((v) => (w.release(), v)), /already released/);
  assert.ok(!r.isWriteLocked);
});

void test("mapped guards dispose with using", async () => {
  const m = new Mutex({ inner: [1] });
  {
    using g = await m.lock();
    using part = g.map((v) => v.inner);
    part.value.push(2);
  }
  assert.ok(!m.isLocked);
  const r = new RwLock({ inner: [1] });
  {
    using w = await r.write();
    using part = w.map((v) => v.inner);
    part.value.push(2);
  }
  {
    using rg = await r.read();
    using part = rg.map((v) => v.inner);
    assert.deepEqual(part.value, [1, 2]);
  }
  assert.equal(r.readers, 0);
  assert.ok(r.tryWrite() !== undefined);
});

void test("downgrade: no writer gets in between; readers queued at the head join, a queued writer waits", async () => {
  const lock = new RwLock("v");
  const w = await lock.write();
  const r1 = lock.read();
  const r2 = lock.read();
  const w2 = lock.write();
  const r3 = lock.read(); // behind the writer: FIFO keeps it out until w2 is done
  const rg = w.downgrade();
  assert.throws(() => w.value, /already released/);
  assert.equal(rg.value, "v");
  const g1 = await r1;
  const g2 = await r2;
  assert.equal(lock.readers, 3);
  assert.ok(await isPending(w2));
  assert.ok(await isPending(r3));
  rg.release();
  g1.release();
  assert.ok(await isPending(w2));
  g2.release();
  const wg2 = await w2;
  assert.ok(await isPending(r3));
  wg2.release();
  (await r3).release();
  assert.equal(lock.readers, 0);
});

void test("a mapped write guard downgrades to a read guard of the same part", async () => {
  const lock = new RwLock({ part: { n: 1 } });
  const w = await lock.write();
  const mw = w.map((v) => v.part);
  mw.value.n = 2;
  const reader = lock.read();
  assert.ok(await isPending(reader));
  const rg = mw.downgrade();
  assert.throws(() => mw.value, /already released/);
  assert.equal(rg.value.n, 2);
  const other = await reader;
  assert.equal(other.value.part, rg.value);
  assert.throws(() => mw.downgrade(), /already released/);
  rg.release();
  other.release();
  assert.ok(lock.tryWrite() !== undefined);
});

// Random reads, writes, downgrades, maps, releases and aborts: never a writer together with
// readers or another writer, the reader count always matches the read guards held, and once
// everything is released the lock is free.
void test("property: downgrade and map keep the RwLock's exclusion and counts exact", async () => {
  const { default: fc } = await import("fast-check");
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  type G = { release(): void; map(f: (v: unknown) => unknown): G; downgrade?(): G };
  type Held = { kind: "read" | "write"; g: G };
  const opArb = fc.oneof(
    fc.record({ t: fc.constant("read" as const), abort: fc.boolean() }),
    fc.record({ t: fc.constant("write" as const), abort: fc.boolean() }),
    fc.record({ t: fc.constant("downgrade" as const), k: fc.nat(7) }),
    fc.record({ t: fc.constant("map" as const), k: fc.nat(7) }),
    fc.record({ t: fc.constant("release" as const), k: fc.nat(7) }),
    fc.record({ t: fc.constant("abort" as const), k: fc.nat(7) }),
    fc.constant({ t: "tick" as const }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
      const lock = new RwLock({ part: { n: 0 } });
      const held: Held[] = [];
      const controllers: AbortController[] = [];
      const pending: Promise<unknown>[] = [];
      const check = (): void => {
        const writers = held.filter((h) => h.kind === "write").length;
        const readers = held.filter((h) => h.kind === "read").length;
        assert.ok(writers <= 1 && !(writers === 1 && readers > 0), `writers ${writers}, readers ${readers}`);
        assert.equal(lock.readers, readers);
        assert.equal(lock.isWriteLocked, writers === 1);
      };
      for (const op of ops) {
        const pick = (k: number): Held | undefined => held[k % Math.max(1, held.length)];
        if (op.t === "read" || op.t === "write") {
          const c = new AbortController();
          controllers.push(c);
          const p = op.t === "read" ? lock.read({ signal: c.signal }) : lock.write({ signal: c.signal });
          pending.push(
            p.then(
              (g) => void held.push({ kind: op.t, g: g as unknown as G }),
              () => {},
            ),
          );
          if (op.abort) c.abort(new Error("abort"));
        } else if (op.t === "downgrade") {
          const h = pick(op.k);
          if (h?.kind !== "write") continue;
          h.g = h.g.downgrade!();
          h.kind = "read";
        } else if (op.t === "map") {
          const h = pick(op.k);
          if (h === undefined) continue;
          // A mapped guard holds what the guard held: a mapped write guard still excludes everyone.
          h.g = h.g.map((v) => v);
        } else if (op.t === "release") {
          const h = pick(op.k);
          if (h === undefined) continue;
          h.g.release();
          held.splice(held.indexOf(h), 1);
        } else if (op.t === "abort") {
          controllers[op.k % Math.max(1, controllers.length)]?.abort(new Error("abort"));
        } else {
          await turn();
          check();
        }
      }
      for (;;) {
        for (const c of controllers) c.abort(new Error("end"));
        await Promise.all(pending);
        await turn();
        check();
        if (held.length === 0) break;
        held.pop()!.g.release();
      }
      assert.equal(lock.readers, 0);
      assert.ok(!lock.isWriteLocked);
      assert.ok(lock.tryWrite() !== undefined);
    }),
    { numRuns: 150 },
  );
});
