/**
 * Where each held lock was acquired (`configure({ lockSites: true })`), for DeadlockError's
 * `holds[].acquiredAt` and the dumps' `holds`.
 *
 * An uncontended acquisition makes its guard synchronously inside the user's `lock()` call: a
 * stack captured there (structured frames, formatted only if a report ever reads them) names the
 * user's line. A contended one does not: its guard is made when the lock is handed over, inside
 * the releasing task's `release()`, whose stack names the wrong code. So a wait records its own
 * capture when it queues or is parked by the spent cooperative budget (still inside the user's
 * `lock()` call), and the guard made for it takes that — or the wait's await site, if a dump or
 * the detector already probed it. The served wait is its task's latest wait (`task.wait`, kept
 * while the diagnostics are on), still pending and queued or parked on the same lock.
 */
import { config } from "../core/config.js";
import { type Hold, holdSites } from "../core/holds.js";
import type { Waiter } from "../core/waiter.js";
import { siteOf, userFrames } from "./await-site.js";

type AnyWaiter = Waiter<unknown, unknown>;

/** Captures made when a wait queued, for the guard it will be served. */
const queuedSites = new WeakMap<object, object>();

/** How many frames a capture keeps: the user's frame is at most a few steward frames down (runExclusive → lock → queue). */
const FRAMES = 12;

/** A stack capture, unformatted (V8 formats it on the first read of `.stack`, which only a report does). */
function capture(): object {
  const holder: { stack?: unknown } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = FRAMES;
  Error.captureStackTrace(holder);
  Error.stackTraceLimit = limit;
  return holder;
}

/**
 * A graph wait of a task queued (the detector's part) or was parked by the spent budget (the
 * waiter core's `parkedSite`), synchronously inside the user's acquire call. A parked wait that
 * later queues (the lock was taken meanwhile) is noted again from the budget's refill, where no
 * user frame is on the stack: the first capture stays.
 */
export function noteQueuedSite(w: object): void {
  if (config.lockSites && !queuedSites.has(w)) queuedSites.set(w, capture());
}

/** The `acquireSite` hook (core/holds.ts): hold `h` of task `h.task` was just made on queue `q`. */
export function noteAcquired(h: Hold, q: object): void {
  const w = h.task?.wait as AnyWaiter | undefined;
  if (w !== undefined && w.queue === q && w.isPending) {
    // Served from the queue (the guard is made inside someone's release()): the wait's own site.
    const site = siteOf(w)?.site ?? queuedSites.get(w);
    if (site !== undefined) holdSites.set(h, site);
    return;
  }
  holdSites.set(h, capture());
}

/**
 * Where `h` was acquired, `file:line:col` in the user's code (source-mapped), or undefined when
 * it was not recorded (`lockSites` off) or no user frame was on the stack. The first read formats
 * the capture; the answer replaces it.
 */
export function acquiredAtOf(h: Hold): string | undefined {
  const rec = holdSites.get(h);
  if (rec === undefined || typeof rec === "string") return rec;
  const prev = Error.prepareStackTrace;
  let site: string | undefined;
  try {
    Error.prepareStackTrace = (_e, cs) => cs;
    const cs = (rec as { stack?: unknown }).stack;
    site = Array.isArray(cs) ? userFrames(cs as Parameters<typeof userFrames>[0]).site : undefined;
  } catch {
    site = undefined;
  } finally {
    Error.prepareStackTrace = prev;
  }
  if (site !== undefined) holdSites.set(h, site);
  else holdSites.delete(h);
  return site;
}
