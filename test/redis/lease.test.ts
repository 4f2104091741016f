/**
 * Leases tied to their task: renewed while the task lives, capped by maxHoldMs, lost with a
 * LeaseLostError that cancels the task, released in the runtime's drop phase.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, Runtime, sleep, spawn } from "../../src/index.js";
import { LeaseLostError, RedisMutex, RedisSemaphore } from "../../src/redis/index.js";
import { type Client, close, connect, held, REDIS_SERVER, RedisServer, sleepMs, until } from "./helpers.js";

if (REDIS_SERVER !== undefined) {
  let server: RedisServer;
  let a: Client;
  let b: Client;
  before(async () => {
    server = await RedisServer.start();
    [a, b] = await Promise.all([connect(server), connect(server)]);
  });
  after(async () => {
    close(a);
    close(b);
    await server.stop();
  });

  void test("a lease held three times longer than leaseMs is renewed: still held, and no one else gets in", async () => {
    const lease = await new RedisMutex(a, "renew", { leaseMs: 400 }).lock();
    const other = new RedisMutex(b, "renew", { leaseMs: 400 });
    const expiry = async (): Promise<number> => Number(await a.zScore("steward:{renew}:holders", (await a.zRange("steward:{renew}:holders", 0, 0))[0]!));
    const first = await expiry();
    await sleepMs(1_200);
    assert.equal(lease.held, true);
    assert.equal(await other.tryLock(), undefined);
    assert.ok((await expiry()) > first + 400, "Redis's expiry moved forward");
    await lease.release();
  });

  void test("maxHoldMs caps renewal: the holder task is cancelled with LeaseLostError (maxHold) and the lease is released", async () => {
    const m = new RedisMutex(a, "cap", { leaseMs: 1_000, maxHoldMs: 500 });
    const t0 = performance.now();
    let sig: AbortSignal | undefined;
    const h = spawn(async () => {
      await using lease = await m.lock();
      sig = lease.signal;
      await sleep(10_000); // a stuck holder
    });
    const r = await h.result();
    const elapsed = performance.now() - t0;
    assert.equal(r.ok, false);
    const cause = !r.ok ? r.error.cause : undefined;
    assert.ok(cause instanceof CancelledError && cause.reason instanceof LeaseLostError, String(cause));
    assert.equal((cause.reason as LeaseLostError).why, "maxHold");
    assert.ok(sig?.aborted && sig.reason instanceof LeaseLostError);
    assert.ok(elapsed >= 480 && elapsed < 5_000, `lost after ${Math.round(elapsed)} ms`);
    assert.ok(await until(async () => (await held(a, "cap")).holders === 0, 2_000), "released in Redis");
    const next = await new RedisMutex(b, "cap").tryLock();
    assert.ok(next !== undefined);
    await next.release();
  });

  void test("a lease whose task ended without releasing it is released, not renewed", async () => {
    const m = new RedisMutex(a, "forgot", { leaseMs: 300 });
    const h = spawn(async () => {
      const lease = await m.lock(); // never released: no `using`, no release()
      return lease.fence;
    });
    await h;
    assert.ok(await until(async () => (await held(a, "forgot")).holders === 0, 2_000), "released within a tick of the task's end");
  });

  void test("a lease taken with bindTask: false leaves the task alone and tells through signal, lost and throwIfLost", async () => {
    const m = new RedisMutex(a, "unbound", { leaseMs: 300, maxHoldMs: 300, bindTask: false });
    const h = spawn(async () => {
      const lease = await m.lock();
      assert.equal(lease.lost, false);
      lease.throwIfLost();
      await new Promise<void>((r) => lease.signal.addEventListener("abort", () => r()));
      assert.equal(lease.lost, true);
      assert.throws(() => lease.throwIfLost(), LeaseLostError);
      await lease.release(); // resolves at once after a loss
      return "carried on";
    });
    assert.equal(await h, "carried on");
  });

  void test("a semaphore's permits are conserved through renewals and releases", async () => {
    const s = new RedisSemaphore(a, "perm", 3, { leaseMs: 300 });
    const l1 = await s.acquire(2);
    const l2 = await s.acquire(1);
    await sleepMs(700);
    assert.deepEqual(await s.status(), { used: 3, holders: 2, queued: 0 });
    await l1.release();
    assert.deepEqual(await s.status(), { used: 1, holders: 1, queued: 0 });
    await l2.release();
    assert.deepEqual(await held(a, "perm"), { holders: 0, queued: 0, used: 0 });
  });

  void test("shutdown: the drop phase releases leases still held, and the report names those it could not release", async () => {
    const rt = new Runtime({ name: "redis-drop" });
    const m = new RedisMutex(a, "drop", { leaseMs: 5_000 });
    const lease = await rt.enter(() => m.lock());
    const report = await rt.shutdown({ timeoutMs: 2_000 });
    assert.equal(report.clean, true, JSON.stringify(report.disposeErrors));
    assert.equal(lease.lost, true);
    assert.equal((await held(a, "drop")).holders, 0);

    // Redis gone: the release cannot be confirmed, and the report says which lease.
    const dead = await RedisServer.start();
    const c = await connect(dead);
    try {
      const rt2 = new Runtime({ name: "redis-drop-dead" });
      const m2 = new RedisMutex(c, "drop2", { leaseMs: 5_000, commandTimeoutMs: 100 });
      const l = await rt2.enter(() => m2.lock()); // outside any task: only the drop phase releases it
      const fence = l.fence;
      await dead.kill();
      const report2 = await rt2.shutdown({ timeoutMs: 2_000 });
      assert.equal(report2.clean, false);
      const err = report2.disposeErrors.find((d) => d.name === 'RedisMutex "drop2" leases');
      assert.ok(err !== undefined, JSON.stringify(report2.disposeErrors));
      assert.match(String((err.error as Error).message), new RegExp(`could not release 1 lease\\(s\\) on RedisMutex "drop2": fence ${fence}`));
    } finally {
      close(c);
      await dead.stop();
    }
  });
}
