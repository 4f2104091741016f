// withTestClock (steward/testing) in the shapes users write: a retry loop with exponential
// backoff, a request under a timeout (a steward-timed fake backend, and a real HTTP server that
// never answers), an interval, a runtime's shutdown deadlines — plus its ordering guarantees as a
// property, and its misuse errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { channel, interval, now, Runtime, select, Sleep, sleep, sleepUntil, spawn, timeout, timeoutAt, TimeoutError } from "../../src/index.js";
import { TestClockError, withTestClock } from "../../src/testing/index.js";

/** Generous: virtual minutes must take real milliseconds; this only catches a clock that is not virtual. */
const REAL_BOUND_MS = 10_000;

/** The code under test: retries `op` with exponential backoff (base, 2·base, 4·base, ...). */
async function retry<T>(op: (attempt: number) => Promise<T>, opts: { attempts: number; baseMs: number; signal?: AbortSignal }): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (attempt + 1 >= opts.attempts) throw e;
      await sleep(opts.baseMs * 2 ** attempt, { signal: opts.signal });
    }
  }
}

void test("a retry loop's minute of exponential backoff runs on virtual time, deterministically", async () => {
  const run = async (): Promise<{ at: number[]; result: string; realMs: number }> => {
    const real0 = performance.now();
    const out = await withTestClock(
      async () => {
        const t0 = now();
        const at: number[] = [];
        const result = await retry(
          async (attempt) => {
            at.push(now() - t0);
            if (attempt < 6) throw new Error(`flaky ${attempt}`);
            return "ok";
          },
          { attempts: 10, baseMs: 1000 },
        );
        return { at, result };
      },
      { start: 0 },
    );
    return { ...out, realMs: performance.now() - real0 };
  };
  const a = await run();
  assert.equal(a.result, "ok");
  // 1 + 2 + 4 + 8 + 16 + 32 s of backoff: each attempt exactly when its backoff ended.
  assert.deepEqual(a.at, [0, 1000, 3000, 7000, 15000, 31000, 63000]);
  assert.ok(a.realMs < REAL_BOUND_MS, `63 s of virtual backoff took ${a.realMs.toFixed(0)} ms of real time`);
  const b = await run();
  assert.deepEqual(b.at, a.at, "a second run sees the same times");
  // Outside the callback steward's clock is real again.
  assert.ok(Math.abs(now() - performance.now()) < 50);
});

void test("the retry loop gives up after its attempts, with the operation's error, at the virtual time its backoff ends", async () => {
  await withTestClock(
    async () => {
      await assert.rejects(
        retry(async (n) => Promise.reject(new Error(`down ${n}`)), { attempts: 4, baseMs: 500 }),
        /down 3/,
      );
      assert.equal(now(), 500 + 1000 + 2000);
    },
    { start: 0 },
  );
});

/** A fake backend whose latency is steward time. */
function backend(latencyMs: number) {
  let aborted = 0;
  return {
    get aborted() {
      return aborted;
    },
    async get(signal: AbortSignal): Promise<string> {
      signal.addEventListener("abort", () => aborted++, { once: true });
      await sleep(latencyMs, { signal });
      return "body";
    },
  };
}

void test("a request under timeout(): a slow backend times out at exactly its deadline and is aborted; a fast one answers", async () => {
  await withTestClock(
    async () => {
      const slow = backend(30_000);
      const err = await timeout(2000, (signal) => slow.get(signal)).catch((e: unknown) => e);
      assert.ok(err instanceof TimeoutError);
      assert.equal(now(), 2000);
      assert.equal(slow.aborted, 1, "the backend call's signal was aborted");

      const fast = backend(1500);
      assert.equal(await timeout(2000, (signal) => fast.get(signal)), "body");
      assert.equal(now(), 3500);
      assert.equal(fast.aborted, 0);

      // One deadline across several calls bounds the whole request.
      const deadline = now() + 2000;
      assert.equal(await timeoutAt(deadline, (signal) => fast.get(signal)), "body");
      await assert.rejects(
        timeoutAt(deadline, (signal) => fast.get(signal)),
        TimeoutError,
      );
      assert.equal(now(), deadline);
    },
    { start: 0 },
  );
});

