/** The Supervisor API in-process: options, lifecycle and allowBlocking. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Supervisor } from "../../src/index.js";

test("options are checked, naming the bad one", () => {
  assert.throws(() => Supervisor.start({ thresholdMs: 0 }), /thresholdMs/);
  assert.throws(() => Supervisor.start({ thresholdMs: Number.NaN }), RangeError);
  assert.throws(() => Supervisor.start({ report: "loud" as "stderr" }), /opts.report/);
  assert.throws(() => Supervisor.start({ captureStack: 1 as unknown as boolean }), /captureStack/);
  assert.throws(() => Supervisor.start({ maxFrames: 0 }), /maxFrames/);
  assert.throws(() => Supervisor.start({ startupGraceMs: -1 }), /startupGraceMs/);
  assert.throws(() => Supervisor.start({ captureMethod: "x" as "pause" }), /captureMethod/);
  assert.throws(() => Supervisor.start({ requestId: "x" as unknown as () => string }), /requestId/);
  assert.throws(() => Supervisor.start({ breadcrumbs: "yes" as unknown as boolean }), /opts.breadcrumbs/);
  assert.equal(Supervisor.current(), undefined);
});

test("start, current, a second start throws, stop is idempotent and frees the thread", async () => {
  const sup = Supervisor.start({ report: "none" });
  try {
    assert.equal(Supervisor.current(), sup);
    assert.equal(sup.thread, "main");
    assert.equal(sup.running, true);
    assert.equal(sup.options.thresholdMs, 100);
    assert.equal(sup.options.startupGraceMs, 0, "no start-up grace by default");
    assert.throws(() => Supervisor.start(), /already runs/);
    assert.equal(sup.on("blocked", () => {}), sup);
    assert.throws(() => sup.on("nope" as "blocked", () => {}), TypeError);
  } finally {
    const a = sup.stop();
    assert.equal(sup.stop(), a);
    await a;
  }
  assert.equal(sup.running, false);
  assert.equal(Supervisor.current(), undefined);
  const again = Supervisor.start({ report: "none" });
  await again.stop();
});

test("allowBlocking returns fn's value and rethrows its error, with or without a supervisor", async () => {
  assert.equal(Supervisor.allowBlocking(() => 42), 42);
  assert.throws(() => Supervisor.allowBlocking(() => {
    throw new Error("inner");
  }), /inner/);
  assert.throws(() => Supervisor.allowBlocking(1 as unknown as () => void), TypeError);
  const sup = Supervisor.start({ report: "none" });
  try {
    assert.equal(Supervisor.allowBlocking(() => "v"), "v");
    assert.throws(() => Supervisor.allowBlocking(() => {
      throw new RangeError("x");
    }), RangeError);
  } finally {
    await sup.stop();
  }
});
