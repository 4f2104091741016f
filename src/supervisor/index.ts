/**
 * Blocked event-loop detection, after tokio-supervisor: a watchdog thread sees a thread that
 * stopped turning its event loop while it is still stopped, takes its stack through the
 * in-process inspector (no port), writes the report to stderr at once, and delivers the same
 * event to `on()` listeners when the loop runs again.
 *
 * This module is what `import { Supervisor } from "steward"` loads, so it is kept small: options,
 * listeners and the lifecycle. The watched thread's side (heartbeat, probe, breadcrumbs, starting
 * the watchdog) is ./thread.ts, loaded by start(); the watchdog, the inspector session and the
 * source maps load only in the watchdog thread.
 */
import { loadOwn } from "../util/own-files.js";
import { checkFunction, checkInteger, checkOptions, typeName } from "../util/validate.js";
import type { BlockedEvent, FromWatchdog, UnblockedEvent, WatchOptions } from "./shared.js";
import type { ThreadWatch } from "./thread.js";
import { StewardError } from "../errors.js";

export type { BlockedEvent, Frame, FrameKind, InsideCall, NativeState, RepeatInfo, StackCapture, UnblockedEvent, WatchOptions as ResolvedSupervisorOptions } from "./shared.js";

/** Options of {@link Supervisor.start} and {@link Supervisor.watchThisThread}. */
export interface SupervisorOptions {
  /** A loop that does not turn for this long is blocked. @default 100 */
  thresholdMs?: number;
  /** Take the stack of the blocked thread through the in-process inspector. @default true */
  captureStack?: boolean;
  /** Point frames at the original (.ts) source where a source map exists. @default true */
  sourceMaps?: boolean;
  /**
   * Where the watchdog writes its report, at once, while the thread is still blocked:
   * `"stderr"` human-readable lines, `"json"` one JSON object per line on stderr (for log
   * pipelines), `"none"` nothing (listeners only). Repeated blocks from the same stack are
   * grouped and rate-limited (listeners still get every event). @default "stderr"
   */
  report?: "stderr" | "json" | "none";
  /**
   * Watching begins once the loop has turned after start() (synchronous module loading before
   * that is never a block). With a grace, it begins this many ms after start() at the earliest;
   * a block that began earlier counts from the end of the grace. @default 0
   */
  startupGraceMs?: number;
  /**
   * At most this many frames per reported stack. The whole stack is taken; deep recursion and
   * long runs of library frames are collapsed first, so the application's own frames stay.
   * @default 32
   */
  maxFrames?: number;
  /**
   * Called on the blocked thread at the moment of capture (inside the inspector's interrupt: keep
   * it synchronous and cheap, e.g. `() => requestContext.getStore()?.id`); what it returns is
   * reported as `requestId`.
   */
  requestId?: () => string | number | undefined;
  /**
   * How the stack is taken. `"evaluate"` (default): Runtime.evaluate of a probe that captures the
   * stack on the blocked thread; no Debugger domain, under a millisecond. `"pause"`:
   * Debugger.enable + Debugger.pause + call frames, then resume and disable; enabling late makes
   * V8 replay scriptParsed for every loaded script (tens of ms in a real app). @default "evaluate"
   */
  captureMethod?: "evaluate" | "pause";
  /**
   * Group repeated blocks from the same stack and rate-limit the report: the first episode of a
   * stack in full, the next three in one line each, then a summary line every 10 s; new stacks
   * at most 20 in a burst, then one per 3 s. `false` writes every episode in full (for a log
   * pipeline that groups by itself). Listeners get every episode either way. @default true
   */
  group?: boolean;
  /**
   * Track the few heavy native calls that V8 cannot interrupt (`JSON.parse` of a large text,
   * `crypto.scryptSync`, `pbkdf2Sync`, key and prime generation, `Buffer#toString` and
   * `Buffer.from` of large data, `Hash#update` of large data): above a size gate, the call
   * leaves its caller's stack in shared memory on entry, so a block inside it is reported with
   * the user's function at once instead of when the call returns. Wraps those functions on the
   * watched thread while the supervisor runs. @default true (with captureStack)
   */
  breadcrumbs?: boolean;
}

/**
 * The supervisor cannot run in this process: no worker threads (Node's permission model without
 * `--allow-worker`), or the watchdog thread could not start. The message says what to do;
 * `cause` is the underlying error, if any.
 */
export class SupervisorUnavailableError extends StewardError {
  override readonly name = "SupervisorUnavailableError";
  /** `"ERR_STEWARD_SUPERVISOR_UNAVAILABLE"`. */
  readonly code = "ERR_STEWARD_SUPERVISOR_UNAVAILABLE";
}

