/**
 * What the watched threads and the watchdog share: the layout of each watched thread's
 * SharedArrayBuffer, the messages they exchange and the public event types. Imported by both
 * sides, so it imports nothing heavy.
 */

/** One stack frame. Line and column are 1-based, as in Node's stack traces. */
export interface Frame {
  /** As Node prints it: `fn`, `Class.method`, `new Class`, or `<anonymous>`. */
  functionName: string;
  /** A file path for local files (the `.ts` source when a source map points there), else the URL V8 reports (`node:internal/...`). */
  file: string;
  line: number;
  column: number;
}

/**
 * How the stack of a {@link BlockedEvent} was taken:
 * - `"live"`: while the thread was still blocked, at the moment of detection;
 * - `"late"`: the thread was inside a native call (a sync syscall, `execSync`, `pbkdf2Sync`) and
 *   the stack could only be taken when that call returned to JavaScript — the caller may already
 *   have returned (see `native` for what it was doing at detection);
 * - `"unavailable"`: no stack (the inspector is not available, the thread moved on first,
 *   a worker the inspector cannot reach); `stackNote` says why;
 * - `"off"`: `captureStack: false`.
 */
export type StackCapture = "live" | "late" | "unavailable" | "off";

/** What a thread that blocks outside JavaScript was doing, read from `/proc` (Linux only). */
export interface NativeState {
  /** The scheduler state letter from `/proc/<pid>/task/<tid>/stat`: `R` running, `S` sleeping, `D` uninterruptible wait. */
  state: string;
  /** The system call it is blocked in (`wait4`, `read`, `epoll_pwait`, ...), or `"running"` when on the CPU. */
  syscall?: string;
  /** The kernel function it waits in (`do_wait`, `pipe_read`, ...), when the kernel exposes it. */
  wchan?: string;
}

/** A thread stopped turning its event loop for at least `thresholdMs`. One per episode. */
export interface BlockedEvent {
  /** `"main"`, or the `threadId` of a worker that called `Supervisor.watchThisThread()`. */
  thread: "main" | number;
  /** How long the loop had been blocked when the watchdog saw it (a lower bound). */
  blockedMs: number;
  /** When the watchdog saw it, in epoch milliseconds (`performance.timeOrigin + performance.now()`). */
  at: number;
  /** The stack running at the moment of detection, innermost frame first; empty when not taken. */
  stack: Frame[];
  /** The steward task that was running, if any. */
  task?: { id: number; name?: string };
  /** What the `requestId` option returned on the blocked thread, if set. */
  requestId?: string;
  /** How the stack was taken; see {@link StackCapture}. */
  stackCapture: StackCapture;
  /** Why the stack is missing or late. */
  stackNote?: string;
  /** Present when the thread was blocked outside JavaScript at detection (Linux). */
  native?: NativeState;
  /**
   * Of the time around the stall, how long the thread was runnable but waiting for a CPU
   * (Linux schedstat). Close to `blockedMs`, the machine was starved (an overloaded host, CPU
   * throttling), not the loop blocked by its code, and the stack is not to blame.
   */
  starvedMs?: number;
}

/** The blocked thread turned its event loop again. Follows each {@link BlockedEvent}. */
export interface UnblockedEvent {
  thread: "main" | number;
  /** How long the whole episode lasted (a lower bound, within one heartbeat period). */
  blockedMs: number;
  /** When the watchdog saw the loop run again, in epoch milliseconds. */
  at: number;
}

/**
 * A supervisor's options with the defaults filled in (`Supervisor#options`), plus the heartbeat
 * period derived from the threshold. Exported from the package as `ResolvedSupervisorOptions`.
 */
export interface WatchOptions {
  thresholdMs: number;
  heartbeatMs: number;
  captureStack: boolean;
  sourceMaps: boolean;
  report: "stderr" | "json" | "none";
  startupGraceMs: number;
  maxFrames: number;
  captureMethod: "evaluate" | "pause";
}

// ---------------------------------------------------------------------------------------------
// Shared memory layout of one watched thread: Int32 slots, then Float64 slots.

