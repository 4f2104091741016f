// Ported from tokio/tests/sync_mutex.rs (sync_mutex_owned.rs's tests are the same ones for
// `lock_owned`, which JavaScript does not need: every guard owns its hold). See README.md here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { interval, Mutex, timeout, TimeoutError } from "../../src/index.js";
import { assertPending, assertReady, spawned } from "./harness.js";

void test("sync_mutex::straight_execution", async () => {
  const l = new Mutex(100);
  {
    const t = spawned(() => l.lock());
    using g = await assertReady(t);
    assert.equal(g.value, 100);
    g.value = 99;
  }
  {
    const t = spawned(() => l.lock());
    using g = await assertReady(t);
    assert.equal(g.value, 99);
    g.value = 98;
  }
  {
    const t = spawned(() => l.lock());
    using g = await assertReady(t);
    assert.equal(g.value, 98);
  }
});

void test("sync_mutex::readiness", async () => {
  const l = new Mutex(100);
  const t1 = spawned((signal) => l.lock({ signal }));
  const t2 = spawned((signal) => l.lock({ signal }));

  const g = await assertReady(t1);

  // We can't now acquire the lease since it's already held in g
  await assertPending(t2);

  // But once g unlocks, we can acquire it
  g.release();
  using _t2 = await assertReady(t2);
});

// Ensure a mutex is unlocked if a future holding the lock is aborted prematurely. In JavaScript
// the future is a function given a signal: timeout aborts it, its wait rejects, and `using`
// releases the guard on the way out. The checks that the mutex is free again allow 1 s instead
// of tokio's 1 ms, so a loaded machine cannot fail them (a held mutex would still time out).
void test("sync_mutex::aborted_future_1", async () => {
  const m1 = new Mutex(0);
  await assert.rejects(
    timeout(1, async (signal) => {
      using iv = interval(1000, { signal });
      using _g = await m1.lock({ signal });
      await iv.tick();
      await iv.tick();
    }),
    TimeoutError,
  );
  // This should succeed as there is no lock left for the mutex.
  await timeout(1000, async (signal) => {
    using _g = await m1.lock({ signal });
  });
});

// Like aborted_future_1, but this time the aborted future is waiting for the lock.
void test("sync_mutex::aborted_future_2", async () => {
  const m1 = new Mutex(0);
  {
    // Lock mutex
    using _lock = await m1.lock();
    {
      // Try to lock mutex in a future that is aborted prematurely
      await assert.rejects(
        timeout(1, async (signal) => {
          using _g = await m1.lock({ signal });
        }),
        TimeoutError,
      );
    }
  }
  // This should succeed as there is no lock left for the mutex.
  await timeout(1000, async (signal) => {
    using _g = await m1.lock({ signal });
  });
});

void test("sync_mutex::try_lock", () => {
  const m = new Mutex(0);
  {
    using g1 = m.tryLock();
    assert.ok(g1 !== undefined);
    const g2 = m.tryLock();
    assert.equal(g2, undefined);
  }
  const g3 = m.tryLock();
  assert.ok(g3 !== undefined);
});
