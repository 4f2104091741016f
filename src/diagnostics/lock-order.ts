/**
 * Lock-order checking, Linux lockdep's idea: every time a task that holds lock X takes lock Y,
 * "X before Y" is an edge of a process-wide order graph. A new edge that closes a cycle in that
 * graph (someone, some time, took Y then X — directly or through other locks) is an inversion:
 * two tasks running those paths at the same moment would deadlock, even if they never have.
 * Ranks are the documented form of the same thing: taking a lock of a lower rank while holding
 * one of a higher rank is reported at once, without waiting for the other order to show up.
 *
 * Cost: nothing for a task that holds no lock (the primitives check `task.held !== null` first);
 * for a nested acquire, one Map lookup per lock held. Only a NEW edge (the first time this pair
 * of lock classes is taken in this order) walks the graph and captures the acquire's source site
 * (a stack capture, a few µs): in a steady state every edge is known and nothing is captured.
 *
 * Lock classes: locks that share a name share a class (`new Mutex(v, { name: "account" })`
 * created per request all are one class), unnamed locks are each their own. Two locks of one
 * class taken together are not ordered (lockdep would want a nesting annotation).
 */
import { config } from "../core/config.js";
import type { TaskLike } from "../core/context.js";
import type { OrderedHold, OrderedLock } from "../core/holds.js";
import { LockOrderError } from "../errors.js";
import { userFrames } from "./await-site.js";

/** One acquire of a pair, as a report names it. */
export interface LockOrderSite {
  /** The lock held and the lock taken, in that order. */
  locks: [string, string];
  /** Where the second was taken (user code, source-mapped), when known. */
  site: string | undefined;
  /** The task that took them. */
  task: { id: number; name?: string };
}

/** A lock-order problem, as `onLockOrder` listeners and `lockOrderViolations()` get it. */
export interface LockOrderViolation {
  /** "inversion": both orders were seen; "rank": a lower rank was taken while holding a higher one. */
  kind: "inversion" | "rank";
  /** The acquire that broke the order (now). */
  now: LockOrderSite;
  /** For an inversion, the earlier acquire(s) of the other order (the path back, first edge first). */
  earlier: LockOrderSite[];
  /** One line that says it all (what the stderr warning prints). */
  message: string;
}

class LockClass {
  /** Edges out: classes taken while holding this one, with the first acquire that showed it. */
  readonly after = new Map<LockClass, LockOrderSite>();
  constructor(
    readonly id: number,
    readonly label: string,
  ) {}
}

let nextClass = 1;
/** Named lock classes, by kind and name. */
const named = new Map<string, LockClass>();
/** Pairs already reported (`lo:hi` of class ids): each once. */
const reported = new Set<string>();
/** Edges learned in all; past MAX_EDGES no new edge is learned (and a note says so once). */
let edges = 0;
const MAX_EDGES = 100_000;
/** The last violations, for late subscribers (the console's lint reads these). */
const recent: LockOrderViolation[] = [];
const MAX_RECENT = 100;
const listeners = new Set<(v: LockOrderViolation) => void>();

function classOf(lock: OrderedLock): LockClass {
  let c = lock.orderClass as LockClass | undefined;
  if (c !== undefined) return c;
  const label = lock.label;
  if (lock.name !== undefined) {
    c = named.get(label);
    if (c === undefined) named.set(label, (c = new LockClass(nextClass++, label)));
  } else {
    c = new LockClass(nextClass++, label);
  }
  lock.orderClass = c;
  return c;
}

/** A path of edges from `from` to `to` in the order graph (depth-first), or undefined. */
function pathBetween(from: LockClass, to: LockClass): LockOrderSite[] | undefined {
  const seen = new Set<LockClass>([from]);
  const walk = (c: LockClass): LockOrderSite[] | undefined => {
    for (const [next, site] of c.after) {
      if (next === to) return [site];
      if (seen.has(next)) continue;
      seen.add(next);
      const rest = walk(next);
      if (rest !== undefined) return [site, ...rest];
    }
    return undefined;
  };
  return walk(from);
}

function taskRef(t: TaskLike): { id: number; name?: string } {
  return t.name === undefined ? { id: t.id } : { id: t.id, name: t.name };
}

function siteNow(): string | undefined {
  const prevPrepare = Error.prepareStackTrace;
  const prevLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = (_e, cs) => cs;
  Error.stackTraceLimit = 16;
  try {
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, siteNow);
    return userFrames((holder.stack as Parameters<typeof userFrames>[0] | undefined) ?? []).site;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = prevPrepare;
    Error.stackTraceLimit = prevLimit;
  }
}

