/** Fuzz targets: tasks, cancellation, select, configure, the error classes (src/core, src/task, src/cancel, src/select). */
import {
  CancellationToken,
  CancelledError,
  ChannelClosedError,
  configure,
  currentRuntime,
  currentTask,
  getDefaultRuntime,
  JoinError,
  JoinHandle,
  JoinSet,
  LaggedError,
  scope,
  select,
  SemaphoreClosedError,
  shield,
  ShutdownError,
  sleep,
  spawn,
  TaskTracker,
  TimeoutError,
  yieldNow,
} from "../../../src/index.js";
import { anything, isBool, isFn, isInt, isObj, isSignal, isStr, oneOfValues, options, param, type Target } from "../harness.js";

const fnParam = (name = "fn") => param(name, isFn, () => () => 1);
const signalOpts = (name = "opts") => options(name, { signal: { accepts: isSignal } });
const spawnOpts = (name = "opts") => options(name, { name: { accepts: isStr }, signal: { accepts: isSignal } });
const isBranches = (v: unknown): boolean => isObj(v) && Object.keys(v as object).length > 0 && Object.values(v as object).every(isFn);
const never = (): Promise<never> => new Promise(() => {});

/** The token a target's method is called on: fresh, or already cancelled. */
function token(cancelled: boolean): CancellationToken {
  const t = new CancellationToken();
  if (cancelled) t.cancel();
  return t;
}

