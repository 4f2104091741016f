/** The console's options: defaults, validation, and the STEWARD_CONSOLE environment variable. */
import type { MeterProviderLike } from "./metrics/otel.js";
import { checkOptions, typeName } from "../util/validate.js";

/** The port tokio-console uses, and so does steward's console. */
export const DEFAULT_CONSOLE_PORT = 6669;
/** Loopback only, unless a token is set. */
export const DEFAULT_CONSOLE_HOST = "127.0.0.1";

/** Thresholds of the console's lints (all in ms, except the watermark). */
export interface ConsoleLintOptions {
  /** A resume (one run of a task between two awaits) longer than this is slow. @default 50 */
  slowResumeMs?: number;
  /** A resume this long means the task kept the thread without yielding. @default 1000 */
  neverYieldedMs?: number;
  /** A task woken this long ago and not yet resumed has a long scheduling delay. @default 50 */
  scheduleDelayMs?: number;
  /** A task idle this long on something steward cannot see (no `waitingOn`). @default 10000 */
  idleOnNothingMs?: number;
  /** A lock (Mutex, RwLock, Semaphore) whose first waiter has waited this long is held across a long await. @default 1000 */
  lockHeldMs?: number;
  /** An unbounded channel holding at least this many messages. @default 10000 */
  unboundedWatermark?: number;
  /** A loop stall at least this long is a blocked episode. @default 100 */
  blockedMs?: number;
  /**
   * Resumes that begin this long after the console started are start-up (module loading, a
   * service's synchronous setup): the slow-resume lint ignores them (never-yielded does not).
   * @default 1000
   */
  startupMs?: number;
}

/** `new Runtime({ console: {...} })` (API.md §9). */
export interface ConsoleOptions {
  /** Port of the console server; 0 picks a free one (see `consoleOf(rt).listening()`). @default 6669 */
  port?: number;
  /**
   * Interface to bind. Anything but a loopback address ("127.x.x.x", "::1",
   * "localhost") requires `token`; the runtime refuses the configuration otherwise.
   * @default "127.0.0.1"
   */
  host?: string;
  /** Required by every /api request as `Authorization: Bearer <token>` or `?token=<token>`. */
  token?: string;
  /** Serve over HTTP. With false: instrumentation, `dump()` and metrics only. @default true */
  server?: boolean;
  /** How long a completed task stays in the view, in ms. @default 6000 (as tokio-console) */
  retainMs?: number;
  /**
   * At most this many ordinary completed tasks are retained (oldest dropped first). Up to 200
   * more, those a lint fires for or that panicked, are kept apart for the whole `retainMs`,
   * however many others end meanwhile.
   * @default 500
   */
  maxRetained?: number;
  /**
   * At most this many tasks per snapshot: live ones first, then up to 200 completed ones (those
   * a lint fires for first, then the latest).
   * @default 1000
   */
  maxTasks?: number;
  /** Period of the event stream's deltas, in ms. @default 1000 */
  intervalMs?: number;
  /**
   * At most this many event-stream clients at once; more are answered 503. Each
   * client's unsent data is bounded: a client that does not keep up misses deltas and is sent
   * a fresh snapshot once it drains.
   * @default 16
   */
  maxClients?: number;
  /**
   * OpenTelemetry metrics. With true, the global MeterProvider of the application's
   * `@opentelemetry/api` (an optional peer dependency; a no-op unless the application registered
   * an SDK before the runtime started, none without the package). Pass a MeterProvider to use
   * that one (no `@opentelemetry/api` needed then), or false for none.
   * @default true
   */
  metrics?: boolean | MeterProviderLike;
  /** Lint thresholds. */
  lints?: ConsoleLintOptions;
}

/** @internal Options with every default filled in. */
export interface ResolvedConsoleOptions {
  port: number;
  host: string;
  token: string | undefined;
  server: boolean;
  retainMs: number;
  maxRetained: number;
  maxTasks: number;
  intervalMs: number;
  maxClients: number;
  metrics: boolean | MeterProviderLike;
  lints: Required<ConsoleLintOptions>;
}

/** The lint thresholds a console uses unless `lints` says otherwise. */
export const DEFAULT_LINTS: Readonly<Required<ConsoleLintOptions>> = Object.freeze({
  slowResumeMs: 50,
  neverYieldedMs: 1000,
  scheduleDelayMs: 50,
  idleOnNothingMs: 10_000,
  lockHeldMs: 1000,
  unboundedWatermark: 10_000,
  blockedMs: 100,
  startupMs: 1000,
});

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

