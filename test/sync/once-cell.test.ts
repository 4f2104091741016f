import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, OnceCell, sleep, spawn } from "../../src/index.js";
import { isPending, reason, settle } from "./util.js";

void test("getOrInit runs fn once; later calls get the value", async () => {
  const cell = new OnceCell<number>();
  assert.equal(cell.isSet, false);
  assert.equal(cell.get(), undefined);
  let runs = 0;
  assert.equal(await cell.getOrInit(() => ++runs * 10), 10);
  assert.equal(await cell.getOrInit(() => ++runs * 10), 10);
  assert.equal(runs, 1);
  assert.equal(cell.isSet, true);
  assert.equal(cell.get(), 10);
});

void test("concurrent callers wait for the one running initialiser", async () => {
  const cell = new OnceCell<string>();
  let runs = 0;
  let inside = 0;
  const init = async (): Promise<string> => {
    runs++;
    inside++;
    assert.equal(inside, 1, "one initialiser at a time");
    await sleep(5);
    inside--;
    return "v";
  };
  const all = await Promise.all(Array.from({ length: 5 }, () => cell.getOrInit(init)));
  assert.deepEqual(all, ["v", "v", "v", "v", "v"]);
  assert.equal(runs, 1);
});

void test("if the initialiser fails its caller gets the error and the next waiter runs its own", async () => {
  const cell = new OnceCell<string>();
  const ran: string[] = [];
  const a = cell.getOrInit(async () => {
    ran.push("a");
    await sleep(2);
    throw new Error("a failed");
  });
  const b = cell.getOrInit(() => {
    ran.push("b");
    throw new Error("b failed");
  });
  const c = cell.getOrInit(async () => {
    ran.push("c");
    return "c";
  });
  const d = cell.getOrInit(() => {
    ran.push("d");
    return "d";
  });
  await assert.rejects(a, /a failed/);
  await assert.rejects(b, /b failed/);
  assert.equal(await c, "c");
  assert.equal(await d, "c");
  assert.deepEqual(ran, ["a", "b", "c"]);
});

void test("set fills an empty cell once; it refuses while set or while an initialiser runs", async () => {
  const cell = new OnceCell<number>();
  let release!: () => void;
  const p = cell.getOrInit(() => new Promise<number>((r) => (release = () => r(1))));
  await settle();
  assert.equal(cell.set(5), false, "an initialiser is running");
  release();
  assert.equal(await p, 1);
  assert.equal(cell.set(2), false);
  assert.equal(cell.get(), 1);
  const fresh = new OnceCell<number>();
  assert.equal(fresh.set(3), true);
  assert.equal(fresh.set(4), false);
  assert.equal(fresh.get(), 3);
  assert.equal(await fresh.getOrInit(() => 9), 3);
});

void test("a withdrawn waiter runs nothing; the running initialiser goes on and fills the cell", async () => {
  const cell = new OnceCell<string>();
  let release!: () => void;
  const ran: string[] = [];
  const ctlA = new AbortController();
  const a = cell.getOrInit(
    () =>
      new Promise<string>((r) => {
        ran.push("a");
        release = () => r("a");
      }),
    { signal: ctlA.signal },
  );
  const ctlB = new AbortController();
  const why = reason();
  const b = cell.getOrInit(() => (ran.push("b"), "b"), { signal: ctlB.signal });
  const c = cell.getOrInit(() => (ran.push("c"), "c"));
  await settle();
  ctlB.abort(why);
  await assert.rejects(b, (e) => e === why);
  // Aborting the running initialiser's caller rejects that call at once; fn itself runs on,
  // still the only initialiser.
  ctlA.abort(why);
  await assert.rejects(a, (e) => e === why);
  assert.ok(await isPending(c));
  release();
  assert.equal(await c, "a");
  assert.deepEqual(ran, ["a"]);
  assert.equal(cell.get(), "a");
});

void test("a cancelled task waiting in getOrInit withdraws; a set cell still answers at once", async () => {
  const cell = new OnceCell<number>();
  let release!: () => void;
  const first = cell.getOrInit(() => new Promise<number>((r) => (release = () => r(1))));
  const h = spawn(() => cell.getOrInit(() => 2));
  await settle();
  h.abort();
  const r = await h.result();
  assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
  release();
  assert.equal(await first, 1);
  assert.equal(await spawn(() => cell.getOrInit(() => 3)), 1);
});

void test("bad input is a TypeError that names the argument", () => {
  const cell = new OnceCell<number>();
  assert.throws(() => cell.getOrInit(5 as never), { name: "TypeError", message: /fn must be a function/ });
  assert.throws(() => cell.getOrInit(() => 1, "x" as never), { name: "TypeError", message: /opts/ });
  assert.throws(() => cell.getOrInit(() => 1, { signal: {} as never }), { name: "TypeError", message: /opts\.signal/ });
  assert.equal(cell.isSet, false);
});
