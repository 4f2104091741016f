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

void test("steward's own messages go through a configured logger: a panic, a throwing onCancel, runMain's report", async () => {
  const { CancellationToken, Runtime, runMain, sleep } = await import("../../src/index.js");
  const got: [string, Record<string, unknown>, string | undefined][] = [];
  const rec = (level: string) => (o: object, m?: string) => void got.push([level, o as Record<string, unknown>, m]);
  const logger: Logger = { error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
  configure({ logger });
  try {
    const stderr = await (async () => {
      const write = process.stderr.write;
      let out = "";
      process.stderr.write = ((c: string | Uint8Array) => ((out += String(c)), true)) as typeof process.stderr.write;
      try {
        const rt = new Runtime({ name: "logged" });
        const boom = new Error("boom");
        rt.spawn(() => Promise.reject(boom), { name: "failing" }); // unobserved: the runtime reports it
        await new Promise((r) => setTimeout(r, 20));
        const t = new CancellationToken();
        t.onCancel(() => {
          throw new Error("listener broke");
        });
        t.cancel();
        await rt.shutdown();
        // runMain's own messages: main failing.
        const code = await runMain(
          async () => {
            await sleep(1);
            throw new Error("main broke");
          },
          { exit: false, signals: [], dumpSignal: null, recorder: false },
        );
        assert.equal(code, 1);
      } finally {
        process.stderr.write = write;
      }
      return out;
    })();
    assert.equal(stderr, "", "nothing reached stderr");
    const panic = got.find(([, , m]) => m?.includes("'failing' panicked"));
    assert.ok(panic !== undefined, JSON.stringify(got.map((g) => g[2])));
    assert.equal(panic[0], "error");
    assert.equal((panic[1].err as Error).message, "boom");
    assert.equal(panic[1].taskName, "failing");
    assert.ok(got.some(([l, o, m]) => l === "error" && m?.includes("onCancel callback threw") && (o.err as Error).message === "listener broke"));
    const failed = got.find(([, , m]) => m?.includes("main failed"));
    assert.ok(failed !== undefined && failed[0] === "error" && (failed[1].err as Error).message === "main broke", JSON.stringify(got.map((g) => g[2])));
    assert.ok(!got.some(([, , m]) => m?.endsWith("\n")), "messages carry no trailing newline");
  } finally {
    configure({ logger: stderrLogger });
  }
});
