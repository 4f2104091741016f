// Semaphore: acquires larger than it holds wait (issue 11), forgetPermits, Permit.split/merge.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Permit, Semaphore, SemaphoreClosedError } from "../../src/index.js";
import { isPending } from "./util.js";

void test("an acquire larger than the semaphore holds waits for addPermits; close rejects it", async () => {
  const sem = new Semaphore(2);
  const big = sem.acquire(3);
  assert.ok(await isPending(big));
  const behind = sem.acquire(1);
  assert.ok(await isPending(behind), "FIFO: the big acquire at the head holds back the ones behind it");
  sem.addPermits(1);
  const p = await big;
  assert.equal(p.count, 3);
  assert.equal(sem.available, 0);
  p.release();
  (await behind).release();
  const never = sem.acquire(4);
  assert.ok(await isPending(never));
  sem.close();
  await assert.rejects(never, SemaphoreClosedError);
  await assert.rejects(sem.acquire(4), SemaphoreClosedError);
});

void test("a withdrawn too-large acquire lets the waiters behind it in", async () => {
  const sem = new Semaphore(1);
  const c = new AbortController();
  const big = sem.acquire(5, { signal: c.signal });
  const small = sem.acquire(1);
  assert.ok(await isPending(small));
  c.abort(new Error("enough"));
  await assert.rejects(big, /enough/);
  (await small).release();
  assert.equal(sem.available, 1);
});

void test("forgetPermits takes only free permits and says how many; bad n is typed", () => {
  const sem = new Semaphore(5);
  const held = sem.tryAcquire(3)!;
  assert.equal(sem.forgetPermits(10), 2);
  assert.equal(sem.available, 0);
  held.release();
  assert.equal(sem.available, 3);
  assert.equal(sem.forgetPermits(0), 0);
  for (const n of [-1, 1.5, NaN, Infinity]) assert.throws(() => sem.forgetPermits(n), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => sem.forgetPermits("1" as never), { name: "TypeError", message: /\bn\b/ });
  // Forgotten permits leave circulation: the MAX_PERMITS check counts what is left.
  sem.forgetPermits(3);
  sem.addPermits(Semaphore.MAX_PERMITS);
  assert.equal(sem.available, Semaphore.MAX_PERMITS);
});

void test("split and merge: typed errors, nothing changes on a failed call", () => {
  const sem = new Semaphore(4);
  const p = sem.tryAcquire(3)!;
  for (const n of [-1, 0.5, NaN]) assert.throws(() => p.split(n), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => p.split("1" as never), { name: "TypeError", message: /\bn\b/ });
  assert.equal(p.split(4), undefined);
  assert.equal(p.count, 3);
  assert.throws(() => p.merge(p), { name: "TypeError", message: /other/ });
  assert.throws(() => p.merge({} as Permit), { name: "TypeError", message: /other/ });
  assert.throws(() => p.merge(undefined as never), { name: "TypeError", message: /other/ });
  const q = p.split(1)!;
  q.release();
  assert.throws(() => p.merge(q), /already released/);
  assert.throws(() => q.split(0), /already released/);
  assert.equal(p.count, 2);
  const r = sem.tryAcquire(2)!;
  p.merge(r);
  assert.equal(p.count, 4);
  r.release(); // empty now: a no-op
  assert.equal(sem.available, 0);
  p.forget();
  assert.equal(sem.available, 0);
  sem.addPermits(Semaphore.MAX_PERMITS); // the forgotten 4 left circulation
});

// Random splits, merges, releases and forgets: permits are conserved (free + held = circulation),
// and releasing everything gives back exactly the permits not forgotten.
void test("property: split/merge/release/forget conserve permits", () => {
  const opArb = fc.oneof(
    fc.record({ t: fc.constant("acquire" as const), n: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ t: fc.constant("split" as const), k: fc.nat(9), n: fc.nat(3) }),
    fc.record({ t: fc.constant("merge" as const), a: fc.nat(9), b: fc.nat(9) }),
    fc.record({ t: fc.constant("release" as const), k: fc.nat(9) }),
    fc.record({ t: fc.constant("forget" as const), k: fc.nat(9) }),
    fc.record({ t: fc.constant("forgetPermits" as const), n: fc.nat(3) }),
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const sem = new Semaphore(8);
      let circulation = 8;
      const held: Permit[] = [];
      const pick = (k: number): Permit | undefined => held[k % Math.max(1, held.length)];
      for (const op of ops) {
        if (op.t === "acquire") {
          const p = sem.tryAcquire(op.n);
          if (p !== undefined) held.push(p);
        } else if (op.t === "split") {
          const p = pick(op.k);
          if (p === undefined) continue;
          const before = p.count;
          const q = p.split(op.n);
          if (q === undefined) assert.ok(op.n > before);
          else {
            assert.equal(p.count + q.count, before);
            held.push(q);
          }
        } else if (op.t === "merge") {
          const a = pick(op.a);
          const b = pick(op.b);
          if (a === undefined || b === undefined || a === b) continue;
          const total = a.count + b.count;
          a.merge(b);
          assert.equal(a.count, total);
          held.splice(held.indexOf(b), 1);
        } else if (op.t === "release") {
          const p = pick(op.k);
          if (p === undefined) continue;
          p.release();
          held.splice(held.indexOf(p), 1);
        } else if (op.t === "forget") {
          const p = pick(op.k);
          if (p === undefined) continue;
          circulation -= p.count;
          p.forget();
          held.splice(held.indexOf(p), 1);
        } else {
          circulation -= sem.forgetPermits(op.n);
        }
        const inHand = held.reduce((s, p) => s + p.count, 0);
        assert.equal(sem.available + inHand, circulation);
      }
      for (const p of held) p.release();
      assert.equal(sem.available, circulation);
    }),
    { numRuns: 300 },
  );
});
