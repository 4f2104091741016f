// Ported from tokio/tests/sync_semaphore.rs and sync_semaphore_owned.rs (see README.md here for
// the list of every test considered). tokio's SemaphorePermit / OwnedSemaphorePermit are one
// type in JavaScript: Permit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { oneshot, Semaphore, spawn } from "../../src/index.js";
import { flush } from "./harness.js";

void test("sync_semaphore::no_permits", () => {
  // this should not throw
  new Semaphore(0);
});

void test("sync_semaphore::try_acquire", () => {
  const sem = new Semaphore(1);
  {
    using p1 = sem.tryAcquire();
    assert.ok(p1 !== undefined);
    const p2 = sem.tryAcquire();
    assert.equal(p2, undefined);
  }
  const p3 = sem.tryAcquire();
  assert.ok(p3 !== undefined);
});

void test("sync_semaphore::acquire", async () => {
  const sem = new Semaphore(1);
  const p1 = sem.tryAcquire()!;
  const j = spawn(async () => {
    using _p2 = await sem.acquire();
  });
  p1.release();
  await j;
});

void test("sync_semaphore::add_permits", async () => {
  // A semaphore with no permits is waited on, as in tokio (issue 11: it used to throw RangeError).
  const sem = new Semaphore(0);
  const j = spawn(async () => {
    using _p2 = await sem.acquire();
  });
  // Let the task start and wait (a JavaScript task starts on a later microtask).
  await flush();
  sem.addPermits(1);
  await j;
});

void test("sync_semaphore::add_permits_open", () => {
  for (let size = 0; size < 4; size++) {
    for (let add = 0; add < 4; add++) {
      const sem = new Semaphore(size);
      sem.addPermits(add);
      assert.equal(sem.available, size + add);
      assert.ok(!sem.isClosed);
    }
  }
});

void test("sync_semaphore::add_permits_closed", () => {
  for (let size = 0; size < 4; size++) {
    for (let add = 0; add < 4; add++) {
      const sem = new Semaphore(size);
      sem.close();
      sem.addPermits(add);
      assert.equal(sem.available, size + add);
      assert.ok(sem.isClosed);
    }
  }
});

void test("sync_semaphore::forget", () => {
  const sem = new Semaphore(1);
  {
    const p = sem.tryAcquire()!;
    assert.equal(sem.available, 0);
    p.forget();
    assert.equal(sem.available, 0);
  }
  assert.equal(sem.available, 0);
  assert.equal(sem.tryAcquire(), undefined);
});

void test("sync_semaphore::forget_open", () => {
  for (let size = 0; size < 4; size++) {
    for (let sub = 0; sub < 4; sub++) {
      const sem = new Semaphore(size);
      const actualSub = sem.forgetPermits(sub);
      const expected = Math.max(0, size - sub);
      assert.equal(sem.available, expected, `case: ${size}-${sub}`);
      assert.equal(actualSub, size - expected);
      assert.ok(!sem.isClosed);
    }
  }
});

void test("sync_semaphore::forget_closed", () => {
  for (let size = 0; size < 4; size++) {
    for (let sub = 0; sub < 4; sub++) {
      const sem = new Semaphore(size);
      sem.close();
      const actualSub = sem.forgetPermits(sub);
      const expected = Math.max(0, size - sub);
      assert.equal(sem.available, expected, `case: ${size}-${sub}`);
      assert.equal(actualSub, size - expected);
      assert.ok(sem.isClosed);
    }
  }
});

void test("sync_semaphore::merge", () => {
  const sem = new Semaphore(3);
  {
    using p1 = sem.tryAcquire()!;
    assert.equal(sem.available, 2);
    const p2 = sem.tryAcquire(2)!;
    assert.equal(sem.available, 0);
    p1.merge(p2);
    assert.equal(sem.available, 0);
    assert.equal(p1.count, 3);
    assert.equal(p2.count, 0);
  }
  assert.equal(sem.available, 3);
});

