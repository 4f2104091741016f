import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, CancelledError, select, spawn } from "../../src/index.js";
import { isPending, reason, settle } from "./util.js";

void test("the n-th arrival releases all n; exactly one is the leader", async () => {
  const b = new Barrier(3);
  const first = [b.wait(), b.wait()];
  assert.ok(await isPending(first[0]!));
  assert.equal(b.waiting, 2);
  const results = await Promise.all([...first, b.wait()]);
  assert.equal(results.filter((r) => r.isLeader).length, 1);
  assert.equal(b.waiting, 0);
});

void test("generations are reusable; arrivals past n wait for the next generation", async () => {
  const b = new Barrier(2);
  const ps = [b.wait(), b.wait(), b.wait()];
  const [r1, r2] = await Promise.all([ps[0]!, ps[1]!]);
  assert.equal([r1, r2].filter((r) => r!.isLeader).length, 1);
  assert.ok(await isPending(ps[2]!));
  for (let gen = 0; gen < 5; gen++) {
    const next = b.wait();
    const rs = await Promise.all([ps[2]!, next]);
    assert.equal(rs.filter((r) => r.isLeader).length, 1);
    ps[2] = b.wait();
  }
  assert.ok(await isPending(ps[2]!));
});

void test("Barrier(1) releases every call at once, as its leader", async () => {
  const b = new Barrier(1);
  for (let i = 0; i < 3; i++) assert.deepEqual(await b.wait(), { isLeader: true });
});

void test("a withdrawn waiter takes its arrival back", async () => {
  const b = new Barrier(2);
  const c = new AbortController();
  const why = reason();
  const gone = b.wait({ signal: c.signal });
  c.abort(why);
  await assert.rejects(gone, (e) => e === why);
  assert.equal(b.waiting, 0);
  const x = b.wait();
  assert.ok(await isPending(x), "the aborted arrival does not count");
  const rs = await Promise.all([x, b.wait()]);
  assert.equal(rs.filter((r) => r.isLeader).length, 1);
});

void test("cancelling a task waiting at the barrier takes its arrival back", async () => {
  const b = new Barrier(2);
  const h = spawn(() => b.wait());
  await settle();
  assert.equal(b.waiting, 1);
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  assert.equal(b.waiting, 0);
  const x = b.wait();
  assert.ok(await isPending(x));
  await Promise.all([x, b.wait()]);
});

void test("one select with two branches at the same barrier is one arrival, not two", async () => {
  const b = new Barrier(2);
  const sel = select({ x: (s) => b.wait({ signal: s }), y: (s) => b.wait({ signal: s }) });
  assert.ok(await isPending(sel), "a single select must not complete a generation of two");
  const other = b.wait();
  const [r, o] = await Promise.all([sel, other]);
  assert.ok(r.key === "x" || r.key === "y");
  assert.equal([r.value, o].filter((v) => v.isLeader).length, 1);
  await settle();
  assert.equal(b.waiting, 0);
});

void test("bad input: Barrier(0) is a RangeError; every error names the argument", () => {
  assert.throws(() => new Barrier(0), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => new Barrier(-2), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => new Barrier(1.5), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => new Barrier(NaN), { name: "RangeError", message: /\bn\b/ });
  assert.throws(() => new Barrier("2" as never), { name: "TypeError", message: /\bn\b/ });
  assert.throws(() => new Barrier(2).wait(0 as never), { name: "TypeError", message: /opts/ });
});
