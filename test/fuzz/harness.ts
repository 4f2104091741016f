/**
 * The bad-input fuzz harness (issue 11, item 4). A {@link Target} is one call of the public API
 * with its parameters described by {@link Param}s: for each parameter in turn, every value of a
 * fixed list of hostile values (NaN, -1, 2^31, 1.5, null, a non-AbortSignal signal, ...) and a
 * seeded sample of fast-check's `anything()` is passed in that position, the others good. What
 * must come back:
 *  - for a value the parameter does not accept: a TypeError, RangeError or steward error class
 *    whose message names the argument ("opts.signal must be ...") — thrown or as a rejection;
 *  - for a value it accepts: the call works (returns, resolves, or waits if it is a wait), or
 *    fails the way the target says is right (`expected`);
 *  - never a hang (a bad value must be answered within {@link HANG_MS}), an internal TypeError
 *    ("Cannot read properties of undefined", "... is not a function"), a non-Error thrown or
 *    rejected, an unhandled rejection or an uncaught exception.
 * Failures are collected (not fail-fast) and reported by category.
 */
import fc from "fast-check";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { Runtime } from "../../src/index.js";

export type Area = "core" | "pool" | "channel" | "oneshot" | "sync" | "task-sets" | "time" | "runtime" | "http" | "supervisor" | "console" | "errors";

/** One value for a parameter, with what the parameter should make of it. */
export interface Sample {
  /** What is being fuzzed: the parameter, or one field of an options parameter ("opts.signal"). */
  param: string;
  value: unknown;
  /** Does the parameter accept it? */
  valid: boolean;
  /**
   * Either answer is right: taken as "not given" or refused with a typed error naming it. For
   * `null` in an option field, which JavaScript's `??` defaults treat as absent.
   */
  either?: boolean;
  /** Names an error about it may use (the first is the full path: "opts.signal"). */
  names: string[];
}

export interface Param {
  name: string;
  /** The values to try: the hostile list, then random ones. */
  samples(): Sample[];
  /** A value that works, used while another parameter is fuzzed. */
  good(): unknown;
}

export interface Target<C = unknown> {
  area: Area;
  name: string;
  params: Param[];
  /** Runs once before the target's calls (a shared pool, a supervisor that must run). */
  before?: () => unknown;
  /** Runs once after them. */
  finish?: () => unknown;
  /** A fresh context per call (the object whose method is called, say). */
  setup?: () => C;
  call(args: unknown[], ctx: C): unknown;
  /** Releases what a call made (a server, a pool, a supervisor), whatever it returned. */
  teardown?: (ctx: C, result: unknown) => unknown;
  /** An error that is the right answer to good arguments (a closed channel's ChannelClosedError). */
  expected?: (e: unknown) => boolean;
  /** Checks the outcome of good arguments beyond "no internal error": returns what is wrong, if anything. */
  check?: (o: Outcome, args: unknown[], ctx: C) => string | undefined;
  /** Call it outside any task (APIs about runtimes, tasks and process state). Default: inside a task of a fuzz runtime. */
  direct?: boolean;
  /** Random values per parameter, on top of the hostile list. Default {@link RANDOM_RUNS}. */
  runs?: number;
}

export type Outcome = { kind: "returned"; value: unknown } | { kind: "threw"; error: unknown } | { kind: "resolved"; value: unknown } | { kind: "rejected"; error: unknown } | { kind: "pending" };

export interface Failure {
  area: Area;
  target: string;
  param: string;
  value: string;
  category: Category;
  detail: string;
}

export type Category =
  | "silently accepted"
  | "plain Error"
  | "internal TypeError"
  | "hang"
  | "non-Error thrown or rejected"
  | "message does not name the argument"
  | "wrong error type"
  | "good value refused"
  | "wrong behaviour"
  | "unhandled rejection"
  | "uncaught exception";

export const RANDOM_RUNS = 12;
/** A bad value must be answered within this (wall) time: a machine shared by many is slow, a hang is forever. */
export const HANG_MS = 2000;

// ---------------------------------------------------------------------------------------------
// Values

class Opaque {
  readonly x = 1;
}

