// Property tests over random schedules (fast-check's scheduler plays loom's role) and random aborts.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { JoinSet, sleep } from "../../src/index.js";

const RUNS = 150;

test("JoinSet returns every task exactly once, under random completion order and random aborts", async () => {
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom("ok", "throw", "abort", "abortLate"), { minLength: 1, maxLength: 12 }), async (s, kinds) => {
      const set = new JoinSet<number>();
      const handles = kinds.map((k, i) =>
        set.spawn(async () => {
          await s.schedule(Promise.resolve(), `task ${i}`);
          if (k === "throw") throw new Error(`t${i}`);
          await sleep(0);
          return i;
        }),
      );
      handles.forEach((h, i) => {
        if (kinds[i] === "abort") h.abort();
        if (kinds[i] === "abortLate") void s.schedule(Promise.resolve(), `abort ${i}`).then(() => h.abort());
      });
      const seen = new Map<number, number>();
      const drain = (async () => {
        for (let r = await set.joinNext(); r !== undefined; r = await set.joinNext()) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
      })();
      await s.waitFor(drain);
      assert.equal(seen.size, handles.length);
      for (const h of handles) assert.equal(seen.get(h.id), 1, `task ${h.id} joined once`);
      assert.equal(set.size, 0);
    }),
    { numRuns: RUNS },
  );
});
