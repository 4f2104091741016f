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
    assert.equal(
      sup.on("blocked", () => {}),
      sup,
    );
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
  assert.equal(
    Supervisor.allowBlocking(() => 42),
    42,
  );
  assert.throws(
    () =>
      Supervisor.allowBlocking(() => {
        throw new Error("inner");
      }),
    /inner/,
  );
  assert.throws(() => Supervisor.allowBlocking(1 as unknown as () => void), TypeError);
  const sup = Supervisor.start({ report: "none" });
  try {
    assert.equal(
      Supervisor.allowBlocking(() => "v"),
      "v",
    );
    assert.throws(
      () =>
        Supervisor.allowBlocking(() => {
          throw new RangeError("x");
        }),
      RangeError,
    );
  } finally {
    await sup.stop();
  }
});

test("breadcrumbs: the wrapped calls behave as the originals, and stop() puts the originals back", async () => {
  const crypto = await import("node:crypto");
  const originals = { parse: JSON.parse, from: Buffer.from, toString: Buffer.prototype.toString, scrypt: crypto.scryptSync };
  const sup = Supervisor.start({ report: "none" });
  try {
    assert.notEqual(JSON.parse, originals.parse, "wrapped while the supervisor runs");
    assert.equal(JSON.parse.name, "parse");
    assert.equal(JSON.parse.length, originals.parse.length);
    // Small and large (above the gate), with a reviver, errors thrown as before.
    assert.deepEqual(JSON.parse('{"a":[1,2]}'), { a: [1, 2] });
    const big = JSON.stringify(Array.from({ length: 40_000 }, (_, i) => ({ i })));
    assert.ok(big.length > 256 * 1024);
    assert.equal((JSON.parse(big) as unknown[]).length, 40_000);
    assert.deepEqual(
      JSON.parse('{"a":1,"b":2}', (k, v: unknown) => (k === "a" ? 10 : v)),
      { a: 10, b: 2 },
    );
    assert.throws(() => JSON.parse("{"), SyntaxError);
    // Buffer#toString keeps its arguments.length semantics; Buffer.from all its forms.
    const buf = Buffer.from("héllo wörld");
    assert.equal(buf.toString(), "héllo wörld");
    assert.equal(buf.toString("hex", 1, 3), originals.toString.call(buf, "hex", 1, 3));
    const large = Buffer.alloc(2 * 1024 * 1024, 120);
    assert.equal(large.toString("base64"), originals.toString.call(large, "base64"));
    assert.deepEqual(Buffer.from([1, 2, 3]), originals.from([1, 2, 3]));
    assert.deepEqual(Buffer.from("aGk=", "base64"), originals.from("aGk=", "base64"));
    // node:crypto, through the module object and the ESM named binding alike.
    const { scryptSync } = await import("node:crypto");
    assert.notEqual(scryptSync, originals.scrypt);
    assert.deepEqual(scryptSync("pw", "salt", 16, { N: 1024 }), originals.scrypt("pw", "salt", 16, { N: 1024 }));
    assert.equal(crypto.createHash("sha256").update(large).digest("hex"), crypto.createHash("sha256").update(large.subarray(0)).digest("hex"));
  } finally {
    await sup.stop();
  }
  assert.equal(JSON.parse, originals.parse);
  assert.equal(Buffer.from, originals.from);
  assert.equal(Buffer.prototype.toString, originals.toString);
  assert.equal((await import("node:crypto")).scryptSync, originals.scrypt);
  const off = Supervisor.start({ report: "none", breadcrumbs: false });
  try {
    assert.equal(JSON.parse, originals.parse, "breadcrumbs: false wraps nothing");
  } finally {
    await off.stop();
  }
});
