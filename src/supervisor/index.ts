/**
 * Blocked event-loop detection, after tokio-supervisor: a watchdog thread sees a thread that
 * stopped turning its event loop while it is still stopped, takes its stack through the
 * in-process inspector (no port), writes the report to stderr at once, and delivers the same
 * event to `on()` listeners when the loop runs again.
 *
 * The watched thread pays for one unref'd interval timer that bumps a counter in shared memory
 * (a heartbeat, every thresholdMs/10, between 5 and 50 ms) and nothing else: no async hook, no
 * per-task bookkeeping, no Debugger domain. See ./watchdog.ts for the other side.
 */
import { BroadcastChannel, isMainThread, SHARE_ENV, threadId, Worker } from "node:worker_threads";
import { writeSync } from "node:fs";
import { checkFunction, checkInteger, checkOptions, typeName } from "../core/validate.js";
import { currentTid } from "./native.js";
import { installProbe, uninstallProbe } from "./probe.js";
import {
  type BlockedEvent,
  CHANNEL,
  F_BEAT_AT,
  F_STARTED_AT,
  float64View,
  type FromWatchdog,
  heartbeatFor,
  I_BEAT,
  I_CONNECTING,
  I_EXIT_ACK,
  I_EXITING,
  I_QUIET,
  int32View,
  now,
  type Registration,
  SAB_BYTES,
  type ToWatchdog,
  type UnblockedEvent,
  type WatchdogData,
  type WatchOptions,
} from "./shared.js";

export type { BlockedEvent, Frame, NativeState, StackCapture, UnblockedEvent, WatchOptions as ResolvedSupervisorOptions } from "./shared.js";

/** Options of {@link Supervisor.start} and {@link Supervisor.watchThisThread}. */
export interface SupervisorOptions {
  /** A loop that does not turn for this long is blocked. Default 100. */
  thresholdMs?: number;
  /** Take the stack of the blocked thread through the in-process inspector. Default true. */
  captureStack?: boolean;
  /** Point frames at the original (.ts) source where a source map exists. Default true. */
  sourceMaps?: boolean;
  /**
   * Where the watchdog writes its report, at once, while the thread is still blocked:
   * `"stderr"` (default) human-readable lines, `"json"` one JSON object per line on stderr (for
   * log pipelines), `"none"` nothing (listeners only).
   */
  report?: "stderr" | "json" | "none";
  /**
   * Start-up grace: watching begins once the loop has turned after start() AND this many ms have
   * passed since start(). Module loading and warm-up legitimately block; a block that began
   * earlier counts from the end of the grace. Default 1000.
   */
  startupGraceMs?: number;
  /** At most this many frames per stack. Default 32. */
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
   * V8 replay scriptParsed for every loaded script (tens of ms in a real app). `"evaluate"` falls
   * back to `"pause"` when the probe cannot run.
   */
  captureMethod?: "evaluate" | "pause";
}

type Listener<E> = (event: E) => void;

/** This thread's running supervisor and its shared memory (module state is per thread). */
let active: Supervisor | undefined;
let activeI32: Int32Array | undefined;
let activeF64: Float64Array | undefined;

function beat(): void {
  activeF64![F_BEAT_AT] = now();
  Atomics.add(activeI32!, I_BEAT, 1);
}