/** The hostile list: every parameter gets each of these. */
export function hostileValues(): unknown[] {
  const signalLike = new EventTarget();
  return [
    undefined,
    null,
    NaN,
    -1,
    -0.5,
    0,
    -0,
    0.5,
    1.5,
    1,
    2 ** 31,
    2 ** 53,
    Number.MAX_VALUE,
    Infinity,
    -Infinity,
    "",
    "x",
    "1",
    true,
    false,
    0n,
    7n,
    Symbol("s"),
    [],
    [1, 2],
    {},
    Object.create(null),
    new Opaque(),
    () => {},
    async () => {},
    new Date(0),
    /re/,
    new Map(),
    new Error("an error as an argument"),
    Promise.resolve(1),
    signalLike,
    { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} }, // a fake AbortSignal
    { signal: 1 },
    { signal: {} },
    { signal: null },
    { signal: "x" },
    { signal: signalLike },
    { then: 5 },
  ];
}

/** Seeded random values from fast-check's anything(). */
export function randomValues(n: number, seed: number): unknown[] {
  return fc.sample(fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withSparseArray: true, maxDepth: 2 }), {
    numRuns: n,
    seed,
  });
}

export function describe(v: unknown): string {
  if (typeof v === "function") return v.constructor.name === "AsyncFunction" ? "async () => {}" : "() => {}";
  try {
    return inspect(v, { depth: 1, breakLength: Infinity }).slice(0, 80);
  } catch {
    return String(typeof v);
  }
}

let seedCounter = 1;

/** A parameter whose valid values `accepts` says; `good` is used while other parameters are fuzzed. */
export function param(name: string, accepts: (v: unknown) => boolean, good: () => unknown, opts: { runs?: number; extra?: unknown[] } = {}): Param {
  const seed = seedCounter++;
  const last = name.split(".").pop()!;
  return {
    name,
    good,
    samples() {
      return [...hostileValues(), ...(opts.extra ?? []), ...randomValues(opts.runs ?? RANDOM_RUNS, seed)].map((value) => ({
        value,
        param: name,
        valid: safe(() => accepts(value)),
        names: last === name ? [name] : [name, last],
      }));
    },
  };
}

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}

// Common predicates
export const isUndef = (v: unknown): boolean => v === undefined;
export const isFn = (v: unknown): boolean => typeof v === "function";
export const isStr = (v: unknown): boolean => typeof v === "string";
export const isBool = (v: unknown): boolean => typeof v === "boolean";
export const isObj = (v: unknown): boolean => v !== null && typeof v === "object";
export const isSignal = (v: unknown): boolean => v instanceof AbortSignal;
export const isInt =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: unknown): boolean =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
/** A duration in ms: finite, >= 0 (`min` to exclude 0). */
export const isMs =
  (min = 0) =>
  (v: unknown): boolean =>
    typeof v === "number" && Number.isFinite(v) && v >= min;
/** A duration that may also be `Infinity` ("never": a sleep or deadline that never fires). */
export const isMsOrNever =
  (min = 0) =>
  (v: unknown): boolean =>
    v === Infinity || isMs(min)(v);
export const optional =
  (p: (v: unknown) => boolean) =>
  (v: unknown): boolean =>
    v === undefined || p(v);
export const anything = (): boolean => true;
export const oneOfValues =
  (...values: unknown[]) =>
  (v: unknown): boolean =>
    values.includes(v);
export function isCloneable(v: unknown): boolean {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * An options object: the whole value is fuzzed (valid: undefined when optional, or any object
 * whose known fields are valid), and each known field is fuzzed on its own inside a good object.
 * `fix` replaces a field's valid random value with a safe one (runMain's `exit: true` would end
 * the process).
 */
