// Ported from tokio/tests/macros_select.rs. Most of that file checks the select! macro's syntax
// (patterns, `else`, `, if cond` preconditions, borrows); README.md here lists those as not
// meaningful for a function. The behaviour they rely on maps as follows:
//  - `, if cond` (a disabled branch): leave the branch out of the object passed to select.
//  - `else` (every branch disabled): the caller's own code when there is no branch to pass;
//    `select({})` is a TypeError.
//  - `Some(x) = rx.recv()` (a branch disabled when its pattern fails): select returns the value
//    whatever it is; the loop disables the branch itself (see select_streams).
//
// Every branch here passes its signal on to the steward wait it starts, as the README's select
// examples do. select.pending.ts holds the same shapes with branches that ignore their signal
// (tokio's shape): those wait on the core engineer's claim-without-signal work (issue 11).
import { test } from "node:test";
import assert from "node:assert/strict";
import { oneshot, select, spawn, unboundedChannel, yieldNow } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

const one = async (): Promise<number> => 1;

void test("macros_select::sync_one_lit_expr_comma", async () => {
  const foo = await select({ foo: async () => 1 });
  assert.deepEqual(foo, { key: "foo", value: 1 });
});

// Differs: no `else` branch; select with no branch is a TypeError (the caller runs its `else`).
void test("macros_select::no_branch_else_only", () => {
  assert.throws(() => select({}), { name: "TypeError", message: /branches/ });
});

void test("macros_select::no_branch_else_only_biased", () => {
  assert.throws(() => select({}, { biased: true }), { name: "TypeError", message: /branches/ });
});

void test("macros_select::nested_one", async () => {
  const foo = await select({
    foo: async () => (await select({ bar: async () => 1 })).value,
  });
  assert.equal(foo.value, 1);
});

void test("macros_select::sync_one_await", async () => {
  const foo = await select({ foo: () => one() });
  assert.equal(foo.value, 1);
});

void test("macros_select::sync_one_ident", async () => {
  const p = one();
  const foo = await select({ foo: () => p });
  assert.equal(foo.value, 1);
});

// Differs on purpose: steward calls every branch function (API.md §3: "Calls every branch
// function synchronously"), so both increments run; tokio polls branches one at a time and stops
// at the first ready one. Side effects a losing branch must not have belong after its first
// await, or in a steward wait (which the claim protocol withdraws).
void test("macros_select::sync_two", async () => {
  let cnt = 0;
  const res = await select({
    foo: async () => {
      cnt++;
      return 1;
    },
    bar: async () => {
      cnt++;
      return 2;
    },
  });
  assert.equal(cnt, 2);
  assert.ok(res.value === 1 || res.value === 2);
});

void test("macros_select::one_ready", async () => {
  const [tx1, rx1] = oneshot<number>();
  const [_tx2, rx2] = oneshot<number>();
  assert.ok(tx1.send(1));
  const v = await select({
    rx1: (signal) => rx1.recv({ signal }),
    rx2: (signal) => rx2.recv({ signal }),
  });
  assert.deepEqual(v, { key: "rx1", value: 1 });
});

void test("macros_select::select_streams", async () => {
  const [tx1, rx1] = unboundedChannel<number>();
  const [tx2, rx2] = unboundedChannel<number>();

  spawn(async () => {
    await tx2.send(1);
    await yieldNow();
    await tx1.send(2);
    await yieldNow();
    await tx2.send(3);
    await yieldNow();
    tx1.close();
    tx2.close();
  });

  const msgs: number[] = [];
  let open1 = true;
  let open2 = true;
  while (open1 || open2) {
    const branches: Record<string, (signal: AbortSignal) => Promise<number | undefined>> = {};
    if (open1) branches.rx1 = (signal) => rx1.recv({ signal });
    if (open2) branches.rx2 = (signal) => rx2.recv({ signal });
    const r = await select(branches);
    if (r.value === undefined) {
      if (r.key === "rx1") open1 = false;
      else open2 = false;
    } else {
      msgs.push(r.value);
    }
  }
  msgs.sort((a, b) => a - b);
  assert.deepEqual(msgs, [1, 2, 3]);
});

// Both are ready; the losing branch takes nothing, so its value is still there afterwards.
void test("macros_select::move_uncompleted_futures", async () => {
  const [tx1, rx1] = oneshot<number>();
  const [tx2, rx2] = oneshot<number>();
  assert.ok(tx1.send(1));
  assert.ok(tx2.send(2));
  const r = await select({
    rx1: (signal) => rx1.recv({ signal }),
    rx2: (signal) => rx2.recv({ signal }),
  });
  if (r.key === "rx1") {
    assert.equal(r.value, 1);
    assert.equal(await rx2, 2);
  } else {
    assert.equal(r.value, 2);
    assert.equal(await rx1, 1);
  }
});