void test("a real HTTP request under timeout(): the real server never answers, the virtual deadline fires on advance()", async () => {
  let closed = 0;
  const server: Server = createServer(() => {
    /* never answers */
  });
  server.on("connection", (sock) => sock.on("close", () => closed++));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await withTestClock(
      async (clock) => {
        let settled = false;
        const req = timeout(5000, (signal) => fetch(url, { signal })).finally(() => (settled = true));
        req.catch(() => {});
        // Real time passes; the virtual deadline does not.
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(settled, false);
        await clock.advance(4999);
        assert.equal(settled, false);
        await clock.advance(1);
        await assert.rejects(req, TimeoutError);
      },
      { autoAdvance: false },
    );
    // The aborted fetch closes its connection (real I/O: give it real time). Node 24's fetch may
    // have opened a second one meanwhile: at least one closes.
    for (let i = 0; i < 100 && closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed >= 1, `${closed} connection(s) closed`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

void test("interval ticks as advance() moves the clock", async () => {
  await withTestClock(
    async (clock) => {
      using it = interval(1000);
      const ticks: [number, number][] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) ticks.push([await it.tick(), now()]);
      })();
      await clock.advance(0);
      assert.deepEqual(ticks, [[0, 0]]);
      await clock.advance(999);
      assert.deepEqual(ticks, [[0, 0]]);
      await clock.advance(1);
      assert.deepEqual(ticks, [
        [0, 0],
        [1, 1000],
      ]);
      await clock.advance(3000);
      assert.deepEqual(
        ticks.map(([n, at]) => `${n}@${at}`),
        ["0@0", "1@1000", "2@2000", "3@3000", "4@4000"],
      );
      stop = true;
      it[Symbol.dispose]();
      await loop.catch(() => {});
    },
    { start: 0, autoAdvance: false },
  );
});

void test("a runtime's shutdown deadlines run on the test clock: a stuck task is reported after the virtual collect timeout", async () => {
  const real0 = performance.now();
  const report = await withTestClock(
    async () => {
      const rt = new Runtime({ collectTimeoutMs: 30_000, shutdownTimeoutMs: 120_000 });
      // A task that ignores cancellation: it waits on a promise steward knows nothing of.
      rt.spawn(() => new Promise(() => {}), { name: "stuck" });
      // A task that finishes its backoff during the drain.
      let finished = false;
      rt.spawn(async () => {
        await sleep(10_000);
        finished = true;
      });
      const r = await rt.shutdown();
      assert.equal(finished, true);
      return r;
    },
    { start: 0 },
  );
  assert.equal(report.tasks.stuck.length, 1);
  assert.equal(report.tasks.stuck[0]!.name, "stuck");
  assert.equal(report.phases.collectMs, 30_000);
  assert.ok(report.durationMs >= 30_000, `durationMs ${report.durationMs}`);
  assert.ok(performance.now() - real0 < REAL_BOUND_MS);
});

void test("property: sleeps, deadlines and moved Sleep handles fire in deadline order and never early on the virtual clock", async () => {
  const op = fc.record({
    kind: fc.constantFrom("sleep", "sleepUntil", "handle"),
    ms: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ min: 0, max: 5000, noNaN: true })),
    moveTo: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    abortAt: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), fc.boolean(), async (ops, auto) => {
      await withTestClock(
        async (clock) => {
          const fired: { i: number; due: number; at: number }[] = [];
          const waits = ops.map((o, i) => {
            const ctrl = new AbortController();
            let due: number;
            let p: Promise<void>;
            if (o.kind === "sleep") {
              due = o.ms;
              p = sleep(o.ms, { signal: ctrl.signal });
            } else if (o.kind === "sleepUntil") {
              due = o.ms;
              p = sleepUntil(o.ms, { signal: ctrl.signal });
            } else {
              const s = Sleep.until(o.ms);
              p = s.wait({ signal: ctrl.signal });
              due = o.ms;
              // (A wait on a handle already due is served when it starts: moving it then moves nothing.)
              if (o.moveTo !== undefined && o.ms > 0) {
                s.reset(o.moveTo);
                due = o.moveTo;
              }
            }
            const abortAt = o.abortAt;
            if (abortAt !== undefined && abortAt < due) {
              // Aborted before it is due: it must never fire.
              void sleepUntil(abortAt).then(() => ctrl.abort(new Error("aborted")));
            }
            return p.then(
              () => void fired.push({ i, due, at: now() }),
              () => {},
            );
          });
          if (!auto) await clock.advance(6000);
          await Promise.all(waits);
          for (const f of fired) {
            assert.ok(f.at >= f.due, `wait ${f.i} fired at ${f.at}, before its deadline ${f.due}`);
            // sleep(ms) is exact; deadline forms round up to the millisecond, as tokio's do.
            assert.ok(f.at <= Math.ceil(f.due), `wait ${f.i} fired late: ${f.at} for ${f.due}`);
            const o = ops[f.i]!;
            assert.ok(o.abortAt === undefined || o.abortAt >= f.due, `wait ${f.i} fired although aborted at ${o.abortAt}`);
          }
          for (let k = 1; k < fired.length; k++) assert.ok(fired[k - 1]!.at <= fired[k]!.at, "fired in deadline order");
          const dueOf = (o: (typeof ops)[number]): number => (o.kind === "handle" && o.moveTo !== undefined && o.ms > 0 ? o.moveTo : o.ms);
          assert.equal(fired.length, ops.filter((o) => o.abortAt === undefined || o.abortAt >= dueOf(o)).length);
        },
        { start: 0, autoAdvance: auto },
      );
    }),
    { numRuns: 60 },
  );
});

