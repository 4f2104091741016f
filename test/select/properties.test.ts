// Property tests over random schedules (fast-check's scheduler plays loom's role) and random aborts.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { select, sleep } from "../../src/index.js";
import { Pool } from "../helpers/pool.js";

const RUNS = 150;

test("select never takes two: every unit is either still in its pool or won by exactly one select", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.integer({ min: 2, max: 4 }), // pools
      fc.array(fc.nat({ max: 2 }), { minLength: 4, maxLength: 4 }), // units already in each pool
      // Each put action fills several pools in one synchronous step: "ready in the same tick".
      fc.array(fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }), { maxLength: 8 }),
      fc.array(fc.record({ pools: fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }), abort: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      async (s, nPools, initial, puts, selects) => {
        const pools = Array.from({ length: nPools }, () => new Pool());
        let put = 0;
        pools.forEach((p, i) => {
          p.put(initial[i]!);
          put += initial[i]!;
        });
        const won: number[] = [];
        const settled: Promise<unknown>[] = [];
        for (const sel of selects) {
          const ctrl = new AbortController();
          const branches: Record<string, (signal: AbortSignal) => Promise<number>> = {};
          for (const i of sel.pools) if (i < nPools) branches[`p${i}`] = (signal) => pools[i]!.take({ signal });
          if (Object.keys(branches).length === 0) continue;
          settled.push(
            select(branches, { signal: ctrl.signal }).then(
              (r) => won.push(Number(r.key.slice(1))),
              () => {},
            ),
          );
          if (sel.abort) void s.schedule(Promise.resolve(), "abort").then(() => ctrl.abort("abort"));
        }
        for (const batch of puts) {
          void s.schedule(Promise.resolve(), `put ${batch.join(",")}`).then(() => {
            for (const i of batch) {
              if (i >= nPools) continue;
              pools[i]!.put(1);
              put++;
            }
          });
        }
        await s.waitIdle();
        // Let selects whose winner was claimed finish; the rest stay pending: abort them now.
        await sleep(0);
        const taken = pools.reduce((a, p) => a + p.taken, 0);
        const left = pools.reduce((a, p) => a + p.units, 0);
        assert.equal(taken + left, put, "units are conserved");
        assert.equal(taken, won.length, "each taken unit belongs to exactly one resolved select");
        assert.ok(won.length <= selects.length);
        for (const [i, p] of pools.entries()) assert.equal(p.taken, won.filter((w) => w === i).length);
        void settled;
      },
    ),
    { numRuns: RUNS },
  );
});
