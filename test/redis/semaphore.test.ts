/** RedisSemaphore, RedisMutex and RedisLimiter as a user calls them: permits, FIFO, fences, errors. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { OverloadedError, RateLimitedError, RedisLimiter, RedisMutex, RedisSemaphore } from "../../src/redis/index.js";
import { Conn } from "../../src/redis/conn.js";
import { GONE, SEMAPHORE } from "../../src/redis/scripts.js";
import { type Client, close, connect, held, REDIS_SERVER, RedisServer, sleepMs, until } from "./helpers.js";

if (REDIS_SERVER !== undefined) {
  let server: RedisServer;
  let a: Client;
  let b: Client;
  let c: Client;
  before(async () => {
    server = await RedisServer.start();
    [a, b, c] = await Promise.all([connect(server), connect(server), connect(server)]);
  });
  after(async () => {
    for (const x of [a, b, c]) close(x);
    await server.stop();
  });

  void test("bad input is refused with errors that name the argument", () => {
    assert.throws(() => new RedisMutex({} as never, "x"), /client must be a node-redis client/);
    assert.throws(() => new RedisMutex(a, ""), /name must be a non-empty string/);
    assert.throws(() => new RedisSemaphore(a, "x", 0), /permits must be an integer >= 1/);
    assert.throws(() => new RedisSemaphore(a, "x", 2, { leaseMs: 5 }), /opts\.leaseMs must be an integer in \[30,/);
    assert.throws(() => new RedisSemaphore(a, "x", 2, { maxHoldMs: -1 }), /opts\.maxHoldMs/);
    assert.throws(() => new RedisSemaphore(a, "x", 2, { onUnavailable: "retry" as never }), /opts\.onUnavailable must be "wait" or "fail"/);
    const s = new RedisSemaphore(a, "x", 2);
    assert.throws(() => void s.acquire(3), /n must be an integer in \[1, 2\]/);
    assert.throws(() => void s.acquire(1, { signal: "no" as never }), /opts\.signal must be an AbortSignal/);
    assert.throws(() => new RedisLimiter(a, "x", {}), /opts needs concurrency, rate or both/);
    assert.throws(() => new RedisLimiter(a, "x", { rate: { perSecond: 0 } }), /opts\.rate\.perSecond must be a finite number > 0/);
  });

  void test("a mutex excludes across clients, hands off to the next waiter, and every grant's fence is larger", async () => {
    const m1 = new RedisMutex(a, "mx");
    const m2 = new RedisMutex(b, "mx");
    const l1 = await m1.lock();
    assert.equal(await m2.tryLock(), undefined);
    const p2 = m2.lock();
    await sleepMs(30);
    assert.deepEqual(await held(c, "mx"), { holders: 1, queued: 1, used: 1 });
    await l1.release();
    const l2 = await p2;
    assert.ok(l2.fence > l1.fence);
    assert.equal(l1.held, false);
    assert.equal(l2.held, true);
    await l2.release();
    await l2.release(); // idempotent
    assert.deepEqual(await held(c, "mx"), { holders: 0, queued: 0, used: 0 });
    const l3 = (await m1.tryLock())!;
    assert.ok(l3.fence > l2.fence);
    await l3.release();
  });

  void test("waiters from several processes are served first-in, first-out, and a large acquire is not passed by smaller ones", async () => {
    const clients = [a, b, c];
    const sems = clients.map((x) => new RedisSemaphore(x, "fifo", 3));
    const first = await sems[0]!.acquire(2);
    // Grants are made in Redis in queue order; fences record that order (each process learns of
    // its grant at its own pace, so local resolution order says nothing).
    const grants: { who: string; fence: number }[] = [];
    const big = sems[1]!.acquire(3).then((l) => (grants.push({ who: "big", fence: l.fence }), l));
    await sleepMs(20);
    // One permit is free, but the 3-permit waiter came first: the 1-permit waiters queue behind it.
    const smalls: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) {
      smalls.push(
        sems[i % 3]!.acquire(1).then(async (l) => {
          grants.push({ who: `small${i}`, fence: l.fence });
          await sleepMs(20);
          await l.release();
        }),
      );
      await sleepMs(15);
    }
    assert.equal(grants.length, 0);
    assert.equal((await sems[2]!.status()).queued, 5);
    await first.release();
    const bigLease = await big;
    assert.deepEqual(
      grants.map((g) => g.who),
      ["big"],
    );
    await bigLease.release();
    await Promise.all(smalls);
    grants.sort((x, y) => x.fence - y.fence);
    assert.deepEqual(
      grants.map((g) => g.who),
      ["big", "small0", "small1", "small2", "small3"],
    );
    assert.deepEqual(await held(c, "fifo"), { holders: 0, queued: 0, used: 0 });
  });

  void test("runExclusive holds the lock for fn's whole run and releases however it ends", async () => {
    const m = new RedisMutex(a, "rx");
    await assert.rejects(
      m.runExclusive(async (lease) => {
        assert.equal(lease.held, true);
        assert.equal((await held(c, "rx")).holders, 1);
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal((await held(c, "rx")).holders, 0);
    assert.equal(await m.runExclusive(() => 7), 7);
  });

  void test("Limiter: concurrency across clients, queue bound, queue timeout, and nothing left in Redis", async () => {
    const opts = { concurrency: 2, queue: 1, queueTimeoutMs: 150 };
    const la = new RedisLimiter(a, "lim", opts);
    const lb = new RedisLimiter(b, "lim", opts);
    let running = 0;
    let peak = 0;
    const gate = (() => {
      let resolve!: () => void;
      return { promise: new Promise<void>((r) => (resolve = r)), resolve };
    })();
    const work = async (signal: AbortSignal): Promise<string> => {
      assert.equal(signal.aborted, false);
      running++;
      peak = Math.max(peak, running);
      await gate.promise;
      running--;
      return "done";
    };
    const r1 = la.run(work);
    const r2 = lb.run(work);
    await until(() => running === 2, 2_000);
    const queued = la.run(work); // the one queue slot
    await sleepMs(30);
    await assert.rejects(lb.run(work), OverloadedError); // queue full: refused at once
    await assert.rejects(queued, (e: Error) => e instanceof OverloadedError && /queueTimeoutMs/.test(e.message));
    gate.resolve();
    assert.deepEqual(await Promise.all([r1, r2]), ["done", "done"]);
    assert.equal(peak, 2);
    assert.ok(await until(async () => (await held(c, "lim")).holders === 0, 2_000));
    assert.deepEqual(await held(c, "lim"), { holders: 0, queued: 0, used: 0 });
  });

  void test("Limiter: the rate per key, across clients, refuses with RateLimitedError and a retry hint", async () => {
    const opts = { rate: { perSecond: 5, burst: 2 } };
    const la = new RedisLimiter(a, "rate", opts);
    const lb = new RedisLimiter(b, "rate", opts);
    assert.equal(await la.run(() => 1, { key: "t1" }), 1);
    assert.equal(await lb.run(() => 2, { key: "t1" }), 2);
    const e = await lb
      .run(() => 3, { key: "t1" })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(e instanceof RateLimitedError);
    assert.ok(e.retryAfterMs > 0 && e.retryAfterMs <= 200, `retryAfterMs ${e.retryAfterMs}`);
    assert.equal(await la.run(() => 4, { key: "t2" }), 4, "another key has its own rate");
    await sleepMs(e.retryAfterMs + 20);
    assert.equal(await la.run(() => 5, { key: "t1" }), 5);
  });

  void test("a withdrawal that reaches Redis before its enter (a NOSCRIPT retry, a pooled client) leaves a tombstone: the late enter queues nothing", async () => {
    // Found by the multi-process property: an EVALSHA that met NOSCRIPT is re-sent after calls
    // sent later, so a wait's withdrawal could run first and its enter then queue a waiter no
    // one would ever take out.
    const conn = new Conn(a);
    const keys = ["holders", "hinfo", "queue", "winfo", "clients", "seq", "used", "gone"].map((k) => `steward:{tomb}:${k}`);
    const run = (...args: string[]) => conn.eval(SEMAPHORE, keys, [args[0]!, "steward:{tomb}:wake", "1", ...args.slice(1)], 2_000, "test");
    const holder = await new RedisMutex(b, "tomb").lock();
    assert.equal((await run("release", "w:1", "5000"))[0], 0, "nothing to withdraw yet");
    assert.equal((await run("enter", "w:1", "1", "5000", "w", "5000", "0", "wait", "-1", "0"))[0], GONE);
    assert.deepEqual(await held(c, "tomb"), { holders: 1, queued: 0, used: 1 });
    await holder.release();
    assert.deepEqual(await held(c, "tomb"), { holders: 0, queued: 0, used: 0 });
  });
}
