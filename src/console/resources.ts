/**
 * Resources for the console: every lock, semaphore, channel, notify, barrier, cell, JoinSet,
 * tracker and interval (each is one or more WaitQueues of the waiter core, registered when the
 * queue was made), and what runtimes were given to `defer()` (pools, HTTP servers).
 *
 * A queue's `what` ("recv on channel#3", `lock on Mutex "db"`) names its operation and its
 * resource. Queues whose label carries an id ("channel#3") are grouped by label (a channel's
 * recv, send and closed() queues are one resource); others by their Resource object (each
 * unnamed Mutex is its own resource).
 *
 * Details come from the resource itself: `Resource.inspect()` on the queue's resource (see
 * core/waiter.ts), or `[Symbol.for("steward.resourceInfo")]()` on a deferred one. Until the
 * sync and channel modules implement `inspect()`, a best-effort probe reads the fields their
 * current implementations have (a channel's buffer length and bound, a mutex's `locked`, ...).
 */
import { performance } from "node:perf_hooks";
import { type QueueEntry, registeredQueues, IDLE, type TaskStats } from "./collector.js";
import type { ResourceSnapshot } from "./types.js";

const RESOURCE_INFO = Symbol.for("steward.resourceInfo");

/** A deferred resource as a runtime keeps it. */
export interface DeferredLike {
  readonly resource: unknown;
  readonly name: string;
  readonly kind: string;
}

interface QueueLike {
  what: string;
  length: number;
  head: { task?: { instrument?: unknown } | undefined } | null;
}

/** Kinds whose waits are for exclusive (or counted) access: the lock-held lint looks at these. */
export const LOCK_KINDS: ReadonlySet<string> = new Set(["Mutex", "RwLock", "Semaphore"]);

const groupIds = new WeakMap<object, string>();
/** When a waiter outside any task was first seen at a queue's head. */
const headSeen = new WeakMap<object, number>();

function parseWhat(what: string): { op: string; label: string } {
  const i = what.indexOf(" on ");
  if (i < 0) return { op: what, label: what };
  return { op: what.slice(0, i), label: what.slice(i + 4) };
}

function kindOf(label: string): string {
  const m = /^[A-Za-z_$][\w$.]*/.exec(label);
  return m === null ? label : m[0];
}

/** Normalises what a resource says about itself into JSON-able fields. */
function clean(d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) {
    if (typeof v === "number") out[k] = v === Infinity ? "unbounded" : Number.isFinite(v) ? v : String(v);
    else if (typeof v === "string" || typeof v === "boolean" || v === null) out[k] = v;
    else if (typeof v === "bigint") out[k] = Number(v);
    else if (v !== undefined && typeof v !== "function" && typeof v !== "symbol") {
      try {
        out[k] = JSON.parse(JSON.stringify(v)) as unknown;
      } catch {
        out[k] = String(v);
      }
    }
  }
  return out;
}

/** The queue's Resource (a private field of WaitQueue, read here only). */
function resourceOf(q: object): Record<string, unknown> | undefined {
  const r = (q as { resource?: unknown }).resource;
  return r !== null && typeof r === "object" ? (r as Record<string, unknown>) : undefined;
}

/** `inspect()` if the resource has one, else the fields today's implementations are known to have. */
export function describeQueueResource(r: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (r === undefined) return undefined;
  try {
    if (typeof r.inspect === "function") {
      const d = (r.inspect as () => unknown).call(r);
      return d !== null && typeof d === "object" ? clean(d as Record<string, unknown>) : undefined;
    }
    return probe(r);
  } catch {
    return undefined;
  }
}

function probe(r: Record<string, unknown>): Record<string, unknown> | undefined {
  const c = r.c as Record<string, unknown> | undefined;
  if (c !== null && typeof c === "object" && typeof c.cap === "number") {
    const buf = c.buf as { length?: unknown } | undefined;
    if (buf !== undefined && typeof buf.length === "number") {
      const d: Record<string, unknown> = { length: buf.length, capacity: c.cap };
      if (typeof c.reserved === "number") d.reserved = c.reserved;
      if (typeof c.senders === "number") d.senders = c.senders;
      if (typeof c.rxClosed === "boolean") d.closed = c.rxClosed || c.senders === 0;
      return clean(d);
    }
  }
  if (typeof r.locked === "boolean") return { locked: r.locked };
  if (typeof r.writer === "boolean" && typeof r.readers === "number") return { readers: r.readers, writer: r.writer };
  if (typeof r.permits === "number") return clean({ available: r.permits, capacity: r.capacity, closed: r.closed });
  if (typeof r.releasing === "number" && typeof r.n === "number") return { parties: r.n };
  if (typeof r.permit === "boolean" && typeof r.all === "boolean") return { storedPermit: r.permit };
  if (typeof r.txClosed === "boolean" && typeof r.rxClosed === "boolean") return { sent: r.state !== 0, closed: r.txClosed || r.rxClosed };
  return undefined;
}

