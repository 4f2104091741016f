// Ported from tokio/tests/sync_barrier.rs. See README.md here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

// tokio treats Barrier::new(0) as a barrier of 1. steward rejects it (API.md: `n` must be an
// integer >= 1): a barrier that nobody needs to reach is most likely a miscounted party size.
void test("sync_barrier::zero_does_not_block", async () => {
  assert.throws(() => new Barrier(0), { name: "RangeError", message: /\bn\b/ });
  const b = new Barrier(1);
  {
    const w = spawned(() => b.wait());
    const wr = await assertReady(w);
    assert.ok(wr.isLeader);
  }
  {
    const w = spawned(() => b.wait());
    const wr = await assertReady(w);
    assert.ok(wr.isLeader);
  }
});

void test("sync_barrier::single", async () => {
  const b = new Barrier(1);
  for (let i = 0; i < 3; i++) {
    const w = spawned(() => b.wait());
    const wr = await assertReady(w);
    assert.ok(wr.isLeader);
  }
});

void test("sync_barrier::tango", async () => {
  const b = new Barrier(2);

  const w1 = spawned(() => b.wait());
  await assertPending(w1);

  const w2 = spawned(() => b.wait());
  const wr2 = await assertReady(w2);
  const wr1 = await assertReady(w1);

  assert.ok(wr1.isLeader || wr2.isLeader);
  assert.ok(!(wr1.isLeader && wr2.isLeader));
});

void test("sync_barrier::lots", async () => {
  const b = new Barrier(100);

  for (let round = 0; round < 10; round++) {
    const wait = [];
    for (let i = 0; i < 99; i++) {
      const w = spawned(() => b.wait());
      wait.push(w);
    }
    for (const w of wait) await assertPending(w);

    // pass the barrier
    const w = spawned(() => b.wait());
    let foundLeader = (await assertReady(w)).isLeader;
    for (const w of wait) {
      const wr = await assertReady(w);
      if (wr.isLeader) {
        assert.ok(!foundLeader);
        foundLeader = true;
      }
    }
    assert.ok(foundLeader);
  }
});