void test("macros_select::nested", async () => {
  const res = await select({
    x: async () => {
      const x = 1;
      return x + (await select({ y: async () => 2 })).value;
    },
  });
  assert.equal(res.value, 3);
});

// `, if false`: the branch is left out, and its function is never called.
void test("macros_select::disable_with_if", async () => {
  const [tx, rx] = oneshot<null>();
  const enabled = false as boolean;
  const f = spawned(() => {
    const branches: Record<string, (signal: AbortSignal) => Promise<null>> = { rx: (signal) => rx.recv({ signal }) };
    if (enabled) branches.f = () => assert.fail("a disabled branch was called");
    return select(branches);
  });
  await assertPending(f);
  assert.ok(tx.send(null));
  assert.equal((await assertReady(f)).key, "rx");
});

void test("macros_select::join_with_select", async () => {
  const [tx1, rx1] = oneshot<number>();
  const [tx2, rx2] = oneshot<number>();
  const f = spawned(async () => {
    let a: number | undefined;
    let b: number | undefined;
    while (a === undefined || b === undefined) {
      const branches: Record<string, (signal: AbortSignal) => Promise<number>> = {};
      if (a === undefined) branches.v1 = (signal) => rx1.recv({ signal });
      if (b === undefined) branches.v2 = (signal) => rx2.recv({ signal });
      const r = await select(branches);
      if (r.key === "v1") a = r.value;
      else b = r.value;
    }
    return [a, b];
  });
  await assertPending(f);
  assert.ok(tx1.send(123));
  await assertPending(f);
  assert.ok(tx2.send(456));
  assert.deepEqual(await assertReady(f), [123, 456]);
});

for (const biased of [false, true]) {
  void test(`macros_select::use_future_in_if_condition${biased ? "_biased" : ""}`, async () => {
    const condition = false as boolean;
    const branches: Record<string, () => Promise<number>> = {};
    if (condition) branches.sleep = () => assert.fail("if condition ignored");
    branches.one = async () => 1;
    const r = await select(branches, { biased });
    assert.equal(r.key, "one");
  });
}

void test("macros_select::many_branches", async () => {
  const branches: Record<string, () => Promise<number>> = {};
  for (let i = 0; i < 64; i++) branches[`x${i}`] = async () => 1;
  const num = await select(branches);
  assert.equal(num.value, 1);
});

void test("macros_select::never_branch_no_warnings", async () => {
  const t = await select({
    never: () => new Promise<never>(() => {}),
    oneAsyncReady: () => one(),
  });
  assert.deepEqual(t, { key: "oneAsyncReady", value: 1 });
});

void test("macros_select::biased_one_not_ready", async () => {
  const [_tx1, rx1] = oneshot<number>();
  const [tx2, rx2] = oneshot<number>();
  const [tx3, rx3] = oneshot<number>();
  assert.ok(tx2.send(2));
  assert.ok(tx3.send(3));
  const v = await select(
    {
      rx1: (signal) => rx1.recv({ signal }),
      rx2: (signal) => rx2.recv({ signal }),
      rx3: (signal) => rx3.recv({ signal }),
    },
    { biased: true },
  );
  // rx3 must never win: rx2 comes before it and is ready (biased).
  assert.deepEqual(v, { key: "rx2", value: 2 });
  assert.equal(await rx3, 3, "the losing branch took nothing");
});

// The futures are made once and raced again each round (tokio pins them; a promise can be
// awaited any number of times). Preconditions leave branches out once they have fired.
void test("macros_select::biased_eventually_ready", async () => {
  const first = Promise.resolve();
  const second = yieldNow();
  const third = second.then(() => yieldNow());
  let count = 0;
  for (;;) {
    const branches: Record<string, () => Promise<void>> = {};
    if (count < 2) branches.two = () => second;
    if (count < 3) branches.three = () => third;
    if (count < 1) branches.one = () => first;
    if (Object.keys(branches).length === 0) break; // else => break
    const r = await select(branches, { biased: true });
    count++;
    if (r.key === "one") assert.equal(count, 1);
    else if (r.key === "two") assert.equal(count, 2);
    else assert.equal(count, 3);
  }
  assert.equal(count, 3);
});

// Rust's IntoFuture is a thenable here: a branch may return any PromiseLike.
void test("macros_select::select_into_future", async () => {
  const notAFuture: PromiseLike<string> = {
    then(onfulfilled) {
      return Promise.resolve(onfulfilled ? onfulfilled("ready") : "ready") as never;
    },
  };
  const r = await select({ a: () => notAFuture });
  assert.deepEqual(r, { key: "a", value: "ready" });
});
