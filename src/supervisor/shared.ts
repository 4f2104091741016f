/**
 * What the watched threads and the watchdog share: the layout of each watched thread's
 * SharedArrayBuffer, the messages they exchange and the public event types. Imported by both
 * sides, so it imports nothing heavy.
 */

/**
 * Where a frame's code comes from: `"app"` the application's own code, `"library"` a package
 * under node_modules, `"node"` Node.js internals (`node:` modules), `"native"` a V8 builtin
 * (`JSON.parse`, `Array.prototype.sort`), `"collapsed"` a stand-in for a run of repeated frames
 * (see {@link Frame.count}). steward's own frames are left out of reports.
 */
export type FrameKind = "app" | "library" | "node" | "native" | "collapsed";

/** One stack frame. Line and column are 1-based, as in Node's stack traces. */
export interface Frame {
  /** As Node prints it: `fn`, `Class.method`, `new Class`, or `<anonymous>`. */
  functionName: string;
  /** A file path for local files (the `.ts` source when a source map points there), else the URL V8 reports (`node:internal/...`); `""` for a builtin. */
  file: string;
  line: number;
  column: number;
  /** Where the code comes from; see {@link FrameKind}. */
  kind?: FrameKind;
  /** For a `"library"` frame: the package name (`js-yaml`, `@scope/name`). */
  package?: string;
  /** For a `"collapsed"` frame: how many frames it stands for (a deep recursion). */
  count?: number;
}

/**
 * How the stack of a {@link BlockedEvent} was taken:
 * - `"live"`: while the thread was still blocked, at the moment of detection (for a known heavy
 *   native call, see {@link BlockedEvent.inside}, the stack as that call began);
 * - `"late"`: the thread was inside a native call (a sync syscall, `execSync`) and the stack could
 *   only be taken when that call returned to JavaScript — the caller may already have returned
 *   (see `native` for what it was doing at detection);
 *   Near the stack limit, the innermost frames V8 recorded in the probe's RangeError; when the
 *   thread had no room to format them, they follow in a `"stack"` line once it runs again;
 * - `"unavailable"`: no stack (the inspector is not available, the thread moved on first, a
 *   worker the inspector cannot reach); `stackNote` says why;
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

/** The heavy native call a thread was inside when it was seen blocked (see the `breadcrumbs` option). */
export interface InsideCall {
  /** What was called: `"JSON.parse"`, `"crypto.scryptSync"`, `"Buffer#toString"`, ... */
  call: string;
  /** The size of its input, when it has one: characters of a string, bytes of a buffer, bits of a key. */
  size?: number;
  /** How long the call had run when the block was seen. */
  sinceMs: number;
}

/** How the watchdog grouped an episode with earlier ones from the same stack. */
export interface RepeatInfo {
  /** The first episode seen with this stack: its report carries the full stack. */
  of: number;
  /** How many episodes (this one included) have had this stack. */
  count: number;
  /** When the first and the latest of them were seen (epoch ms). */
  firstSeen: number;
  lastSeen: number;
}

/** A thread stopped turning its event loop for at least `thresholdMs`. One per episode. */
export interface BlockedEvent {
  /** `"main"`, or the `threadId` of a worker that called `Supervisor.watchThisThread()`. */
  thread: "main" | number;
  /**
   * The episode's id, unique in the process; its {@link UnblockedEvent} and its report lines
   * carry the same id, so each episode can be counted once.
   */
  episode: number;
  /** How long the loop had been blocked when the watchdog saw it (a lower bound). */
  blockedMs: number;
  /** When the watchdog saw it, in epoch milliseconds (`performance.timeOrigin + performance.now()`). */
  at: number;
  /** When the block began (epoch ms; at most one heartbeat period late). */
  startedAt: number;
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
  /** Present when the thread was inside a known heavy native call (`JSON.parse` of a large text, `scryptSync`, ...). */
  inside?: InsideCall;
  /** Present when the thread was blocked outside JavaScript at detection (Linux). */
  native?: NativeState;
  /**
   * Of the time around the stall, how long the thread was runnable but waiting for a CPU
   * (Linux schedstat). Close to `blockedMs`, the machine was starved (an overloaded host, CPU
   * throttling), not the loop blocked by its code, and the stack is not to blame.
   */
  starvedMs?: number;
  /** Present when an earlier episode had the same stack (the report then says so in one line, or is folded into a summary). */
  repeat?: RepeatInfo;
}

