// Ported from tokio/tests/sync_once_cell.rs. tokio's paused clock (`time::pause`/`advance`) is
// replaced by short real sleeps: what these tests check is the order of events, not durations.
// See README.md here for the tests not ported and why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OnceCell, sleep, spawn } from "../../src/index.js";

const func1 = async (): Promise<number> => 5;
const func2 = async (): Promise<number> => {
  await sleep(1);
  return 10;
};
const funcErr = async (): Promise<number> => {
  throw new Error("init failed");
};
const funcOk = async (): Promise<number> => 10;
const funcPanic = async (): Promise<number> => {
  await sleep(1);
  throw new Error("panic");
};

// The Drop counting of tokio's test has no meaning here; what is left: a cell made with a value
// is initialised.
void test("sync_once_cell::drop_cell_new_with", () => {
  const onceCell = new OnceCell({ value: { n: 1 } });
  assert.ok(onceCell.isSet);
  assert.equal(onceCell.state, "set");
});

// into_inner is take() (the cell stays usable, empty); the Drop counting has no meaning here.
void test("sync_once_cell::drop_into_inner", () => {
  const foo = { n: 1 };
  const onceCell = new OnceCell<{ n: number }>();
  assert.ok(onceCell.set(foo));
  const fooer = onceCell.take();
  assert.equal(fooer, foo);
  assert.equal(onceCell.isSet, false);
  assert.equal(onceCell.state, "empty");
});

void test("sync_once_cell::drop_into_inner_new_with", () => {
  const foo = { n: 1 };
  const onceCell = new OnceCell({ value: foo });
  const fooer = onceCell.take();
  assert.equal(fooer, foo);
  assert.equal(onceCell.take(), undefined);
});

void test("sync_once_cell::from", () => {
  const cell = new OnceCell({ value: 2 });
  assert.equal(cell.get(), 2);
});

void test("sync_once_cell::get_or_init", async () => {
  const once = new OnceCell<number>();
  const handle1 = spawn(() => once.getOrInit(func1));
  const handle2 = spawn(() => once.getOrInit(func2));
  const result1 = await handle1;
  const result2 = await handle2;
  assert.equal(result1, 5);
  assert.equal(result2, 5);
});

void test("sync_once_cell::get_or_init_panic", async () => {
  const once = new OnceCell<number>();
  const handle1 = spawn(() => once.getOrInit(func1));
  const handle2 = spawn(() => once.getOrInit(funcPanic));
  const result1 = await handle1;
  const result2 = await handle2;
  assert.equal(result1, 5);
  assert.equal(result2, 5);
});

void test("sync_once_cell::set_and_get", async () => {
  const once = new OnceCell<number>();
  await spawn(() => once.set(5));
  assert.equal(once.get(), 5);
});

void test("sync_once_cell::get_uninit", () => {
  const once = new OnceCell<number>();
  assert.equal(once.get(), undefined);
});

void test("sync_once_cell::set_twice", () => {
  const once = new OnceCell<number>();
  assert.equal(once.set(5), true);
  assert.equal(once.set(6), false);
  assert.equal(once.state, "set"); // is_already_init_err
  assert.equal(once.get(), 5);
});

void test("sync_once_cell::set_while_initializing", async () => {
  const once = new OnceCell<number>();
  // tokio: 2 ms against 1 ms of paused time; here 50 ms against 1 ms, so a loaded machine keeps
  // the order.
  const sleepAndSet = async (): Promise<number> => {
    await sleep(50);
    return 5;
  };
  const handle1 = spawn(() => once.getOrInit(sleepAndSet));
  const handle2 = spawn(async () => {
    await sleep(1);
    const ok = once.set(10);
    return { ok, state: once.state };
  });
  const result1 = await handle1;
  const result2 = await handle2;
  assert.equal(result1, 5);
  assert.deepEqual(result2, { ok: false, state: "initialising" }); // is_initializing_err
});

// tokio's get_or_try_init is getOrInit with an initialiser that can reject: its caller gets the
// error and the next caller runs its own.
void test("sync_once_cell::get_or_try_init", async () => {
  const once = new OnceCell<number>();
  const handle1 = spawn(() => once.getOrInit(funcErr));
  const handle2 = spawn(() => once.getOrInit(funcOk));
  const result1 = await handle1.result();
  assert.ok(!result1.ok);
  assert.match(String((result1.error.cause as Error).message), /init failed/);
  const result2 = await handle2;
  assert.equal(result2, 10);
});