function resolveOptions(opts: SupervisorOptions | undefined): WatchOptions {
  checkOptions(opts, "opts");
  const o = opts ?? {};
  const thresholdMs = o.thresholdMs ?? 100;
  if (typeof thresholdMs !== "number" || !Number.isFinite(thresholdMs) || thresholdMs <= 0) {
    throw new RangeError(`opts.thresholdMs must be a finite number of milliseconds > 0, got ${typeName(thresholdMs)}`);
  }
  for (const k of ["captureStack", "sourceMaps"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new TypeError(`opts.${k} must be a boolean, got ${typeName(o[k])}`);
  }
  const report = o.report ?? "stderr";
  if (report !== "stderr" && report !== "json" && report !== "none") {
    throw new TypeError(`opts.report must be "stderr", "json" or "none", got ${typeName(report)}`);
  }
  const startupGraceMs = o.startupGraceMs ?? 1000;
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
  return {
    thresholdMs,
    heartbeatMs: heartbeatFor(thresholdMs),
    captureStack: o.captureStack ?? true,
    sourceMaps: o.sourceMaps ?? true,
    report,
    startupGraceMs,
    maxFrames,
    captureMethod,
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
  readonly #sab = new SharedArrayBuffer(SAB_BYTES);
  #heartbeat: NodeJS.Timeout | undefined;
  #worker: Worker | undefined;
  #bc: BroadcastChannel | undefined;
  #onExit: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #stoppedAck: (() => void) | undefined;
  #isReady = false;
  #readyResolve!: () => void;
  readonly #ready = new Promise<void>((r) => {
    this.#readyResolve = () => {
      if (this.#isReady) return;
      this.#isReady = true;
      if (this.#stopping === undefined) {
        this.#worker?.unref();
        this.#bc?.unref();
      }
      r();
    };
  });

  private constructor(options: WatchOptions) {
    this.options = Object.freeze(options);
    this.thread = isMainThread ? "main" : threadId;
  }

  /**
   * Starts watching the calling thread. On the main thread this starts the watchdog thread (which
   * never keeps the process alive); inside a worker it is the same as {@link watchThisThread}.
   * Throws if a supervisor already runs on this thread (see {@link Supervisor.current}).
   */
  static start(opts?: SupervisorOptions): Supervisor {
    const options = resolveOptions(opts);
    if (active !== undefined) {
      throw new Error("a Supervisor already runs on this thread; stop() it first, or use Supervisor.current()");
    }
    const s = new Supervisor(options);
    s.#begin(opts?.requestId);
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
   * run of `fn` only; returns what `fn` returns. Without a running supervisor it just calls `fn`.
   */
  static allowBlocking<T>(fn: () => T): T {
    checkFunction(fn, "fn");
    const i32 = activeI32;
    if (i32 === undefined) return fn();
    beat();
    Atomics.add(i32, I_QUIET, 1);
    try {
      return fn();
    } finally {
      Atomics.sub(i32, I_QUIET, 1);
      // A block that goes on after the section counts from here.
      if (activeI32 === i32) beat();
    }
  }

  /**
   * Resolves once the watchdog watches this thread and its capture path is warm (tens of ms after
   * start() on an idle machine); blocks before that are not seen. In a worker it waits for the
   * main thread's watchdog, so it resolves only once `Supervisor.start()` runs there. Resolves at
   * stop() too. While it is pending it keeps the process (or worker) alive.
   */
  ready(): Promise<void> {
    // Whoever waits for it keeps the process alive meanwhile; nobody else does.
    if (!this.#isReady) {
      this.#worker?.ref();
      this.#bc?.ref();
    }
    return this.#ready;
  }

  /** True until {@link stop} is called. */
  get running(): boolean {
    return this.#stopping === undefined;
  }

  /**
   * Adds a listener. `"blocked"` listeners get each {@link BlockedEvent} (with its stack) and
   * `"unblocked"` listeners each {@link UnblockedEvent}, on this thread, once its loop runs again.
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
   * terminates the watchdog thread (workers it watched are no longer watched). Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  #begin(requestId: (() => unknown) | undefined): void {
    const i32 = int32View(this.#sab);
    const f64 = float64View(this.#sab);
    f64[F_STARTED_AT] = now();
    activeI32 = i32;
    activeF64 = f64;
    active = this;
    beat();
    this.#heartbeat = setInterval(beat, this.options.heartbeatMs);
    this.#heartbeat.unref();
    installProbe(i32, requestId);
    try {
      if (this.thread === "main") this.#startWatchdog();
      else this.#register();
    } catch (e) {
      this.#teardown();
      throw e;
    }
  }

  #startWatchdog(): void {
    const data: WatchdogData = { sab: this.#sab, pid: process.pid, options: this.options, noInspector: inspectorMissing() };
    const w = new Worker(new URL("./watchdog.js", import.meta.url), {
      workerData: data,
      // A clean thread: no --require/--import preloads of the app, no inherited inspector flags.
      execArgv: [],
      env: SHARE_ENV,
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 64 },
    });
    this.#worker = w;
    w.on("message", (m: FromWatchdog) => this.#dispatch(m));
    w.on("error", (e: unknown) => {
      writeLine(`steward supervisor: the watchdog thread failed, nothing is watched any more: ${e instanceof Error ? e.message : String(e)}`);
      this.#teardown();
      this.#readyResolve();
    });
    w.unref();
    const i32 = int32View(this.#sab);
    this.#onExit = () => {
      // Node prints "Waiting for the debugger to disconnect..." at exit while a session is
      // connected: have the watchdog disconnect first (it answers within a millisecond). A
      // watchdog that has not begun to connect will not (the handshake of I_CONNECTING).
      Atomics.store(i32, I_EXITING, 1);
      if (Atomics.load(i32, I_CONNECTING) === 0) return;
      try {
        w.postMessage({ type: "exit" } satisfies ToWatchdog);
        Atomics.wait(i32, I_EXIT_ACK, 0, 250);
      } catch {
        // The watchdog is gone already.
      }
    };
    process.on("exit", this.#onExit);
  }

  #register(): void {
    const bc = new BroadcastChannel(CHANNEL);
    bc.unref();
    this.#bc = bc;
    const reg: Registration = { type: "register", threadId, tid: currentTid(), sab: this.#sab, options: this.options };
    bc.onmessage = (ev: unknown): void => {
      const m = (ev as { data: FromWatchdog }).data;
      if (m === null || typeof m !== "object") return;
      if (m.type === "hello") bc.postMessage(reg);
      else if ((m.type === "blocked" || m.type === "unblocked" || m.type === "ready") && m.threadId === threadId) this.#dispatch(m);
    };
    bc.postMessage(reg);
    this.#onExit = () => {
      try {
        bc.postMessage({ type: "unregister", threadId } satisfies Registration);
      } catch {
        // Closed already.
      }
    };
    process.on("exit", this.#onExit);
  }

  #dispatch(m: FromWatchdog): void {
    if (m.type === "stopped") {
      this.#stoppedAck?.();
      return;
    }
    if (m.type === "ready") {
      this.#readyResolve();
      return;
    }
    if (this.#stopping !== undefined || (m.type !== "blocked" && m.type !== "unblocked")) return;
    const list = (m.type === "blocked" ? [...this.#blocked] : [...this.#unblocked]) as Listener<BlockedEvent | UnblockedEvent>[];
    for (const fn of list) {
      try {
        fn(m.event);
      } catch (e) {
        writeLine(`steward supervisor: a '${m.type}' listener threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
  }

  /** Stops the heartbeat and forgets this thread's state; the watchdog side is #stop's job. */
  #teardown(): void {
    clearInterval(this.#heartbeat);
    if (active === this) {
      active = undefined;
      activeI32 = undefined;
      activeF64 = undefined;
      uninstallProbe();
    }
    if (this.#onExit !== undefined) process.off("exit", this.#onExit);
  }

  async #stop(): Promise<void> {
    this.#teardown();
    this.#readyResolve();
    const w = this.#worker;
    if (w !== undefined) {
      w.ref();
      const acked = new Promise<void>((r) => (this.#stoppedAck = r));
      const exited = new Promise<void>((r) => w.once("exit", () => r()));
      try {
        w.postMessage({ type: "stop" } satisfies ToWatchdog);
        let t: NodeJS.Timeout | undefined;
        await Promise.race([acked, exited, new Promise<void>((r) => (t = setTimeout(r, 1000)))]);
        clearTimeout(t);
      } catch {
        // It exited already.
      }
      await w.terminate();
    }
    const bc = this.#bc;
    if (bc !== undefined) {
      try {
        bc.postMessage({ type: "unregister", threadId } satisfies Registration);
      } finally {
        bc.close();
      }
    }
  }
}

/**
 * Why this process has no inspector to connect to, if it can be told from here. Under the
 * permission model the main thread's inspector agent is not started, and connectToMainThread()
 * from a worker then fails a native assertion (aborting the process) instead of throwing.
 */
function inspectorMissing(): string | undefined {
  if (!process.features.inspector) return "this Node.js is built without the inspector";
  if ((process as { permission?: unknown }).permission !== undefined) return "the permission model is on, and the inspector is not available under it";
  return undefined;
}

function writeLine(s: string): void {
  try {
    writeSync(2, `${s}\n`);
  } catch {
    // Nowhere to say it.
  }
}