/** The blocked thread turned its event loop again. Follows each {@link BlockedEvent}, with the same `episode`. */
export interface UnblockedEvent {
  thread: "main" | number;
  /** The id of the episode that ended (its {@link BlockedEvent.episode}). */
  episode: number;
  /** The episode's final duration: from when the block began to when the loop ran again (within one heartbeat period). */
  blockedMs: number;
  /** When the watchdog saw the loop run again, in epoch milliseconds. */
  at: number;
  /** When the block began (epoch ms), as in the {@link BlockedEvent}. */
  startedAt: number;
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
  breadcrumbs: boolean;
  group: boolean;
}

// ---------------------------------------------------------------------------------------------
// Shared memory layout of one watched thread: Int32 slots, then Float64 slots, then the
// breadcrumb: the stack of the heavy native call the thread is inside (see breadcrumbs.ts).

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
/** Int32 slot: 1 once the thread's event loop has turned after start() (watching begins then). */
export const I_TURNED = 5;
/**
 * Int32 slot: the breadcrumb's sequence number, odd while the thread is inside a tracked call
 * (the record below is valid), even otherwise. Bumped on entry and on exit.
 */
export const I_CRUMB_SEQ = 6;
/** Int32 slot: length in bytes of the breadcrumb's UTF-8 JSON record. */
export const I_CRUMB_LEN = 7;
/** Float64 slot: epoch ms of the last heartbeat. */
export const F_BEAT_AT = 0;
/** Float64 slot: epoch ms at which start() was called. */
export const F_STARTED_AT = 1;
/** Float64 slot: epoch ms at which the loop first turned after start(). */
export const F_TURNED_AT = 2;
/** Float64 slot: epoch ms at which the tracked call of the breadcrumb began. */
export const F_CRUMB_AT = 3;

const INT32_SLOTS = 16;
const FLOAT64_SLOTS = 8;
const F64_OFFSET = INT32_SLOTS * 4;
export const CRUMB_OFFSET = F64_OFFSET + FLOAT64_SLOTS * 8;
/** Room for the breadcrumb's record: about 200 frames. */
export const CRUMB_BYTES = 32 * 1024;
export const SAB_BYTES = CRUMB_OFFSET + CRUMB_BYTES;

export function int32View(sab: SharedArrayBuffer): Int32Array {
  return new Int32Array(sab, 0, INT32_SLOTS);
}

export function float64View(sab: SharedArrayBuffer): Float64Array {
  return new Float64Array(sab, F64_OFFSET, FLOAT64_SLOTS);
}

export function crumbView(sab: SharedArrayBuffer): Uint8Array {
  return new Uint8Array(sab, CRUMB_OFFSET, CRUMB_BYTES);
}

/** The breadcrumb's record, as the blocked thread writes it and the watchdog reads it. */
export interface Crumb {
  call: string;
  size?: number;
  frames: RawFrame[];
  task?: { id: number; name?: string };
  requestId?: string;
}

/** Epoch milliseconds from the monotonic clock; comparable across threads of one process. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------------------------------------
// The probe: a function each watched thread installs on its globalThis; the watchdog calls it
// there with Runtime.evaluate, which V8 runs in an interrupt on top of the blocked code.

export const PROBE_KEY = "steward.supervisor.probe";
/** The probe expression's sourceURL, so its own frame can be dropped from the stack. */
export const PROBE_URL = "steward-supervisor-probe";

/**
 * A frame as the probe returns it: [functionName, file, line, column], 1-based. `file` is `""`
 * for a V8 builtin (`JSON.parse`).
 */
export type RawFrame = [string, string, number, number];

/**
 * The function name of a marker frame `[REPEAT_MARK, "", k, p]`: the `p` frames before it repeat
 * `k` more times (a recursion, folded on the blocked thread).
 */
export const REPEAT_MARK = "\u0000repeat";

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

/** The expression the watchdog evaluates: `what` 1 takes the stack, 0 only the task. */
export function probeExpression(what: 0 | 1): string {
  return `globalThis[Symbol.for(${JSON.stringify(PROBE_KEY)})]?.(${what})\n//# sourceURL=${PROBE_URL}`;
}

// ---------------------------------------------------------------------------------------------
// Messages

/** BroadcastChannel name the watchdog and watched workers meet on. */
export const CHANNEL = "steward.supervisor.v2";

export interface WatchdogData {
  sab: SharedArrayBuffer;
  /** One Int32 shared by every watchdog of the process: the last episode id handed out. */
  episodes: SharedArrayBuffer;
  /** steward's own source directories (dist/src and src): their frames are left out of reports. */
  ownDirs: string[];
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
  /** Watching has begun: the watchdog has seen the thread's loop turn after start(). */
  | { type: "ready"; threadId?: number };

/** Worker → watchdog over the BroadcastChannel. */
export type Registration = { type: "register"; threadId: number; tid: number | undefined; sab: SharedArrayBuffer; options: WatchOptions } | { type: "unregister"; threadId: number };
