// SIGTERM with 200 requests in flight, for Fastify and Express services on runMain, in a child
// process: every request completes, the framework's close hooks run after them, exit code 0.
// (Handlers here hold on a plain timer; drain-adapters.pending.ts holds on steward's sleep and
// checks the requests' signals stay intact, which needs the drain-first shutdown.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { drainScenario, IN_FLIGHT } from "./drain-adapters.js";

for (const framework of ["fastify", "express"] as const) {
  void test(`${framework}: SIGTERM with ${IN_FLIGHT} requests in flight completes all of them, runs onClose after, exits 0`, { timeout: 60_000 }, async () => {
    const o = await drainScenario(framework, "timer");
    assert.deepEqual(o.errors, [], o.stderr);
    assert.equal(o.statuses.length, IN_FLIGHT);
    assert.ok(
      o.statuses.every((s) => s === 200),
      `statuses: ${[...new Set(o.statuses)].join(",")}`,
    );
    assert.ok(o.bodies.every((b) => b.task === "GET /work"));
    assert.deepEqual(o.onClose?.sent, IN_FLIGHT, `onClose ran after every response was sent:\n${o.stdout}`);
    assert.equal(o.code, 0, o.stderr);
  });
}
