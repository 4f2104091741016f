/**
 * Faults, on real redis-server processes and real child processes: Redis killed and restarted
 * mid-hold, Redis paused (CLIENT PAUSE, DEBUG SLEEP) past a lease, a holder SIGSTOPped past its
 * lease and resumed, a holder SIGKILLed. Short leases keep each test within a few seconds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, sleep, spawn } from "../../src/index.js";
import { LeaseLostError, RedisMutex, RedisUnavailableError } from "../../src/redis/index.js";
import { FencedStore, fencedWrite } from "./fixtures/resource.js";
import { close, connect, held, REDIS_SERVER, RedisServer, Replica, sleepMs } from "./helpers.js";

/** Runs `fn` in a task holding `lock`; resolves with how the task ended and the lease's fence. */
function holdInTask(lock: RedisMutex, onLease?: (fence: number) => void) {
  let fence = 0;
  let resolveGranted!: (fence: number) => void;
  const granted = { promise: new Promise<number>((r) => (resolveGranted = r)), resolve: (f: number) => resolveGranted(f) };
  const h = spawn(async () => {
    await using lease = await lock.lock();
    fence = lease.fence;
    granted.resolve(fence);
    onLease?.(fence);
    await sleep(60_000);
  });
  const ended = h.result().then((r) => {
    const cause = r.ok ? undefined : r.error.cause;
    const reason = cause instanceof CancelledError ? cause.reason : undefined;
    return { reason, at: performance.now(), fence };
  });
  return { granted: granted.promise, ended, handle: h };
}

