/**
 * Cancel safety in Redis: a withdrawn wait (signal, task cancellation, losing select branch) holds
 * nothing there, including a grant that raced in after the waiter gave up.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, select, sleep, spawn } from "../../src/index.js";
import { RedisMutex, RedisSemaphore } from "../../src/redis/index.js";
import { type Client, close, connect, held, REDIS_SERVER, RedisServer, sleepMs, until } from "./helpers.js";

const empty = { holders: 0, queued: 0, used: 0 };

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

  const settled = (c: Client, name: string): Promise<boolean> =>
    until(async () => {
      const h = await held(c, name);
      return h.holders === 0 && h.queued === 0 && h.used === 0;
    }, 3_000);

  void test("aborting a queued acquire rejects with the signal's reason and takes it out of Redis's queue; the next waiter is still served", async () => {
    const holder = await new RedisMutex(a, "abort").lock();
    const m = new RedisMutex(b, "abort");
    const ac = new AbortController();
    const aborted = m.lock({ signal: ac.signal });
    const next = m.lock();
    await until(async () => (await held(a, "abort")).queued === 2, 2_000);
    const why = new Error("changed my mind");
    ac.abort(why);
    await assert.rejects(aborted, (e) => e === why);
    assert.ok(await until(async () => (await held(a, "abort")).queued === 1, 2_000));
    await holder.release();
    const l = await next;
    await l.release();
    assert.ok(await settled(a, "abort"));
  });

  void test("an already aborted signal rejects at once and sends nothing", async () => {
    const m = new RedisMutex(a, "pre");
    const why = new Error("before");
    await assert.rejects(m.lock({ signal: AbortSignal.abort(why) }), (e) => e === why);
    assert.deepEqual(await held(a, "pre"), empty);
  });

  void test("a task cancelled while it waits for a lock ends cancelled and leaves nothing queued", async () => {
    const holder = await new RedisMutex(a, "task").lock();
    const m = new RedisMutex(b, "task");
    const h = spawn(async () => {
      await m.lock();
      return "got it";
    });
    await until(async () => (await held(a, "task")).queued === 1, 2_000);
    h.abort();
    const r = await h.result();
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.isCancelled() && r.error.cause instanceof CancelledError);
    assert.ok(await until(async () => (await held(a, "task")).queued === 0, 2_000));
    await holder.release();
    assert.ok(await settled(a, "task"));
  });

  void test("select: a lock that loses to a sleep holds nothing in Redis", async () => {
    const holder = await new RedisMutex(a, "sel").lock();
    const m = new RedisMutex(b, "sel");
    const r = await select({ lock: (signal) => m.lock({ signal }), timeout: (signal) => sleep(50, { signal }) });
    assert.equal(r.key, "timeout");
    await holder.release();
    assert.ok(await settled(a, "sel"), "the losing branch's place in line and any grant were handed back");
  });

  void test("select over two Redis locks granted at the same moment: exactly one branch holds, the other's grant is handed back", async () => {
    for (let i = 0; i < 8; i++) {
      const [x, y] = [`race-x${i}`, `race-y${i}`];
      const hx = await new RedisMutex(a, x).lock();
      const hy = await new RedisMutex(a, y).lock();
      const mx = new RedisMutex(b, x);
      const my = new RedisMutex(b, y);
      const chosen = select({ x: (signal) => mx.lock({ signal }), y: (signal) => my.lock({ signal }) });
      await until(async () => (await held(a, x)).queued === 1 && (await held(a, y)).queued === 1, 2_000);
      await Promise.all([hx.release(), hy.release()]); // both grants race to b
      const won = await chosen;
      const [winner, loser] = won.key === "x" ? [x, y] : [y, x];
      assert.equal((await held(a, winner)).holders, 1);
      assert.ok(await settled(a, loser), `the losing branch (${loser}) holds nothing`);
      await won.value.release();
      assert.ok(await settled(a, winner));
    }
  });

  void test("a grant that arrives after the waiter was aborted is released at once", async () => {
    for (let i = 0; i < 8; i++) {
      const name = `late${i}`;
      const holder = await new RedisMutex(a, name).lock();
      const sem = new RedisSemaphore(b, name, 1);
      const ac = new AbortController();
      const waiting = sem.acquire(1, { signal: ac.signal }).then(
        (l) => l.release(), // it won the race: fine, as long as it is released
        () => {},
      );
      await until(async () => (await held(a, name)).queued === 1, 2_000);
      const released = holder.release(); // Redis grants the waiter inside this script …
      await sleepMs(i % 3); // … and the abort lands before, around or after the news
      ac.abort(new Error("late"));
      await released;
      await waiting;
      assert.ok(await settled(a, name), `round ${i}: nothing held`);
    }
  });
}