/** Int32 slot: incremented by every heartbeat (and on entering and leaving allowBlocking). */
export const I_BEAT = 0;
/** Int32 slot: depth of `Supervisor.allowBlocking()` sections running now. */
export const I_QUIET = 1;
/** Int32 slot: set to 1 by the watchdog once it disconnected its inspector session at exit. */
export const I_EXIT_ACK = 2;
/**
 * Int32 slots of the exit handshake (main thread's buffer only). The watchdog sets CONNECTING
 * before it connects and then connects only if EXITING is still 0; the exiting main thread sets
 * EXITING and then waits for the ack only if CONNECTING is 1. Both sequentially consistent, so a
 * short-lived process never waits for a watchdog that has not connected.
 */
export const I_CONNECTING = 3;
export const I_EXITING = 4;
/** Float64 slot: epoch ms of the last heartbeat. */
export const F_BEAT_AT = 0;
/** Float64 slot: epoch ms at which watching started. */
export const F_STARTED_AT = 1;

export const SAB_BYTES = 48;

export function int32View(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, 8);
}

export function float64View(sab: SharedArrayBuffer): Float64Array {
  return new Float64Array(sab, 32, 2);
}

/** Epoch milliseconds from the monotonic clock; comparable across threads of one process. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The heartbeat period for a threshold: a tenth of it, between 5 and 50 ms (10 ms for the
 * default 100). A block is seen between threshold and threshold + one period after it began.
 */
export function heartbeatFor(thresholdMs: number): number {
  return Math.max(5, Math.min(50, Math.round(thresholdMs / 10)));
}

// ---------------------------------------------------------------------------------------------
// The probe: a function each watched thread installs on its globalThis; the watchdog calls it
// there with Runtime.evaluate, which V8 runs in an interrupt on top of the blocked code.

export const PROBE_KEY = "steward.supervisor.probe";
/** The probe expression's sourceURL, so its own frame can be dropped from the stack. */
export const PROBE_URL = "steward-supervisor-probe";

/** A frame as the probe returns it: [functionName, file, line, column], 1-based. */
export type RawFrame = [string, string, number, number];

/** What the probe returns. */
export interface ProbeResult {
  /** The thread the probe ran on: `0` is the main thread, as `worker_threads.threadId`. */
  threadId: number;
  /** The heartbeat count when the probe ran: unchanged since detection means still blocked. */
  beat: number;
  frames: RawFrame[];
  task?: { id: number; name?: string };
  requestId?: string;
  /** `inspector.url()` is set: a debugger may be attached and may have paused the thread. */
  debugServer: boolean;
}

export function probeExpression(maxFrames: number): string {
  return `globalThis[Symbol.for(${JSON.stringify(PROBE_KEY)})]?.(${maxFrames})\n//# sourceURL=${PROBE_URL}`;
}

// ---------------------------------------------------------------------------------------------
// Messages

/** BroadcastChannel name the watchdog and watched workers meet on. */
export const CHANNEL = "steward.supervisor.v1";

export interface WatchdogData {
  sab: SharedArrayBuffer;
  pid: number;
  options: WatchOptions;
  /** Why the main thread's inspector cannot be reached, when the main thread can tell. */
  noInspector: string | undefined;
}

/** Main thread → watchdog. */
export type ToWatchdog = { type: "stop" } | { type: "exit" };

/** Watchdog → main thread (parentPort) or → workers (BroadcastChannel, with `threadId`). */
export type FromWatchdog =
  | { type: "blocked"; threadId?: number; event: BlockedEvent }
  | { type: "unblocked"; threadId?: number; event: UnblockedEvent }
  | { type: "stopped" }
  | { type: "hello" }
  /** The watchdog watches the thread (and its capture path is warm). */
  | { type: "ready"; threadId?: number };

/** Worker → watchdog over the BroadcastChannel. */
export type Registration =
  | { type: "register"; threadId: number; tid: number | undefined; sab: SharedArrayBuffer; options: WatchOptions }
  | { type: "unregister"; threadId: number };
