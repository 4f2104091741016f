/**
 * The watchdog thread. It watches every registered thread's heartbeat counter in shared memory,
 * and when one stops moving for the threshold it takes the stack through the inspector, writes
 * the report to fd 2 at once (the blocked thread cannot relay anything) and posts the event to
 * the blocked thread's listeners, which get it when their loop runs again.
 *
 * It wakes only when a deadline is due (about once per threshold while all is well), not on a
 * fixed fast poll.
 */
import { BroadcastChannel, parentPort, workerData } from "node:worker_threads";
import { InspectorLink } from "./inspector-link.js";
import { inSyscall, readNative, readSchedstat, type SchedSample, threadAlive } from "./native.js";
import { reportBlocked, reportDebuggerPause, reportLateStack, reportNote, reportPending, reportUnblocked } from "./report.js";
import {
  type BlockedEvent,
  CHANNEL,
  F_BEAT_AT,
  F_STARTED_AT,
  float64View,
  type FromWatchdog,
  I_BEAT,
  I_CONNECTING,
  I_EXIT_ACK,
  I_EXITING,
  I_QUIET,
  int32View,
  now,
  type ProbeResult,
  type RawFrame,
  type Registration,
  type ToWatchdog,
  type UnblockedEvent,
  type WatchdogData,
  type WatchOptions,
} from "./shared.js";
import { toFrame } from "./sourcemap.js";

const data = workerData as WatchdogData;
const port = parentPort!;

/**
 * How long to wait for the stack before reporting what is known without it: short when /proc
 * shows the thread in a system call (it is outside JavaScript for sure), longer when it is on
 * the CPU (JavaScript answers within a few ms; the pause method first pays for the
 * scriptParsed replay of Debugger.enable).
 */
const WAIT_IN_JS_MS = 50;
const WAIT_IN_JS_PAUSE_MS = 300;
const WAIT_IN_SYSCALL_MS = 5;
/** After a block ends, how long a capture still in flight may take before it is given up. */
const CAPTURE_GRACE_MS = 2000;

interface Episode {
  /** Heartbeat count when the block was seen; a probe that reads another count came too late. */
  readonly count: number;
  /** Lower bound of when the block began: the last heartbeat plus one period. */
  readonly start: number;
  readonly detectedAt: number;
  /** Not reported: inside allowBlocking(), or a debugger has the thread paused. */
  silent: boolean;
  /** Settles once the blocked event was written and posted. */
  reported: Promise<void>;
  /** Resolved when the loop ran again. */
  ended: Promise<void>;
  end: () => void;
}

interface Watched {
  readonly key: "main" | number;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly opts: WatchOptions;
  readonly tid: number | undefined;
  lastCount: number;
  lastBeat: number;
  /** A heartbeat came after registration: the thread's loop has turned at least once. */
  seenBeat: boolean;
  /** Watching starts here: after the first heartbeat and the start-up grace. */
  watchFrom: number;
  episode: Episode | undefined;
  /** Scheduler counters when progress was last seen, to tell a starved thread from a blocked one. */
  sched: SchedSample | undefined;
}

const watched = new Map<"main" | number, Watched>();
let link: InspectorLink | undefined;
let linkReady: Promise<InspectorLink> | undefined;
let mainWarm: Promise<void> | undefined;
let timer: NodeJS.Timeout | undefined;
let stopped = false;

function addWatched(key: "main" | number, sab: SharedArrayBuffer, opts: WatchOptions, tid: number | undefined): void {
  const i32 = int32View(sab);
  const f64 = float64View(sab);
  watched.set(key, {
    key,
    i32,
    f64,
    opts,
    tid,
    lastCount: Atomics.load(i32, I_BEAT),
    lastBeat: f64[F_BEAT_AT]!,
    seenBeat: false,
    watchFrom: Infinity,
    episode: undefined,
    sched: undefined,
  });
  if (opts.captureStack && linkReady === undefined) {
    linkReady = InspectorLink.connect(data.noInspector, mayConnect).then((l) => (link = l));
    // Warm the capture path once, off the critical path: the first probe, the first source map
    // and the code that reads them cost ~20 ms cold, which would otherwise delay the first report.
    mainWarm = linkReady.then((l) => warmUp(l, opts, "main"));
  }
  tick();
  // Tell the thread once it is watched and its first capture will be fast.
  const warm = key === "main" ? (mainWarm ?? Promise.resolve()) : Promise.all([mainWarm, linkReady?.then((l) => warmUp(l, opts, key))]);
  void warm.then(() => {
    if (watched.get(key)?.i32 === i32) post(watched.get(key)!, { type: "ready" });
  });
}

// ---------------------------------------------------------------------------------------------
// Detection

function tick(): void {
  if (stopped) return;
  const t = now();
  let next = t + 1000;
  for (const w of watched.values()) next = Math.min(next, check(w, t));
  clearTimeout(timer);
  timer = setTimeout(tick, Math.max(1, Math.ceil(next - now())));
}