export function options(
  name: string,
  fields: Record<string, { accepts: (v: unknown) => boolean; good?: unknown; fix?: unknown }>,
  opts: { optional?: boolean; good?: () => Record<string, unknown> } = {},
): Param {
  const optionalWhole = opts.optional ?? true;
  const fieldValid = (o: Record<string, unknown>): boolean => Object.entries(fields).every(([k, f]) => o[k] === undefined || safe(() => f.accepts(o[k])));
  const goodObj = (): Record<string, unknown> => {
    const g = opts.good?.() ?? {};
    for (const [k, f] of Object.entries(fields)) if (f.good !== undefined && !(k in g)) g[k] = f.good;
    return g;
  };
  const fixed = (o: unknown): unknown => {
    if (!isObj(o)) return o;
    let copy: Record<string, unknown> | undefined;
    for (const [k, f] of Object.entries(fields)) {
      const v = (o as Record<string, unknown>)[k];
      if (f.fix !== undefined && v !== undefined && safe(() => f.accepts(v))) (copy ??= { ...(o as object) })[k] = f.fix;
    }
    return copy ?? o;
  };
  const whole: Param = {
    name,
    good: goodObj,
    samples() {
      return [...hostileValues(), ...randomValues(RANDOM_RUNS, seedCounter++)].map((value) => {
        const v = fixed(value);
        const valid = (v === undefined && optionalWhole) || (isObj(v) && fieldValid(v as Record<string, unknown>));
        // A bad field inside a whole value (e.g. { signal: 1 }) is named by its field.
        const badField = isObj(v) ? Object.keys(fields).find((k) => (v as Record<string, unknown>)[k] !== undefined && !safe(() => fields[k]!.accepts((v as Record<string, unknown>)[k]))) : undefined;
        return { param: name, value: v, valid, names: badField !== undefined ? [`${name}.${badField}`, badField] : [name] };
      });
    },
  };
  const perField = Object.entries(fields).map(([k, f]) => {
    const inner = param(
      `${name}.${k}`,
      (v) => v === undefined || f.accepts(v),
      () => f.good,
    );
    return (): Sample[] =>
      inner.samples().map((s) => {
        let value = s.value;
        if (f.fix !== undefined && s.valid && value !== undefined) value = f.fix;
        return { ...s, value: { ...goodObj(), [k]: value }, ...(value === null && !s.valid ? { either: true } : {}) };
      });
  });
  return {
    name,
    good: goodObj,
    samples: () => [...whole.samples(), ...perField.flatMap((f) => f())],
  };
}

// ---------------------------------------------------------------------------------------------
// Running

const INTERNAL =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Cannot convert|Cannot destructure|Illegal invocation|Invalid array length|Maximum call stack|undefined is not|null is not|Cannot use 'in' operator|Reduce of empty array|Cannot mix BigInt|Invalid time value|Do not know how to serialize/;
const STEWARD_ERRORS = new Set([
  "CancelledError",
  "JoinError",
  "TimeoutError",
  "ChannelClosedError",
  "LaggedError",
  "SemaphoreClosedError",
  "ShutdownError",
  "PoolFullError",
  "OverloadedError",
  "RateLimitedError",
]);

