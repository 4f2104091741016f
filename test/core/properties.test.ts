// Property tests over random schedules (fast-check's scheduler plays loom's role) and random aborts.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { sleep } from "../../src/index.js";
import { Pool } from "../helpers/pool.js";

const RUNS = 150;

test("a withdrawn waiter holds nothing; served waiters get distinct units in FIFO order", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }), fc.nat({ max: 25 }), async (s, aborts, units) => {
      const pool = new Pool();
      const got: { i: number; unit: number }[] = [];
      let rejected = 0;
      aborts.forEach((abort, i) => {
        const c = new AbortController();
        pool.take({ signal: c.signal }).then(
          (unit) => got.push({ i, unit }),
          () => rejected++,
        );
        if (abort) void s.schedule(Promise.resolve(), `abort ${i}`).then(() => c.abort());
      });
      for (let u = 0; u < units; u++) void s.schedule(Promise.resolve(), "put").then(() => pool.put(1));
      await s.waitIdle();
      await sleep(0);
      assert.equal(pool.taken + pool.units, units, "conserved");
      assert.equal(got.length, pool.taken);
      assert.equal(new Set(got.map((g) => g.unit)).size, got.length, "no unit given twice");
      const sorted = [...got].sort((a, b) => a.unit - b.unit);
      for (let k = 1; k < sorted.length; k++) assert.ok(sorted[k]!.i > sorted[k - 1]!.i, "served in arrival order");
      assert.equal(got.length + rejected + pool.q.length, aborts.length, "every waiter accounted for");
    }),
    { numRuns: RUNS },
  );
});