if (REDIS_SERVER !== undefined) {
  void test("Redis killed and restarted mid-hold: the holder's task sees LeaseLostError, a waiter is served after the restart with a larger fence, and the old fence is refused", async (t) => {
    await using server = await RedisServer.start();
    const a = await connect(server);
    const b = await connect(server);
    try {
      const store = new FencedStore();
      const holder = holdInTask(new RedisMutex(a, "restart", { leaseMs: 600 }));
      const oldFence = await holder.granted;
      assert.equal(store.write(oldFence), true);
      const waiter = new RedisMutex(b, "restart", { leaseMs: 600 }).lock({ signal: AbortSignal.timeout(15_000) });
      await sleepMs(100); // the waiter is queued behind the holder
      const killedAt = performance.now();
      await server.kill();
      await sleepMs(300);
      await server.launch(); // empty: no persistence
      const ended = await holder.ended;
      assert.ok(ended.reason instanceof LeaseLostError, `holder task ended with ${String(ended.reason)}`);
      assert.ok(["expired", "unconfirmed"].includes(ended.reason.why));
      const lease = await waiter;
      t.diagnostic(`holder lost its lease (${ended.reason.why}) ${Math.round(ended.at - killedAt)} ms after the kill; waiter served ${Math.round(performance.now() - killedAt)} ms after it`);
      assert.ok(lease.fence > oldFence, `fence ${lease.fence} after the restart must exceed ${oldFence}`);
      assert.equal(store.write(lease.fence), true);
      assert.equal(store.write(oldFence), false, "the old holder's fence is refused");
      await lease.release();
      assert.deepEqual(await held(a, "restart"), { holders: 0, queued: 0, used: 0 });
    } finally {
      close(a);
      close(b);
    }
  });

  for (const pause of ["CLIENT PAUSE", "DEBUG SLEEP"] as const) {
    void test(`Redis paused (${pause}) past a lease: the holder loses it before Redis answers again; a queued waiter is served after`, async (t) => {
      await using server = await RedisServer.start();
      const a = await connect(server);
      const b = await connect(server);
      const admin = await connect(server);
      try {
        const holder = holdInTask(new RedisMutex(a, "paused", { leaseMs: 400 }));
        const fence = await holder.granted;
        const waiter = new RedisMutex(b, "paused", { leaseMs: 400 }).lock({ signal: AbortSignal.timeout(15_000) });
        await sleepMs(50);
        const t0 = performance.now();
        const paused = pause === "CLIENT PAUSE" ? admin.sendCommand(["CLIENT", "PAUSE", "1500", "WRITE"]) : admin.sendCommand(["DEBUG", "SLEEP", "1.5"]);
        const ended = await holder.ended;
        assert.ok(ended.reason instanceof LeaseLostError, `holder task ended with ${String(ended.reason)}`);
        assert.equal(ended.reason.why, "unconfirmed", "the holder cannot confirm a renewal, so it gives the lease up by itself");
        assert.ok(ended.at - t0 < 1_500, `lost ${Math.round(ended.at - t0)} ms into a 1500 ms pause, before Redis could hand the lease to anyone`);
        await paused;
        const lease = await waiter;
        t.diagnostic(`lease 400 ms, pause 1500 ms: holder lost it ${Math.round(ended.at - t0)} ms in; waiter served ${Math.round(performance.now() - t0)} ms after the pause began`);
        assert.ok(lease.fence > fence);
        await lease.release();
      } finally {
        close(a);
        close(b);
        close(admin);
      }
    });
  }

  void test("a holder process SIGSTOPped past its lease: another takes the lock; resumed, its task sees LeaseLostError and its fence is refused", async (t) => {
    await using server = await RedisServer.start();
    const c = await connect(server);
    const replica = await Replica.start(server);
    try {
      replica.send({ cmd: "hold", name: "stopped", leaseMs: 400, writeEveryMs: 50 });
      const { fence } = (await replica.next("granted")) as unknown as { fence: number };
      assert.equal((await replica.next("write")).ok, true);
      replica.proc.kill("SIGSTOP");
      const lease = await new RedisMutex(c, "stopped", { leaseMs: 400 }).lock({ signal: AbortSignal.timeout(10_000) });
      assert.ok(lease.fence > fence);
      assert.equal(await fencedWrite(c, "stopped:resource", lease.fence), true);
      const resumedAt = replica.events.length;
      replica.proc.kill("SIGCONT");
      const lost = await replica.next("lost");
      assert.equal(lost.name, "LeaseLostError", `the replica's task ended with ${JSON.stringify(lost)}`);
      const writesAfter = replica.events.slice(resumedAt).filter((e) => e.ev === "write");
      for (const w of writesAfter) assert.equal(w.ok, false, "a write with the stale fence after resuming is refused");
      t.diagnostic(`the resumed replica wrote ${writesAfter.length} time(s) with its stale fence before its task was cancelled; all refused`);
      assert.equal(await fencedWrite(c, "stopped:resource", fence), false, "the resource refuses the stale fence");
      assert.equal(lease.lost, false, "the new holder keeps its lease");
      await lease.release();
    } finally {
      await replica.kill();
      close(c);
    }
  });

  void test("a holder process SIGKILLed: its lease frees within its lease time and the next waiter is served", async (t) => {
    await using server = await RedisServer.start();
    const c = await connect(server);
    const replica = await Replica.start(server);
    try {
      const leaseMs = 600;
      replica.send({ cmd: "hold", name: "killed", leaseMs, writeEveryMs: 100 });
      const { fence } = (await replica.next("granted")) as unknown as { fence: number };
      const waiting = new RedisMutex(c, "killed", { leaseMs }).lock({ signal: AbortSignal.timeout(10_000) });
      await sleepMs(50);
      const t0 = performance.now();
      await replica.kill("SIGKILL");
      const lease = await waiting;
      const waited = performance.now() - t0;
      t.diagnostic(`lease ${leaseMs} ms: the waiter was served ${Math.round(waited)} ms after the holder was killed`);
      assert.ok(lease.fence > fence);
      // Frees at its expiry; the waiter's own tick (every leaseMs / 3) notices. Generous for a loaded machine.
      assert.ok(waited < leaseMs + leaseMs / 3 + 1_000, `served ${Math.round(waited)} ms after the kill`);
      await lease.release();
    } finally {
      close(c);
    }
  });

  void test('onUnavailable "fail": a wait rejects with RedisUnavailableError while Redis is down; "wait" waits within its signal and is served once Redis is back', async () => {
    await using server = await RedisServer.start();
    const c = await connect(server);
    try {
      await server.kill();
      await sleepMs(50);
      const failFast = new RedisMutex(c, "down", { onUnavailable: "fail" });
      const t0 = performance.now();
      await assert.rejects(failFast.lock(), RedisUnavailableError);
      assert.ok(performance.now() - t0 < 3_000);

      const patient = new RedisMutex(c, "down", { leaseMs: 500 });
      await assert.rejects(patient.lock({ signal: AbortSignal.timeout(300) }), { name: "TimeoutError" });
      const later = patient.lock({ signal: AbortSignal.timeout(15_000) });
      await sleepMs(300);
      await server.launch();
      const lease = await later;
      assert.ok(lease.fence > 0);
      await lease.release();
      assert.deepEqual(await held(c, "down"), { holders: 0, queued: 0, used: 0 });
    } finally {
      close(c);
    }
  });
}