export const coreTargets: Target<never>[] = [
  { area: "core", name: "spawn(fn, opts)", params: [fnParam(), spawnOpts()], call: ([fn, o]) => spawn(fn as never, o as never) },
  { area: "core", name: "yieldNow(opts)", params: [signalOpts()], call: ([o]) => yieldNow(o as never) },
  { area: "core", name: "shield(fn)", params: [fnParam()], call: ([fn]) => shield(fn as never) },
  { area: "core", name: "scope(fn, opts)", params: [param("fn", isFn, () => async () => 1), spawnOpts()], call: ([fn, o]) => scope(fn as never, o as never) },
  {
    area: "core",
    name: "select(branches, opts)",
    params: [param("branches", isBranches, () => ({ a: () => sleep(1), b: never })), options("opts", { biased: { accepts: isBool }, signal: { accepts: isSignal } })],
    call: ([b, o]) => select(b as never, o as never),
  },
  {
    area: "core",
    name: "ended scope's s.spawn(fn)",
    params: [param("fn", anything, () => () => 1)], // an ended scope refuses first, whatever fn is
    call: async ([fn]) => {
      let kept: { spawn(f: unknown): unknown } | undefined;
      await scope(async (s) => void (kept = s as never));
      return kept!.spawn(fn);
    },
    expected: (e) => e instanceof ShutdownError,
    check: (o) => (o.kind === "rejected" ? undefined : "an ended scope refuses new tasks with ShutdownError"),
  },
  { area: "core", name: "currentTask()", params: [], call: () => currentTask() },
  { area: "core", name: "currentRuntime()", params: [], call: () => currentRuntime() },
  { area: "core", name: "getDefaultRuntime()", params: [], call: () => getDefaultRuntime() },
  {
    area: "core",
    name: "configure(opts)",
    direct: true,
    params: [options("opts", { coopBudget: { accepts: isInt(0) }, spawnSites: { accepts: oneOfValues("all", "named", "none") } })],
    call: ([o]) => configure(o as never),
    teardown: () => configure({ coopBudget: 128, spawnSites: "named" }),
  },
  // CancellationToken
  { area: "core", name: "new CancellationToken()", params: [], call: () => new CancellationToken() },
  { area: "core", name: "CancellationToken.fromSignal(signal)", params: [param("signal", isSignal, () => new AbortController().signal)], call: ([s]) => CancellationToken.fromSignal(s as never) },
  { area: "core", name: "token.cancel(reason)", params: [param("reason", anything, () => undefined)], call: ([r]) => token(false).cancel(r) },
  { area: "core", name: "token.cancelled(opts)", params: [signalOpts()], call: ([o]) => token(false).cancelled(o as never) },
  {
    area: "core",
    name: "cancelled token.cancelled(opts)",
    params: [signalOpts()],
    call: ([o]) => token(true).cancelled(o as never),
    check: (o) => (o.kind === "resolved" || (o.kind === "rejected" && (o.error as Error)?.name === "AbortError") ? undefined : `expected to resolve, got ${o.kind}`),
    expected: (e) => e instanceof DOMException || e === "pre",
  },
  { area: "core", name: "token.onCancel(cb)", params: [param("cb", isFn, () => () => {})], call: ([cb]) => token(false).onCancel(cb as never) },
  { area: "core", name: "cancelled token.onCancel(cb)", params: [param("cb", isFn, () => () => {})], call: ([cb]) => token(true).onCancel(cb as never) },
  {
    area: "core",
    name: "token.child()",
    params: [],
    call: () => token(true).child(),
    check: (o) => (o.kind === "returned" && (o.value as CancellationToken).isCancelled ? undefined : "a child of a cancelled token is cancelled"),
  },
  {
    area: "core",
    name: "cancelled token.throwIfCancelled()",
    params: [],
    call: () => token(true).throwIfCancelled(),
    expected: (e) => e instanceof CancelledError,
    check: (o) => (o.kind === "threw" ? undefined : "throws CancelledError"),
  },
  { area: "core", name: "token.dropGuard()", params: [], call: () => token(false).dropGuard()[Symbol.dispose]() },
  { area: "core", name: "token.runUntilCancelled(fn)", params: [param("fn", isFn, () => async () => 1)], call: ([fn]) => token(false).runUntilCancelled(fn as never) },
  { area: "core", name: "cancelled token.runUntilCancelled(fn)", params: [param("fn", isFn, () => async () => 1)], call: ([fn]) => token(true).runUntilCancelled(fn as never) },
  // JoinHandle
  {
    area: "core",
    name: "new JoinHandle()",
    params: [
      param(
        "JoinHandle",
        () => false,
        () => undefined,
      ),
    ],
    call: ([a]) => new (JoinHandle as unknown as new (...args: unknown[]) => unknown)(a, a, a, a, a),
  },
  { area: "core", name: "handle.abort(reason)", params: [param("reason", anything, () => "r")], call: ([r]) => spawn(() => sleep(10_000)).abort(r) },
  {
    area: "core",
    name: "finished handle.abort(reason) keeps the value",
    params: [param("reason", anything, () => "r")],
    call: async ([r]) => {
      const h = spawn(() => 5);
      await h;
      h.abort(r);
      return h.result();
    },
    check: (o) => (o.kind === "resolved" && (o.value as { ok: boolean }).ok ? undefined : "a finished task keeps its value after abort()"),
  },
  {
    area: "core",
    name: "handle.then(a, b)",
    params: [param("onfulfilled", anything, () => undefined), param("onrejected", anything, () => undefined)],
    call: ([a, b]) => spawn(() => 1).then(a as never, b as never),
  },
  { area: "core", name: "handle.catch(f)", params: [param("onrejected", anything, () => undefined)], call: ([f]) => spawn(() => 1).catch(f as never) },
  { area: "core", name: "handle.finally(f)", params: [param("onfinally", anything, () => undefined)], call: ([f]) => spawn(() => 1).finally(f as never) },
  // JoinSet and TaskTracker (src/task/join-set.ts, task-tracker.ts)
  { area: "task-sets", name: "joinSet.spawn(fn, opts)", params: [fnParam(), spawnOpts()], call: ([fn, o]) => new JoinSet().spawn(fn as never, o as never) },
  { area: "task-sets", name: "joinSet.joinNext(opts)", params: [signalOpts()], call: ([o]) => new JoinSet().joinNext(o as never) },
  { area: "task-sets", name: "joinSet.abortAll(reason)", params: [param("reason", anything, () => undefined)], call: ([r]) => new JoinSet().abortAll(r) },
  {
    area: "task-sets",
    name: "joinSet.spawn after shutdown",
    params: [fnParam()],
    call: async ([fn]) => {
      const s = new JoinSet();
      await s.shutdown();
      return s.spawn(fn as never).result();
    },
  },
  { area: "task-sets", name: "tracker.spawn(fn, opts)", params: [fnParam(), spawnOpts()], call: ([fn, o]) => new TaskTracker().spawn(fn as never, o as never) },
  {
    area: "task-sets",
    name: "tracker.track(p)",
    params: [
      param(
        "p",
        (v) => isObj(v) && isFn((v as { then?: unknown }).then),
        () => Promise.resolve(1),
      ),
    ],
    call: ([p]) => new TaskTracker().track(p as never),
  },
  { area: "task-sets", name: "tracker.wait(opts)", params: [signalOpts()], call: ([o]) => new TaskTracker().wait(o as never) },
  {
    area: "task-sets",
    name: "closed tracker.wait(opts)",
    params: [signalOpts()],
    call: ([o]) => {
      const t = new TaskTracker();
      t.close();
      return t.wait(o as never);
    },
  },
  // The error classes take whatever they are given.
  {
    area: "errors",
    name: "new CancelledError(reason, message)",
    params: [param("reason", anything, () => undefined), param("message", anything, () => undefined)],
    call: ([r, m]) => new CancelledError(r, m as never),
  },
  { area: "errors", name: "new JoinError(kind, ...)", params: [param("kind", anything, () => "panic")], call: ([k]) => new JoinError(k as never, 1, undefined, undefined) },
  { area: "errors", name: "new TimeoutError(ms)", params: [param("ms", anything, () => 1)], call: ([ms]) => new TimeoutError(ms as never) },
  { area: "errors", name: "new ChannelClosedError(message)", params: [param("message", anything, () => undefined)], call: ([m]) => new ChannelClosedError(m as never) },
  { area: "errors", name: "new LaggedError(skipped)", params: [param("skipped", anything, () => 1)], call: ([n]) => new LaggedError(n as never) },
  { area: "errors", name: "new SemaphoreClosedError(message)", params: [param("message", anything, () => undefined)], call: ([m]) => new SemaphoreClosedError(m as never) },
  { area: "errors", name: "new ShutdownError(message)", params: [param("message", anything, () => undefined)], call: ([m]) => new ShutdownError(m as never) },
];