void test("misuse: nested and concurrent test clocks, advance after the end, bad arguments — typed errors naming the argument", async () => {
  await withTestClock(async () => {
    await assert.rejects(
      withTestClock(async () => {}),
      TestClockError,
    );
  });
  const first = withTestClock(() => sleep(10));
  await assert.rejects(
    withTestClock(async () => {}),
    { name: "TestClockError", message: /already running/ },
  );
  await first;
  let saved: { advance(ms: number): Promise<void> } | undefined;
  await withTestClock((c) => void (saved = c));
  assert.throws(() => saved!.advance(1), TestClockError);
  await assert.rejects(withTestClock(null as never), { name: "TypeError", message: /fn/ });
  await assert.rejects(
    withTestClock(async () => {}, { autoAdvance: "yes" as never }),
    { name: "TypeError", message: /opts\.autoAdvance/ },
  );
  await assert.rejects(
    withTestClock(async () => {}, { start: NaN }),
    { name: "RangeError", message: /opts\.start/ },
  );
  await withTestClock(async (c) => {
    assert.throws(() => void c.advance(-1), { name: "RangeError", message: /\bms\b/ });
    assert.throws(() => void c.advance("1" as never), { name: "TypeError", message: /\bms\b/ });
  });
  // After every misuse the real clock is back and a new test clock works.
  assert.equal(await withTestClock(async () => (await sleep(60_000), now()), { start: 5 }), 60_005);
});

void test("timers still pending when the callback returns never fire; steward time is real again", async () => {
  let fired = false;
  await withTestClock(
    async () => {
      void sleep(1000).then(() => (fired = true));
    },
    { autoAdvance: false },
  );
  await sleep(20);
  assert.equal(fired, false);
});

void test("auto-advance with tasks talking over a channel: a producer with pauses, a consumer with a per-message timeout and a heartbeat", async () => {
  const log = await withTestClock(
    async () => {
      const out: string[] = [];
      const [tx, rx] = channel<number>(2);
      const producer = spawn(async () => {
        for (const gap of [500, 1500, 7000, 100]) {
          await sleep(gap);
          await tx.send(gap);
        }
        tx.close();
      });
      const consumer = spawn(async () => {
        using beat = interval(5000, { start: now() + 5500 });
        for (;;) {
          const r = await select({ msg: (signal) => timeout(3000, (s2) => rx.recv({ signal: AbortSignal.any([signal, s2]) })), beat: (signal) => beat.tick({ signal }) }, { biased: true }).catch(
            (e: unknown) => (e instanceof TimeoutError ? ({ key: "timeout", value: undefined } as const) : Promise.reject(e)),
          );
          if (r.key === "msg" && r.value === undefined) break;
          out.push(`${now()} ${r.key}${r.key === "msg" ? ` ${r.value}` : ""}`);
        }
      });
      await Promise.all([producer, consumer]);
      return out;
    },
    { start: 0 },
  );
  // Every message arrives (a timed-out recv took none), each event at its exact virtual time.
  assert.deepEqual(log, ["500 msg 500", "2000 msg 1500", "5000 timeout", "5500 beat", "8500 timeout", "9000 msg 7000", "9100 msg 100"]);
});