function who(s: LockOrderSite): string {
  const t = s.task.name === undefined ? `task ${s.task.id}` : `task ${s.task.id} '${s.task.name}'`;
  return `${t} took ${s.locks[0]} then ${s.locks[1]}${s.site === undefined ? "" : ` at ${s.site}`}`;
}

/**
 * The one place diagnostics write to stderr (a lock-order warning, the note that the edge limit
 * was reached). Tests replace it with {@link setDiagnosticWriter}.
 */
let write: (line: string) => void = (line) => {
  process.stderr.write(`${line}\n`);
};

/** @internal Replaces the stderr writer (tests); returns the previous one. */
export function setDiagnosticWriter(fn: (line: string) => void): (line: string) => void {
  const prev = write;
  write = fn;
  return prev;
}

function report(v: LockOrderViolation): void {
  recent.push(v);
  if (recent.length > MAX_RECENT) recent.shift();
  write(`steward: ${v.message}`);
  for (const fn of listeners) {
    try {
      fn(v);
    } catch {
      // a listener's failure is its own; the others still hear
    }
  }
}

/**
 * The lock-order check of task `t` (which holds at least one lock) taking `lock`. Returns a
 * LockOrderError when `lockOrder` is "throw" and the acquire breaks the order or a rank.
 */
export function checkOrder(t: TaskLike, lock: OrderedLock): Error | undefined {
  const mode = config.lockOrder;
  if (mode === "off") return undefined;
  const c = classOf(lock);
  for (let h = t.held as OrderedHold | null; h !== null; h = h.heldNext as OrderedHold | null) {
    const held = h.lock;
    if (held === undefined || held === lock) continue; // the same lock again: the deadlock detector's case
    const hc = classOf(held);
    if (hc === c) continue;
    if (held.rank !== undefined && lock.rank !== undefined && lock.rank < held.rank) {
      const key = `rank:${hc.id}:${c.id}`;
      const now: LockOrderSite = { locks: [held.label, lock.label], site: undefined, task: taskRef(t) };
      const message = `lock rank broken: ${lock.label} (rank ${lock.rank}) taken while holding ${held.label} (rank ${held.rank})`;
      if (!reported.has(key)) {
        reported.add(key);
        now.site = siteNow();
        report({ kind: "rank", now, earlier: [], message: `${message}: ${who(now)}` });
      }
      if (mode === "throw") return new LockOrderError(`${message}; take locks in increasing rank`, [held.label, lock.label]);
    }
    if (hc.after.has(c)) continue; // known edge: the steady state
    const back = pathBetween(c, hc);
    const now: LockOrderSite = { locks: [held.label, lock.label], site: siteNow(), task: taskRef(t) };
    if (back !== undefined) {
      const key = hc.id < c.id ? `${hc.id}:${c.id}` : `${c.id}:${hc.id}`;
      const message = `lock order inversion: ${who(now)}; earlier ${back.map(who).join(", then ")}`;
      if (!reported.has(key)) {
        reported.add(key);
        report({ kind: "inversion", now, earlier: back, message });
      }
      // Under "throw" the edge is not learned, so every acquire in the wrong order is refused.
      if (mode === "throw") return new LockOrderError(message, [held.label, lock.label]);
    }
    if (edges < MAX_EDGES) {
      edges++;
      hc.after.set(c, now);
    } else if (edges === MAX_EDGES) {
      edges++;
      write(`steward: lock-order checking learned ${MAX_EDGES} lock pairs and learns no more (name locks created per request so they share a class)`);
    }
  }
  return undefined;
}

/**
 * Subscribes to lock-order problems (an inversion, a rank broken), each reported once per pair
 * of lock classes. The live console's lint and test harnesses use it.
 * @returns a Disposable that unsubscribes (calling it as a function works too).
 * @throws TypeError when `listener` is not a function.
 */
export function onLockOrder(listener: (v: LockOrderViolation) => void): Disposable & (() => void) {
  if (typeof listener !== "function") throw new TypeError(`listener must be a function, got ${typeof listener}`);
  listeners.add(listener);
  const off = (): void => void listeners.delete(listener);
  return Object.assign(off, { [Symbol.dispose]: off });
}

/** The last lock-order problems reported in this process (at most 100), oldest first. */
export function lockOrderViolations(): LockOrderViolation[] {
  return recent.slice();
}

/** Forgets every learned order, every report and every lock class (for tests). */
export function resetLockOrder(): void {
  named.clear();
  reported.clear();
  recent.length = 0;
  edges = 0;
}
