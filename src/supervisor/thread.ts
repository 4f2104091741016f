/**
 * The watched thread's side of the supervisor: the heartbeat, the probe, the breadcrumbs, and (on
 * the main thread) starting the watchdog thread. Loaded by Supervisor.start(), not by the package
 * root.
 *
 * The watched thread pays for one unref'd interval timer that bumps a counter in shared memory
 * (a heartbeat, every thresholdMs/10, between 5 and 50 ms), the size check of the few wrapped
 * heavy native calls, and nothing else: no async hook, no per-task bookkeeping, no Debugger
 * domain. See ./watchdog.ts for the other side.
 */
import { writeSync } from "node:fs";
import { BroadcastChannel, isMainThread, SHARE_ENV, threadId, Worker } from "node:worker_threads";
import { installBreadcrumbs, uninstallBreadcrumbs } from "./breadcrumbs.js";
import { OWN_DIRS, ownModule } from "../util/own-files.js";
import { SupervisorUnavailableError } from "./index.js";
import { currentTid } from "./native.js";
import { installProbe, uninstallProbe } from "./probe.js";
import {
  CHANNEL,
  F_BEAT_AT,
  F_STARTED_AT,
  F_TURNED_AT,
  float64View,
  type FromWatchdog,
  I_BEAT,
  I_CONNECTING,
  I_EXIT_ACK,
  I_EXITING,
  I_QUIET,
  I_TURNED,
  int32View,
  now,
  type Registration,
  SAB_BYTES,
  type ToWatchdog,
  type WatchdogData,
  type WatchOptions,
} from "./shared.js";

/** The last episode id handed out, shared by every watchdog this process starts (ids stay unique). */
const episodes = new SharedArrayBuffer(4);

/** steward's own directories (its compiled and its source tree): their frames are left out of reports. */
function ownDirs(): string[] {
  return [...OWN_DIRS];
}

/** Writes one line to fd 2 at once (the one place the main-thread side writes). */
export function writeLine(s: string): void {
  try {
    writeSync(2, `${s}\n`);
  } catch {
    // Nowhere to say it.
  }
}

export function currentThread(): "main" | number {
  return isMainThread ? "main" : threadId;
}

type Dispatch = (m: FromWatchdog | { type: "failed"; error: unknown }) => void;

/** The running watch's shared memory (module state is per thread). */
let activeI32: Int32Array | undefined;
let activeF64: Float64Array | undefined;

function beat(): void {
  activeF64![F_BEAT_AT] = now();
  Atomics.add(activeI32!, I_BEAT, 1);
}

/**
 * Why the main thread cannot start the watchdog thread, when it can tell before trying: Node's
 * permission model without --allow-worker makes `new Worker` throw ERR_ACCESS_DENIED.
 */
function workerDenied(): string | undefined {
  const permission = (process as { permission?: { has(scope: string): boolean } }).permission;
  if (permission === undefined) return undefined;
  try {
    if (permission.has("worker")) return undefined;
  } catch {
    return undefined;
  }
  return "Supervisor.start(): this process runs under Node's permission model without --allow-worker, and the supervisor's watchdog is a worker thread. Start node with --allow-worker to watch the event loop (or leave the supervisor off).";
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

/** One thread's watch: what Supervisor starts, refs while ready() is awaited, and stops. */
export class ThreadWatch {
  readonly #options: WatchOptions;
  readonly #requestId: (() => unknown) | undefined;
  readonly #dispatch: Dispatch;
  readonly #sab = new SharedArrayBuffer(SAB_BYTES);
  #heartbeat: NodeJS.Timeout | undefined;
  #firstTurn: NodeJS.Immediate | undefined;
  #worker: Worker | undefined;
  #bc: BroadcastChannel | undefined;
  #onExit: (() => void) | undefined;
  #stoppedAck: (() => void) | undefined;
  #tornDown = false;

  constructor(options: WatchOptions, requestId: (() => unknown) | undefined, dispatch: Dispatch) {
    this.#options = options;
    this.#requestId = requestId;
    this.#dispatch = dispatch;
  }

  /** Starts the heartbeat and the watchdog (main thread) or registers with it (worker). */
  start(): void {
    if (isMainThread) {
      const denied = workerDenied();
      if (denied !== undefined) throw new SupervisorUnavailableError(denied);
    }
    const i32 = int32View(this.#sab);
    const f64 = float64View(this.#sab);
    f64[F_STARTED_AT] = now();
    activeI32 = i32;
    activeF64 = f64;
    beat();
    // Watching begins at the loop's first turn: whatever runs synchronously until then (module
    // loading, the rest of the start-up code) is not a block.
    this.#firstTurn = setImmediate(() => {
      f64[F_TURNED_AT] = now();
      Atomics.store(i32, I_TURNED, 1);
      if (activeI32 === i32) beat();
    });
    this.#heartbeat = setInterval(beat, this.#options.heartbeatMs);
    this.#heartbeat.unref();
    installProbe(i32, this.#requestId);
    if (this.#options.breadcrumbs) installBreadcrumbs(this.#sab, this.#requestId);
    if (isMainThread) this.#startWatchdog();
    else this.#register();
  }

  /** Keeps the process alive (while someone awaits ready()) or lets it go. */
  ref(on: boolean): void {
    if (on) {
      this.#worker?.ref();
      this.#bc?.ref();
    } else {
      this.#worker?.unref();
      this.#bc?.unref();
    }
  }

  allowBlocking<T>(fn: () => T): T {
    const i32 = int32View(this.#sab);
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

  #startWatchdog(): void {
    const data: WatchdogData = {
      sab: this.#sab,
      episodes,
      ownDirs: ownDirs(),
      pid: process.pid,
      options: this.#options,
      noInspector: inspectorMissing(),
    };
    const w = new Worker(ownModule("supervisor/watchdog.js"), {
      workerData: data,
      // A clean thread: no --require/--import preloads of the app, no inherited inspector flags.
      execArgv: [],
      env: SHARE_ENV,
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    this.#worker = w;
    w.on("message", (m: FromWatchdog) => {
      if (m.type === "stopped") this.#stoppedAck?.();
      else this.#dispatch(m);
    });
    w.on("error", (e: unknown) => {
      writeLine(`steward supervisor: the watchdog thread failed, nothing is watched any more: ${e instanceof Error ? e.message : String(e)}`);
      this.teardown();
      this.#dispatch({ type: "failed", error: e });
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
    const reg: Registration = { type: "register", threadId, tid: currentTid(), sab: this.#sab, options: this.#options };
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

  /** Stops the heartbeat and restores what was wrapped; the watchdog side is stop()'s job. */
  teardown(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    clearInterval(this.#heartbeat);
    clearImmediate(this.#firstTurn);
    if (activeI32?.buffer === this.#sab) {
      activeI32 = undefined;
      activeF64 = undefined;
      uninstallProbe();
      uninstallBreadcrumbs();
    }
    if (this.#onExit !== undefined) process.off("exit", this.#onExit);
  }

  async stop(): Promise<void> {
    this.teardown();
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