/** Looks at one thread; returns when to look again. */
function check(w: Watched, t: number): number {
  const c = Atomics.load(w.i32, I_BEAT);
  if (c !== w.lastCount) {
    w.lastCount = c;
    w.lastBeat = w.f64[F_BEAT_AT]!;
    if (!w.seenBeat) {
      w.seenBeat = true;
      w.watchFrom = Math.max(w.lastBeat, w.f64[F_STARTED_AT]! + w.opts.startupGraceMs);
    }
    if (w.episode !== undefined) endEpisode(w, t);
    w.sched = readSchedstat(data.pid, w.tid);
  }
  const period = w.opts.heartbeatMs;
  if (!w.seenBeat) return t + period;
  if (w.episode !== undefined) {
    if (w.key !== "main" && !threadAlive(data.pid, w.tid)) {
      // Terminated while blocked: nothing will ever beat again.
      w.episode.silent = true;
      w.episode.end();
      watched.delete(w.key);
      return t + 1000;
    }
    // Look for the end often at first, then less: the unblocked event comes within a tenth of
    // the block's length, and a thread hung for good does not wake the watchdog 100 times a second.
    return t + Math.min(250, Math.max(period, (t - w.episode.start) / 10));
  }
  const from = Math.max(w.lastBeat + period, w.watchFrom);
  const due = from + w.opts.thresholdMs;
  if (t < due) return due;
  startEpisode(w, from, t);
  return t + period;
}

