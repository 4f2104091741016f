/** Fuzz targets: Runtime, runMain, httpResource (src/runtime, src/http). */
import http from "node:http";
import { HttpResource, httpResource, Runtime, runMain, ShutdownError } from "../../../src/index.js";
import { anything, isBool, isFn, isMs, isMsOrNever, isObj, isSignal, isStr, oneOfValues, options, param, type Target } from "../harness.js";

const isFlagOrObject = (v: unknown): boolean => isBool(v) || isObj(v);
const isSignals = (v: unknown): boolean =>
  Array.isArray(v) && Array.from(v).every((s) => typeof s === "string" && ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGBREAK", "SIGWINCH"].includes(s));
/** The runtime options; starting a supervisor thread or a console server per sample is not the point here: `fix` keeps them off. */
const runtimeFields = {
  name: { accepts: isStr },
  shutdownTimeoutMs: { accepts: isMsOrNever(0) },
  onTaskPanic: { accepts: isFn },
  unhandledPanic: { accepts: oneOfValues("log", "shutdown") },
  supervisor: { accepts: isFlagOrObject, fix: false },
  console: { accepts: isFlagOrObject, fix: false },
};
const isDisposable = (v: unknown): boolean =>
  typeof v === "function" || (isObj(v) && (typeof (v as Record<symbol, unknown>)[Symbol.dispose] === "function" || typeof (v as Record<symbol, unknown>)[Symbol.asyncDispose] === "function"));

async function stopped(): Promise<Runtime> {
  const rt = new Runtime({ onTaskPanic: () => {} });
  await rt.shutdown();
  return rt;
}

function server(): http.Server {
  return http.createServer();
}

export const runtimeTargets: Target<never>[] = [
  {
    area: "runtime",
    name: "new Runtime(opts)",
    direct: true,
    params: [options("opts", runtimeFields)],
    call: ([o]) => new Runtime(o as never),
    teardown: (_c, rt) => (rt instanceof Runtime ? rt.shutdown({ timeoutMs: 100 }) : undefined),
  },
  {
    area: "runtime",
    name: "runtime.spawn(fn, opts)",
    direct: true,
    params: [param("fn", isFn, () => () => 1), options("opts", { name: { accepts: isStr }, signal: { accepts: isSignal } })],
    call: ([f, o]) => new Runtime().spawn(f as never, o as never),
  },
  { area: "runtime", name: "runtime.enter(fn)", direct: true, params: [param("fn", isFn, () => () => 1)], call: ([f]) => new Runtime().enter(f as never) },
  {
    area: "runtime",
    name: "runtime.defer(resource, name)",
    direct: true,
    params: [
      param("resource", isDisposable, () => () => {}),
      param(
        "name",
        (v) => v === undefined || isStr(v),
        () => undefined,
      ),
    ],
    call: ([r, n]) => new Runtime().defer(r as never, n as never),
  },
  {
    area: "runtime",
    name: "runtime.onStop(participant)",
    direct: true,
    params: [
      param(
        "participant",
        (v) => isObj(v) && isFn((v as { stop?: unknown }).stop) && isStr((v as { name?: unknown }).name),
        () => ({ name: "p", stop: () => {} }),
      ),
    ],
    call: ([p]) => new Runtime().onStop(p as never),
  },
  {
    area: "runtime",
    name: "runtime.shutdown(opts)",
    direct: true,
    params: [options("opts", { timeoutMs: { accepts: isMsOrNever(0) }, reason: { accepts: anything } })],
    call: ([o]) => new Runtime().shutdown(o as never),
  },
  { area: "runtime", name: "runtime.dump()", direct: true, params: [], call: () => new Runtime().dump() },
  {
    area: "runtime",
    name: "closed runtime.spawn(fn)",
    direct: true,
    params: [param("fn", isFn, () => () => 1)],
    call: async ([f]) => (await stopped()).spawn(f as never).result(),
  },
  {
    area: "runtime",
    name: "closed runtime.defer(resource)",
    direct: true,
    params: [param("resource", isDisposable, () => () => {})],
    call: async ([r]) => (await stopped()).defer(r as never),
    expected: (e) => e instanceof ShutdownError,
    check: (o) => (o.kind === "rejected" ? undefined : "a closed runtime refuses resources with ShutdownError"),
  },
  {
    area: "runtime",
    name: "runMain(main, opts)",
    direct: true,
    params: [
      param("main", isFn, () => () => {}),
      options(
        "opts",
        { ...runtimeFields, signals: { accepts: isSignals }, exit: { accepts: isBool, fix: false }, dumpSignal: { accepts: (v) => v === null || isSignals([v]) } },
        { good: () => ({ exit: false }) },
      ),
    ],
    // An options object without `exit` would end this process: runMain's default is to exit.
    call: ([m, o]) => runMain(m as never, o === undefined ? { exit: false } : isObj(o) && (o as { exit?: unknown }).exit === undefined ? { ...(o as object), exit: false } : (o as never)),
  },
  // httpResource
  {
    area: "http",
    name: "httpResource(server, opts)",
    direct: true,
    params: [
      param("server", (v) => v instanceof http.Server, server),
      options("opts", {
        runtime: { accepts: (v) => v instanceof Runtime },
        name: { accepts: isStr },
        preStopDelayMs: { accepts: isMs(0) },
        readinessPath: { accepts: (v) => isStr(v) && (v as string).startsWith("/") },
        sweepIntervalMs: { accepts: isMs(Number.MIN_VALUE) },
        drainTimeoutMs: { accepts: isMsOrNever(0) },
      }),
    ],
    call: ([s, o]) => httpResource(s as never, o as never),
    teardown: (_c, r) => (r instanceof HttpResource ? r.drain({ timeoutMs: 10 }) : undefined),
  },
  {
    area: "http",
    name: "httpResource.drain(opts)",
    direct: true,
    params: [options("opts", { signal: { accepts: isSignal }, timeoutMs: { accepts: isMsOrNever(0) } })],
    call: ([o]) => httpResource(server()).drain(o as never),
  },
];