type Listener<E> = (event: E) => void;

/** This thread's running supervisor (module state is per thread). */
let active: Supervisor | undefined;

let threadModule: typeof import("./thread.js") | undefined;
/** The watched thread's side, loaded on the first start() (require of an ES module, Node >= 20.19). */
function thread(): typeof import("./thread.js") {
  threadModule ??= loadOwn("supervisor/thread.js") as typeof import("./thread.js");
  return threadModule;
}

function resolveOptions(opts: SupervisorOptions | undefined): WatchOptions {
  checkOptions(opts, "opts");
  const o = opts ?? {};
  const thresholdMs = o.thresholdMs ?? 100;
  if (typeof thresholdMs !== "number" || !Number.isFinite(thresholdMs) || thresholdMs <= 0) {
    throw new RangeError(`opts.thresholdMs must be a finite number of milliseconds > 0, got ${typeName(thresholdMs)}`);
  }
  for (const k of ["captureStack", "sourceMaps", "breadcrumbs", "group"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new TypeError(`opts.${k} must be a boolean, got ${typeName(o[k])}`);
  }
  const report = o.report ?? "stderr";
  if (report !== "stderr" && report !== "json" && report !== "none") {
    throw new TypeError(`opts.report must be "stderr", "json" or "none", got ${typeName(report)}`);
  }
  const startupGraceMs = o.startupGraceMs ?? 0;
  if (typeof startupGraceMs !== "number" || !(startupGraceMs >= 0) || startupGraceMs === Infinity) {
    throw new RangeError(`opts.startupGraceMs must be a finite number of milliseconds >= 0, got ${typeName(startupGraceMs)}`);
  }
  const maxFrames = o.maxFrames ?? 32;
  checkInteger(maxFrames, "opts.maxFrames", 1, 1000);
  if (o.requestId !== undefined) checkFunction(o.requestId, "opts.requestId");
  const captureMethod = o.captureMethod ?? "evaluate";
  if (captureMethod !== "evaluate" && captureMethod !== "pause") {
    throw new TypeError(`opts.captureMethod must be "evaluate" or "pause", got ${typeName(captureMethod)}`);
  }
  const captureStack = o.captureStack ?? true;
  return {
    thresholdMs,
    heartbeatMs: Math.max(5, Math.min(50, Math.round(thresholdMs / 10))),
    captureStack,
    sourceMaps: o.sourceMaps ?? true,
    report,
    startupGraceMs,
    maxFrames,
    captureMethod,
    breadcrumbs: captureStack && (o.breadcrumbs ?? true),
    group: o.group ?? true,
  };
}

/**
 * Watches a thread's event loop from a watchdog thread. Start it once on the main thread; call
 * {@link Supervisor.watchThisThread} inside each worker you want watched as well (they report
 * through the main thread's watchdog).
 *
 * ```ts
 * const sup = Supervisor.start({ thresholdMs: 100 });
 * sup.on("blocked", (e) => metrics.blocked(e.blockedMs, e.stack[0]));
 * ```
 */
export class Supervisor {
  /** The thread this supervisor watches: `"main"` or a worker's `threadId`. */
  readonly thread: "main" | number;
  /** The resolved options (defaults filled in). */
  readonly options: Readonly<WatchOptions>;
  readonly #blocked: Listener<BlockedEvent>[] = [];
  readonly #unblocked: Listener<UnblockedEvent>[] = [];
  readonly #watch: ThreadWatch;
  #stopping: Promise<void> | undefined;
  #isReady = false;
  #readyResolve!: () => void;
  readonly #ready = new Promise<void>((r) => {
    this.#readyResolve = () => {
      if (this.#isReady) return;
      this.#isReady = true;
      if (this.#stopping === undefined) this.#watch.ref(false);
      r();
    };
  });

  private constructor(options: WatchOptions, requestId: (() => unknown) | undefined) {
    this.options = Object.freeze(options);
    const t = thread();
    this.thread = t.currentThread();
    this.#watch = new t.ThreadWatch(options, requestId, (m) => this.#dispatch(m));
  }

  /**
   * Starts watching the calling thread. On the main thread this starts the watchdog thread (which
   * never keeps the process alive); inside a worker it is the same as {@link watchThisThread}.
   * Watching begins once the event loop has turned (see {@link ready}).
   * @throws TypeError/RangeError naming a bad option.
   * @throws SupervisorUnavailableError when a supervisor already runs on this thread (see
   *   {@link Supervisor.current}), or when the watchdog thread cannot start (Node's permission
   *   model without `--allow-worker`); its message says what to do.
   */
  static start(opts?: SupervisorOptions): Supervisor {
    const options = resolveOptions(opts);
    if (active !== undefined) {
      throw new SupervisorUnavailableError("a Supervisor already runs on this thread; stop() it first, or use Supervisor.current()");
    }
    const s = new Supervisor(options, opts?.requestId);
    active = s;
    try {
      s.#watch.start();
    } catch (e) {
      active = undefined;
      s.#watch.teardown();
      if (e instanceof SupervisorUnavailableError) throw e;
      throw new SupervisorUnavailableError(`Supervisor.start(): the watchdog thread could not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return s;
  }

  /**
   * Watches the calling worker thread: it gets a heartbeat, and the main thread's watchdog (from
   * `Supervisor.start()` on the main thread, now or later) reports when it blocks, with its stack
   * when the inspector reaches it (workers started by the main thread). Listeners on the returned
   * supervisor run in this worker. On the main thread it is the same as {@link start}.
   */
  static watchThisThread(opts?: SupervisorOptions): Supervisor {
    return Supervisor.start(opts);
  }

  /** The supervisor watching the calling thread, if one runs. */
  static current(): Supervisor | undefined {
    return active;
  }

  /**
   * Runs `fn`, a deliberate blocking section (a big synchronous parse at start-up, a sync
   * crypto call you accept), without it being reported as a blocked loop. Covers the synchronous
   * run of `fn` only; returns what `fn` returns and rethrows what it throws. Without a running
   * supervisor it just calls `fn`.
   * @throws TypeError when `fn` is not a function.
   */
  static allowBlocking<T>(fn: () => T): T {
    checkFunction(fn, "fn");
    if (active === undefined) return fn();
    return active.#watch.allowBlocking(fn);
  }

  /**
   * Resolves once watching has begun: the watchdog has seen this thread's event loop turn after
   * start(). A block that starts after that is reported (and so is one that starts after the
   * first turn but before ready() resolves). In a worker it waits for the main thread's watchdog,
   * so it resolves only once `Supervisor.start()` runs there. Resolves at stop() too. While it is
   * pending it keeps the process (or worker) alive. Never rejects.
   */
  ready(): Promise<void> {
    // Whoever waits for it keeps the process alive meanwhile; nobody else does.
    if (!this.#isReady && this.#stopping === undefined) this.#watch.ref(true);
    return this.#ready;
  }

  /** True until {@link stop} is called. */
  get running(): boolean {
    return this.#stopping === undefined;
  }

  /**
   * Adds a listener. `"blocked"` listeners get each {@link BlockedEvent} (with its stack) and
   * `"unblocked"` listeners each {@link UnblockedEvent}, on this thread, once its loop runs again.
   * Every episode reaches the listeners, however the stderr report grouped it. A listener that
   * throws is reported on stderr; the others still run.
   * @throws TypeError for an unknown event or a non-function.
   */
  on(event: "blocked", fn: (e: BlockedEvent) => void): this;
  on(event: "unblocked", fn: (e: UnblockedEvent) => void): this;
  on(event: "blocked" | "unblocked", fn: ((e: BlockedEvent) => void) | ((e: UnblockedEvent) => void)): this {
    checkFunction(fn, "fn");
    if (event === "blocked") this.#blocked.push(fn as Listener<BlockedEvent>);
    else if (event === "unblocked") this.#unblocked.push(fn as Listener<UnblockedEvent>);
    else throw new TypeError(`event must be "blocked" or "unblocked", got ${typeName(event)}`);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off(event: "blocked" | "unblocked", fn: (...args: never[]) => unknown): this {
    const list: unknown[] = event === "blocked" ? this.#blocked : this.#unblocked;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  /**
   * Stops watching this thread. On the main thread: disconnects the inspector session and
   * terminates the watchdog thread (workers it watched are no longer watched). Restores what the
   * breadcrumbs wrapped. Idempotent; never rejects.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  #dispatch(m: FromWatchdog | { type: "failed"; error: unknown }): void {
    if (m.type === "ready") {
      this.#readyResolve();
      return;
    }
    if (m.type === "failed") {
      if (active === this) active = undefined;
      this.#readyResolve();
      return;
    }
    if (this.#stopping !== undefined || (m.type !== "blocked" && m.type !== "unblocked")) return;
    const list = (m.type === "blocked" ? [...this.#blocked] : [...this.#unblocked]) as Listener<BlockedEvent | UnblockedEvent>[];
    for (const fn of list) {
      try {
        fn(m.event);
      } catch (e) {
        thread().writeLine(`steward supervisor: a '${m.type}' listener threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
  }

  async #stop(): Promise<void> {
    if (active === this) active = undefined;
    this.#readyResolve();
    await this.#watch.stop();
  }
}
