// Ported from tokio/tests/sync_rwlock.rs. See README.md here for the tests not ported and why.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, RwLock, spawn } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

// multiple reads should be Ready
void test("sync_rwlock::read_shared", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.read());
  using _g1 = await assertReady(t1);
  const t2 = spawned(() => rwlock.read());
  using _g2 = await assertReady(t2);
});

// When there is an active shared owner, exclusive access should not be possible
void test("sync_rwlock::write_shared_pending", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.read());
  using _g1 = await assertReady(t1);
  const t2 = spawned((signal) => rwlock.write({ signal }));
  await assertPending(t2);
  t2.drop();
});

// When there is an active exclusive owner, subsequent exclusive access should not be possible
void test("sync_rwlock::read_exclusive_pending", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.write());
  using _g1 = await assertReady(t1);
  const t2 = spawned((signal) => rwlock.read({ signal }));
  await assertPending(t2);
  t2.drop();
});

// When there is an active exclusive owner, subsequent exclusive access should not be possible
void test("sync_rwlock::write_exclusive_pending", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.write());
  using _g1 = await assertReady(t1);
  const t2 = spawned((signal) => rwlock.write({ signal }));
  await assertPending(t2);
  t2.drop();
});

// When there is an active shared owner, exclusive access should be possible after shared is dropped
void test("sync_rwlock::write_shared_drop", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.read());
  const g1 = await assertReady(t1);
  const t2 = spawned(() => rwlock.write());
  await assertPending(t2);
  g1.release();
  using _g2 = await assertReady(t2);
});

// when there is an active shared owner, and exclusive access is triggered, subsequent shared
// access should not be possible as write gathers all the available semaphore permits
void test("sync_rwlock::write_read_shared_pending", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.read());
  using _g1 = await assertReady(t1);
  const t2 = spawned(() => rwlock.read());
  using _g2 = await assertReady(t2);
  const t3 = spawned((signal) => rwlock.write({ signal }));
  await assertPending(t3);
  const t4 = spawned((signal) => rwlock.read({ signal }));
  await assertPending(t4);
  t3.drop();
  t4.drop();
});

// when there is an active shared owner, and exclusive access is triggered, reading should be
// possible after pending exclusive access is dropped
void test("sync_rwlock::write_read_shared_drop_pending", async () => {
  const rwlock = new RwLock(100);
  const t1 = spawned(() => rwlock.read());
  using _g1 = await assertReady(t1);
  const t2 = spawned((signal) => rwlock.write({ signal }));
  await assertPending(t2);
  const t3 = spawned((signal) => rwlock.read({ signal }));
  await assertPending(t3);
  t2.drop();
  using _t3 = await assertReady(t3);
});

// Acquire an RwLock nonexclusively by a single task
void test("sync_rwlock::read_uncontested", async () => {
  const rwlock = new RwLock(100);
  const g = await rwlock.read();
  const result = g.value;
  g.release();
  assert.equal(result, 100);
});

// Acquire an uncontested RwLock in exclusive mode
void test("sync_rwlock::write_uncontested", async () => {
  const rwlock = new RwLock(100);
  using result = await rwlock.write();
  result.value += 50;
  assert.equal(result.value, 150);
});

// tokio: "RwLocks should be acquired in the order that their Futures are waited upon" — a Rust
// future does nothing until awaited, so awaiting fut1 first queues it first. A JavaScript wait
// starts when it is called, so steward serves in call order (FIFO), whatever order the promises
// are awaited in.
void test("sync_rwlock::write_order", async () => {
  const rwlock = new RwLock<number[]>([]);
  const fut2 = rwlock.write().then((guard) => {
    guard.value.push(2);
    guard.release();
  });
  const fut1 = rwlock.write().then((guard) => {
    guard.value.push(1);
    guard.release();
  });
  await fut1;
  await fut2;
  using g = await rwlock.read();
  assert.deepEqual(g.value, [2, 1]);
});

// A single RwLock is contested by several tasks (on one thread: they interleave at each await).
void test("sync_rwlock::multithreaded", async () => {
  const barrier = new Barrier(5);
  const rwlock = new RwLock(0);
  for (const add of [2, 3, 5, 7]) {
    spawn(async () => {
      for (let i = 0; i < 1000; i++) {
        using guard = await rwlock.write();
        guard.value += add;
      }
      await barrier.wait();
    });
  }
  await barrier.wait();
  using g = await rwlock.read();
  assert.equal(g.value, 17_000);
});

void test("sync_rwlock::try_write", async () => {
  const lock = new RwLock(0);
  const readGuard = await lock.read();
  assert.equal(lock.tryWrite(), undefined);
  readGuard.release();
  assert.ok(lock.tryWrite() !== undefined);
});

void test("sync_rwlock::try_read_try_write", () => {
  const lock = new RwLock(15);
  {
    using rg1 = lock.tryRead()!;
    assert.equal(rg1.value, 15);
    assert.equal(lock.tryWrite(), undefined);
    using rg2 = lock.tryRead()!;
    assert.equal(rg2.value, 15);
  }
  {
    using wg = lock.tryWrite()!;
    wg.value = 1515;
    assert.equal(lock.tryRead(), undefined);
  }
  using r = lock.tryRead()!;
  assert.equal(r.value, 1515);
});

// tokio's `RwLockWriteGuard::downgrade_map(guard, f)` is `guard.map(f).downgrade()` in steward.
void test("sync_rwlock::downgrade_map", async () => {
  const lock = new RwLock({ n: 0 });
  const writeGuard = await lock.write();
  const readT = spawned((signal) => lock.read({ signal }));

  // We can't create a read when a write exists
  await assertPending(readT);

  // During the call to `f`, `read_t` doesn't have access yet.
  const readGuard1 = writeGuard
    .map((v) => {
      assert.equal(readT.state, "pending");
      assert.ok(lock.isWriteLocked);
      assert.equal(lock.readers, 0);
      return v;
    })
    .downgrade();

  // After the downgrade, `read_t` got the lock
  const readGuard2 = await assertReady(readT);

  // Ensure they're equal, as we return the original value
  assert.equal(readGuard1.value, readGuard2.value);
  assert.equal(lock.readers, 2);
  readGuard1.release();
  readGuard2.release();
  assert.ok(lock.tryWrite() !== undefined);
});

// tokio's `try_downgrade_map` hands the write guard back when `f` returns None. In steward a `map`
// whose function throws changes nothing: the guard it was called on still holds the write lock.
void test("sync_rwlock::try_downgrade_map", async () => {
  const lock = new RwLock({ n: 0 });
  const writeGuard = await lock.write();
  const readT = spawned((signal) => lock.read({ signal }));

  // We can't create a read when a write exists
  await assertPending(readT);

  // During the call to `f`, `read_t` doesn't have access yet.
  assert.throws(
    () =>
      writeGuard.map(() => {
        assert.equal(readT.state, "pending");
        throw new Error("no part");
      }),
    /no part/,
  );

  // After `f` fails, `read_t` doesn't have access
  await assertPending(readT);
  assert.ok(lock.isWriteLocked);

  // After `f` returns a part, `read_t` does have access
  const readGuard1 = writeGuard.map((v) => v).downgrade();
  const readGuard2 = await assertReady(readT);

  // Ensure they're equal, as we return the original value
  assert.equal(readGuard1.value, readGuard2.value);
  readGuard1.release();
  readGuard2.release();
});
