// The inline ready path of send() and recv() called without options (issue 17): it must decide
// exactly as the full wait does — a cancelled task's wait rejects and takes nothing, a shielded
// one proceeds, a select branch that loses takes nothing, and the budget still lets timers in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, channel, Mutex, select, shield, sleep, spawn } from "../../src/index.js";

test("in a cancelled task a ready send() and recv() reject with CancelledError and move nothing; shielded they go through", async () => {
  const [tx, rx] = channel<number>(4);
  tx.trySend(1);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const h = spawn(async (ctx) => {
    await gate;
    assert.equal(ctx.token.isCancelled, true);
    await assert.rejects(rx.recv(), CancelledError);
    await assert.rejects(tx.send(2), CancelledError);
    assert.equal(rx.length, 1, "nothing taken, nothing sent");
    return shield(async () => {
      await tx.send(3);
      return [await rx.recv(), await rx.recv()];
    });
  });
  await sleep(1);
  h.abort();
  open();
  assert.deepEqual(await h, [1, 3]);
});

test("a losing select branch's option-less recv() or lock() takes nothing, even when ready", async () => {
  const [ta, ra] = channel<string>(4);
  const [tb, rb] = channel<string>(4);
  ta.trySend("a");
  tb.trySend("b");
  const m = new Mutex();
  for (let i = 0; i < 20; i++) {
    const r = await select({ a: () => ra.recv(), b: () => rb.recv(), c: async () => (await m.lock()).release() }, { biased: true });
    assert.equal(r.key, "a");
    assert.equal(r.value, "a");
    assert.equal(rb.length, 1, "b's message stays");
    assert.equal(m.isLocked, false, "the losing lock holds nothing");
    ta.trySend("a");
  }
});

test("a ready ping-pong over two channels without options still lets a timer in", async () => {
  const [t1, r1] = channel<number>(1);
  const [t2, r2] = channel<number>(1);
  let fired = false;
  setTimeout(() => (fired = true), 0);
  let rounds = 0;
  const echo = spawn(async () => {
    for (;;) {
      const v = await r1.recv();
      if (v === undefined) return;
      await t2.send(v);
    }
  });
  const start = Date.now();
  while (!fired && Date.now() - start < 10_000) {
    await t1.send(rounds);
    assert.equal(await r2.recv(), rounds);
    rounds++;
  }
  t1.close();
  await echo;
  assert.equal(fired, true, `the timer ran (after ${rounds} round trips)`);
});
