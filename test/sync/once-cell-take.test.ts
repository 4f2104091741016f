// OnceCell: construction with a value, take(), and the state that tells why set() returned false.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OnceCell, sleep } from "../../src/index.js";
import { isPending } from "./util.js";

void test("state goes empty -> initialising -> set; set() during an initialiser is refused and says so", async () => {
  const cell = new OnceCell<string>();
  assert.equal(cell.state, "empty");
  let finish!: (v: string) => void;
  const p = cell.getOrInit(() => new Promise<string>((r) => (finish = r)));
  await sleep(0);
  assert.equal(cell.state, "initialising");
  assert.equal(cell.set("other"), false);
  assert.equal(cell.state, "initialising");
  assert.equal(cell.take(), undefined, "nothing to take while an initialiser runs");
  finish("init");
  assert.equal(await p, "init");
  assert.equal(cell.state, "set");
  assert.equal(cell.set("other"), false);
  assert.equal(cell.state, "set");
});

void test("take() empties the cell: the next getOrInit runs its initialiser again", async () => {
  const cell = new OnceCell<number>();
  let runs = 0;
  assert.equal(await cell.getOrInit(() => ++runs), 1);
  assert.equal(cell.take(), 1);
  assert.equal(cell.get(), undefined);
  assert.equal(await cell.getOrInit(() => ++runs), 2);
  assert.equal(runs, 2);
});

void test("a cell made with a value (even undefined) is set; getOrInit does not run", async () => {
  const cell = new OnceCell<number | undefined>({ value: undefined, name: "cfg" });
  assert.equal(cell.isSet, true);
  assert.equal(cell.set(1), false);
  let ran = false;
  assert.equal(await cell.getOrInit(() => ((ran = true), 2)), undefined);
  assert.equal(ran, false);
  const empty = new OnceCell<number>({ name: "n" });
  assert.equal(empty.isSet, false);
  assert.throws(() => new OnceCell(5 as never), { name: "TypeError", message: /opts/ });
});

void test("waiters queued behind an initialiser still get its value after take() elsewhere is refused", async () => {
  const cell = new OnceCell<number>();
  let finish!: (v: number) => void;
  const first = cell.getOrInit(() => new Promise<number>((r) => (finish = r)));
  const second = cell.getOrInit(() => 99);
  assert.ok(await isPending(second));
  assert.equal(cell.take(), undefined);
  finish(7);
  assert.equal(await first, 7);
  assert.equal(await second, 7);
});