function nonNegative(v: unknown, name: string, integer = false): number {
  if (typeof v !== "number" || Number.isNaN(v) || v < 0 || (integer && !Number.isInteger(v) && v !== Infinity)) {
    throw new RangeError(`${name} must be a number >= 0${integer ? " (an integer)" : ""}, got ${typeName(v)}`);
  }
  return v;
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1, got ${typeName(v)}`);
  return v;
}

/**
 * @internal Resolves `RuntimeOptions.console` (and, when it is undefined, STEWARD_CONSOLE) to
 * options, or undefined when the console is off.
 * @throws TypeError/RangeError for a malformed option, or a non-loopback host without a token.
 */
export function resolveConsoleOptions(value: boolean | ConsoleOptions | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedConsoleOptions | undefined {
  let o: ConsoleOptions;
  if (value === undefined) {
    const fromEnv = consoleFromEnv(env);
    if (fromEnv === undefined) return undefined;
    o = fromEnv;
  } else if (value === false) {
    return undefined;
  } else if (value === true) {
    o = {};
  } else {
    checkOptions(value, "opts.console");
    o = value;
  }
  const port = o.port ?? DEFAULT_CONSOLE_PORT;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`opts.console.port must be an integer from 0 to 65535, got ${typeName(port)}`);
  }
  const host = o.host ?? DEFAULT_CONSOLE_HOST;
  if (typeof host !== "string" || host === "") throw new TypeError(`opts.console.host must be a non-empty string, got ${typeName(host)}`);
  const token = o.token;
  if (token !== undefined && (typeof token !== "string" || token.length < 8)) {
    throw new TypeError(`opts.console.token must be a string of at least 8 characters, got ${typeof token === "string" ? "a shorter string" : typeName(token)}`);
  }
  const server = o.server ?? true;
  if (typeof server !== "boolean") throw new TypeError(`opts.console.server must be a boolean, got ${typeName(server)}`);
  if (server && !isLoopback(host) && token === undefined) {
    throw new TypeError(
      `opts.console.host ${JSON.stringify(host)} is not a loopback address: the console shows every task, its spawn site and what it waits on, ` +
        "so binding beyond this machine requires opts.console.token (sent as 'Authorization: Bearer <token>' or '?token=')",
    );
  }
  const metrics = o.metrics ?? true;
  if (typeof metrics !== "boolean" && (metrics === null || typeof metrics !== "object" || typeof (metrics as MeterProviderLike).getMeter !== "function")) {
    throw new TypeError(`opts.console.metrics must be a boolean or a MeterProvider, got ${typeName(metrics)}`);
  }
  const lints = { ...DEFAULT_LINTS };
  if (o.lints !== undefined) {
    checkOptions(o.lints, "opts.console.lints");
    for (const key of Object.keys(DEFAULT_LINTS) as (keyof ConsoleLintOptions)[]) {
      const v = o.lints[key];
      if (v !== undefined) lints[key] = nonNegative(v, `opts.console.lints.${key}`);
    }
  }
  const intervalMs = nonNegative(o.intervalMs ?? 1000, "opts.console.intervalMs");
  if (intervalMs < 50) throw new RangeError(`opts.console.intervalMs must be at least 50, got ${intervalMs}`);
  return {
    port,
    host,
    token,
    server,
    retainMs: nonNegative(o.retainMs ?? 6000, "opts.console.retainMs"),
    maxRetained: nonNegative(o.maxRetained ?? 500, "opts.console.maxRetained", true),
    maxTasks: nonNegative(o.maxTasks ?? 1000, "opts.console.maxTasks", true),
    intervalMs,
    maxClients: positiveInt(o.maxClients ?? 16, "opts.console.maxClients"),
    metrics,
    lints,
  };
}

/**
 * STEWARD_CONSOLE: "1", "true" or "on" turns the console on (defaults); a number is the port;
 * "host:port" both (a non-loopback host then needs STEWARD_CONSOLE_TOKEN). "0", "false", "off"
 * or empty: off. It applies to every runtime whose `console` option is not set; runtimes that
 * share a host and port share one server.
 */
export function consoleFromEnv(env: NodeJS.ProcessEnv): ConsoleOptions | undefined {
  const raw = env.STEWARD_CONSOLE;
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "off" || v === "no") return undefined;
  const o: ConsoleOptions = {};
  const token = env.STEWARD_CONSOLE_TOKEN;
  if (token !== undefined && token !== "") o.token = token;
  if (v === "1" || v === "true" || v === "on" || v === "yes") return o;
  const m = /^(?:(.+):)?(\d+)$/.exec(raw.trim());
  if (m === null) throw new TypeError(`STEWARD_CONSOLE must be 1, a port or host:port, got ${JSON.stringify(raw)}`);
  if (m[1] !== undefined) o.host = m[1].replace(/^\[|\]$/g, "");
  o.port = Number(m[2]);
  return o;
}
