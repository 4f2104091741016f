/** Fuzz targets: the supervisor, the console, blocking pools (src/supervisor, src/console, src/pool). */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BlockingPool, blockingPool, Runtime, ShutdownError, Supervisor } from "../../../src/index.js";
import { consoleOf, formatSnapshot, instrumentationActive, recordBlocked } from "../../../src/console/index.js";
import { anything, isBool, isCloneable, isFn, isInt, isMs, isSignal, isStr, oneOfValues, options, param, type Target } from "../harness.js";

const WORKER = new URL("../../pool/fixtures/work.js", import.meta.url);
const EXPORTS = ["default", "add", "sleepSync", "fail", "where", "unclonable", "echo"];
const isWorker = (v: unknown): boolean =>
  (v instanceof URL && v.protocol === "file:" && existsSync(fileURLToPath(v))) || (isStr(v) && v !== "" && existsSync((v as string).startsWith("file:") ? fileURLToPath(v as string) : (v as string)));

const supervisorFields = {
  thresholdMs: { accepts: isMs(Number.MIN_VALUE) },
  captureStack: { accepts: isBool },
  sourceMaps: { accepts: isBool },
  report: { accepts: oneOfValues("stderr", "json", "none"), fix: "none" },
  startupGraceMs: { accepts: isMs(0) },
  maxFrames: { accepts: isInt(1, 1000) },
  requestId: { accepts: isFn },
  captureMethod: { accepts: oneOfValues("evaluate", "pause") },
};

function snapshot(): unknown {
  const rt = new Runtime({ console: { server: false } });
  const s = consoleOf(rt)!.snapshot();
  void rt.shutdown({ timeoutMs: 10 });
  return s;
}

let sup: Supervisor | undefined;
let pool: BlockingPool | undefined;

export const otherTargets: Target<never>[] = [
  {
    area: "supervisor",
    name: "Supervisor.start(opts)",
    direct: true,
    // One supervisor runs throughout, so a good options object is checked, then refused as a
    // second one (starting a watchdog thread per sample would take a minute).
    before: () => (sup = Supervisor.start({ report: "none" })),
    finish: () => sup?.stop(),
    params: [options("opts", supervisorFields, { good: () => ({ report: "none" }) })],
    call: ([o]) => Supervisor.start(o as never),
    expected: (e) => e instanceof Error && /already runs/.test(e.message),
  },
  {
    area: "supervisor",
    name: "Supervisor.start() while one runs",
    direct: true,
    before: () => (sup = Supervisor.start({ report: "none" })),
    finish: () => sup?.stop(),
    params: [],
    call: () => Supervisor.start({ report: "none" }),
    // A state error is typed, as ShutdownError or SemaphoreClosedError are, not a plain Error.
    expected: (e) => e instanceof Error,
    check: (o) =>
      o.kind === "threw" && Object.getPrototypeOf(o.error) !== Error.prototype
        ? undefined
        : `a second supervisor on one thread is refused with a typed error, got ${o.kind === "threw" ? `a plain Error: ${(o.error as Error).message}` : o.kind}`,
  },
  {
    area: "supervisor",
    name: "supervisor.on(event, fn)",
    direct: true,
    before: () => (sup = Supervisor.start({ report: "none" })),
    finish: () => sup?.stop(),
    params: [param("event", oneOfValues("blocked", "unblocked"), () => "blocked"), param("fn", isFn, () => () => {})],
    call: ([e, f]) => sup!.on(e as never, f as never),
  },
  { area: "supervisor", name: "Supervisor.allowBlocking(fn)", direct: true, params: [param("fn", isFn, () => () => 1)], call: ([f]) => Supervisor.allowBlocking(f as never) },
  { area: "console", name: "consoleOf(runtime)", params: [param("runtime", anything, () => new Runtime())], call: ([r]) => consoleOf(r as never) },
  { area: "console", name: "instrumentationActive()", params: [], call: () => instrumentationActive() },
  { area: "console", name: "recordBlocked(event)", params: [param("event", anything, () => ({ blockedMs: 120 }))], call: ([e]) => recordBlocked(e as never) },
  {
    area: "console",
    name: "formatSnapshot(snapshot, opts)",
    params: [param("snapshot", () => false, snapshot), options("opts", { width: { accepts: isInt(1) } })],
    call: ([s, o]) => formatSnapshot(s as never, o as never),
  },
  // blockingPool
  {
    area: "pool",
    name: "blockingPool(worker, opts)",
    params: [
      param("worker", isWorker, () => WORKER, { extra: ["/no/such/worker.js", new URL("file:///no/such/worker.js"), new URL("https://example.com/w.js"), "file:///no/such.js"] }),
      options("opts", {
        maxThreads: { accepts: isInt(1, 4096) },
        name: { accepts: isStr },
        maxQueue: { accepts: (v) => v === Infinity || isInt(0)(v) },
        idleTimeoutMs: { accepts: (v) => isMs(0)(v) && (v as number) <= 2 ** 31 - 1 },
      }),
    ],
    call: ([w, o]) => blockingPool(w as never, o as never),
    teardown: (_c, p) => (p instanceof BlockingPool ? p.close() : undefined),
  },
  {
    area: "pool",
    name: "pool.run(input, opts)",
    before: () => (pool = blockingPool(WORKER, { maxThreads: 1 })),
    finish: () => pool?.close(),
    params: [param("input", isCloneable, () => 1), options("opts", { signal: { accepts: isSignal }, name: { accepts: oneOfValues(...EXPORTS) } }, { good: () => ({ name: "echo" }) })],
    call: ([i, o]) => pool!.run(i, o as never),
    // The fixture's own exports fail on some inputs (`fail` throws, `add` of a string): that is the worker's answer.
    expected: (e) => e instanceof Error,
  },
  {
    area: "pool",
    name: "closed pool.run(input)",
    setup: () => blockingPool(WORKER, { maxThreads: 1 }) as never,
    params: [param("input", anything, () => 1)], // a closed pool refuses first, whatever the input
    call: async ([i], pool: BlockingPool) => {
      await pool.close();
      return pool.run(i, { name: "echo" });
    },
    expected: (e) => e instanceof ShutdownError,
    check: (o) => (o.kind === "rejected" ? undefined : "a closed pool refuses runs with ShutdownError"),
  },
];