function isInternal(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return INTERNAL.test(e.message) || (typeof (e as NodeJS.ErrnoException).code === "string" && (e as NodeJS.ErrnoException).code!.startsWith("ERR_INVALID_ARG"));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Runs one call and sees how it ends: at once, after a couple of event-loop turns, or not yet. */
async function observe(f: () => unknown, rt: Runtime | undefined, patience: number): Promise<Outcome> {
  let out: Outcome = { kind: "pending" };
  const settle = (p: PromiseLike<unknown>): Promise<void> =>
    Promise.resolve(p).then(
      (value) => void (out = { kind: "resolved", value }),
      (error: unknown) => void (out = { kind: "rejected", error }),
    );
  let running: Promise<unknown>;
  if (rt === undefined) {
    try {
      const r = f();
      if (!isThenable(r)) return { kind: "returned", value: r };
      running = settle(r);
    } catch (error) {
      return { kind: "threw", error };
    }
  } else {
    // Inside a task of the fuzz runtime, so that a wait left pending is withdrawn at its shutdown.
    let sync: Outcome | undefined;
    const h = rt.spawn(async () => {
      let r: unknown;
      try {
        r = f();
      } catch (error) {
        sync = { kind: "threw", error };
        return;
      }
      if (!isThenable(r)) {
        sync = { kind: "returned", value: r };
        return;
      }
      await settle(r);
    });
    running = h.result();
    await Promise.race([running, turn()]);
    if (sync !== undefined) return sync;
  }
  const deadline = Date.now() + patience;
  for (let i = 0; out.kind === "pending" && (i < 3 || Date.now() < deadline); i++) {
    await Promise.race([running, i < 3 ? turn() : new Promise((r) => setTimeout(r, 10))]);
  }
  return out;
}

/** What is wrong with `o` for a sample of `p` (undefined: nothing). */
function judge(o: Outcome, s: Sample, t: Target<unknown>): { category: Category; detail: string } | undefined {
  const err = o.kind === "threw" || o.kind === "rejected" ? o.error : undefined;
  const failed = o.kind === "threw" || o.kind === "rejected";
  if (failed && !(err instanceof Error) && !(s.valid && t.expected?.(err) === true)) {
    return { category: "non-Error thrown or rejected", detail: describe(err) };
  }
  if (failed && isInternal(err)) return { category: "internal TypeError", detail: `${(err as Error).name}: ${(err as Error).message}` };
  if (s.either === true && (!failed || t.expected?.(err) === true)) return undefined;
  if (s.valid) {
    if (!failed) return undefined;
    if (t.expected?.(err) === true) return undefined;
    const e = err as Error;
    if ((e instanceof TypeError || e instanceof RangeError) && s.names.some((n) => e.message.includes(n))) {
      return { category: "good value refused", detail: `${e.name}: ${e.message}` };
    }
    // A refusal for a state of things (closed, released, stopped) is typed too.
    if (Object.getPrototypeOf(e) === Error.prototype) return { category: "plain Error", detail: e.message };
    return undefined; // a typed domain error: the call ran
  }
  if (o.kind === "pending") return { category: "hang", detail: `no answer within ${HANG_MS} ms` };
  if (!failed) return { category: "silently accepted", detail: `${o.kind} ${describe((o as { value: unknown }).value)}` };
  const e = err as Error;
  const typed = e instanceof TypeError || e instanceof RangeError || STEWARD_ERRORS.has(e.name);
  if (!typed) {
    if (Object.getPrototypeOf(e) === Error.prototype) return { category: "plain Error", detail: e.message };
    return { category: "wrong error type", detail: `${e.name}: ${e.message}` };
  }
  if (!s.names.some((n) => e.message.includes(n))) return { category: "message does not name the argument", detail: `${e.name}: ${e.message}` };
  return undefined;
}

/** The process-level failures seen while a target ran. */
const processFailures: { category: Category; detail: string }[] = [];
let listening = false;
function listen(): void {
  if (listening) return;
  listening = true;
  process.on("unhandledRejection", (e) => processFailures.push({ category: "unhandled rejection", detail: describe(e instanceof Error ? `${e.name}: ${e.message}` : e) }));
  process.on("uncaughtException", (e) => processFailures.push({ category: "uncaught exception", detail: `${e.name}: ${e.message}` }));
}

function selected(param: string, only: readonly string[] | undefined, skip: readonly string[]): boolean {
  return (only === undefined || only.includes(param)) && !skip.includes(param);
}

/** The parameters (and option fields) a target's samples are about. */
export function paramNames(t: Target<never>): string[] {
  return [...new Set(t.params.flatMap((p) => p.samples().map((s) => s.param)))];
}

/**
 * Runs every parameter of `t` through its samples; returns what went wrong. `only` limits the run
 * to those parameters (option fields included), `skip` leaves those out.
 */
export async function fuzzTarget<C>(t: Target<C>, only?: readonly string[], skip: readonly string[] = []): Promise<Failure[]> {
  listen();
  const failures: Failure[] = [];
  await t.before?.();
  const rt = t.direct === true ? undefined : new Runtime({ name: `fuzz ${t.name}`, onTaskPanic: () => {} });
  const record = (param: string, value: unknown, f: { category: Category; detail: string }): void => void failures.push({ area: t.area, target: t.name, param, value: describe(value), ...f });
  const hangs = new Map<string, number>();
  const runOne = async (args: unknown[], s: Sample, paramName: string): Promise<void> => {
    const ctx = (t.setup?.() ?? undefined) as C;
    const before = processFailures.length;
    // After two hangs on one parameter, the rest of its values get a short patience: a hang is a hang.
    const patience = s.valid ? 0 : (hangs.get(paramName) ?? 0) >= 2 ? 50 : HANG_MS;
    const o = await observe(() => t.call(args, ctx), rt, patience);
    if (!s.valid && o.kind === "pending") hangs.set(paramName, (hangs.get(paramName) ?? 0) + 1);
    let wrong = judge(o, s, t as Target<unknown>);
    if (wrong === undefined && s.valid && t.check !== undefined) {
      const what = t.check(o, args, ctx);
      if (what !== undefined) wrong = { category: "wrong behaviour", detail: what };
    }
    if (wrong !== undefined) record(paramName, s.value, wrong);
    try {
      await t.teardown?.(ctx, o.kind === "returned" || o.kind === "resolved" ? o.value : undefined);
    } catch {
      // Teardown of what a bad call half-made is best effort.
    }
    await turn();
    for (const pf of processFailures.splice(before)) record(paramName, s.value, pf);
  };
  if (t.params.length === 0) {
    await runOne([], { param: "(none)", value: undefined, valid: true, names: [] }, "(none)");
  }
  for (let i = 0; i < t.params.length; i++) {
    const p = t.params[i]!;
    for (const s of p.samples()) {
      if (!selected(s.param, only, skip)) continue;
      const args = t.params.map((q, j) => (j === i ? s.value : q.good()));
      // Trailing undefined arguments are dropped, as a caller leaving them out would.
      while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
      await runOne(args, s, s.param);
    }
  }
  if (rt !== undefined) await rt.shutdown({ timeoutMs: 500 });
  await t.finish?.();
  for (const pf of processFailures.splice(0)) record("(after)", undefined, pf);
  return failures;
}

/** One line per failure, grouped by category, with counts. */
export function report(failures: readonly Failure[]): string {
  const byCat = new Map<string, Failure[]>();
  for (const f of failures) {
    let list = byCat.get(f.category);
    if (list === undefined) byCat.set(f.category, (list = []));
    list.push(f);
  }
  const lines: string[] = [];
  for (const [cat, list] of byCat) {
    lines.push(`${cat}: ${list.length}`);
    for (const f of list) lines.push(`  [${f.area}] ${f.target} — ${f.param} = ${f.value}: ${f.detail}`);
  }
  return lines.join("\n");
}

/** A case parked until its area's engineer fixes it: the target's name and the parameter that fails. */
export interface Parked {
  target: string;
  param: string;
  why: string;
}

/** Every target, for the runner and the parked cases. */
export async function allTargets(): Promise<Target<never>[]> {
  const [core, channel, sync, time, runtime, other, sweep] = await Promise.all([
    import("./targets/core.js"),
    import("./targets/channel.js"),
    import("./targets/sync.js"),
    import("./targets/time.js"),
    import("./targets/runtime.js"),
    import("./targets/other.js"),
    import("./targets/sweep.js"),
  ]);
  return [...core.coreTargets, ...channel.channelTargets, ...sync.syncTargets, ...time.timeTargets, ...runtime.runtimeTargets, ...other.otherTargets, ...sweep.sweepTargets];
}

/**
 * For a `<area>.pending.ts` file: when it is the file being run (`node --test
 * dist/test/fuzz/<area>.pending.js`), registers one test per parked case, which fails until the
 * area's fix lands; when api.test.ts imports it for its list, does nothing.
 */
export function runParkedIfMain(url: string, parked: readonly Parked[]): void {
  if (process.argv[1] === undefined || pathToFileURL(process.argv[1]).href !== url) return;
  void (async () => {
    const { test } = await import("node:test");
    const targets = await allTargets();
    for (const p of parked) {
      const t = targets.find((x) => x.name === p.target);
      test(`parked: ${p.target} — ${p.param} (${p.why})`, async () => {
        if (t === undefined) throw new Error(`no fuzz target named ${p.target}`);
        const f = await fuzzTarget(t, p.param === "*" ? undefined : [p.param]);
        if (f.length > 0) throw new Error(report(f));
      });
    }
  })();
}