void test("sync_semaphore::merge_unrelated_permits", () => {
  // tokio panics; steward throws a TypeError naming the argument and changes nothing.
  const sem1 = new Semaphore(3);
  const sem2 = new Semaphore(3);
  const p1 = sem1.tryAcquire()!;
  const p2 = sem2.tryAcquire()!;
  assert.throws(() => p1.merge(p2), { name: "TypeError", message: /other/ });
  assert.equal(p1.count, 1);
  assert.equal(p2.count, 1);
});

void test("sync_semaphore::split", () => {
  const sem = new Semaphore(5);
  const p1 = sem.tryAcquire(3)!;
  assert.equal(sem.available, 2);
  assert.equal(p1.count, 3);
  const p2 = p1.split(1)!;
  assert.equal(sem.available, 2);
  assert.equal(p1.count, 2);
  assert.equal(p2.count, 1);
  const p3 = p1.split(0)!;
  assert.equal(p3.count, 0);
  p1.release();
  assert.equal(sem.available, 4);
  const p4 = p2.split(1)!;
  assert.equal(p2.count, 0);
  assert.equal(p4.count, 1);
  assert.equal(p2.split(1), undefined);
  p2.release();
  assert.equal(sem.available, 4);
  p3.release();
  assert.equal(sem.available, 4);
  p4.release();
  assert.equal(sem.available, 5);
});

void test("sync_semaphore::stress_test", async () => {
  const sem = new Semaphore(5);
  const handles = [];
  for (let i = 0; i < 1000; i++) {
    handles.push(
      spawn(async () => {
        using _p = await sem.acquire();
      }),
    );
  }
  for (const j of handles) await j;
  // there should be exactly 5 permits available now
  const held = [];
  for (let i = 0; i < 5; i++) held.push(sem.tryAcquire()!);
  assert.ok(held.every((p) => p !== undefined));
  assert.equal(sem.tryAcquire(), undefined);
});

void test("sync_semaphore::add_max_amount_permits", () => {
  const s = new Semaphore(0);
  s.addPermits(Semaphore.MAX_PERMITS);
  assert.equal(s.available, Semaphore.MAX_PERMITS);
});

void test("sync_semaphore::add_more_than_max_amount_permits1", () => {
  const s = new Semaphore(1);
  assert.throws(() => s.addPermits(Semaphore.MAX_PERMITS), RangeError);
});

void test("sync_semaphore::add_more_than_max_amount_permits2", () => {
  const s = new Semaphore(Semaphore.MAX_PERMITS - 1);
  s.addPermits(1);
  assert.throws(() => s.addPermits(1), RangeError);
});

void test("sync_semaphore::panic_when_exceeds_maxpermits", () => {
  assert.throws(() => new Semaphore(Semaphore.MAX_PERMITS + 1), RangeError);
});

void test("sync_semaphore::no_panic_at_maxpermits", () => {
  new Semaphore(Semaphore.MAX_PERMITS);
  const s = new Semaphore(Semaphore.MAX_PERMITS - 1);
  s.addPermits(1);
});

void test("sync_semaphore_owned::try_acquire_many", () => {
  const sem = new Semaphore(42);
  {
    using p1 = sem.tryAcquire(42);
    assert.ok(p1 !== undefined);
    const p2 = sem.tryAcquire();
    assert.equal(p2, undefined);
  }
  const p3 = sem.tryAcquire(32);
  assert.ok(p3 !== undefined);
  const p4 = sem.tryAcquire(10);
  assert.ok(p4 !== undefined);
  assert.equal(sem.tryAcquire(), undefined);
});

void test("sync_semaphore_owned::acquire_many", async () => {
  const semaphore = new Semaphore(42);
  const permit32 = semaphore.tryAcquire(32)!;
  const [sender, receiver] = oneshot<null>();
  const joinHandle = spawn(async () => {
    using _permit10 = await semaphore.acquire(10);
    assert.ok(sender.send(null));
    using _permit32 = await semaphore.acquire(32);
  });
  await receiver;
  permit32.release();
  await joinHandle;
});
