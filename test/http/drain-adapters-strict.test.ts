// SIGTERM with 200 requests in flight that wait on steward's own sleep: all 200 complete with
// their signal intact (it aborts only on client disconnect, timeoutMs or the drain deadline).
import { test } from "node:test";
import assert from "node:assert/strict";
import { drainScenario, IN_FLIGHT } from "./drain-adapters.js";

for (const framework of ["fastify", "express"] as const) {
  void test(`${framework}: SIGTERM with ${IN_FLIGHT} requests waiting on steward's sleep: all complete, signals intact, onClose after, exit 0`, { timeout: 60_000 }, async () => {
    const o = await drainScenario(framework, "steward");
    assert.deepEqual(o.errors, [], o.stderr);
    assert.equal(o.statuses.length, IN_FLIGHT);
    assert.ok(
      o.statuses.every((s) => s === 200),
      `statuses: ${[...new Set(o.statuses)].join(",")}`,
    );
    assert.ok(
      o.bodies.every((b) => !b.aborted),
      `${o.bodies.filter((b) => b.aborted).length} requests saw their signal abort`,
    );
    assert.deepEqual(o.onClose?.sent, IN_FLIGHT, o.stdout);
    assert.equal(o.code, 0, o.stderr);
  });
}
