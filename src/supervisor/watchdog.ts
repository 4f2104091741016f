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
import { readCrumb } from "./breadcrumbs.js";
import { type Entry, headline, prepare, stackKey, toFrames } from "./frames.js";
import { type Decision, type Group, Groups } from "./groups.js";
import { InspectorLink, StackLimitError } from "./inspector-link.js";
import { foldRepeats } from "./probe.js";
import { inSyscall, readNative, readSchedstat, type SchedSample, threadAlive } from "./native.js";
import {
  type Mode,
  reportBlocked,
  reportDebuggerPause,
  reportEnriched,
  reportFrames,
  reportHeader,
  reportLateStack,
  reportNote,
  reportPending,
  reportRepeat,
  reportSummary,
  reportUnblocked,
} from "./report.js";
import {
  type BlockedEvent,
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
const episodeIds = new Int32Array(data.episodes);
const groups = new Groups();

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
  /** The episode's id, unique in the process. */
  readonly id: number;
  /** Heartbeat count when the block was seen; a probe that reads another count came too late. */
  readonly count: number;
  /** Lower bound of when the block began: the last heartbeat plus one period. */
  readonly start: number;
  readonly detectedAt: number;
  /** Not reported at all: inside allowBlocking(), or a debugger has the thread paused. */
  quiet: boolean;
  /** Some line of its report was written: so is its unblocked line. */
  printed: boolean;
  /** Its stack's group, and how much of it was written (silent: folded into a summary). */
  group: Group | undefined;
  decision: Decision | undefined;
  /** Settles once the blocked event was written and posted. */
  reported: Promise<void>;
  /** Resolved when the loop ran again. */
  ended: Promise<void>;
  end: () => void;
  isEnded: boolean;
}

interface Watched {
  readonly key: "main" | number;
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly opts: WatchOptions;
  readonly tid: number | undefined;
  lastCount: number;
  lastBeat: number;
  /** The thread's loop has turned after start(): watching has begun. */
  watching: boolean;
  /** Watching starts here: the loop's first turn, or the end of the start-up grace. */
  watchFrom: number;
  episode: Episode | undefined;
  /** Scheduler counters when progress was last seen, to tell a starved thread from a blocked one. */
  sched: SchedSample | undefined;
}

const watched = new Map<"main" | number, Watched>();
let link: InspectorLink | undefined;
let linkReady: Promise<InspectorLink> | undefined;
let timer: NodeJS.Timeout | undefined;
let stopped = false;
/** The report mode of the main thread's options (summaries of every thread use it). */
const mainMode: Mode = data.options.report;

function addWatched(key: "main" | number, sab: SharedArrayBuffer, opts: WatchOptions, tid: number | undefined): void {
  const i32 = int32View(sab);
  const f64 = float64View(sab);
  watched.set(key, {
    key,
    sab,
    i32,
    f64,
    opts,
    tid,
    lastCount: Atomics.load(i32, I_BEAT),
    lastBeat: f64[F_BEAT_AT]!,
    watching: false,
    watchFrom: Infinity,
    episode: undefined,
    sched: undefined,
  });
  if (opts.captureStack && linkReady === undefined) {
    linkReady = InspectorLink.connect(data.noInspector, mayConnect).then((l) => (link = l));
    // Warm the capture path off the critical path: the first probe and the code that reads and
    // maps it cost ~20 ms cold, which would otherwise delay the first report.
    void linkReady.then((l) => warmUp(l, "main"));
  }
  if (key !== "main" && opts.captureStack) void linkReady?.then((l) => warmUp(l, key));
  tick();
}

// ---------------------------------------------------------------------------------------------
// Detection

function tick(): void {
  if (stopped) return;
  const t = now();
  let next = t + 1000;
  for (const w of watched.values()) next = Math.min(next, check(w, t));
  for (const s of groups.due(t)) reportSummary(mainMode, s);
  next = Math.min(next, groups.nextDue() ?? Infinity);
  clearTimeout(timer);
  timer = setTimeout(tick, Math.max(1, Math.ceil(next - now())));
}

