import { test } from "node:test";
import assert from "node:assert/strict";
import { CancelledError, Limiter, OverloadedError, RateLimitedError, select, shield, sleep, spawn, Semaphore } from "../../src/index.js";

/** A job that runs until `release()` is called; records when it started. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

void test("at most `concurrency` jobs run; the rest wait in FIFO order and run as slots free", async () => {
  const lim = new Limiter({ concurrency: 2 });
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, gate);
  const runs = gates.map((g, i) =>
    lim.run(async () => {
      started.push(i);
      await g.promise;
      return i * 10;
    }),
  );
  await tick();
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual({ running: lim.stats.running, queued: lim.stats.queued }, { running: 2, queued: 3 });
  gates[1]!.release();
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.release();
  assert.deepEqual(await Promise.all(runs), [0, 10, 20, 30, 40]);
  const s = lim.stats;
  assert.deepEqual({ running: s.running, queued: s.queued, admitted: s.admitted, waited: s.waited, keys: s.keys }, { running: 0, queued: 0, admitted: 5, waited: 3, keys: 0 });
  assert.ok(s.waitMsTotal >= 0 && s.waitMsMax >= 0);
});

void test("a full queue sheds at once with OverloadedError (503, Retry-After), holding nothing", async () => {
  const lim = new Limiter({ concurrency: 1, queue: 1, retryAfterMs: 2500 });
  const g = gate();
  const a = lim.run(() => g.promise);
  const b = lim.run(() => "b");
  const t0 = performance.now();
  const err = await lim
    .run(() => "c")
    .then(
      () => assert.fail("must be shed"),
      (e: unknown) => e,
    );
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(err instanceof OverloadedError);
  assert.equal(err.name, "OverloadedError");
  assert.equal(err.reason, "queue-full");
  assert.equal(err.statusCode, 503);
  assert.equal(err.status, 503);
  assert.equal(err.retryAfterMs, 2500);
  assert.deepEqual(err.headers, { "Retry-After": "3" });
  assert.equal(lim.stats.shed, 1);
  g.release();
  await a;
  assert.equal(await b, "b");
  assert.deepEqual({ running: lim.stats.running, queued: lim.stats.queued }, { running: 0, queued: 0 });
});

void test("queue: 0 never queues, but a free slot still admits", async () => {
  const lim = new Limiter({ concurrency: 1, queue: 0 });
  const g = gate();
  const a = lim.run(() => g.promise);
  await assert.rejects(
    lim.run(() => 1),
    OverloadedError,
  );
  g.release();
  await a;
  assert.equal(await lim.run(() => 2), 2);
});

void test("queueTimeoutMs rejects a job that waited too long with OverloadedError 'queue-timeout'; it never runs", async () => {
  const lim = new Limiter({ concurrency: 1, queueTimeoutMs: 30 });
  const g = gate();
  const a = lim.run(() => g.promise);
  let ran = false;
  const t0 = performance.now();
  const err = await lim
    .run(() => {
      ran = true;
    })
    .catch((e: unknown) => e);
  const waited = performance.now() - t0;
  assert.ok(err instanceof OverloadedError);
  assert.equal(err.reason, "queue-timeout");
  assert.ok(waited >= 25, `waited ${waited} ms`);
  assert.equal(ran, false);
  assert.equal(lim.stats.queueTimeouts, 1);
  assert.equal(lim.stats.queued, 0);
  g.release();
  await a;
  assert.equal(lim.stats.running, 0);
});

void test("aborting a queued job withdraws it at once: it never runs and holds no slot", async () => {
  const lim = new Limiter({ concurrency: 1 });
  const g = gate();
  const a = lim.run(() => g.promise);
  const ac = new AbortController();
  let ran = false;
  const b = lim.run(
    () => {
      ran = true;
    },
    { signal: ac.signal },
  );
  const c = lim.run(() => "c");
  assert.equal(lim.stats.queued, 2);
  const reason = new Error("gave up");
  ac.abort(reason);
  assert.equal(lim.stats.queued, 1, "withdrawn synchronously");
  await assert.rejects(b, (e) => e === reason);
  g.release();
  await a;
  assert.equal(await c, "c");
  assert.equal(ran, false);
  assert.deepEqual({ running: lim.stats.running, queued: lim.stats.queued, withdrawn: lim.stats.withdrawn }, { running: 0, queued: 0, withdrawn: 1 });
});

void test("an already-aborted signal rejects at once without taking a slot", async () => {
  const lim = new Limiter({ concurrency: 1 });
  const reason = new Error("no");
  await assert.rejects(
    lim.run(() => 1, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(lim.stats.running, 0);
  assert.equal(await lim.run(() => 1), 1);
});

void test("a queued job in a cancelled task is withdrawn with CancelledError, unless shielded", async () => {
  const lim = new Limiter({ concurrency: 1 });
  const g = gate();
  const a = lim.run(() => g.promise);
  let ran = 0;
  const t = spawn(() => lim.run(() => ran++));
  const shielded = spawn(() => shield(() => lim.run(() => ran++)));
  await tick();
  assert.equal(lim.stats.queued, 2);
  t.abort();
  shielded.abort();
  const r = await t.result();
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error.cause instanceof CancelledError);
  assert.equal(lim.stats.queued, 1, "the shielded one still waits");
  g.release();
  await a;
  await shielded.result();
  assert.equal(ran, 1);
  assert.equal(lim.stats.running, 0);
});

void test("a select branch that loses is withdrawn and takes no slot", async () => {
  const lim = new Limiter({ concurrency: 1 });
  const g = gate();
  const a = lim.run(() => g.promise);
  let ran = false;
  const r = await select({
    job: (signal) =>
      lim.run(
        () => {
          ran = true;
        },
        { signal },
      ),
    later: (signal) => sleep(10, { signal }).then(() => "slept"),
  });
  assert.equal(r.key, "later");
  assert.equal(lim.stats.queued, 0);
  g.release();
  await a;
  await tick();
  assert.equal(ran, false);
  assert.equal(lim.stats.running, 0);
});

void test("fn gets opts.signal, else the task's signal, else one that never aborts (and keeps no listeners)", async () => {
  const lim = new Limiter({ concurrency: 4 });
  const ac = new AbortController();
  assert.equal(await lim.run((s) => s, { signal: ac.signal }), ac.signal);
  const h = spawn(async (ctx) => ({ got: await lim.run((s) => s), want: ctx.signal }));
  const { got, want } = await h;
  assert.equal(got, want);
  const never = await lim.run((s) => s);
  assert.equal(never.aborted, false);
  let called = false;
  never.addEventListener("abort", () => (called = true));
  assert.equal(called, false);
  // Both: aborts when either aborts.
  const ac2 = new AbortController();
  const both = spawn(async (ctx) => {
    const s = await lim.run((sig) => sig, { signal: ac2.signal });
    ctx.token.cancel(new Error("task"));
    return s.aborted;
  });
  assert.equal(await both.result().then((r) => r.ok && r.value), true);
});

void test("the slot is held until fn's promise settles, also when it rejects or throws", async () => {
  const lim = new Limiter({ concurrency: 1 });
  await assert.rejects(
    lim.run(() => {
      throw new Error("sync");
    }),
    /sync/,
  );
  assert.equal(lim.stats.running, 0);
  await assert.rejects(
    lim.run(() => Promise.reject(new Error("async"))),
    /async/,
  );
  assert.equal(lim.stats.running, 0);
  assert.equal(await lim.run(() => 7), 7);
});

void test("rate: a token bucket per key; over it, RateLimitedError (429) with when the next token comes", async () => {
  const lim = new Limiter({ rate: { perSecond: 10, burst: 2 } });
  assert.equal(await lim.run(() => 1, { key: "a" }), 1);
  assert.equal(await lim.run(() => 2, { key: "a" }), 2);
  const err = await lim.run(() => 3, { key: "a" }).catch((e: unknown) => e);
  assert.ok(err instanceof RateLimitedError);
  assert.equal(err.statusCode, 429);
  assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 100, String(err.retryAfterMs));
  assert.deepEqual(err.headers, { "Retry-After": "1" });
  // Another key has its own bucket.
  assert.equal(await lim.run(() => 4, { key: "b" }), 4);
  await sleep(120);
  assert.equal(await lim.run(() => 5, { key: "a" }), 5);
  assert.equal(lim.stats.rateLimited, 1);
});

void test("a job withdrawn from the queue gives its rate token back", async () => {
  const lim = new Limiter({ concurrency: 1, rate: { perSecond: 0.001, burst: 2 } });
  const g = gate();
  const a = lim.run(() => g.promise, { key: "k" });
  const ac = new AbortController();
  const b = lim.run(() => 0, { key: "k", signal: ac.signal });
  ac.abort();
  await assert.rejects(b);
  g.release();
  await a;
  assert.equal(await lim.run(() => "again", { key: "k" }), "again");
});

void test("keys take turns: one key's burst does not starve another's jobs", async () => {
  const lim = new Limiter({ concurrency: 1 });
  const order: string[] = [];
  const g = gate();
  const first = lim.run(() => g.promise, { key: "A" });
  const jobs = [
    ...Array.from({ length: 6 }, (_, i) => lim.run(() => void order.push(`A${i}`), { key: "A" })),
    ...Array.from({ length: 3 }, (_, i) => lim.run(() => void order.push(`B${i}`), { key: "B" })),
  ];
  g.release();
  await first;
  await Promise.all(jobs);
  assert.deepEqual(order, ["A0", "B0", "A1", "B1", "A2", "B2", "A3", "A4", "A5"]);
});

void test("key state is dropped once it holds nothing, so many keys do not grow memory", async () => {
  const lim = new Limiter({ concurrency: 2, rate: { perSecond: 1_000_000 } });
  for (let i = 0; i < 5000; i++) await lim.run(() => i, { key: `client-${i}` });
  assert.ok(lim.stats.keys <= 2048, `${lim.stats.keys} keys kept`);
  const noRate = new Limiter({ concurrency: 1 });
  const g = gate();
  const a = noRate.run(() => g.promise, { key: "x" });
  const b = noRate.run(() => 1, { key: "y" });
  assert.equal(noRate.stats.keys, 1);
  g.release();
  await Promise.all([a, b]);
  assert.equal(noRate.stats.keys, 0);
});

void test("a wait in the queue shows in dumps as `admit on Limiter#N`", async () => {
  const lim = new Limiter({ concurrency: 1, label: "downstream" });
  const g = gate();
  const a = lim.run(() => g.promise);
  const sem = new Semaphore(0);
  const t = spawn(() => lim.run(() => sem.acquire()), { name: "caller" });
  await tick();
  const { currentRuntime } = await import("../../src/index.js");
  const info = currentRuntime()
    .tasks()
    .find((x) => x.name === "caller");
  assert.match(info?.waitingOn ?? "", /^admit on Limiter#\d+ "downstream"$/);
  t.abort();
  await t.result();
  g.release();
  await a;
});

void test("bad options and arguments are TypeErrors/RangeErrors that name them", () => {
  assert.throws(() => new Limiter({ concurrency: 0 }), { name: "RangeError", message: /opts\.concurrency/ });
  assert.throws(() => new Limiter({ concurrency: 1.5 }), { name: "RangeError", message: /opts\.concurrency/ });
  assert.throws(() => new Limiter({ concurrency: "4" as unknown as number }), { name: "TypeError", message: /opts\.concurrency/ });
  assert.throws(() => new Limiter({ queue: -1 }), { name: "RangeError", message: /opts\.queue/ });
  assert.throws(() => new Limiter({ queueTimeoutMs: -5 }), { name: "RangeError", message: /opts\.queueTimeoutMs/ });
  assert.throws(() => new Limiter({ rate: { perSecond: 0 } }), { name: "RangeError", message: /opts\.rate\.perSecond/ });
  assert.throws(() => new Limiter({ rate: { perSecond: 1, burst: 0.5 } }), { name: "RangeError", message: /opts\.rate\.burst/ });
  assert.throws(() => new Limiter(null as unknown as object), { name: "TypeError", message: /opts/ });
  // A Mutex is named with `name`; a Limiter with `label` (`name` is the HTTP adapters' request
  // naming function). From JavaScript, the Mutex habit must not be silently ignored.
  assert.throws(() => new Limiter({ name: "downstream" } as object), { name: "TypeError", message: /opts\.name.*opts\.label/ });
  const lim = new Limiter({});
  assert.throws(() => lim.run("x" as unknown as () => void), { name: "TypeError", message: /fn/ });
  assert.throws(() => lim.run(() => 1, { key: 3 as unknown as string }), { name: "TypeError", message: /opts\.key/ });
  assert.throws(() => lim.run(() => 1, { signal: {} as AbortSignal }), { name: "TypeError", message: /opts\.signal/ });
});
