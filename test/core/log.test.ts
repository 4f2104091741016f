// The logging seam: configure({ logger }) with a pino-shaped logger, null, or the default.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configure, type Logger } from "../../src/index.js";
import { log, stderrLogger } from "../../src/core/log.js";

function captureStderr(fn: () => void): string {
  const write = process.stderr.write;
  let out = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

void test("the default writes one human line per message to stderr and drops debug", () => {
  assert.equal(configure().logger, stderrLogger);
  const out = captureStderr(() => {
    log("warn", { task: 3 }, "something to know");
    log("debug", {}, "chatter");
    log("error", { err: new Error("x") }, "it failed");
  });
  assert.equal(out, "steward: something to know\nsteward: it failed\n");
});

void test("a pino-shaped logger gets (fields, message) at the right level; null logs nothing", () => {
  const got: [string, object, string | undefined][] = [];
  const logger: Logger = {
    error: (o, m) => void got.push(["error", o, m]),
    warn: (o, m) => void got.push(["warn", o, m]),
    info: (o, m) => void got.push(["info", o, m]),
    debug: (o, m) => void got.push(["debug", o, m]),
  };
  try {
    assert.equal(configure({ logger }).logger, logger);
    log("warn", { route: "/x" }, "slow");
    log("debug", { a: 1 }, "detail");
    assert.deepEqual(got, [
      ["warn", { route: "/x" }, "slow"],
      ["debug", { a: 1 }, "detail"],
    ]);
    assert.equal(configure({ logger: null }).logger, null);
    assert.equal(
      captureStderr(() => log("error", {}, "nobody hears")),
      "",
    );
  } finally {
    configure({ logger: stderrLogger });
  }
});

void test("a logger that throws never breaks the caller: the message goes to stderr", () => {
  const bad: Logger = {
    error: () => {
      throw new Error("transport down");
    },
    warn: () => {},
    info: () => {},
    debug: () => {},
  };
  try {
    configure({ logger: bad });
    const out = captureStderr(() => log("error", {}, "request failed"));
    assert.equal(out, "steward: request failed (the configured logger threw: transport down)\n");
  } finally {
    configure({ logger: stderrLogger });
  }
});

void test("configure rejects a logger without pino's methods, naming what is missing", () => {
  assert.throws(() => configure({ logger: {} as Logger }), { name: "TypeError", message: /opts\.logger\.error must be a function/ });
  assert.throws(() => configure({ logger: { error() {}, warn() {}, info() {} } as unknown as Logger }), { name: "TypeError", message: /opts\.logger\.debug/ });
  assert.throws(() => configure({ logger: "stderr" as unknown as Logger }), { name: "TypeError", message: /opts\.logger must be a logger/ });
  assert.equal(configure().logger, stderrLogger, "a rejected logger changes nothing");
});