/** Deferred resources: `[resourceInfo]()`, else the public counters a pool or server has. */
function describeDeferred(r: unknown): Record<string, unknown> | undefined {
  if (r === null || (typeof r !== "object" && typeof r !== "function")) return undefined;
  const o = r as Record<string | symbol, unknown>;
  try {
    const f = o[RESOURCE_INFO];
    if (typeof f === "function") {
      const d = (f as () => unknown).call(r);
      return d !== null && typeof d === "object" ? clean(d as Record<string, unknown>) : undefined;
    }
    const out: Record<string, unknown> = {};
    for (const k of ["threads", "maxThreads", "queueSize", "maxQueue", "size", "length", "capacity", "isClosed", "state"]) {
      let v: unknown;
      try {
        v = o[k];
      } catch {
        continue;
      }
      if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") out[k] = v;
    }
    return Object.keys(out).length === 0 ? undefined : clean(out);
  } catch {
    return undefined;
  }
}

function deferredKind(d: DeferredLike): string {
  const r = d.resource;
  if (typeof r === "object" && r !== null) {
    const ctor = (r as object).constructor;
    if (typeof ctor === "function" && ctor.name !== "" && ctor.name !== "Object") {
      return ctor.name === "BlockingPool" ? "blockingPool" : ctor.name;
    }
  }
  return d.kind;
}

interface Group {
  snap: ResourceSnapshot;
  detailsFrom: Record<string, unknown> | undefined;
}

/**
 * Every resource alive now. `deferred` lists each runtime's deferred resources. At most `max`
 * resources (those with waiters first).
 */
export function collectResources(deferred: readonly DeferredLike[], now = performance.now(), max = 1000): ResourceSnapshot[] {
  const groups = new Map<unknown, Group>();
  const entries: readonly QueueEntry[] = registeredQueues();
  for (const e of entries) {
    const q = e.ref.deref() as (QueueLike & object) | undefined;
    if (q === undefined) continue;
    const { op, label } = parseWhat(q.what);
    const res = resourceOf(q);
    let key: unknown = label;
    if (!/#\d+/.test(label)) key = res ?? q;
    let g = groups.get(key);
    if (g === undefined) {
      let id = label;
      if (key !== label) {
        const k = key as object;
        id = groupIds.get(k) ?? `${label}@${e.seq}`;
        groupIds.set(k, id);
      }
      g = { snap: { id, kind: kindOf(label), label, source: "wait-queue", waiters: 0, ops: [] }, detailsFrom: undefined };
      groups.set(key, g);
    }
    const waiters = q.length;
    const opInfo: { op: string; waiters: number; headTask?: number; headWaitMs?: number } = { op, waiters };
    const head = q.head;
    if (head !== null && waiters > 0) {
      const s = head.task?.instrument as TaskStats | undefined;
      const task = head.task as { id?: number } | undefined;
      if (task !== undefined && typeof task.id === "number") opInfo.headTask = task.id;
      let since: number;
      if (s !== undefined && s.state === IDLE) since = s.since;
      else {
        since = headSeen.get(head) ?? now;
        headSeen.set(head, since);
      }
      opInfo.headWaitMs = Math.round((now - since) * 1000) / 1000;
    }
    g.snap.waiters += waiters;
    // One entry per op: a receiver's queues of one broadcast channel are summed.
    const same = g.snap.ops!.find((o) => o.op === op);
    if (same === undefined) g.snap.ops!.push(opInfo);
    else {
      same.waiters += waiters;
      if (opInfo.headWaitMs !== undefined && (same.headWaitMs === undefined || opInfo.headWaitMs > same.headWaitMs)) {
        same.headWaitMs = opInfo.headWaitMs;
        if (opInfo.headTask !== undefined) same.headTask = opInfo.headTask;
      }
    }
    if (g.detailsFrom === undefined && res !== undefined) {
      const d = describeQueueResource(res);
      if (d !== undefined) {
        g.detailsFrom = res;
        g.snap.details = d;
      }
    }
  }
  const out: ResourceSnapshot[] = [];
  for (const g of groups.values()) out.push(g.snap);
  out.sort((a, b) => b.waiters - a.waiters || a.id.localeCompare(b.id, "en", { numeric: true }));
  if (out.length > max) out.length = max;
  for (const d of deferred) {
    const snap: ResourceSnapshot = { id: d.name, kind: deferredKind(d), label: d.name, source: "deferred", waiters: 0 };
    const details = describeDeferred(d.resource);
    if (details !== undefined) snap.details = details;
    out.push(snap);
  }
  return out;
}
