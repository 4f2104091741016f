/**
 * Where a parked task awaits, found only when someone asks (a dump, a deadlock being confirmed),
 * at no cost to any wait before that.
 *
 * V8 builds "async stack traces" by walking, from the promise the running microtask settles, the
 * chain of promises that wait on it: when that promise's one reaction is an async function's
 * `await`, V8 adds that function suspended at that `await` ("at async f (file:line:col)") and
 * goes on to the promise of f's caller. A parked waiter's promise is exactly such a link, but no
 * code of ours runs as its reaction. So {@link probe} puts one in front: it resolves the waiter's
 * promise with a promise R of ours (the waiter's promise now follows R, its own reaction — the
 * user's `await` — untouched), makes R the promise of a reaction job that captures a stack, and
 * hands R a fresh promise that the waiter settles from then on. The capture sees R → the
 * waiter's promise → the user's `await` → its callers, i.e. the await site and how the task got
 * there. A promise nobody awaits yields no async frame: that is how the detector tells a task
 * parked on a wait from one that only started it.
 *
 * A probed waiter settles its task three microtasks later than it would have; nothing else
 * changes. One probe costs a few µs (three promises and one stack capture), so probes of many
 * waiters run in chunks on later macrotasks ({@link probeAll}).
 */
import type { Waiter } from "../core/waiter.js";
import { type CallSiteLike, isOwnFrame, positionText } from "../util/frame-text.js";

type AnyWaiter = Waiter<unknown, unknown>;

/** What a probe found. */
export interface AwaitSite {
  /** The innermost frame in the user's code, `file:line:col` (source-mapped when a map exists), or undefined. */
  site: string | undefined;
  /** True when an async function awaits the waiter's promise (directly or through promise chains). */
  awaited: boolean;
  /** The user's frames, innermost first (`fn (file:line:col)`), at most {@link FRAMES}. */
  frames: string[];
}

/** How many frames a probe keeps. */
const FRAMES = 8;

const found = new WeakMap<object, AwaitSite>();
const pending = new WeakMap<object, Promise<AwaitSite>>();

/** What a probe already found for `w`, if it ran. */
export function siteOf(w: object): AwaitSite | undefined {
  return found.get(w);
}

/** Reads the user's frames out of a capture. */
export function userFrames(sites: readonly CallSiteLike[]): { frames: string[]; site: string | undefined; awaited: boolean } {
  const frames: string[] = [];
  let site: string | undefined;
  let awaited = false;
  for (const cs of sites) {
    if (cs.isAsync?.() === true) awaited = true;
    if (frames.length >= FRAMES) {
      if (awaited) break;
      continue;
    }
    const file = cs.getFileName();
    const line = cs.getLineNumber();
    if (file === null || file === undefined || line === null || isOwnFrame(file)) continue;
    const pos = positionText(file, line, cs.getColumnNumber() ?? 0);
    site ??= pos;
    const fn = cs.getFunctionName();
    frames.push(fn === null || fn === "" ? pos : `${fn} (${pos})`);
  }
  return { frames, site, awaited };
}

/** Captures the current stack as call sites (the async part included), unformatted. */
function captureSites(): CallSiteLike[] {
  const prevPrepare = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_e, cs) => cs;
  Error.stackTraceLimit = 24;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder);
    return (holder.stack as CallSiteLike[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = prevPrepare;
    Error.stackTraceLimit = prevLimit;
  }
}

/** Answers already given, by content: 10 000 tasks parked at one await share one answer (less for the GC to copy). */
const answers = new Map<string, AwaitSite>();
const MAX_ANSWERS = 2_000;

function intern(s: AwaitSite): AwaitSite {
  const key = `${s.awaited ? 1 : 0}${s.frames.join("\n")}`;
  const known = answers.get(key);
  if (known !== undefined) return known;
  if (answers.size >= MAX_ANSWERS) answers.clear();
  answers.set(key, s);
  return s;
}

/**
 * Finds where `w`'s promise is awaited (see the module comment). Resolves a few microtasks
 * later; a second probe of the same waiter returns the first one's answer. A waiter that is no
 * longer pending is not probed (its site is unknown).
 */
export function probe(w: AnyWaiter): Promise<AwaitSite> {
  const done = found.get(w);
  if (done !== undefined) return Promise.resolve(done);
  const p = pending.get(w);
  if (p !== undefined) return p;
  if (!w.isPending) return Promise.resolve({ site: undefined, awaited: false, frames: [] });
  let fire!: () => void;
  const gate = new Promise<void>((r) => (fire = r));
  let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
  const next = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
  let report!: (s: AwaitSite) => void;
  const result = new Promise<AwaitSite>((r) => (report = r));
  const r = gate.then(() => {
    let s: AwaitSite;
    try {
      s = intern(userFrames(captureSites()));
    } catch {
      s = { site: undefined, awaited: false, frames: [] };
    }
    found.set(w, s);
    pending.delete(w);
    report(s);
    return next;
  });
  // The waiter's promise follows r from now on; the waiter settles `next`, which r follows.
  w.resolve(r);
  w.resolve = settle.resolve;
  w.reject = settle.reject;
  pending.set(w, result);
  fire();
  return result;
}

/**
 * How long {@link probeAll} probes before it yields to the event loop, in ms. A probe costs
 * 20 µs to 2 ms (a stack capture with its async part, source-mapped; more on a loaded machine),
 * so counting probes per turn cannot bound a turn: the clock does.
 */
const SLICE_MS = 3;

/** Probes every waiter in `ws` that has no answer yet, one at a time, yielding every {@link SLICE_MS}. */
export async function probeAll(ws: readonly AnyWaiter[]): Promise<void> {
  let sliceStart = performance.now();
  for (const w of ws) {
    if (found.get(w) !== undefined) continue;
    await probe(w);
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      sliceStart = performance.now();
    }
  }
}