/** Looks at one thread; returns when to look again. */
function check(w: Watched, t: number): number {
  const c = Atomics.load(w.i32, I_BEAT);
  if (c !== w.lastCount) {
    w.lastCount = c;
    w.lastBeat = w.f64[F_BEAT_AT]!;
    if (w.episode !== undefined) endEpisode(w, t);
    w.sched = readSchedstat(data.pid, w.tid);
  }
  const period = w.opts.heartbeatMs;
  if (!w.watching) {
    if (Atomics.load(w.i32, I_TURNED) === 0) return t + period;
    w.watching = true;
    w.watchFrom = Math.max(w.f64[F_TURNED_AT]!, w.f64[F_STARTED_AT]! + w.opts.startupGraceMs);
    post(w, { type: "ready" });
  }
  if (w.episode !== undefined) {
    if (w.key !== "main" && !threadAlive(data.pid, w.tid)) {
      // Terminated while blocked: nothing will ever beat again.
      w.episode.quiet = true;
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
  const ep: Episode = {
    id: Atomics.add(episodeIds, 0, 1) + 1,
    count: w.lastCount,
    start: from,
    detectedAt: t,
    quiet: false,
    printed: false,
    group: undefined,
    decision: undefined,
    reported: Promise.resolve(),
    ended,
    end: () => {
      ep.isEnded = true;
      end();
    },
    isEnded: false,
  };
  w.episode = ep;
  if (Atomics.load(w.i32, I_QUIET) > 0) {
    ep.quiet = true;
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
  if (ep.quiet) return;
  const ev: UnblockedEvent = { thread: w.key, episode: ep.id, blockedMs: Math.round(w.lastBeat - ep.start), at: round3(t), startedAt: round3(ep.start) };
  void ep.reported.then(() => {
    if (ep.quiet) return;
    if (ep.printed) reportUnblocked(w.opts.report, ev);
    else if (ep.group !== undefined && ep.decision === "silent") groups.ended(ep.group, ev.blockedMs);
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
    episode: ep.id,
    blockedMs: Math.round(ep.detectedAt - ep.start),
    at: round3(ep.detectedAt),
    startedAt: round3(ep.start),
    stack: [],
    stackCapture: "off",
  };
  const sched = readSchedstat(data.pid, w.tid);
  if (sched !== undefined && w.sched !== undefined) event.starvedMs = Math.round((sched.waitNs - w.sched.waitNs) / 1e6);
  if (!w.opts.captureStack) return finish(w, ep, event, [], undefined);
  // A known heavy native call: its breadcrumb has the stack, V8 would give it only on return.
  if (w.opts.breadcrumbs) {
    const c = readCrumb(w.sab);
    if (c !== undefined) {
      event.inside = { call: c.crumb.call, sinceMs: Math.max(0, Math.round(ep.detectedAt - c.since)) };
      if (c.crumb.size !== undefined) event.inside.size = c.crumb.size;
      if (c.crumb.task !== undefined) event.task = c.crumb.task;
      if (c.crumb.requestId !== undefined) event.requestId = c.crumb.requestId;
      event.stackCapture = "live";
      return finish(w, ep, event, c.crumb.frames, undefined);
    }
  }
  const l = link ?? (await linkReady);
  if (l === undefined || !l.connected) {
    event.stackCapture = "unavailable";
    event.stackNote = l?.unavailable ?? "inspector unavailable";
    return finish(w, ep, event, [], undefined);
  }
  const native = readNative(data.pid, w.tid);
  const capture: Promise<Capture | Error> = takeStack(l, w).then(
    (c) => c,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  const waitMs = inSyscall(native) ? WAIT_IN_SYSCALL_MS : w.opts.captureMethod === "pause" ? WAIT_IN_JS_PAUSE_MS : WAIT_IN_JS_MS;
  /** The first line, at once, when the stack will come later (once per episode, as grouping allows). */
  const sayPending = (why: string | undefined): void => {
    if (ep.printed || !groups.take(now(), w.opts.group)) return;
    ep.printed = true;
    reportPending(mode, event, why);
  };
  let res = await Promise.race([capture, delay(waitMs)]);
  let pendingAt: number | undefined;
  let nativeWait = false;
  let nearLimit: StackLimitError | undefined;
  if (res === undefined) {
    // Not back yet: the thread is outside JavaScript (or, on a loaded machine, slow to take the
    // interrupt). Say at once what is known.
    pendingAt = ep.detectedAt;
    nativeWait = true;
    if (native !== undefined) event.native = native;
    sayPending(undefined);
    res = await Promise.race([capture, ep.ended.then(() => delay(CAPTURE_GRACE_MS))]);
    if (res === undefined) res = new Error("the stack did not arrive after the thread ran again");
  }
  if (res instanceof StackLimitError) {
    // V8 could not run the probe there, but the RangeError it raised instead holds the innermost
    // frames of the blocked stack: enough to name the recursion.
    nearLimit = res;
    let frames = res.frames;
    if (frames.length === 0 && res.objectId !== undefined) {
      // Recorded, but not formattable there: say at once what is known, and read the frames
      // when the thread has run again.
      pendingAt ??= ep.detectedAt;
      sayPending("the thread runs too close to its stack limit (deep recursion) to take its stack while blocked");
      const recorded = res;
      frames = await Promise.race([ep.ended.then(() => l.recordedFrames(recorded)), ep.ended.then(() => delay(CAPTURE_GRACE_MS))]).then(
        (f) => f ?? [],
        () => [],
      );
      nearLimit = new StackLimitError(frames);
    }
    res = { frames: foldRepeats(frames), probe: undefined };
  }
  if (res instanceof DebuggerPaused) return stepAside(w, ep);
  let frames: RawFrame[] = [];
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
      frames = res.frames;
      // After a native wait the probe landed when the call returned.
      event.stackCapture = nativeWait ? "late" : "live";
      if (nativeWait) event.stackNote = `taken ${Math.round(now() - ep.detectedAt)} ms after detection, when the native call returned`;
      else if (nearLimit !== undefined) {
        event.stackNote = `${nearLimit.message}: only the ${nearLimit.frames.length} innermost frames V8 recorded (Error.stackTraceLimit)`;
        if (nearLimit.frames.length === 0) event.stackCapture = "unavailable";
      }
      if (probe?.task !== undefined) event.task = probe.task;
      if (probe?.requestId !== undefined) event.requestId = probe.requestId;
    }
  }
  return finish(w, ep, event, frames, pendingAt === undefined ? undefined : Math.round(now() - pendingAt));
}

/**
 * Files the episode under its stack, writes as much of it as the grouping allows, and posts the
 * event. `lateByMs` is set when a first line went out before the stack (pending, stack limit).
 */
function finish(w: Watched, ep: Episode, event: BlockedEvent, raw: RawFrame[], lateByMs: number | undefined): void {
  const mode = w.opts.report;
  const entries: Entry[] = prepare(raw, data.ownDirs, w.opts.maxFrames);
  const key = raw.length === 0 ? `(no stack) ${event.stackCapture}` : stackKey(entries, event.inside?.call);
  const t = now();
  const { decision, group } = groups.decide(key, w.key, ep.id, t, undefined, w.opts.group);
  ep.group = group;
  ep.decision = decision;
  if (group.count > 1) event.repeat = { of: group.of, count: group.count, firstSeen: round3(group.firstSeen), lastSeen: round3(group.lastSeen) };
  const firstLineOut = ep.printed;
  if (decision === "full") {
    // The first line never waits for a source map.
    const headerNow = !firstLineOut && entries.length > 0 && mode === "stderr";
    if (headerNow) reportHeader(mode, event);
    const mapped = toFrames(entries, w.opts.sourceMaps, mode === "json");
    event.stack = mapped.frames;
    group.headline = headline(event.stack);
    if (firstLineOut) reportLateStack(mode, event, lateByMs ?? 0, true);
    else if (headerNow) reportFrames(mode, event);
    else reportBlocked(mode, event);
    if (mapped.unmapped > 0) {
      event.stack = toFrames(entries, w.opts.sourceMaps, false).frames;
      group.headline = headline(event.stack);
      if (!firstLineOut) reportEnriched(mode, event);
    }
    ep.printed = true;
  } else {
    event.stack = toFrames(entries, w.opts.sourceMaps, false).frames;
    group.headline ??= headline(event.stack);
    if (decision === "repeat") {
      if (firstLineOut) reportLateStack(mode, event, lateByMs ?? 0, false);
      else reportRepeat(mode, event, group.headline);
      ep.printed = true;
    } else if (firstLineOut) {
      reportLateStack(mode, event, lateByMs ?? 0, false);
    }
  }
  post(w, { type: "blocked", event });
}

function stepAside(w: Watched, ep: Episode): void {
  ep.quiet = true;
  reportDebuggerPause(w.opts.report, w.key, Math.round(now() - ep.start));
}

async function takeStack(l: InspectorLink, w: Watched): Promise<Capture> {
  if (w.key !== "main") return captureWorker(l, w.key);
  if (w.opts.captureMethod === "evaluate") {
    // A probe that throws is final (near the stack limit, pausing would not work either and its
    // Debugger.enable would run on the blocked thread); one that is not installed falls back.
    const probe = await l.probeMain();
    if (probe !== undefined) return { frames: probe.frames, probe };
  }
  try {
    return await l.pauseCapture();
  } catch (e) {
    if (e instanceof Error && e.message === "a debugger has the thread paused") throw new DebuggerPaused(e.message);
    throw e;
  }
}

async function captureWorker(l: InspectorLink, threadId: number): Promise<Capture> {
  const probe = await l.probeWorker(threadId);
  if (probe === undefined) throw new Error("the worker's probe is not installed");
  if (probe.threadId !== threadId) throw new Error(`the inspector session reached thread ${probe.threadId}, not ${threadId}`);
  return { frames: probe.frames, probe };
}

async function warmUp(l: InspectorLink, key: "main" | number): Promise<void> {
  if (!l.connected || stopped) return;
  try {
    // A worker's first probe also attaches the NodeWorker sessions.
    const probe = key === "main" ? await l.probeMain() : await l.probeWorker(key);
    const w = watched.get(key);
    if (w !== undefined) toFrames(prepare(probe?.frames ?? [], data.ownDirs, w.opts.maxFrames), w.opts.sourceMaps, false);
  } catch {
    // Only a warm-up.
  }
  toFrame(["warmUp", import.meta.url, 1, 1], true);
}

// ---------------------------------------------------------------------------------------------
// Plumbing

// eslint-disable-next-line prefer-const -- assigned below, once the handlers it serves are defined
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
  if (!stopped) for (const sum of groups.due(now(), true)) reportSummary(mainMode, sum);
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