function startEpisode(w: Watched, from: number, t: number): void {
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  const ep: Episode = { count: w.lastCount, start: from, detectedAt: t, silent: false, reported: Promise.resolve(), ended, end };
  w.episode = ep;
  if (Atomics.load(w.i32, I_QUIET) > 0) {
    ep.silent = true;
    return;
  }
  if (w.key !== "main" && !threadAlive(data.pid, w.tid)) {
    // The worker ended without saying so (terminate()): stop watching it.
    watched.delete(w.key);
    return;
  }
  ep.reported = runEpisode(w, ep).catch((e: unknown) => {
    reportNote(w.opts.report, `watchdog error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  });
}

function endEpisode(w: Watched, t: number): void {
  const ep = w.episode!;
  w.episode = undefined;
  ep.end();
  if (ep.silent) return;
  const ev: UnblockedEvent = { thread: w.key, blockedMs: Math.round(w.lastBeat - ep.start), at: round3(t) };
  void ep.reported.then(() => {
    if (ep.silent) return;
    reportUnblocked(w.opts.report, ev);
    post(w, { type: "unblocked", event: ev });
  });
}

// ---------------------------------------------------------------------------------------------
// One episode: take the stack, write the report, post the event

type Capture = { frames: RawFrame[]; probe: ProbeResult | undefined };

class DebuggerPaused extends Error {}

async function runEpisode(w: Watched, ep: Episode): Promise<void> {
  const mode = w.opts.report;
  const event: BlockedEvent = {
    thread: w.key,
    blockedMs: Math.round(ep.detectedAt - ep.start),
    at: round3(ep.detectedAt),
    stack: [],
    stackCapture: "off",
  };
  const sched = readSchedstat(data.pid, w.tid);
  if (sched !== undefined && w.sched !== undefined) event.starvedMs = Math.round((sched.waitNs - w.sched.waitNs) / 1e6);
  if (!w.opts.captureStack) {
    reportBlocked(mode, event);
    post(w, { type: "blocked", event });
    return;
  }
  const l = link ?? (await linkReady);
  if (l === undefined || !l.connected) {
    event.stackCapture = "unavailable";
    event.stackNote = l?.unavailable ?? "inspector unavailable";
    reportBlocked(mode, event);
    post(w, { type: "blocked", event });
    return;
  }
  const native = readNative(data.pid, w.tid);
  const capture: Promise<Capture | Error> = takeStack(l, w).then(
    (c) => c,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  const waitMs = inSyscall(native) ? WAIT_IN_SYSCALL_MS : w.opts.captureMethod === "pause" ? WAIT_IN_JS_PAUSE_MS : WAIT_IN_JS_MS;
  let res = await Promise.race([capture, delay(waitMs)]);
  let late = false;
  if (res === undefined) {
    // Not back yet: the thread is outside JavaScript. Say at once what is known.
    late = true;
    if (native !== undefined) event.native = native;
    reportPending(mode, event);
    res = await Promise.race([capture, ep.ended.then(() => delay(CAPTURE_GRACE_MS))]);
    if (res === undefined) res = new Error("the stack did not arrive after the thread ran again");
  }
  if (res instanceof DebuggerPaused) return stepAside(w, ep);
  if (res instanceof Error) {
    event.stackCapture = "unavailable";
    event.stackNote = res.message;
  } else {
    const probe = res.probe;
    if (probe?.debugServer === true && w.key === "main" && (await l.pausedByDebugger(2000).catch(() => false))) {
      return stepAside(w, ep);
    }
    if (probe !== undefined && probe.beat !== ep.count) {
      event.stackCapture = "unavailable";
      event.stackNote = "the thread ran again before the stack could be taken";
    } else {
      event.stack = res.frames.map((f) => toFrame(f, w.opts.sourceMaps));
      event.stackCapture = late ? "late" : "live";
      if (late) event.stackNote = `taken ${Math.round(now() - ep.detectedAt)} ms after detection, when the native call returned`;
      if (probe?.task !== undefined) event.task = probe.task;
      if (probe?.requestId !== undefined) event.requestId = probe.requestId;
    }
  }
  if (late) reportLateStack(mode, event, Math.round(now() - ep.detectedAt));
  else reportBlocked(mode, event);
  post(w, { type: "blocked", event });
}

function stepAside(w: Watched, ep: Episode): void {
  ep.silent = true;
  reportDebuggerPause(w.opts.report, w.key, Math.round(now() - ep.start));
}

async function takeStack(l: InspectorLink, w: Watched): Promise<Capture> {
  const max = w.opts.maxFrames;
  if (w.key !== "main") return captureWorker(l, w.key, max);
  if (w.opts.captureMethod === "evaluate") {
    let probe: ProbeResult | undefined;
    try {
      probe = await l.probeMain(max);
    } catch {
      probe = undefined; // e.g. the probe itself hit the stack limit: fall back to pausing
    }
    if (probe !== undefined) return { frames: probe.frames, probe };
  }
  try {
    return await l.pauseCapture(max);
  } catch (e) {
    if (e instanceof Error && e.message === "a debugger has the thread paused") throw new DebuggerPaused(e.message);
    throw e;
  }
}

async function captureWorker(l: InspectorLink, threadId: number, max: number): Promise<Capture> {
  const probe = await l.probeWorker(threadId, max);
  if (probe === undefined) throw new Error("the worker's probe is not installed");
  if (probe.threadId !== threadId) throw new Error(`the inspector session reached thread ${probe.threadId}, not ${threadId}`);
  return { frames: probe.frames, probe };
}

async function warmUp(l: InspectorLink, opts: WatchOptions, key: "main" | number): Promise<void> {
  if (!l.connected || stopped) return;
  try {
    // A worker's first probe also attaches the NodeWorker sessions.
    const probe = key === "main" ? await l.probeMain(opts.maxFrames) : await l.probeWorker(key, opts.maxFrames);
    if (opts.sourceMaps) for (const f of probe?.frames ?? []) toFrame(f, true);
  } catch {
    // Only a warm-up.
  }
  if (opts.sourceMaps) toFrame(["warmUp", import.meta.url, 1, 1], true);
}

// ---------------------------------------------------------------------------------------------
// Plumbing

let bc: BroadcastChannel | undefined;

function post(w: Watched, msg: FromWatchdog): void {
  if (stopped) return;
  if (w.key === "main") port.postMessage(msg);
  else bc?.postMessage({ ...msg, threadId: w.key });
}

function delay(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The watchdog's half of the exit handshake (see I_CONNECTING). */
function mayConnect(): boolean {
  const i32 = int32View(data.sab);
  Atomics.store(i32, I_CONNECTING, 1);
  if (Atomics.load(i32, I_EXITING) === 0 && !stopped) return true;
  ackExit();
  return false;
}

function ackExit(): void {
  const i32 = int32View(data.sab);
  Atomics.store(i32, I_EXIT_ACK, 1);
  Atomics.notify(i32, I_EXIT_ACK);
}

function shutdown(): void {
  stopped = true;
  clearTimeout(timer);
  link?.disconnect();
  bc?.close();
}

port.on("message", (m: ToWatchdog) => {
  if (m.type === "exit") {
    // The main thread is exiting and waits (briefly) for this: a session left connected makes
    // Node print "Waiting for the debugger to disconnect...".
    shutdown();
    ackExit();
  } else if (m.type === "stop") {
    shutdown();
    port.postMessage({ type: "stopped" } satisfies FromWatchdog);
    port.close();
  }
});

bc = new BroadcastChannel(CHANNEL);
bc.onmessage = (ev: unknown): void => {
  const m = (ev as { data: Registration }).data;
  if (stopped || m === null || typeof m !== "object") return;
  if (m.type === "register") addWatched(m.threadId, m.sab, m.options, m.tid);
  else if (m.type === "unregister") watched.delete(m.threadId);
};
// Workers that called watchThisThread() before this watchdog existed register on this.
bc.postMessage({ type: "hello" } satisfies FromWatchdog);

addWatched("main", data.sab, data.options, data.pid);
