/**
 * Safety over random schedules, with several processes sharing one Redis: three replicas run
 * random acquire / hold / abort / select mixes against the same semaphore (1 to 3 permits).
 * Properties: never more permits in use than exist (for a mutex: every holder's fence is the
 * largest the fenced resource has seen, so no two holders with valid fences overlap); permits are
 * conserved (everything granted is given back); a withdrawn acquire leaves nothing in Redis.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Client, close, connect, held, REDIS_SERVER, RedisServer, Replica, until } from "./helpers.js";

if (REDIS_SERVER !== undefined) {
  let server: RedisServer;
  let c: Client;
  let replicas: Replica[] = [];
  before(async () => {
    server = await RedisServer.start();
    c = await connect(server);
    replicas = await Promise.all([0, 1, 2].map(() => Replica.start(server)));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
    close(c);
    await server.stop();
  });

  const op = (permits: number) =>
    fc.record({
      n: fc.integer({ min: 1, max: permits }),
      holdMs: fc.integer({ min: 0, max: 25 }),
      abortAfterMs: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
      viaSelect: fc.boolean(),
    });

  const schedule = fc.integer({ min: 1, max: 3 }).chain((permits) =>
    fc.record({
      permits: fc.constant(permits),
      ops: fc.array(fc.array(op(permits), { minLength: 2, maxLength: 7 }), { minLength: 3, maxLength: 3 }),
    }),
  );

  let run = 0;
  void test("several processes: permits never oversubscribed, fences never go back, nothing left held or queued", async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (sch) => {
        try {
          await check(sch);
        } catch (e) {
          process.stderr.write(`property failed: ${e instanceof Error ? e.message : String(e)}\n`);
          throw e;
        }
      }),
      { numRuns: 10, endOnFailure: true },
    );
  });

  async function check({ permits, ops }: { permits: number; ops: { n: number; holdMs: number; abortAfterMs: number | undefined; viaSelect: boolean }[][] }): Promise<void> {
    const name = `prop${run++}`;
    replicas.forEach((r, i) => r.send({ cmd: "run", name, permits, leaseMs: 2_000, ops: ops[i] }));
    const results = await Promise.all(replicas.map((r) => r.next("ran", 30_000)));
    const violations = results.flatMap((r) => r.violations as string[]);
    assert.deepEqual(violations, []);
    const granted = results.reduce((s, r) => s + (r.granted as number), 0);
    const withdrawn = results.reduce((s, r) => s + (r.withdrawn as number), 0);
    assert.equal(granted + withdrawn, ops.flat().length, "every op ended one way or the other");
    // Withdrawals are sent as the wait is given up; give them a moment to land.
    const clean = await until(async () => {
      const h = await held(c, name);
      return h.holders === 0 && h.queued === 0 && h.used === 0;
    }, 3_000);
    if (!clean) {
      const base = `steward:{${name}}`;
      const dump = {
        time: await c.sendCommand(["TIME"]),
        holders: await c.sendCommand(["ZRANGE", `${base}:holders`, "0", "-1", "WITHSCORES"]),
        hinfo: await c.sendCommand(["HGETALL", `${base}:hinfo`]),
        queue: await c.sendCommand(["ZRANGE", `${base}:queue`, "0", "-1", "WITHSCORES"]),
        winfo: await c.sendCommand(["HGETALL", `${base}:winfo`]),
        clients: await c.sendCommand(["ZRANGE", `${base}:clients`, "0", "-1", "WITHSCORES"]),
      };
      process.stderr.write(`DUMP ${JSON.stringify(dump)}\n`);
    }
    assert.ok(clean, `left in Redis: ${JSON.stringify(await held(c, name))}`);
    assert.equal(Number((await c.get(`${name}:crit`)) ?? 0), 0, "every holder left the critical section");
  }
}
